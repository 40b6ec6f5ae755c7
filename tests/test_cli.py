"""End-to-end tests of the `gennet` command line, as a user types it, on tiny synthetic data.

Every verb runs in-process through `gennet.cli.main([...])` (it returns the exit code and prints);
one test runs the real entry point in a subprocess. A tiny VAE and a tiny AE are trained once per
module and shared by the verb tests; tests that modify a run work on a copy of it.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from gennet.cli import main
from gennet.data import dataset_names
from gennet.registry import model_names

# 16x16 grayscale, 4 classes, 2000 images (1800 train / 200 held out with test_fraction 0.1).
DATA = ["--data", "synthetic-shapes"]
SHAPE = (1, 16, 16)
N_HELDOUT = 200
VAE_SET = ["hidden=64", "latent_dim=4", "log_every=10", "sample_every=30", "checkpoint_every=15"]


def vae_args(out: Path, steps: int = 30) -> list[str]:
    """The exact `gennet train vae ...` command line of the shared run (with its --out)."""
    return ["train", "vae", *DATA, "--steps", str(steps), "--batch-size", "32", "--out", str(out), "--quiet",
            "--set", *VAE_SET]  # fmt: skip


def run_cli(capsys, *args) -> tuple[int, str, str]:
    """`gennet ARGS` in-process -> (exit code, stdout, stderr) of this call only."""
    capsys.readouterr()  # drop anything printed before
    rc = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return rc, out, err


def snapshot(run: Path) -> dict[str, tuple[int, bytes]]:
    """(mtime_ns, bytes) of every file under `run`, by relative path."""
    return {
        str(p.relative_to(run)): (p.stat().st_mtime_ns, p.read_bytes()) for p in run.rglob("*") if p.is_file()
    }


def assert_png(path: Path) -> tuple[int, int]:
    assert path.is_file(), f"{path} was not written"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(path) as im:
        im.verify()
    with Image.open(path) as im:
        assert im.format == "PNG"
        im.load()
        assert im.width > 0 and im.height > 0
        return im.size


def metric_rows(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]


def assert_error(rc: int, err: str, *needles: str) -> None:
    """Exit code 2 and a one-line `gennet: error:` message (no traceback) holding every needle."""
    assert rc == 2, err
    assert err.startswith("gennet: error:"), err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, f"{needle!r} not in {err!r}"


# ---- shared runs ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def vae_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "vae"
    assert main(vae_args(out)) == 0
    return out


@pytest.fixture(scope="module")
def ae_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "ae"
    args = ["train", "ae", *DATA, "--steps", "10", "--batch-size", "32", "--out", str(out), "--quiet",
            "--set", "hidden=32", "latent_dim=4", "log_every=5", "sample_every=10"]  # fmt: skip
    assert main(args) == 0
    return out


@pytest.fixture
def vae_copy(vae_run, tmp_path) -> Path:
    """A private copy of the shared VAE run (mtimes kept), for tests that write into a run."""
    dst = tmp_path / "vae-copy"
    shutil.copytree(vae_run, dst)
    return dst


# ---- train ----------------------------------------------------------------------------------------
def test_train_prints_run_dir(tmp_path, capsys):
    out = tmp_path / "tiny"
    args = ["train", "vae", *DATA, "--steps", "3", "--batch-size", "16", "--out", out, "--quiet",
            "--set", "hidden=16", "latent_dim=2"]  # fmt: skip
    rc, stdout, err = run_cli(capsys, *args)
    assert rc == 0, err
    assert f"run written to {out}" in stdout
    assert (out / "model.safetensors").is_file()


def test_train_writes_config_with_sections(vae_run):
    cfg = json.loads((vae_run / "config.json").read_text())
    assert {"train", "model", "data_spec"} <= set(cfg)
    t, m = cfg["train"], cfg["model"]
    # named options land in the train section
    assert t["model"] == "vae" and t["data"] == "synthetic-shapes"
    assert t["steps"] == 30 and t["batch_size"] == 32 and t["quiet"] is True
    # --set: trainer keys in train, model keys in model (and nowhere else)
    assert (t["log_every"], t["sample_every"], t["checkpoint_every"]) == (10, 30, 15)
    assert m["hidden"] == [64] and m["latent_dim"] == 4
    assert "latent_dim" not in t and "hidden" not in t
    assert "log_every" not in m and "steps" not in m
    assert t["model_args"] == m
    assert cfg["data_spec"] == {"channels": 1, "height": 16, "width": 16, "num_classes": 4}
    assert len(cfg["classes"]) == 4


def test_train_writes_checkpoint_and_weights(vae_run):
    ckpt = torch.load(vae_run / "checkpoints" / "last.pt", map_location="cpu", weights_only=True)
    assert ckpt["step"] == 30
    weights = load_file(str(vae_run / "model.safetensors"))
    assert set(weights) == set(ckpt["model"])
    for k, v in weights.items():
        assert torch.equal(v, ckpt["model"][k]), k
    # hidden=64, latent_dim=4: the first encoder layer maps 256 pixels to 64 units
    assert any(tuple(v.shape) == (64, 256) for v in weights.values())


def test_train_writes_metrics(vae_run):
    rows = metric_rows(vae_run)
    steps = [r["step"] for r in rows]
    assert steps == [10, 20, 30]
    for r in rows:
        losses = {k: v for k, v in r.items() if "/" in k}
        assert "recon/loss" in losses
        assert all(isinstance(v, float) and math.isfinite(v) for v in losses.values()), r


def test_train_writes_sample_png(vae_run):
    pngs = sorted((vae_run / "samples").glob("*.png"))
    assert [p.name for p in pngs] == ["step-0000030.png"]
    assert_png(pngs[0])


# ---- sample ---------------------------------------------------------------------------------------
def test_sample_npz_seeded(vae_run, tmp_path, capsys):
    def sample(name, seed):
        rc, out, err = run_cli(capsys, "sample", vae_run, "-n", 8, "-o", tmp_path / name, "--seed", seed)
        assert rc == 0, err
        assert f"wrote {tmp_path / name}" in out
        with np.load(tmp_path / name) as z:
            return z["images"]

    a, b, c = sample("a.npz", 3), sample("b.npz", 3), sample("c.npz", 4)
    assert a.dtype == np.uint8 and a.shape == (8, *SHAPE)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    assert len({img.tobytes() for img in a}) == 8  # eight distinct draws, not one repeated


def test_sample_png(vae_run, tmp_path, capsys):
    rc, _, err = run_cli(capsys, "sample", vae_run, "-n", 8, "-o", tmp_path / "s.png")
    assert rc == 0, err
    assert_png(tmp_path / "s.png")


# ---- reconstruct ----------------------------------------------------------------------------------
def test_reconstruct_heldout(vae_run, tmp_path, capsys):
    rc, _, err = run_cli(capsys, "reconstruct", vae_run, "-o", tmp_path / "r.npz", "-n", 5)
    assert rc == 0, err
    with np.load(tmp_path / "r.npz") as z:
        x, y = z["images"], z["reconstructions"]
    assert x.shape == y.shape == (5, *SHAPE)
    assert x.dtype == y.dtype == np.uint8
    rc, _, err = run_cli(capsys, "reconstruct", vae_run, "-o", tmp_path / "r.png")
    assert rc == 0, err
    assert_png(tmp_path / "r.png")


def test_reconstruct_given_npz(vae_run, tmp_path, capsys):
    given = np.random.default_rng(0).integers(0, 256, size=(3, *SHAPE), dtype=np.uint8)
    np.savez(tmp_path / "in.npz", images=given)
    rc, _, err = run_cli(capsys, "reconstruct", vae_run, "-i", tmp_path / "in.npz", "-o", tmp_path / "r.npz")
    assert rc == 0, err
    with np.load(tmp_path / "r.npz") as z:
        assert np.array_equal(z["images"], given)  # the input comes back unchanged beside its reconstruction
        assert z["reconstructions"].shape == given.shape


def test_reconstruct_wrong_shape_input(vae_run, tmp_path, capsys):
    np.savez(tmp_path / "bad.npz", images=np.zeros((3, 1, 8, 8), np.uint8))
    out = tmp_path / "r.npz"
    rc, _, err = run_cli(capsys, "reconstruct", vae_run, "-i", tmp_path / "bad.npz", "-o", out)
    assert_error(rc, err, "(N, 1, 16, 16)", "(3, 1, 8, 8)")
    assert not out.exists()


# ---- denoise --------------------------------------------------------------------------------------
def test_denoise_reports_psnr(vae_run, tmp_path, capsys):
    rc, out, err = run_cli(capsys, "denoise", vae_run, "-o", tmp_path / "d.png", "-n", 8)
    assert rc == 0, err
    m = re.search(r"PSNR (-?[\d.]+) dB -> (-?[\d.]+) dB", out)
    assert m, out
    before, after = float(m.group(1)), float(m.group(2))
    assert math.isfinite(before) and math.isfinite(after)
    assert 0 < before < 100 and 0 < after < 100
    assert_png(tmp_path / "d.png")
    # the printed "before" is the PSNR of the written noisy images against the clean ones
    rc, out2, err = run_cli(capsys, "denoise", vae_run, "-o", tmp_path / "d.npz", "-n", 8)
    assert rc == 0, err
    assert m.group(0) in out2  # same seed, same numbers
    with np.load(tmp_path / "d.npz") as z:
        clean, noisy, den = (z[k].astype(np.float64) / 255 for k in ("clean", "noisy", "denoised"))
    assert clean.shape == noisy.shape == den.shape == (8, *SHAPE)
    mse = ((noisy - clean) ** 2).reshape(8, -1).mean(1)
    assert float(np.mean(10 * np.log10(1 / mse))) == pytest.approx(before, abs=0.2)


def test_denoise_given_npz(vae_run, tmp_path, capsys):
    noisy = np.random.default_rng(1).integers(0, 256, size=(4, *SHAPE), dtype=np.uint8)
    np.savez(tmp_path / "noisy.npz", images=noisy)
    args = ["denoise", vae_run, "-i", tmp_path / "noisy.npz", "-o", tmp_path / "out.npz"]
    rc, out, err = run_cli(capsys, *args)
    assert rc == 0, err
    assert "PSNR" not in out  # no clean reference for given images
    with np.load(tmp_path / "out.npz") as z:
        assert set(z.keys()) == {"noisy", "denoised"}
        assert np.array_equal(z["noisy"], noisy)
        assert z["denoised"].shape == noisy.shape and z["denoised"].dtype == np.uint8


# ---- encode ---------------------------------------------------------------------------------------
def test_encode_with_plot(vae_run, tmp_path, capsys):
    rc, out, err = run_cli(capsys, "encode", vae_run, "-o", tmp_path / "z.npz", "--plot", tmp_path / "z.png")
    assert rc == 0, err
    assert "latents (200, 4)" in out
    with np.load(tmp_path / "z.npz") as z:
        lat, labels = z["latents"], z["labels"]
    assert lat.shape == (N_HELDOUT, 4) and np.isfinite(lat).all()
    assert labels.shape == (N_HELDOUT,) and set(np.unique(labels)) <= {0, 1, 2, 3}
    assert len(np.unique(labels)) > 1
    assert_png(tmp_path / "z.png")


def test_encode_bad_output_extension(vae_run, tmp_path, capsys):
    rc, _, err = run_cli(capsys, "encode", vae_run, "-o", tmp_path / "z.txt")
    assert_error(rc, err, "z.txt")
    assert list(tmp_path.iterdir()) == []


def test_encode_bad_plot_extension(vae_run, tmp_path, capsys):
    rc, _, err = run_cli(capsys, "encode", vae_run, "-o", tmp_path / "z.npz", "--plot", tmp_path / "p.txt")
    assert_error(rc, err, "p.txt")
    assert not (tmp_path / "p.txt").exists()


# ---- interpolate ----------------------------------------------------------------------------------
def test_interpolate_png_and_npz(vae_run, tmp_path, capsys):
    rc, _, err = run_cli(capsys, "interpolate", vae_run, "-o", tmp_path / "i.png")
    assert rc == 0, err
    assert_png(tmp_path / "i.png")
    rc, _, err = run_cli(capsys, "interpolate", vae_run, "-o", tmp_path / "i.npz", "--pairs", 2, "--steps", 5)
    assert rc == 0, err
    with np.load(tmp_path / "i.npz") as z:
        rows = z["images"]
    assert rows.shape == (4, 5, *SHAPE) and rows.dtype == np.uint8  # 2 pairs x (linear, spherical)
    for p in range(2):  # both methods walk between the same two codes: equal end images
        lin, slerp = rows[2 * p], rows[2 * p + 1]
        assert np.array_equal(lin[0], slerp[0]) and np.array_equal(lin[-1], slerp[-1])
    args = ["interpolate", vae_run, "-o", tmp_path / "l.npz", "--pairs", 3, "--steps", 4]  # fmt: skip
    args += ["--method", "linear"]
    rc, _, err = run_cli(capsys, *args)
    assert rc == 0, err
    with np.load(tmp_path / "l.npz") as z:
        assert z["images"].shape == (3, 4, *SHAPE)


# ---- evaluate -------------------------------------------------------------------------------------
def test_evaluate_json(vae_run, tmp_path, capsys):
    path = tmp_path / "sub" / "e.json"
    rc, out, err = run_cli(capsys, "evaluate", vae_run, "--k", 20, "--json", path)
    assert rc == 0, err
    res = json.loads(path.read_text())
    for key in ("recon_mse", "recon_psnr", "elbo_nats", "iw_nll_nats"):
        assert isinstance(res[key], float) and math.isfinite(res[key]), key
    assert 0 <= res["recon_mse"] <= 1
    assert res["iw_k"] == 20
    assert res["protocol"]["heldout_images"] == N_HELDOUT and res["protocol"]["dataset"] == "synthetic-shapes"
    # p(x) <= 1 for these likelihoods, so NLL > 0; the IW bound (k=20) is tighter than the ELBO
    assert res["iw_nll_nats"] > 0
    assert res["iw_nll_nats"] <= -res["elbo_nats"] + 1.0
    # the printed table holds the same numbers
    printed = dict(re.findall(r"^(recon_mse|elbo_nats|iw_nll_nats)\s+(\S+)$", out, re.M))
    assert set(printed) == {"recon_mse", "elbo_nats", "iw_nll_nats"}
    for k, v in printed.items():
        assert float(v) == pytest.approx(res[k], rel=1e-4, abs=1e-6)  # 5 significant digits


# ---- list -----------------------------------------------------------------------------------------
def test_list_shows_models_and_datasets(capsys):
    rc, out, err = run_cli(capsys, "list")
    assert rc == 0, err
    names = model_names()
    assert {"ae", "vae"} <= set(names)
    listed = set(re.findall(r"^  (\S+)\s", out, re.M))
    for name in [*names, *dataset_names()]:
        assert name in listed, name


# ---- a model that cannot sample -------------------------------------------------------------------
def test_ae_reconstructs_and_encodes(ae_run, tmp_path, capsys):
    rc, _, err = run_cli(capsys, "reconstruct", ae_run, "-o", tmp_path / "r.npz", "-n", 4)
    assert rc == 0, err
    with np.load(tmp_path / "r.npz") as z:
        assert z["images"].shape == z["reconstructions"].shape == (4, *SHAPE)
    rc, _, err = run_cli(capsys, "encode", ae_run, "-o", tmp_path / "z.npz")
    assert rc == 0, err
    with np.load(tmp_path / "z.npz") as z:
        assert z["latents"].shape == (N_HELDOUT, 4) and z["labels"].shape == (N_HELDOUT,)


def test_ae_cannot_sample(ae_run, tmp_path, capsys):
    rc, _, err = run_cli(capsys, "sample", ae_run, "-n", 4, "-o", tmp_path / "s.npz")
    assert_error(rc, err, "cannot sample")
    assert not (tmp_path / "s.npz").exists()


def test_ae_evaluate_has_no_likelihood(ae_run, capsys):
    rc, out, err = run_cli(capsys, "evaluate", ae_run, "--n", 20)
    assert rc == 0, err
    assert "recon_mse" in out and "elbo_nats" not in out and "iw_nll_nats" not in out


# ---- bad input: exit 2, a clear message, nothing written -----------------------------------------
@pytest.mark.parametrize(
    "extra, needles",
    [
        (["--set", "nosuchkey=1"], ["nosuchkey", "valid:", "latent_dim"]),
        (["--set", "steps=abc"], ["steps", "integer", "abc"]),
        (["--set", "steps"], ["key=value", "steps"]),
        (["--set", "latent_dim=1.5"], ["latent_dim", "integer"]),
        (["--set", "precision=fp8"], ["precision", "fp32", "bf16"]),
        (["--data", "no-such-dataset"], ["no-such-dataset", "synthetic-shapes", "mnist"]),
        (["--data", "/nonexistent/dir"], ["/nonexistent/dir"]),
        (["--config", "/nonexistent/cfg.yaml"], ["config file not found", "/nonexistent/cfg.yaml"]),
        (["--steps", "0"], ["steps must be >= 1"]),
    ],
    ids=str.split(
        "unknown-key wrong-type no-equals float-for-int bad-choice unknown-dataset missing-data-dir "
        "missing-config zero-steps"
    ),
)
def test_train_bad_input(tmp_path, capsys, extra, needles):
    out = tmp_path / "run"
    # steps=2 via --set (not --steps, which would win over a later `--set steps=...`)
    args = ["train", "vae", "--out", out, "--quiet", "--data", "synthetic-shapes", "--set", "steps=2", *extra]
    rc, _, err = run_cli(capsys, *args)
    assert_error(rc, err, *needles)
    assert not out.exists()


def test_train_into_existing_run_without_resume(vae_copy, capsys):
    before = snapshot(vae_copy)
    assert "checkpoints/last.pt" in before
    rc, _, err = run_cli(capsys, *vae_args(vae_copy))
    assert_error(rc, err, "--resume", str(vae_copy))
    assert snapshot(vae_copy) == before  # bytes and mtimes of every file unchanged


def test_resume_on_empty_dir(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    rc, _, err = run_cli(capsys, *vae_args(empty), "--resume")
    assert_error(rc, err, "--resume", "no run")
    assert list(empty.iterdir()) == []
    rc, _, err = run_cli(capsys, *vae_args(tmp_path / "missing"), "--resume")
    assert_error(rc, err, "--resume")
    assert not (tmp_path / "missing").exists()


def test_verb_on_non_run_dir(tmp_path, capsys):
    rc, _, err = run_cli(capsys, "sample", tmp_path, "-o", tmp_path / "s.npz")
    assert_error(rc, err, "not a gennet run directory", str(tmp_path))
    assert not (tmp_path / "s.npz").exists()
    rc, _, err = run_cli(capsys, "evaluate", tmp_path / "nope")
    assert_error(rc, err, "not a gennet run directory")


@pytest.mark.parametrize("verb", ["sample", "reconstruct", "denoise", "interpolate"])
def test_bad_output_extension(vae_run, tmp_path, capsys, verb):
    rc, _, err = run_cli(capsys, verb, vae_run, "-o", tmp_path / "x.txt")
    assert_error(rc, err, "x.txt", ".png", ".npz")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("verb", ["sample", "reconstruct", "interpolate"])
def test_unwritable_output_fails_before_any_work(vae_run, tmp_path, capsys, verb):
    (tmp_path / "afile").write_text("not a folder")
    rc, out, err = run_cli(capsys, verb, vae_run, "-o", tmp_path / "afile" / "x.png")
    assert_error(rc, err, "cannot write", "afile")
    assert out == "" and sorted(p.name for p in tmp_path.iterdir()) == ["afile"]
    rc, _, err = run_cli(capsys, verb, vae_run, "-o", tmp_path)  # a folder, not a file name
    assert_error(rc, err, "output must end in")


def test_missing_input_file(vae_run, tmp_path, capsys):
    args = ["reconstruct", vae_run, "-i", tmp_path / "none.npz", "-o", tmp_path / "r.npz"]
    rc, _, err = run_cli(capsys, *args)
    assert_error(rc, err, "input not found", "none.npz")
    assert not (tmp_path / "r.npz").exists()


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["train", "no-such-model"], "invalid choice"),
        ([], "required"),
        (["sample"], "required"),
        (["frobnicate"], "invalid choice"),
        (["sample", "runs/x", "-n", "many", "-o", "x.png"], "invalid int value"),
    ],
)
def test_argparse_errors_exit_2(capsys, argv, needle):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "usage: gennet" in err and needle in err


# ---- resume ---------------------------------------------------------------------------------------
def test_resume_continues_to_more_steps(vae_copy, capsys):
    rc, out, err = run_cli(capsys, *vae_args(vae_copy, steps=45), "--resume")  # the same command, more steps
    assert rc == 0, err
    steps = [r["step"] for r in metric_rows(vae_copy)]
    assert steps == [10, 20, 30, 40, 45]  # every logged step once, none repeated
    assert json.loads((vae_copy / "config.json").read_text())["train"]["steps"] == 45
    ckpt = torch.load(vae_copy / "checkpoints" / "last.pt", map_location="cpu", weights_only=True)
    assert ckpt["step"] == 45
    assert (vae_copy / "samples" / "step-0000045.png").is_file()
    # and the continued run is usable
    rc, _, err = run_cli(capsys, "sample", vae_copy, "-n", 2, "-o", vae_copy / "s.npz")
    assert rc == 0, err


def test_resume_minimal_command(vae_copy, capsys):
    """`--resume` needs only --out and --steps: the rest comes from the run's config.json."""
    rc, _, err = run_cli(capsys, "train", "vae", "--out", vae_copy, "--steps", 35, "--quiet", "--resume")
    assert rc == 0, err
    assert [r["step"] for r in metric_rows(vae_copy)] == [10, 20, 30, 35]
    cfg = json.loads((vae_copy / "config.json").read_text())
    assert cfg["train"]["data"] == "synthetic-shapes" and cfg["model"]["latent_dim"] == 4


