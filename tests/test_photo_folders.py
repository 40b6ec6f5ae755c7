"""Folders of your own photos: pictures of any sizes, modes and orientations train with no flags.

A folder is made in each test: mixed sizes (30-90 px) and aspect ratios, PNG and JPEG, grey, RGB,
RGBA and palette pictures, a JPEG stored sideways with an EXIF orientation, a corrupt file and a
thumbnail too small to use. The image size is chosen per model (`gennet.sizing`), printed and
written to config.json; `--set image_size=N` overrides it.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from gennet.cli import main
from gennet.config import TrainConfig
from gennet.data import load_dataset, load_image_folder
from gennet.data.decode import upright_size
from gennet.runs import model_config
from gennet.sizing import choose_image_size

SIZES = [(30, 45), (90, 60), (64, 64), (50, 80), (72, 40), (36, 36), (88, 70), (60, 32), (45, 90), (70, 56)]
MODES = ["RGB", "L", "RGBA", "P", "RGB"]
TINY = {
    "ae": {"hidden": [32], "latent_dim": 4},
    "dcgan": {"base_channels": 8, "latent_dim": 8},
    "cyclegan": {"base_channels": 8, "n_blocks": 1, "pool_size": 2},
}


def _picture(size: tuple[int, int], mode: str, seed: int) -> Image.Image:
    """A smooth random picture (a colour gradient) of `size` (width, height) in `mode`."""
    w, h = size
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / max(w, h)
    rgb = np.stack([(xx * a + yy * b) * 255 for a, b in rng.uniform(0, 1, (3, 2))], -1)
    img = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB")
    if mode == "RGBA":
        img.putalpha(200)
        return img
    return img.quantize(16) if mode == "P" else img.convert(mode)


def _sideways_jpeg(path: Path) -> None:
    """A 60x40 JPEG stored with its left half white and right half black, EXIF orientation 6
    (turn 90 degrees clockwise to view): upright it is 40x60, white on top, black below."""
    arr = np.zeros((40, 60, 3), dtype=np.uint8)
    arr[:, :30] = 255
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(arr).save(path, quality=95, exif=exif)


def _fill(folder: Path, n: int, seed: int, extras: bool = True) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        mode = MODES[(i + seed) % len(MODES)]
        suffix = ".jpg" if i % 2 and mode in ("RGB", "L") else ".png"
        _picture(SIZES[(i + seed) % len(SIZES)], mode, seed * 100 + i).save(folder / f"p{i:02d}{suffix}")
    if extras:
        _sideways_jpeg(folder / "sideways.jpg")
        (folder / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not a picture")
        _picture((10, 12), "RGB", 7).save(folder / "thumb.png")


def _train(capsys, model: str, data: Path, out: Path, *extra: str) -> tuple[str, dict]:
    """`gennet train MODEL --data DATA --steps 2` with the model's tiny widths from a --config file
    (no image size anywhere); (stderr, config.json)."""
    cfg = out.parent / f"{model}.yaml"
    cfg.write_text(yaml.safe_dump({"model_args": TINY[model], "log_every": 1, "sample_every": 100}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the corrupt file's warning (checked where it is certain)
        code = main(
            [
                "train",
                model,
                "--data",
                str(data),
                "--steps",
                "2",
                "--out",
                str(out),
                "--config",
                str(cfg),
                *extra,
            ]
        )
    err = capsys.readouterr().err
    assert code == 0, err
    return err, json.loads((out / "config.json").read_text())


def test_sideways_jpeg_comes_out_upright(tmp_path):
    _sideways_jpeg(tmp_path / "s.jpg")
    assert upright_size(tmp_path / "s.jpg") == (40, 60)
    for size in (None, 20):  # as it is, and resized + cropped
        x = load_image_folder(tmp_path, image_size=size).images[0].float().mean(0)
        h = x.shape[0]
        assert x.shape[0] > x.shape[1] or size == 20
        assert x[: h // 2 - 2].min() > 200 and x[h // 2 + 2 :].max() < 55, x[:, 0]


def test_mixed_folder_is_fitted_and_counted(tmp_path):
    _fill(tmp_path, 10, seed=0)
    with pytest.warns(UserWarning, match="skipping unreadable image .*corrupt.jpg"):
        data = load_image_folder(tmp_path, image_size=32)
    assert data.images.shape == (11, 3, 32, 32) and data.images.dtype == torch.uint8
    report = data.report
    assert (report.kept, report.resized) == (11, 11)
    assert {k: [p.name for p in v] for k, v in report.skipped.items()} == {
        "unreadable": ["corrupt.jpg"],
        "too small (shorter side under 16 px)": ["thumb.png"],
    }
    assert "11 images kept (11 resized and cropped to 32x32), 2 skipped" in report.summary()
    rgba = data.images[2]  # p02.png, RGBA
    assert rgba.min() >= 50  # alpha 200 over white: at least 55 everywhere


def _choice(model: str, data: Path, **model_over):
    return choose_image_size(TrainConfig(model=model, data=str(data)), model_config(model, model_over))


def test_size_choice_per_model(tmp_path):
    _fill(tmp_path / "mixed", 10, seed=0, extras=False)  # shorter sides 30-72, median 45
    mixed = tmp_path / "mixed"
    assert _choice("cyclegan", mixed).size == 44  # 256 capped at 45, a multiple of 4
    assert _choice("cyclegan", mixed, generator="unet").size == 32  # a power of two
    assert _choice("stylegan", mixed).size == 32
    assert _choice("dcgan", mixed).size == 40  # 5 x 2^3
    assert _choice("vae", mixed).size == 28  # the MLP's MNIST size, below the cap
    assert _choice("ae", mixed, arch="conv", conv_channels=(8, 16, 32)).size == 24  # 28 -> a multiple of 8
    assert "median 45" in _choice("dcgan", mixed).message
    same = tmp_path / "same"
    same.mkdir()
    for i in range(3):
        _picture((30, 30), "RGB", i).save(same / f"{i}.png")
    assert _choice("ae", same).size is None  # an MLP takes 30x30: today's behaviour
    odd = _choice("cyclegan", same)  # 30 does not divide by 4
    assert odd.size == 28 and "cannot take" in odd.message
    assert (
        choose_image_size(TrainConfig(model="ae", data=str(same), image_size=16), model_config("ae")) is None
    )
    assert choose_image_size(TrainConfig(model="ae", data="mnist"), model_config("ae")) is None


def test_train_ae_and_dcgan_on_photo_folders(tmp_path, capsys):
    classes = tmp_path / "classes"  # train/ and test/, each with class subfolders
    _fill(classes / "train" / "cats", 6, seed=1)
    _fill(classes / "train" / "dogs", 6, seed=2, extras=False)
    _fill(classes / "test" / "cats", 2, seed=3, extras=False)
    _fill(classes / "test" / "dogs", 2, seed=4, extras=False)
    err, cfg = _train(capsys, "ae", classes, tmp_path / "ae", "--batch-size", "4")
    assert "image size 28x28" in err and cfg["train"]["image_size"] == 28
    assert (
        "images kept" in err
        and "resized and cropped to 28x28" in err
        and "unreadable: 1 (corrupt.jpg)" in err
    )
    flat = tmp_path / "flat"
    _fill(flat, 12, seed=3)  # one folder: 10% held out
    err, cfg = _train(capsys, "dcgan", flat, tmp_path / "dcgan")  # no --batch-size: the set's size
    n = cfg["train"]["batch_size"]
    assert 5 <= n <= 12 and f"batch_size 128 is larger than the {n} training images; using {n}" in err
    assert f"image size {cfg['train']['image_size']}x" in err and cfg["data_spec"]["height"] == 40
    assert "too small" in err or "thumb.png" not in err  # skipped, unless it was held out


def test_train_cyclegan_on_photo_folders_and_override(tmp_path, capsys):
    root = tmp_path / "photos"
    for i, d in enumerate(("trainA", "trainB", "testA", "testB")):
        _fill(root / d, 6 if d.startswith("train") else 2, seed=i, extras=d == "trainA")
    err, cfg = _train(capsys, "cyclegan", root, tmp_path / "cg")
    size = cfg["train"]["image_size"]
    assert size % 4 == 0 and 24 <= size <= 64 and f"image size {size}x{size}" in err
    assert "trainA: 7 images kept" in err and "trainB: 6 images kept" in err and "2 skipped" in err
    assert cfg["model"]["load_scale"] == pytest.approx(286 / 256)
    test = load_dataset(str(root), split="test", image_size=size)
    assert test.images.shape[-2:] == (size, size)
    err, cfg = _train(capsys, "cyclegan", root, tmp_path / "cg16", "--set", "image_size=16")
    assert cfg["train"]["image_size"] == 16 and "image size 16x16" not in err
    assert "resized and cropped to 16x16" in err


LAYOUTS = {
    "flat": ({"": 12}, "ae"),
    "train-test": ({"train/cats": 5, "train/dogs": 5, "test/cats": 2, "test/dogs": 2}, "ae"),
    "unpaired": ({"trainA": 6, "trainB": 6, "testA": 2, "testB": 2}, "cyclegan"),
}


@pytest.mark.parametrize("cache", ["auto", "disk"])
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_training_lists_a_folder_once_and_reads_each_header_once(tmp_path, monkeypatch, layout, cache):
    """The size choice, the cache estimate and the loader (its grey-or-colour choice included)
    share one listing: each folder is walked once, and each picture opened at most twice (its
    header, then its decoding; a held-out picture only for its header)."""
    import gennet

    parts, model = LAYOUTS[layout]
    root = tmp_path / "photos"
    for i, (part, n) in enumerate(parts.items()):
        _fill(root / part, n, seed=i, extras=i == 0)
    walked, opened = [], []
    rglob, open_image = Path.rglob, Image.open

    def counting_rglob(self, pattern, *args, **kw):
        walked.append(self.relative_to(root).as_posix())
        return rglob(self, pattern, *args, **kw)

    def counting_open(fp, *args, **kw):
        if isinstance(fp, Path) and fp.is_relative_to(root):  # not the run's own sample grids
            opened.append(fp.relative_to(root).as_posix())
        return open_image(fp, *args, **kw)

    monkeypatch.setattr(Path, "rglob", counting_rglob)
    monkeypatch.setattr(Image, "open", counting_open)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the corrupt file's warning
        gennet.train(model, tmp_path / "run", data=str(root), steps=1, batch_size=2, quiet=True,
                     data_cache=cache, sample_every=100, **TINY[model])  # fmt: skip
    tops = sorted({p.split("/")[0] for p in parts}) if layout != "flat" else ["."]
    assert sorted(walked) == tops
    assert opened and max(opened.count(f) for f in opened) <= 2


def test_cyclegan_random_crop_keeps_the_size():
    from gennet.data import DataSpec
    from gennet.models.cyclegan import CycleGAN

    net = CycleGAN(model_config("cyclegan", TINY["cyclegan"]), DataSpec(3, 16, 16))
    x = torch.rand(3, 3, 16, 16) * 2 - 1
    torch.manual_seed(0)
    out = net._random_crop(x)
    assert out.shape == x.shape and not torch.equal(out, x)
    assert out.min() >= -1 and out.max() <= 1
