"""Every file gennet writes is written whole or not at all (`gennet.atomic`).

A full disk is simulated in-process (the helper's temporary file takes a few bytes, then fails with
ENOSPC, as a real full disk does), for every writer gennet has and through the CLI; one test also
fills a real 1 MiB tmpfs, mounted in a private mount namespace where the machine allows it.
"""

from __future__ import annotations

import errno
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from gennet import atomic
from gennet.config import write_json
from gennet.data.idx import write_idx
from gennet.errors import GennetError
from gennet.eval.feature_metrics import GaussianStats
from gennet.train.checkpoint import save_checkpoint, save_weights
from gennet.viz import latent_scatter, loss_curves, save_grid, save_image_npz, save_rows
from gennet.viz.report import write_report
from tests.conftest import cli, tiny_vae_run


class _FullFile(io.FileIO):
    """A file on a disk with `room` bytes left: a write beyond them lands partly, then ENOSPC."""

    def __init__(self, path, room: int):
        super().__init__(path, "w")
        self.room = room

    def write(self, b) -> int:
        b = bytes(b)
        if len(b) > self.room:
            super().write(b[: self.room])
            self.room = 0
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= len(b)
        return super().write(b)


@pytest.fixture
def full_disk(monkeypatch):
    """While active, the temporary files of destinations `where(path)` accepts hit a full disk."""
    state = {"room": 100, "where": lambda path: True}
    real = atomic._open_temp

    def open_temp(path: Path):
        tmp, f = real(path)
        if not state["where"](path):
            return tmp, f
        f.close()
        return tmp, io.BufferedWriter(_FullFile(tmp, state["room"]), buffer_size=64)

    monkeypatch.setattr(atomic, "_open_temp", open_temp)
    return state


def _no_temps(folder: Path) -> bool:
    return not [p for p in folder.rglob("*") if p.name.endswith(".tmp")]


# ---- the helper ---------------------------------------------------------------------------------
def test_a_write_replaces_the_file_whole_with_ordinary_permissions(tmp_path):
    path = tmp_path / "sub" / "f.txt"
    atomic.write_text(path, "one")
    atomic.write_text(path, "two")
    assert path.read_text() == "two"
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    assert [p.name for p in path.parent.iterdir()] == ["f.txt"]


def test_an_error_while_writing_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"good")
    with pytest.raises(ZeroDivisionError), atomic.atomic_write(path) as f:
        f.write(b"half of the new")
        raise ZeroDivisionError
    assert path.read_bytes() == b"good"
    assert _no_temps(tmp_path)


def test_a_full_disk_is_a_clear_error_naming_the_file(tmp_path, full_disk):
    path = tmp_path / "f.bin"
    path.write_bytes(b"good")
    with pytest.raises(GennetError, match=r"cannot write .*f\.bin: the disk is full"):
        atomic.write_bytes(path, b"x" * 1000)
    assert path.read_bytes() == b"good"
    assert _no_temps(tmp_path)


def test_stale_temps_of_the_named_files_are_removed_and_nothing_else(tmp_path):
    (tmp_path / "a").mkdir()
    stale = [
        tmp_path / "last.pt.0badf00d.tmp",
        tmp_path / "a" / "s-1.png.ab_CD123.tmp",
        tmp_path / "c.json.tmp",
    ]
    kept = [
        tmp_path / "last.pt",
        tmp_path / "mine.tmp",
        tmp_path / "last.pt.x.tmp",
        tmp_path / "a" / "b.png.0badf00d.tmp",
    ]
    for p in stale + kept:
        p.write_bytes(b"x")
    assert sorted(atomic.remove_stale_temps(tmp_path, ["last.pt", "a/s-*.png", "c.json"])) == sorted(stale)
    assert sorted(p for p in tmp_path.rglob("*") if p.is_file()) == sorted(kept)