def test_resume_refuses_model_change(vae_copy, capsys):
    before = snapshot(vae_copy)
    rc, _, err = run_cli(capsys, *vae_args(vae_copy, steps=45), "--resume", "--set", "latent_dim=5")
    assert_error(rc, err, "latent_dim", "resum")
    assert snapshot(vae_copy) == before


# ---- --config -------------------------------------------------------------------------------------
def test_config_yaml_and_set_override(tmp_path, capsys):
    cfg_file = tmp_path / "cfg.yaml"
    cfg_file.write_text(
        "# a tiny VAE\n"
        "data: synthetic-shapes\n"
        "steps: 12\n"
        "batch_size: 16\n"
        "log_every: 4\n"
        "sample_every: 12\n"
        "model_args:\n"
        "  latent_dim: 3\n"
        "  hidden: [32]\n"
        "  beta: 2.0\n"
    )
    a, b = tmp_path / "a", tmp_path / "b"
    rc, _, err = run_cli(capsys, "train", "vae", "--config", cfg_file, "--out", a, "--quiet")
    assert rc == 0, err
    ca = json.loads((a / "config.json").read_text())
    t, m = ca["train"], ca["model"]
    assert (t["steps"], t["batch_size"], t["data"]) == (12, 16, "synthetic-shapes")
    assert (m["latent_dim"], m["hidden"], m["beta"]) == (3, [32], 2.0)
    assert [r["step"] for r in metric_rows(a)] == [4, 8, 12]

    # --set and named options override the file; the file's other values stay
    args = ["train", "vae", "--config", cfg_file, "--out", b, "--quiet", "--steps", "8",
            "--set", "latent_dim=5", "log_every=8"]  # fmt: skip
    rc, _, err = run_cli(capsys, *args)
    assert rc == 0, err
    cb = json.loads((b / "config.json").read_text())
    assert (cb["train"]["steps"], cb["train"]["log_every"], cb["train"]["batch_size"]) == (8, 8, 16)
    assert (cb["model"]["latent_dim"], cb["model"]["hidden"], cb["model"]["beta"]) == (5, [32], 2.0)
    rc, _, err = run_cli(capsys, "encode", b, "-o", tmp_path / "z.npz")
    assert rc == 0, err
    with np.load(tmp_path / "z.npz") as z:
        assert z["latents"].shape == (N_HELDOUT, 5)


