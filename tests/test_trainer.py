"""The generic trainer: the phase contract, exact resume, the NaN guard, checkpoints."""

import contextlib
import json
import os
import signal
from dataclasses import replace

import pytest
import torch
from torch import nn

from gennet import api
from gennet.config import TrainConfig
from gennet.data import load_dataset
from gennet.errors import CallbackError, GennetError, TrainingDiverged, TrainingInterrupted
from gennet.models.base import GenerativeModel, OptimSpec, Phase
from gennet.train import Trainer
from gennet.train.callbacks import Callback
from gennet.train.checkpoint import load_checkpoint
from gennet.train.loader import CounterLoader
from tests.conftest import tiny_overrides

DATA = load_dataset("synthetic-shapes", split="train")
CPU = torch.device("cpu")


class TwoPhase(GenerativeModel):
    """A GAN-shaped toy: phase `D` runs k times per step, phase `G` every other step."""

    capabilities = frozenset()

    def __init__(self, spec, k=3, g_every=2, nan_at=None):
        super().__init__(None, spec)
        self.d = nn.Linear(spec.channels * spec.height * spec.width, 1)
        self.g = nn.Linear(1, 1)
        self.k, self.g_every, self.nan_at = k, g_every, nan_at
        self.calls = {"D": 0, "G": 0, "clip": 0}

    def phases(self):
        return [
            Phase(
                "D",
                list(self.d.parameters()),
                self._d,
                OptimSpec("sgd", 0.1),
                repeat=self.k,
                after_step=self._clip,
            ),
            Phase(
                "G",
                list(self.g.parameters()),
                self._g,
                OptimSpec("sgd", 0.1),
                every=self.g_every,
                lr_lambda=lambda s: 0.5**s,
            ),
        ]

    def _clip(self):
        self.calls["clip"] += 1
        for p in self.d.parameters():
            p.data.clamp_(-0.01, 0.01)

    def _d(self, batch, ctx):
        self.calls["D"] += 1
        loss = self.d(batch.x.flatten(1)).pow(2).mean()
        if self.nan_at is not None and ctx.step >= self.nan_at:
            loss = loss * float("nan")
        return {"loss": loss}

    def _g(self, batch, ctx):
        self.calls["G"] += 1
        return {"loss": (self.g(torch.ones(1, 1)) - 3).pow(2).sum()}


def _cfg(**kw):
    base = dict(steps=6, batch_size=8, quiet=True, log_every=1, sample_every=1000, checkpoint_every=1000)
    base.update(kw)
    return TrainConfig(**base)


def test_phases_run_with_their_repeat_interval_hooks_and_schedules(tmp_path):
    model = TwoPhase(DATA.spec)
    tr = Trainer(model, DATA, _cfg(), tmp_path, CPU)
    tr.fit()
    assert model.calls["D"] == 6 * 3 and model.calls["clip"] == 6 * 3
    assert model.calls["G"] == 3  # steps 0, 2, 4
    assert tr.loader.counter == 6 * 3 + 3  # every phase repetition draws a fresh batch
    assert all(p.abs().max() <= 0.01 for p in model.d.parameters())  # clipping held
    assert tr.optimizers["G"].param_groups[0]["lr"] == pytest.approx(0.1 * 0.5**6)
    rows = [json.loads(r) for r in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3, 4, 5, 6]
    assert "D/loss" in rows[0] and "G/loss" in rows[0] and "G/loss" not in rows[1]


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path):
    model = TwoPhase(DATA.spec, nan_at=5)
    tr = Trainer(model, DATA, _cfg(steps=10, checkpoint_every=2), tmp_path, CPU)
    with pytest.raises(TrainingDiverged, match=r"not finite at step 5.*step 4"):
        tr.fit()
    state = load_checkpoint(tmp_path / "checkpoints" / "last.pt")
    assert state["step"] == 4
    assert all(torch.isfinite(v).all() for v in state["model"].values())
    assert all(torch.isfinite(p).all() for p in model.parameters())  # the bad update never happened


class _Signals(Callback):
    """Sends this process SIGINT at the first log row, as a Ctrl-C would (once: a second one is
    Ctrl-C's default, KeyboardInterrupt)."""

    def on_log(self, step, row):
        if step == 1:
            os.kill(os.getpid(), signal.SIGINT)


class _FailsToStart(Callback):
    def on_train_start(self, info):
        raise RuntimeError("no tracker today")


