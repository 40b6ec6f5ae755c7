"""Real 2-process torchrun runs (gloo on CPU) equal the single-process run with the same global
batch: DDP averages the per-process gradients of the two half batches."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from gennet.api import build_model, load
from gennet.train import distributed as D

TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
ARGS = [
    "train",
    "ae",
    "--data",
    "synthetic-shapes",
    "--steps",
    "5",
    "--batch-size",
    "32",
    "--quiet",
    "--set",
    "hidden=32",
    "latent_dim=4",
    "sample_every=5",
    "precision=fp32",  # the comparison is of DDP's gradient averaging (to 1e-5), not of bf16 rounding
]


def _run(cmd, cwd):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def _assert_same_weights(path_a, path_b):
    a, b = load_file(path_a), load_file(path_b)
    assert a.keys() == b.keys()
    for k in a:
        assert (a[k] - b[k]).abs().max() < 1e-5, k
    return b


@pytest.mark.slow
def test_two_process_torchrun_matches_single_process(tmp_path):
    two = _run([*TORCHRUN, "-m", "gennet", *ARGS, "--out", "two"], tmp_path)
    assert two.stdout.count("run written to") == 1  # only rank 0 reports
    _run([sys.executable, "-m", "gennet", *ARGS, "--out", "one"], tmp_path)
    b = _assert_same_weights(tmp_path / "one" / "model.safetensors", tmp_path / "two" / "model.safetensors")
    # training moved the weights, so this is not a comparison of two untouched initialisations
    run = load(tmp_path / "two", device="cpu")
    torch.manual_seed(0)
    init = build_model("ae", run.spec, run.config.model_args).state_dict()
    assert any((init[k] - b[k]).abs().max() > 1e-4 for k in b)


@pytest.mark.slow
def test_two_phase_model_under_ddp_matches_single_process(tmp_path):
    """A GAN-shaped model (D twice per step, then G through D) on one DDP wrapper."""
    script = str(Path(__file__).with_name("ddp_two_phase_script.py"))
    _run([*TORCHRUN, script, str(tmp_path / "two.safetensors")], tmp_path)
    _run([sys.executable, script, str(tmp_path / "one.safetensors")], tmp_path)
    _assert_same_weights(tmp_path / "one.safetensors", tmp_path / "two.safetensors")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["dcgan", "wgan-gp"])
def test_adversarial_models_train_under_ddp(tmp_path, name):
    """The G step reusing the D step's fakes (dcgan) and the gradient penalty's double backward
    (wgan-gp) both run on one DDP wrapper, and both G and D train."""
    args = ["train", name, "--data", "synthetic-shapes", "--steps", "3", "--batch-size", "16", "--quiet",
            "--set", "base_channels=8", "latent_dim=4", "d_steps=1"]  # fmt: skip
    _run([*TORCHRUN, "-m", "gennet", *args, "--out", "run"], tmp_path)
    run = load(tmp_path / "run", device="cpu")
    torch.manual_seed(0)
    init = build_model(name, run.spec, run.config.model_args).state_dict()
    trained = load_file(tmp_path / "run" / "model.safetensors")
    for part in ("G.", "D."):
        assert any((init[k] - trained[k]).abs().max() > 0 for k in trained if k.startswith(part)), part


def test_stop_vote_alone_decides_at_every_step_and_under_torchrun_about_every_second(monkeypatch):
    """One process: its own wish, at every step, without a collective. Process 0 of 2 at 64 steps/s:
    votes after steps 1 and 2, then every 64 steps (a second's worth); a wish waits for the vote."""
    given, now = [], [0.0]

    def all_reduce(t, op=None):  # as if the other process gave what this one gives
        given.append(t.tolist())

    monkeypatch.setattr(D.dist, "all_reduce", all_reduce)
    monkeypatch.setattr(D.time, "perf_counter", lambda: now[0])
    alone = D.StopVote(D.DistInfo(), torch.device("cpu"))
    assert [alone(s, s == 7) for s in range(1, 10)] == [s == 7 for s in range(1, 10)] and given == []
    vote = D.StopVote(D.DistInfo(rank=0, world_size=2), torch.device("cpu"))
    stopped = None
    for step in range(1, 400):
        now[0] = step / 64
        if vote(step, asks=step >= 150):
            stopped = step
            break
    assert stopped == 194
    assert given == [[0, 1], [0, 64], [0, 64], [0, 64], [1, 64]]  # after steps 1, 2, 66, 130, 194
    given.clear()
    other = D.StopVote(D.DistInfo(rank=1, world_size=2), torch.device("cpu"))
    monkeypatch.setattr(
        D.dist, "all_reduce", lambda t, op=None: (given.append(t.tolist()), t.__setitem__(1, 64))
    )
    assert not any(other(step, False) for step in range(1, 130))
    assert given == [[0, 0]] * 3  # process 1 proposes nothing; it votes when process 0 said: 1, 65, 129


@pytest.mark.slow
def test_a_stop_only_process_0_knows_stops_every_process_at_the_same_step(tmp_path):
    script = str(Path(__file__).with_name("ddp_stop_script.py"))
    _run([*TORCHRUN, script, str(tmp_path)], tmp_path)
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert ranks[0]["step"] == ranks[1]["step"] and 20 < ranks[0]["step"] < 400, ranks
    assert ranks[0]["votes"] == ranks[1]["votes"] < ranks[0]["step"], ranks  # not one vote a step
