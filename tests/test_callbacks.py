"""Training callbacks and the trackers built on them (TensorBoard, MLflow, W&B), read back."""

import importlib.util
import json
import sys
import time
import types

import numpy as np
import pytest

import gennet
from gennet import api
from gennet.errors import CallbackError, ConfigError, GennetError
from gennet.train import tracking
from tests.conftest import tiny_overrides

# 6 steps: rows at 2, 4, 6; grids at 3, 6; checkpoints at 3, 6
PLAN = {"steps": 6, "log_every": 2, "sample_every": 3, "checkpoint_every": 3}


def _train(out, track=(), callbacks=(), **kw):
    settings = {"data": "synthetic-shapes", "batch_size": 16, "quiet": True, **PLAN, **kw}
    return api.train("vae", out, track=list(track), callbacks=callbacks, **tiny_overrides("vae"), **settings)


def _rows(run):
    return [json.loads(r) for r in (run / "metrics.jsonl").read_text().splitlines()]


class Recorder(gennet.Callback):
    def __init__(self, name, events):
        self.name, self.events = name, events

    def on_train_start(self, info):
        self.events.append((self.name, "start", info.step))

    def on_log(self, step, row):
        self.events.append((self.name, "log", step))

    def on_checkpoint(self, step, path):
        assert path.is_file()
        self.events.append((self.name, "checkpoint", step))

    def on_image(self, step, name, image, path):
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3 and path.is_file()
        self.events.append((self.name, "image", step))

    def on_train_end(self, summary):
        self.events.append((self.name, "end", summary["status"], summary["steps"]))


class Extra(gennet.Callback):
    """A user metric: the number of weights, plus twice the step."""

    def on_train_start(self, info):
        self.model = info.model

    def extra_metrics(self, step, row):
        assert "recon/loss" in row
        return {"user/params": sum(p.numel() for p in self.model.parameters()), "user/twice": 2 * step}


def test_callbacks_are_called_in_order_with_their_steps(tmp_path):
    events = []
    run = _train(tmp_path / "r", callbacks=[Recorder("a", events), Recorder("b", events)])
    a = [e[1:] for e in events if e[0] == "a"]
    assert a == [
        ("start", 0),
        ("log", 2),
        ("image", 3),
        ("checkpoint", 3),
        ("log", 4),
        ("log", 6),
        ("image", 6),
        ("checkpoint", 6),
        ("end", "finished", 6),
    ]
    assert [e[1:] for e in events if e[0] == "b"] == a
    assert [e[0] for e in events] == [x for _ in a for x in "ab"]  # a then b at every event
    assert not (run / "tb").exists()  # track=[]: no tracker