ENDINGS = {
    "finished": (lambda: TwoPhase(DATA.spec), (), None),
    "diverged": (lambda: TwoPhase(DATA.spec, nan_at=2), (), TrainingDiverged),
    "interrupted": (lambda: TwoPhase(DATA.spec), (_Signals(),), TrainingInterrupted),
    "not started": (lambda: TwoPhase(DATA.spec), (_FailsToStart(),), CallbackError),
}


@pytest.mark.filterwarnings("ignore:callback '_FailsToStart' raised")
@pytest.mark.parametrize("ending", list(ENDINGS))
def test_fit_closes_the_loader_however_the_run_ends(tmp_path, monkeypatch, ending):
    make, callbacks, error = ENDINGS[ending]
    closed = []
    close = CounterLoader.close
    monkeypatch.setattr(CounterLoader, "close", lambda self: closed.append(self) or close(self))
    tr = Trainer(make(), DATA, _cfg(), tmp_path, CPU, callbacks=callbacks)
    with pytest.raises(error) if error else contextlib.nullcontext():
        tr.fit()
    assert closed == [tr.loader]


def _train_rows(out, **kw):
    api.train(
        "vae",
        out,
        data="synthetic-shapes",
        batch_size=16,
        quiet=True,
        log_every=1,
        sample_every=1000,
        checkpoint_every=5,
        **tiny_overrides("vae"),
        **kw,
    )
    return [json.loads(r) for r in (out / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("extra", [{}, {"ema": 0.9}])
def test_resume_reproduces_an_unbroken_run(tmp_path, extra):
    straight = _train_rows(tmp_path / "a", steps=12, **extra)
    _train_rows(tmp_path / "b", steps=5, **extra)
    resumed = _train_rows(tmp_path / "b", steps=12, resume=True)
    assert [r["step"] for r in resumed] == list(range(1, 13))
    for r1, r2 in zip(straight, resumed, strict=True):
        assert r1["recon/loss"] == r2["recon/loss"], (r1, r2)
    from gennet.train.checkpoint import load_weights

    for f in ["model.safetensors"] + (["ema.safetensors"] if extra else []):
        wa, wb = load_weights(tmp_path / "a" / f), load_weights(tmp_path / "b" / f)
        assert all(torch.equal(wa[k], wb[k]) for k in wa), f


def test_resume_restores_optimizer_state(tmp_path):
    _train_rows(tmp_path / "r", steps=5)
    state = load_checkpoint(tmp_path / "r" / "checkpoints" / "last.pt")
    adam = state["optimizers"]["recon"]["state"]
    assert adam and all(int(s["step"]) == 5 for s in adam.values())
    assert state["loader"]["counter"] == 5 and state["step"] == 5


def test_resume_cannot_change_the_model(tmp_path):
    _train_rows(tmp_path / "r", steps=2)
    with pytest.raises(GennetError, match="cannot change model settings"):
        api.train("vae", tmp_path / "r", resume=True, steps=4, latent_dim=7)


def test_checkpoint_is_written_atomically_and_loads_without_code(tmp_path):
    _train_rows(tmp_path / "r", steps=5)
    ckpt = tmp_path / "r" / "checkpoints"
    assert [p.name for p in ckpt.iterdir()] == ["last.pt"]  # no temporary file left behind
    state = torch.load(ckpt / "last.pt", weights_only=True)
    assert state["step"] == 5


def test_corrupt_checkpoint_is_a_clear_error(tmp_path):
    _train_rows(tmp_path / "r", steps=5)
    (tmp_path / "r" / "checkpoints" / "last.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(GennetError, match="cannot read checkpoint"):
        api.train("vae", tmp_path / "r", resume=True, steps=8)


def test_corrupt_weights_are_a_clear_error(tmp_path):
    _train_rows(tmp_path / "r", steps=2)
    (tmp_path / "r" / "model.safetensors").write_bytes(b"junk")
    with pytest.raises(GennetError, match="cannot read weights"):
        api.load(tmp_path / "r")


def test_batch_larger_than_data_is_a_clear_error(tmp_path):
    small = DATA.subset(slice(0, 10))
    with pytest.raises(GennetError, match="larger than the training set"):
        Trainer(TwoPhase(DATA.spec), small, replace(_cfg(), batch_size=32), tmp_path, CPU)


def test_resume_as_another_model_is_refused(tmp_path):
    _train_rows(tmp_path / "r", steps=2)
    with pytest.raises(GennetError, match="holds a 'vae' run, not 'ae'"):
        api.train("ae", tmp_path / "r", resume=True, steps=4)
