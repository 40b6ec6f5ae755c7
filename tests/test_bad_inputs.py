"""Files a user feeds gennet: each broken kind is a clear exit 2 naming the file (issue 11, classes
6, 7, 9). The corpora are built here: broken .npz files, out-of-range pixel values, broken IDX files
(raw and gzip, including a gzip bomb)."""

from __future__ import annotations

import gzip
import io
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest

import gennet
from gennet.cli import main
from gennet.errors import DataError
from gennet.eval.feature_metrics import GaussianStats
from gennet.io import read_images
from tests.conftest import tiny_mlp_run

SHAPE = (1, 16, 16)


def run_cli(capsys, *args) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return tiny_mlp_run(tmp_path_factory.mktemp("bad-inputs") / "ae", "ae")


# ---- .npz files: the one guarded reader -----------------------------------------------------------
def _npz_bytes(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


GOOD = _npz_bytes(images=np.random.default_rng(1).integers(1, 255, (4, *SHAPE), dtype=np.uint8))


def _npy_bytes() -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.zeros((4, *SHAPE), np.uint8))
    return buf.getvalue()


BROKEN_NPZ = {
    "object-array": _npz_bytes(images=np.array([{"a": 1}, None], dtype=object)),
    "text-file": b"these are not images\n1 2 3\n",
    "npy-renamed": _npy_bytes(),
    "empty-file": b"",
    "truncated-half": GOOD[: len(GOOD) // 2],
    "truncated-tail": GOOD[:-30],
    "corrupt-middle": GOOD[:200] + bytes(64) + GOOD[264:],
    "no-arrays": _npz_bytes(),
    "empty-array": _npz_bytes(images=np.zeros((0, *SHAPE), np.uint8)),
    "zero-sized-images": _npz_bytes(images=np.zeros((3, 1, 0, 16), np.uint8)),
    "several-unnamed": _npz_bytes(a=np.zeros((2, *SHAPE)), b=np.zeros((2, *SHAPE))),
    "not-images-shape": _npz_bytes(images=np.zeros((5, 7), np.uint8)),
}

# pixel values outside the accepted ones: uint8; other ints in 0..255; floats in [0, 1]
rng = np.random.default_rng(0)
BAD_PIXELS = {
    "float-0-255": rng.uniform(0, 255, (4, *SHAPE)),
    "float32-0-255": rng.uniform(0, 255, (4, *SHAPE)).astype(np.float32),
    "float-nan": np.where(rng.random((4, *SHAPE)) < 0.1, np.nan, 0.5),
    "float-inf": np.full((4, *SHAPE), np.inf),
    "float-neg-inf": np.full((4, *SHAPE), -np.inf),
    "float-negative": rng.uniform(-1, 1, (4, *SHAPE)),
    "float-slightly-above": np.full((4, *SHAPE), 1.0001),
    "int64-300": np.full((4, *SHAPE), 300, np.int64),
    "int16-negative": np.full((4, *SHAPE), -1, np.int16),
    "uint16-big": np.full((4, *SHAPE), 65535, np.uint16),
    "bool": np.ones((4, *SHAPE), bool),
    "complex": np.ones((4, *SHAPE), complex),
    "strings": np.full((4, *SHAPE), "x"),
}
NPZ_CORPUS = {**BROKEN_NPZ, **{k: _npz_bytes(images=v) for k, v in BAD_PIXELS.items()}}


@pytest.mark.parametrize("command", ["reconstruct", "evaluate"])
@pytest.mark.parametrize("case", sorted(NPZ_CORPUS))
def test_bad_npz_is_refused(run_dir, tmp_path, capsys, case, command):
    path = tmp_path / f"{case}.npz"
    path.write_bytes(NPZ_CORPUS[case])
    out = tmp_path / "out.png"
    if command == "reconstruct":
        args = ["reconstruct", run_dir, "-i", path, "-o", out]
    else:
        args = ["evaluate", "--images", path, "--data", "synthetic-shapes", "--no-floor"]
    rc, _, err = run_cli(capsys, *args)
    assert rc == 2, err
    assert "Traceback" not in err and f"{case}.npz" in err
    assert not out.exists()


@pytest.mark.parametrize("case", sorted(BROKEN_NPZ))
def test_statistics_files_use_the_same_reader(tmp_path, case):
    path = tmp_path / f"{case}.npz"
    path.write_bytes(BROKEN_NPZ[case])
    with pytest.raises(DataError, match=f"{case}.npz"):
        GaussianStats.from_npz(path)


@pytest.mark.parametrize("case", sorted(BAD_PIXELS))
def test_api_refuses_bad_pixels(run_dir, case):
    images = BAD_PIXELS[case]
    with pytest.raises(DataError, match="images"):
        gennet.reconstruct(run_dir, images)


@pytest.mark.parametrize(
    "images",
    [
        np.full((3, *SHAPE), 255, np.uint8),
        np.full((3, *SHAPE), 255, np.int64),
        np.full((3, *SHAPE), 1.0, np.float32),
        np.zeros((3, 16, 16, 1), np.float64),
    ],
    ids=["uint8", "int64", "float32", "float64-channels-last"],
)
def test_accepted_pixels_are_read_exactly(tmp_path, images):
    path = tmp_path / "ok.npz"
    np.savez(path, images=images)
    got = read_images(path, None)
    assert got.dtype == np.uint8 and got.shape == (3, *SHAPE)
    assert int(got.max()) == (255 if images.max() > 0 else 0)


def test_converted_images_are_scored_with_a_warning(tmp_path, capsys):
    path = tmp_path / "rgb.npz"
    np.savez(path, images=rng.uniform(0, 1, (20, 3, 20, 20)).astype(np.float32))
    args = ["evaluate", "--images", path, "--data", "synthetic-shapes", "--no-floor", "--metrics", "fid"]
    rc, _, err = run_cli(capsys, *args)
    assert rc == 0, err
    assert "gennet: warning:" in err and "3x20x20" in err and "1x16x16" in err
    assert "Traceback" not in err and "warnings.warn" not in err


# ---- IDX files: header first, then at most the declared bytes ---------------------------------------
def _header(dims=(2, 3), code=0x08) -> bytes:
    return bytes([0, 0, code, len(dims)]) + np.asarray(dims, dtype=">u4").tobytes()


def _gzip_bomb(header: bytes, inflated: int) -> bytes:
    """A gzip stream of `header` and then `inflated` zero bytes, compressed chunk by chunk."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: a gzip container
    chunk = bytes(1 << 20)
    parts = [comp.compress(header)] + [comp.compress(chunk) for _ in range(inflated >> 20)]
    return b"".join(parts) + comp.flush()


IDX_CORPUS = {
    "truncated": _header() + bytes(5),
    "trailing": _header() + bytes(7),
    "implausible-size": _header(dims=(60000, 65535, 65535)) + bytes(10),
    "header-only": _header(),
    "gzip-truncated": gzip.compress(_header() + bytes(6))[:-12],
    "gzip-trailing": gzip.compress(_header() + bytes(600)),
    "gzip-bomb": _gzip_bomb(_header(dims=(2, 28, 28)), 256 << 20),
}


@pytest.mark.parametrize("case", sorted(IDX_CORPUS))
def test_broken_idx_is_refused_without_inflating_it(tmp_path, case):
    path = tmp_path / f"{case}-idx3-ubyte.gz"
    path.write_bytes(IDX_CORPUS[case])
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match=f"{case}-idx3-ubyte"):
            gennet.data.read_idx(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20  # the 256 MB bomb is never inflated whole


def test_broken_idx_in_data_dir_is_a_clear_cli_error(tmp_path, capsys):
    data = tmp_path / "mnist"
    data.mkdir()
    for name in ("train-images-idx3-ubyte", "t10k-images-idx3-ubyte"):
        (data / f"{name}.gz").write_bytes(IDX_CORPUS["gzip-bomb"])
    for name in ("train-labels-idx1-ubyte", "t10k-labels-idx1-ubyte"):
        (data / f"{name}.gz").write_bytes(gzip.compress(_header(dims=(2,)) + bytes(2)))
    out = tmp_path / "run"
    rc, _, err = run_cli(
        capsys, "train", "vae", "--data", "mnist", "--data-dir", data, "--out", out, "--steps", 1
    )
    assert rc == 2 and "Traceback" not in err and "idx3-ubyte" in err and "extra trailing bytes" in err
    assert not Path(out).exists()