def test_tensorboard_logs_losses_monitor_user_metrics_and_grids(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = _train(tmp_path / "r", track=["tensorboard"], callbacks=[Extra()])
    rows = _rows(run)
    assert [r["step"] for r in rows] == [2, 4, 6] and rows[0]["user/twice"] == 4
    ea = EventAccumulator(str(run / "tb"), size_guidance={"images": 0, "scalars": 0})
    ea.Reload()
    tags = ea.Tags()
    for key in ("recon/loss", "recon/kl", "monitor/diversity", "user/params", "user/twice", "steps_per_s"):
        assert key in tags["scalars"]
    assert [(s.step, s.value) for s in ea.Scalars("user/twice")] == [(2, 4.0), (4, 8.0), (6, 12.0)]
    loss = [s.value for s in ea.Scalars("recon/loss")]
    assert loss == pytest.approx([r["recon/loss"] for r in rows])
    images = ea.Images("samples")
    assert [i.step for i in images] == [3, 6] and images[0].encoded_image_string[:4] == b"\x89PNG"


def test_mlflow_store_holds_metrics_grids_and_the_evaluation(tmp_path, monkeypatch):
    pytest.importorskip("mlflow")
    pytest.importorskip("sqlalchemy")
    from mlflow import MlflowClient

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    run = _train(tmp_path / "r", track=["mlflow"], callbacks=[Extra()])
    state = json.loads((run / "tracking.json").read_text())["mlflow"]
    assert state["uri"] == f"sqlite:///{(run / 'mlflow.db').resolve()}"
    client = MlflowClient(state["uri"])
    rid = state["run_id"]
    info = client.get_run(rid)
    assert info.info.status == "FINISHED" and info.data.params["model_args.latent_dim"] == "4"
    hist = client.get_metric_history(rid, "recon/loss")
    assert [m.step for m in hist] == [2, 4, 6]
    assert [m.step for m in client.get_metric_history(rid, "monitor/diversity")] == [2, 4, 6]
    assert [m.value for m in client.get_metric_history(rid, "user/twice")] == [4.0, 8.0, 12.0]
    grids = [a.path for a in client.list_artifacts(rid, "samples")]
    assert grids == ["samples/step-0000003.png", "samples/step-0000006.png"]
    assert client.download_artifacts(rid, grids[0], str(tmp_path)).endswith(".png")

    res = gennet.evaluate(run, n=32, k=2, floor=False, metrics=["fid"])
    mse = client.get_metric_history(rid, "eval/recon_mse")
    assert [(m.step, m.value) for m in mse] == [(6, pytest.approx(res["recon_mse"]))]
    assert [a.path for a in client.list_artifacts(rid, "eval")] == ["eval/step-0000006.json"]
    assert client.get_run(rid).info.status == "FINISHED"  # an evaluation leaves the status as it was


class FakeWandb(types.ModuleType):
    """Just what the W&B tracker calls, recording it."""

    def __init__(self):
        super().__init__("wandb")
        self.inits, self.logs, self.finished = [], [], []

    def Settings(self, **kw):  # noqa: N802 (wandb's name)
        return kw

    def Image(self, array, caption=None):  # noqa: N802
        return ("image", array.shape, caption)

    def init(self, **kw):
        self.inits.append(kw)
        fake = self

        class Run:
            id = "fake01"
            summary: dict = {}

            def log(self, values, step):
                fake.logs.append((step, values))

            def finish(self, exit_code=0):
                fake.finished.append(exit_code)

        return Run()


def test_wandb_tracker_logs_offline_into_the_run(tmp_path, monkeypatch):
    fake = FakeWandb()
    monkeypatch.setitem(sys.modules, "wandb", fake)
    monkeypatch.setattr(tracking, "_installed", lambda entry: True)
    monkeypatch.delenv("WANDB_MODE", raising=False)
    run = _train(tmp_path / "r", track=["wandb"], callbacks=[Extra()])
    (init,) = fake.inits
    assert init["mode"] == "offline" and init["dir"] == str(run) and init["config"]["steps"] == "6"
    metrics = [(s, v) for s, v in fake.logs if "recon/loss" in v]
    assert [s for s, _ in metrics] == [2, 4, 6]
    assert {"monitor/diversity", "user/twice"} <= set(metrics[0][1])
    grids = [(s, v["samples"]) for s, v in fake.logs if "samples" in v]
    assert [s for s, _ in grids] == [3, 6] and grids[0][1][0] == "image"
    assert fake.finished == [0]
    assert json.loads((run / "tracking.json").read_text())["wandb"] == {"id": "fake01"}

    gennet.evaluate(run, n=16, k=2, floor=False, metrics=["fid"])  # resumes the same W&B run
    assert fake.inits[-1]["id"] == "fake01" and fake.inits[-1]["resume"] == "allow"
    assert "eval/recon_mse" in fake.logs[-1][1] and fake.logs[-1][0] == 6


@pytest.mark.skipif(importlib.util.find_spec("wandb") is None, reason="wandb not installed")
def test_wandb_writes_an_offline_run(tmp_path, monkeypatch):
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.setenv("WANDB_SILENT", "true")
    run = _train(tmp_path / "r", track=["wandb"], steps=4, sample_every=4)
    (folder,) = (run / "wandb").glob("offline-run-*")
    (record,) = folder.glob("run-*.wandb")
    for _ in range(100):  # wandb's writer process finishes the file just after `finish` returns
        data = record.read_bytes()
        if b"monitor/diversity" in data:
            break
        time.sleep(0.1)
    assert b"recon/loss" in data and b"monitor/diversity" in data
    assert list((folder / "files" / "media" / "images").glob("samples_*.png"))


class Boom(gennet.Callback):
    def __init__(self, hook, at=2):
        self.hook, self.at = hook, at

    def on_train_start(self, info):
        if self.hook == "on_train_start":
            raise RuntimeError("tracker server unreachable")

    def on_log(self, step, row):
        if self.hook == "on_log" and step == self.at:
            raise RuntimeError("disk quota")


def test_a_failing_callback_ends_the_run_cleanly_and_it_resumes(tmp_path):
    events = []
    with pytest.warns(RuntimeWarning, match="disk quota"):
        with pytest.raises(CallbackError, match=r"'Boom' raised in on_log at step 2.*--resume"):
            _train(tmp_path / "r", callbacks=[Boom("on_log"), Recorder("rec", events)])
    run = tmp_path / "r"
    # the next step (3) was the last: logged, its grid and checkpoint written, final weights saved
    assert [r["step"] for r in _rows(run)] == [2, 3]
    assert (run / "model.safetensors").is_file()
    state = api.load(run)
    assert state is not None
    assert events[-1] == ("rec", "end", "failed", 3)
    assert ("rec", "checkpoint", 3) in events
    api.train("vae", run, resume=True, callbacks=[], quiet=True)
    assert [r["step"] for r in _rows(run)] == [2, 3, 4, 6]


def test_a_callback_failing_to_start_stops_before_any_step(tmp_path):
    events = []
    with pytest.warns(RuntimeWarning):
        with pytest.raises(CallbackError, match="did not start.*unreachable"):
            _train(tmp_path / "r", callbacks=[Recorder("first", events), Boom("on_train_start")])
    assert events == [("first", "start", 0), ("first", "end", "failed", 0)]  # the started one is closed
    assert not (tmp_path / "r" / "checkpoints").exists()


@pytest.mark.parametrize("bad", [{"user/x": float("nan")}, {"user/x": "high"}, {"step": 1}])
def test_a_bad_extra_metric_is_a_callback_error(tmp_path, bad):
    class Bad(gennet.Callback):
        def extra_metrics(self, step, row):
            return bad

    with pytest.raises(CallbackError, match="bad metric"):
        _train(tmp_path / "r", callbacks=[Bad()], steps=2, log_every=1)


def test_tracker_selection_errors_come_before_anything_is_written(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="unknown tracker 'neptune'.*tensorboard, mlflow, wandb"):
        _train(tmp_path / "a", track=["neptune"])
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda m, *a: None if m == "mlflow" else real(m, *a))
    with pytest.raises(GennetError, match=r"needs mlflow: pip install 'gennet\[mlflow\]'"):
        _train(tmp_path / "b", track=["tensorboard", "mlflow"])
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
    assert tracking.tracker_names(None) == (["tensorboard"] if real("tensorboard") else [])


def test_track_from_the_command_line(tmp_path, monkeypatch):
    from gennet.cli import main

    seen = {}
    monkeypatch.setattr(api, "train", lambda *a, **kw: seen.update(kw) or tmp_path)
    main(["train", "vae", "--track", "tensorboard,mlflow", "--out", str(tmp_path)])
    assert seen["track"] == ["tensorboard", "mlflow"]
    main(["train", "vae", "--track", "none", "--out", str(tmp_path)])
    assert seen["track"] == []
    tcfg, _ = api.resolve_config("vae", track="wandb")
    assert tcfg.track == ["wandb"]