# ---- every writer -------------------------------------------------------------------------------
def _metrics(path: Path) -> Path:
    rows = [{"step": s, "recon/loss": 1.0 / s} for s in range(1, 20)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


IMAGES = np.random.default_rng(0).integers(0, 256, (16, 1, 8, 8), dtype=np.uint8)
STATE = {"w": torch.arange(2000.0)}
WRITERS = {
    "save_grid": ("g.png", lambda p, k: save_grid(IMAGES[k:], p)),
    "save_rows": ("r.png", lambda p, k: save_rows([IMAGES[k:8], IMAGES[8 + k :]], p, labels=["a", "b"])),
    "save_image_npz": ("i.npz", lambda p, k: save_image_npz(p, images=IMAGES[k:])),
    "loss_curves": ("c.png", lambda p, k: loss_curves(_metrics(p.parent / "m.jsonl"), p)),
    "latent_scatter": ("z.png", lambda p, k: latent_scatter(np.arange(40.0 + 2 * k).reshape(-1, 2), None, p)),
    "write_report": (
        "out/report.html",
        lambda p, k: write_report({"title": f"t{k}", "models": []}, p.parent),
    ),
    "write_json": ("config.json", lambda p, k: write_json(p, {"k": k, "pad": "x" * 500})),
    "save_checkpoint": ("last.pt", lambda p, k: save_checkpoint({"step": k, **STATE}, p)),
    "save_weights": ("model.safetensors", lambda p, k: save_weights({"w": STATE["w"] + k}, p)),
    "write_idx": ("x-idx3-ubyte", lambda p, k: write_idx(p, IMAGES[:, 0] + k)),
    "GaussianStats.to_npz": ("s.npz", lambda p, k: GaussianStats(np.zeros(20) + k, np.eye(20), 5).to_npz(p)),
}


@pytest.mark.parametrize("writer", WRITERS)
def test_a_full_disk_leaves_every_writers_earlier_file_whole(tmp_path, full_disk, writer):
    name, write = WRITERS[writer]
    path = tmp_path / name
    full_disk["where"] = lambda p: False
    write(path, 0)
    good = path.read_bytes()
    full_disk["where"] = lambda p: True
    with pytest.raises(GennetError, match="the disk is full") as e:
        write(path, 1)
    assert path.name in str(e.value)
    assert path.read_bytes() == good
    assert _no_temps(tmp_path)
    fresh = tmp_path / "fresh" / name
    with pytest.raises(GennetError):
        write(fresh, 1)
    assert not fresh.exists() and _no_temps(tmp_path)


# ---- through the CLI ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("atomic") / "vae"
    tiny_vae_run(out)
    return out


def _assert_refused(rc: int, err: str, *needles: str) -> None:
    assert rc == 2, err
    assert err.startswith("gennet: error:") and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, f"{needle!r} not in {err!r}"


@pytest.mark.parametrize("suffix", [".png", ".npz"])
def test_a_full_disk_does_not_destroy_an_earlier_output(run, tmp_path, capsys, full_disk, suffix):
    out = tmp_path / f"samples{suffix}"
    full_disk["where"] = lambda p: False
    assert cli(capsys, "sample", run, "-n", "4", "-o", out)[0] == 0
    good = out.read_bytes()
    full_disk["where"] = lambda p: True
    rc, err = cli(capsys, "sample", run, "-n", "16", "--seed", "3", "-o", out)
    _assert_refused(rc, err, str(out), "the disk is full")
    assert out.read_bytes() == good
    assert _no_temps(tmp_path)


def test_a_full_disk_during_a_checkpoint_keeps_the_last_one_and_the_run_resumes(
    run, tmp_path, capsys, full_disk
):
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    good = (copy / "checkpoints" / "last.pt").read_bytes()
    full_disk["where"] = lambda p: p.name == "last.pt"
    rc, err = cli(capsys, "train", "vae", "--out", copy, "--steps", "20", "--quiet", "--resume")
    _assert_refused(rc, err, str(copy / "checkpoints" / "last.pt"), "the disk is full")
    assert (copy / "checkpoints" / "last.pt").read_bytes() == good
    assert _no_temps(copy)
    full_disk["where"] = lambda p: False  # space freed: the same command continues the run
    rc, err = cli(capsys, "train", "vae", "--out", copy, "--steps", "20", "--quiet", "--resume")
    assert rc == 0, err
    assert torch.load(copy / "checkpoints" / "last.pt", weights_only=True)["step"] == 20


# ---- a real full disk ---------------------------------------------------------------------------
REAL_DISK = """
import contextlib, io, json, os, shutil, sys
from pathlib import Path
from gennet.cli import main

disk, src, report = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])

def cli(*args):
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        rc = main([str(a) for a in args])
    return rc, err.getvalue()

def fill(leave):
    free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
    with open(disk / "filler", "ab") as f:
        f.write(b"\\0" * max(free - leave, 0))

def snapshot(root):
    return {str(p): p.read_bytes().hex() for p in sorted(root.rglob("*")) if p.is_file()}

run, out, res = disk / "run", disk / "s.png", {}
shutil.copytree(src, run)
res["first"] = cli("sample", run, "-n", "4", "-o", out)
good = out.read_bytes()
fill(0)
res["overwrite"] = cli("sample", run, "-n", "64", "--seed", "3", "-o", out)
res["kept"] = out.read_bytes() == good
os.unlink(disk / "filler")
fill(48 * 1024)  # room for config.json, metrics and previews, not for a checkpoint
ckpt = (run / "checkpoints" / "last.pt").read_bytes()
res["resume_full"] = cli("train", "vae", "--out", run, "--steps", "20", "--quiet", "--resume")
res["ckpt_kept"] = (run / "checkpoints" / "last.pt").read_bytes() == ckpt
res["temps"] = [str(p) for p in disk.rglob("*.tmp")]
os.unlink(disk / "filler")
res["resume_freed"] = cli("train", "vae", "--out", run, "--steps", "20", "--quiet", "--resume")
report.write_text(json.dumps(res))
"""


def _namespace_mount(point: Path) -> str | None:
    """None if a tmpfs can be mounted at `point` in a private mount namespace, else why not."""
    if shutil.which("unshare") is None:
        return "no `unshare` command on this machine"
    cmd = ["unshare", "-rm", "sh", "-c", 'mount -t tmpfs -o size=64k tmpfs "$0"', str(point)]
    probe = subprocess.run(cmd, capture_output=True, text=True)
    return None if probe.returncode == 0 else f"cannot mount a tmpfs here: {probe.stderr.strip()}"


def test_a_real_full_tmpfs(run, tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    why = _namespace_mount(disk)
    if why:
        pytest.skip(f"{why}; the simulated full disk above covers the same paths")
    report = tmp_path / "report.json"
    script = 'mount -t tmpfs -o size=1m tmpfs "$1" && exec "$0" -c "$2" "$1" "$3" "$4"'
    cmd = ["unshare", "-rm", "sh", "-c", script, sys.executable, str(disk), REAL_DISK, str(run), str(report)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and report.is_file(), done.stderr
    res = json.loads(report.read_text())
    assert res["first"][0] == 0, res
    for key, culprit in (("overwrite", "s.png"), ("resume_full", "last.pt")):
        rc, err = res[key]
        _assert_refused(rc, err, culprit, "the disk is full")
    assert res["kept"] and res["ckpt_kept"] and res["temps"] == [], res
    assert res["resume_freed"][0] == 0, res
