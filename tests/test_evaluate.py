"""Offline evaluation: the shipped feature networks, the protocol, the floor, images from
elsewhere, and `gennet bench` end to end."""

import json
import os

import numpy as np
import pytest

from gennet import api
from gennet.cli import main
from gennet.data import load_dataset
from gennet.errors import GennetError
from gennet.eval.features import WEIGHTS, extractor_for, load_extractor, sha256_file

MNIST_TEST = load_dataset("mnist", split="test")


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_shipped_extractors_are_small_intact_and_as_recorded(name):
    path = WEIGHTS / f"{name}.safetensors"
    info = json.loads(path.with_suffix(".json").read_text())
    assert path.stat().st_size < 2_000_000  # "a few MB at most"
    assert info["sha256"] == sha256_file(path) == load_extractor(name).sha256
    assert info["data"] == name and "train_features" in info["command"] and info["seed"] == 0
    try:
        test = load_dataset(name, split="test")
    except GennetError:
        if os.environ.get("CI"):
            raise  # .ci/run installs Debian's dataset-fashion-mnist: CI must not skip this
        pytest.skip(f"{name} is not installed here")
    _, probs = load_extractor(name)(test.images)
    accuracy = float((probs.argmax(1) == test.labels.numpy()).mean())
    assert accuracy == pytest.approx(info["test_accuracy"], abs=2e-4)  # the weights are the ones recorded


def test_mnist_extractor_classifies_the_held_out_digits():
    feats, probs = load_extractor("mnist")(MNIST_TEST.images)
    assert feats.shape == (1000, 128) and np.isfinite(feats).all()
    assert np.allclose(probs.sum(1), 1.0)
    assert (probs.argmax(1) == MNIST_TEST.labels.numpy()).mean() >= 0.98


def test_unknown_data_falls_back_with_a_stated_reason():
    ex, reason = extractor_for("synthetic-rgb")
    assert ex.name == "fashion-mnist" and "no network was trained" in reason
    feats, _ = ex(load_dataset("synthetic-rgb", split="test").images)  # RGB 16x16 -> gray 28x28
    assert feats.shape[1] == 128


def test_real_images_score_like_the_floor_and_collapse_is_caught():
    test = MNIST_TEST.images.numpy()
    res = api.evaluate_images(test, "mnist")
    assert res["fid"] < 1e-6 and res["precision"] == 1.0 and res["recall"] == 1.0
    floor = res["floor"]
    assert floor["classes_covered"] == 10 and floor["fid"] < 5 and floor["precision"] > 0.8
    assert res["protocol"]["extractor_sha256"] == load_extractor("mnist").sha256
    # mode collapse: 1000 copies of a handful of "1"s
    ones = test[MNIST_TEST.labels.numpy() == 1][:5]
    collapsed = np.repeat(ones, 200, axis=0)
    bad = api.evaluate_images(collapsed, "mnist", floor=False)
    assert bad["classes_covered"] == 1 and bad["recall"] < 0.05 and bad["fid"] > 50 * floor["fid"]
    assert bad["class_kl"] > 1.5 and bad["classifier_score"] < 1.5


def test_metrics_can_be_chosen_and_unknown_ones_refused():
    res = api.evaluate_images(MNIST_TEST.images[:200].numpy(), "mnist", metrics=["fid"], floor=False)
    assert "fid" in res and "kid" not in res and "precision" not in res
    with pytest.raises(GennetError, match="unknown metric"):
        api.evaluate_images(MNIST_TEST.images[:200].numpy(), "mnist", metrics=["inception"])


def test_a_user_extractor_is_used_and_named():
    def pixels(images):
        x = np.asarray(images, dtype=np.float64).reshape(len(images), -1)[:, ::8] / 255
        return x, np.full((len(images), 2), 0.5)

    res = api.evaluate_images(
        MNIST_TEST.images.numpy(), "mnist", extractor=pixels, floor=False, metrics=["fid"]
    )
    assert res["protocol"]["extractor_reason"] == "given by the caller" and res["fid"] < 1e-6
    calls = []
    res = api.evaluate_images(
        MNIST_TEST.images[:300].numpy(),
        "mnist",
        floor=False,
        metrics=["fid"],
        extractor=lambda im: calls.append(len(im)) or pixels(im),
    )
    assert calls == [1000, 300] and res["fid"] > 0  # reference, then the images


@pytest.fixture(scope="module")
def vae_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("ev") / "vae"
    return api.train(
        "vae", out, data="mnist", steps=200, batch_size=64, quiet=True, hidden=(64,), latent_dim=8
    )


def test_evaluate_run_reports_every_family_metric_beside_the_floor(vae_run):
    res = api.evaluate(vae_run, n=500, k=10)
    for key in (
        "recon_mse",
        "recon_psnr",
        "recon_ssim",
        "elbo_nats",
        "iw_nll_nats",
        "fid",
        "kid",
        "precision",
        "recall",
        "classes_covered",
        "class_kl",
        "classifier_score",
    ):
        assert key in res, key
    assert res["fid"] > res["floor"]["fid"]  # a 200-step VAE is further from the data than the data
    proto = res["protocol"]
    assert proto["samples"] == 500 and proto["extractor"] == "mnist" and len(proto["extractor_sha256"]) == 64
    assert "floor" in proto and "reference" in proto
    assert proto["reference_images"] == len(MNIST_TEST)  # FID depends on n and on the reference size


def test_cli_scores_an_npz_of_images(tmp_path, capsys):
    np.savez(tmp_path / "x.npz", images=MNIST_TEST.images[:300].numpy())
    rc = main(
        [
            "evaluate",
            "--images",
            str(tmp_path / "x.npz"),
            "--data",
            "mnist",
            "--json",
            str(tmp_path / "e.json"),
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0 and "real floor" in out and "fid" in out
    assert json.loads((tmp_path / "e.json").read_text())["protocol"]["samples"] == 300


def test_time_budget_stops_training_and_saves(tmp_path):
    run = api.train(
        "ae",
        tmp_path / "ae",
        data="synthetic-shapes",
        steps=10**7,
        max_seconds=1.0,
        quiet=True,
        batch_size=32,
        hidden=(32,),
        latent_dim=4,
    )
    from gennet.train.checkpoint import load_checkpoint

    step = load_checkpoint(run / "checkpoints" / "last.pt")["step"]
    assert 0 < step < 10**7 and (run / "model.safetensors").is_file()


def test_bench_writes_table_and_report(tmp_path, capsys):
    out = tmp_path / "bench"
    rc = main(
        [
            "bench",
            "--models",
            "vae",
            "ae",
            "--data",
            "synthetic-shapes",
            "--budget",
            "1",
            "--n",
            "200",
            "--out",
            str(out),
            "--set",
            "hidden=32",
            "latent_dim=4",
            "batch_size=32",
        ]
    )
    assert rc == 0, capsys.readouterr().err
    results = json.loads((out / "results.json").read_text())
    assert [m["name"] for m in results["models"]] == ["vae", "ae"]
    assert all(m["error"] is None and m["steps"] > 0 for m in results["models"])
    assert "fid" in results["models"][0]["metrics"] and "recon_mse" in results["models"][1]["metrics"]
    assert results["floor"]["classes_covered"] >= 3
    html = (out / "report.html").read_text()
    assert 'data-model="vae"' in html and 'data-model="ae"' in html and "<script" not in html
    assert "| vae |" in (out / "results.md").read_text().replace("*", "")
    rc = main(["bench", "--models", "vae", "--data", "synthetic-shapes", "--budget", "1", "--out", str(out)])
    assert rc == 2  # an existing report is never overwritten
