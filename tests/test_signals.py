"""Ctrl-C (SIGINT) or SIGTERM during training: the step finishes, a checkpoint is written, and gennet
exits with 128 + the signal's number and a message saying how to resume; the resume then continues.

The real entry point runs in a subprocess, which receives the signal mid-run.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from gennet.cli import main

SETTINGS = ["hidden=16", "latent_dim=2", "log_every=1", "sample_every=100000", "checkpoint_every=100000"]
ARGS = ["--data", "synthetic-shapes", "--batch-size", "32", "--quiet", "--set", *SETTINGS]


def _wait_for(path: Path, proc: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not (path.is_file() and path.stat().st_size > 0):
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline, "training never started"
        time.sleep(0.05)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_checkpoints_the_step_and_the_run_resumes(tmp_path, capsys, sig):
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "gennet", "train", "vae", "--steps", "1000000", "--out", str(run), *ARGS]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(run / "metrics.jsonl", proc)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 128 + sig, err
    assert "Traceback" not in err, err
    assert f"stopped by {sig.name}" in err and f"gennet train vae --out {run} --resume" in err, err
    step = torch.load(run / "checkpoints" / "last.pt", weights_only=True)["step"]
    assert 1 <= step < 1_000_000 and f"at step {step} " in err
    assert (run / "model.safetensors").is_file()
    assert not list(run.rglob("*.tmp"))

    capsys.readouterr()
    rc = main(["train", "vae", "--out", str(run), "--steps", str(step + 3), "--quiet", "--resume"])
    assert rc == 0, capsys.readouterr().err
    assert torch.load(run / "checkpoints" / "last.pt", weights_only=True)["step"] == step + 3