def test_config_from_a_runs_config_json(vae_run, tmp_path, capsys):
    out = tmp_path / "again"
    rc, _, err = run_cli(
        capsys, "train", "vae", "--config", vae_run / "config.json", "--out", out, "--steps", "5", "--quiet"
    )
    assert rc == 0, err
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["model"] == json.loads((vae_run / "config.json").read_text())["model"]
    assert cfg["train"]["steps"] == 5 and cfg["train"]["data"] == "synthetic-shapes"


def test_config_yaml_flat_model_key(tmp_path, capsys):
    cfg_file = tmp_path / "flat.yaml"
    cfg_file.write_text("data: synthetic-shapes\nsteps: 4\nlatent_dim: 3\nhidden: [16]\n")
    out = tmp_path / "flat"
    rc, _, err = run_cli(capsys, "train", "vae", "--config", cfg_file, "--out", out, "--quiet")
    assert rc == 0, err
    assert json.loads((out / "config.json").read_text())["model"]["latent_dim"] == 3


def test_bad_config_file(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("steps: [unclosed\n")
    rc, _, err = run_cli(capsys, "train", "vae", "--config", bad, "--out", tmp_path / "r", "--quiet")
    assert_error(rc, err, "bad.yaml")
    listy = tmp_path / "list.yaml"
    listy.write_text("- 1\n- 2\n")
    rc, _, err = run_cli(capsys, "train", "vae", "--config", listy, "--out", tmp_path / "r", "--quiet")
    assert_error(rc, err, "mapping")
    assert not (tmp_path / "r").exists()


# ---- the real entry point -------------------------------------------------------------------------
def test_python_m_gennet_entry_point(tmp_path):
    def gennet(*args):
        return subprocess.run(
            [sys.executable, "-m", "gennet", *args], capture_output=True, text=True, timeout=180, cwd=tmp_path
        )

    h = gennet("--help")
    assert h.returncode == 0, h.stderr
    assert "usage: gennet" in h.stdout
    for verb in ("train", "sample", "reconstruct", "denoise", "encode", "interpolate", "evaluate", "list"):
        assert verb in h.stdout
    ls = gennet("list")
    assert ls.returncode == 0, ls.stderr
    for name in model_names():
        assert name in ls.stdout
    assert "synthetic-shapes" in ls.stdout
    bad = gennet("sample", str(tmp_path), "-o", "x.npz")
    assert bad.returncode == 2
    assert "gennet: error:" in bad.stderr and "Traceback" not in bad.stderr


def test_labels_on_an_unconditional_model_are_refused(vae_run, tmp_path, capsys):
    rc, _, err = run_cli(capsys, "sample", vae_run, "-n", 4, "-o", tmp_path / "s.npz", "--labels", "1")
    assert_error(rc, err, "conditional")
    assert not (tmp_path / "s.npz").exists()


def test_resume_with_config_is_refused(vae_run, tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("steps: 50\n")
    rc, _, err = run_cli(capsys, "train", "vae", "--out", vae_run, "--resume", "--config", cfg, "--quiet")
    assert_error(rc, err, "--resume")


def test_unknown_key_error_lists_training_settings_too(tmp_path, capsys):
    rc, _, err = run_cli(capsys, "train", "vae", "--out", tmp_path / "r", "--set", "latnet_dim=3", "--quiet")
    assert_error(rc, err, "latnet_dim")
    assert "latent_dim" in err and "batch_size" in err


def test_config_verb_prints_a_file_that_train_accepts(tmp_path, capsys):
    rc, out, err = run_cli(capsys, "config", "vae", "--set", "beta=2.5", "data=synthetic-shapes", "steps=3")
    assert rc == 0, err
    (tmp_path / "c.yaml").write_text(out)
    rc, _, err = run_cli(
        capsys, "train", "vae", "--config", tmp_path / "c.yaml", "--out", tmp_path / "r", "--quiet"
    )
    assert rc == 0, err
    saved = json.loads((tmp_path / "r" / "config.json").read_text())
    assert saved["model"]["beta"] == 2.5 and saved["train"]["steps"] == 3
