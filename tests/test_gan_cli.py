"""The adversarial family from the command line: conditional sampling, latent arithmetic,
interpolation between real images, EMA sampling, and the bad inputs of each."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from gennet import api
from gennet.config import parse_set
from gennet.eval.features import load_extractor
from tests.test_cli import assert_png, run_cli


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """Tiny cgan, aae, bigan and dcgan (with EMA) runs on synthetic shapes, trained once."""
    root = tmp_path_factory.mktemp("gan-runs")
    specs = {
        "cgan": ["base_channels=8", "latent_dim=4"],
        "aae": ["hidden=32", "latent_dim=4", "disc_hidden=16"],
        "bigan": ["hidden=32", "latent_dim=4", "disc_hidden=16"],
        "dcgan": ["base_channels=8", "latent_dim=4", "ema=0.9"],
    }
    out = {}
    for name, settings in specs.items():
        run = root / name
        rc = api.train(name, run, data="synthetic-shapes", steps=6, batch_size=16, quiet=True,
                       log_every=3, **parse_set(settings))  # fmt: skip
        assert rc == run
        out[name] = run
    return out


def test_cgan_samples_the_labels_asked_and_the_npz_says_so(runs, tmp_path, capsys):
    out = tmp_path / "s.npz"
    rc, _, err = run_cli(capsys, "sample", runs["cgan"], "-n", 6, "--labels", "2,0,1,3,3,2", "-o", out)
    assert rc == 0, err
    z = np.load(out)
    assert z["images"].shape == (6, 1, 16, 16) and z["labels"].tolist() == [2, 0, 1, 3, 3, 2]
    rc, _, err = run_cli(capsys, "sample", runs["cgan"], "-n", 5, "--labels", "cross", "-o", out)
    assert rc == 0, err and np.load(out)["labels"].tolist() == [3] * 5  # a class by name
    rc, _, err = run_cli(capsys, "sample", runs["cgan"], "-n", 5, "-o", out)
    assert rc == 0 and np.load(out)["labels"].tolist() == [0, 1, 2, 3, 0]  # default: classes in turn
    # the same labels and seed give the same images; other labels give other images
    a = api.sample(runs["cgan"], 4, seed=1, labels=torch.tensor([1, 1, 1, 1]))
    b = api.sample(runs["cgan"], 4, seed=1, labels=torch.tensor([1, 1, 1, 1]))
    c = api.sample(runs["cgan"], 4, seed=1, labels=torch.tensor([2, 2, 2, 2]))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


@pytest.mark.parametrize(
    "labels,msg",
    [("7", "unknown class '7'"), ("1,2", "one label or 5"), ("circle", "unknown class 'circle'")],
)
def test_bad_labels_are_clear_errors(runs, tmp_path, capsys, labels, msg):
    out = tmp_path / "s.npz"
    rc, _, err = run_cli(capsys, "sample", runs["cgan"], "-n", 5, "--labels", labels, "-o", out)
    assert rc == 2 and msg in err and not out.exists()


def test_labels_for_an_unconditional_model_are_refused(runs, tmp_path, capsys):
    rc, _, err = run_cli(capsys, "sample", runs["dcgan"], "-n", 2, "--labels", "1", "-o", tmp_path / "x.png")
    assert rc == 2 and "not conditional" in err


def test_arithmetic_with_an_encoder(runs, tmp_path, capsys):
    out = tmp_path / "arith.npz"
    rc, stdout, err = run_cli(capsys, "arithmetic", runs["aae"], "--terms", "cross", "0", "1", "-o", out)
    assert rc == 0, err
    assert "encoder codes" in stdout
    rows = np.load(out)["images"]
    assert rows.shape == (4, 4, 1, 16, 16)  # a, b, c (3 exemplars + mean each), then the result row
    res = api.arithmetic(runs["aae"], ["cross", "0", "1"])
    model = api.load(runs["aae"]).model
    codes, labels = api.encode(runs["aae"])
    mean = {k: torch.as_tensor(codes[labels == k]).mean(0) for k in (3, 0, 1)}
    expect = model.decode((mean[3] - mean[0] + mean[1])[None])
    got = torch.as_tensor(res["rows"][3][:1]).float() / 255
    assert torch.allclose(got, expect, atol=1 / 255 + 1e-6)  # the first result image is exactly a - b + c
    assert res["names"][3] == "cross-horizontal bar+vertical bar"
    assert_png(Path(run_cli(capsys, "arithmetic", runs["aae"], "-o", tmp_path / "a.png")[1].split()[-1]))


def test_arithmetic_without_an_encoder_needs_a_shipped_classifier(runs, tmp_path, capsys):
    rc, _, err = run_cli(capsys, "arithmetic", runs["dcgan"], "-o", tmp_path / "a.png")
    assert rc == 2 and "no feature network was trained on 'synthetic-shapes'" in err
    rc, _, err = run_cli(
        capsys, "arithmetic", runs["aae"], "--terms", "0", "1", "9", "-o", tmp_path / "a.png"
    )
    assert rc == 2 and "unknown class '9'" in err


def test_sample_search_finds_class_codes_of_a_digit_generator(monkeypatch, tmp_path):
    """Codes for a - b + c come from samples the shipped MNIST network labels confidently. A stub
    'generator' that decodes code z to a real digit of class round(z[0]) shows the grouping is right."""
    from gennet.data import load_dataset

    mnist = load_dataset("mnist", split="test")
    _, probs = load_extractor("mnist")(mnist.images[:300])
    sure = [i for i in range(300) if probs[i].max() > 0.95 and probs[i].argmax() == mnist.labels[i]]
    per_class = {}
    for i in sure:
        per_class.setdefault(int(mnist.labels[i]), mnist.images[i : i + 1].float() / 255)
    run = api.load(runs_dir := _stub_run(tmp_path))
    assert runs_dir.is_dir()

    def decode(z, labels=None):
        cls = z[:, 0].round().clamp(0, 9).long()
        return torch.cat([per_class[int(k)] for k in cls])

    monkeypatch.setattr(run.model, "decode", decode)
    monkeypatch.setattr(
        run.model, "latent_prior", lambda n, generator=None: torch.rand(n, 3, generator=generator) * 9
    )
    res = api.arithmetic(run, ["7", "1", "3"], search=300)
    assert "classified by the shipped mnist network" in res["source"]
    assert all(v > 5 for v in res["codes_per_class"].values())
    assert res["result_classified_as"][0] in [str(k) for k in range(10)]


def _stub_run(tmp_path) -> Path:
    run = tmp_path / "stub"
    api.train("gan", run, data="mnist", steps=1, batch_size=8, quiet=True, hidden=(8,), latent_dim=3)
    return run


def test_interpolate_between_real_images(runs, tmp_path, capsys):
    out = tmp_path / "i.npz"
    rc, _, err = run_cli(capsys, "interpolate", runs["bigan"], "--between", "real", "--pairs", 2,
                         "--steps", 5, "--method", "linear", "-o", out)  # fmt: skip
    assert rc == 0, err
    assert np.load(out)["images"].shape == (2, 5, 1, 16, 16)
    rc, _, err = run_cli(capsys, "interpolate", runs["cgan"], "--between", "real", "-o", out)
    assert rc == 2 and "cannot encode" in err
    rows, names = api.interpolate(runs["cgan"], pairs=2, steps=4, method="linear")
    assert all(n.startswith("lin y=") for n in names)


def test_bigan_and_aae_encode_and_reconstruct(runs, tmp_path, capsys):
    for name in ("bigan", "aae"):
        rc, _, err = run_cli(capsys, "reconstruct", runs[name], "-n", 4, "-o", tmp_path / f"{name}.npz")
        assert rc == 0, err
        z = np.load(tmp_path / f"{name}.npz")
        assert z["reconstructions"].shape == (4, 1, 16, 16)
        codes, labels = api.encode(runs[name])
        assert codes.shape == (200, 4) and labels.shape == (200,)


def test_ema_weights_are_used_for_sampling(runs):
    assert (runs["dcgan"] / "ema.safetensors").is_file()
    with_ema = api.sample(api.load(runs["dcgan"], ema=True), 4, seed=0)
    without = api.sample(api.load(runs["dcgan"], ema=False), 4, seed=0)
    assert not np.array_equal(with_ema, without)


def test_float_settings_accept_exponent_notation():
    """YAML 1.1 reads 1e-3 as a string; --set lr_g=1e-3 must still be a number."""
    tcfg, mcfg = api.resolve_config("gan", **parse_set(["lr_g=1e-3", "lr_d=5E-4"]))
    assert mcfg.lr_g == 1e-3 and mcfg.lr_d == 5e-4
