"""The disk cache of an image folder (data/cache.py) and its loader (train/loader.py DiskLoader).

Tiny folders are made in each test. The cache must give the pixels, labels and batches the
in-memory path gives, bit for bit (also after a resume from a counter); be reused while nothing
changes; rebuild when a setting or a file changes; and never use a build that did not finish.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from gennet.cli import main
from gennet.config import TrainConfig, apply_overrides
from gennet.data import CacheRequest, load_dataset, use_disk_cache
from gennet.data import cache as cache_module
from gennet.data import folder as folder_module
from gennet.data import load as load_module
from gennet.errors import ConfigError
from gennet.train.loader import DiskLoader, InMemoryLoader, make_loader

CPU = torch.device("cpu")
SRC = Path(__file__).resolve().parent.parent / "src"


def _picture(path: Path, seed: int, size=(24, 20), mode="RGB") -> None:
    rng = np.random.default_rng(seed)
    shape = (size[1], size[0], 3) if mode == "RGB" else (size[1], size[0])
    Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode).save(path)


def _folder(root: Path, n: int = 40) -> Path:
    """Two class subfolders of mixed sizes, PNG and JPEG, one corrupt file."""
    for c in ("cats", "dogs"):
        (root / c).mkdir(parents=True, exist_ok=True)
    for i in range(n):
        suffix = ".jpg" if i % 3 == 0 else ".png"
        _picture(root / ("cats" if i % 2 else "dogs") / f"p{i:02d}{suffix}", i, (20 + i % 7, 18 + i % 5))
    (root / "dogs" / "corrupt.png").write_bytes(b"not a picture")
    return root


def _load(root: Path, size: int = 16, cache: bool = True, split: str = "train", **kw):
    """One split, in memory or through the cache; the corrupt file's warning (a build and the
    in-memory path give it; a reused cache only reports the file) is checked where it matters."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return load_dataset(
            str(root), split=split, image_size=size, cache=CacheRequest(**kw) if cache else None
        )


def _caches(root: Path) -> list[Path]:
    return sorted(p for p in (root / ".gennet-cache").iterdir() if not p.name.startswith("."))


def test_cache_has_the_pixels_of_memory_and_is_reused(tmp_path):
    root = _folder(tmp_path / "f")
    mem = _load(root, cache=False)
    with pytest.warns(UserWarning, match="skipping unreadable image .*corrupt.png"):
        disk = load_dataset(str(root), image_size=16, cache=CacheRequest())
    assert disk.cache_dir is not None and mem.cache_dir is None
    assert torch.equal(mem.images, disk.images) and torch.equal(mem.labels, disk.labels)
    assert disk.classes == mem.classes == ["cats", "dogs"]
    assert disk.report.summary() == mem.report.summary()  # kept, resized, skipped (the corrupt file)
    assert "built now" in disk.report.cache_note
    stamp = (disk.cache_dir / "images.u8").stat().st_mtime_ns
    again = _load(root)
    assert again.cache_dir == disk.cache_dir and "images read from the cache" in again.report.cache_note
    assert (again.cache_dir / "images.u8").stat().st_mtime_ns == stamp
    assert again.report.summary() == mem.report.summary()
    index = json.loads((disk.cache_dir / "index.json").read_text())["files"]
    assert len(index) == 37 and all(len(row) == 3 for row in index)  # path, size, mtime of the 90%


def test_a_changed_setting_builds_beside_and_switching_back_reuses(tmp_path):
    root = _folder(tmp_path / "f")
    first = _load(root, size=16).cache_dir
    other = _load(root, size=12)
    assert other.cache_dir != first and other.images.shape[-1] == 12
    assert torch.equal(other.images, _load(root, size=12, cache=False).images)
    assert "read from" in _load(root, size=16).report.cache_note
    assert len(_caches(root)) == 2


@pytest.mark.parametrize("change", ["touched", "replaced", "added", "removed"])
def test_a_changed_file_rebuilds_in_place(tmp_path, change):
    root = _folder(tmp_path / "f")
    before = _load(root)
    target = root / "cats" / "p01.png"
    if change == "touched":
        os.utime(target, ns=(time.time_ns(), target.stat().st_mtime_ns + 10**9))
    elif change == "replaced":
        stamp = target.stat().st_mtime_ns
        _picture(target, 999, (21, 18))
        os.utime(target, ns=(stamp, stamp))  # same name and mtime: the size tells
    elif change == "added":
        _picture(root / "cats" / "new.png", 1000)
    else:
        target.unlink()
    after = _load(root)
    assert after.cache_dir == before.cache_dir and len(_caches(root)) == 1
    assert "rebuilt" in after.report.cache_note, after.report.cache_note
    word = {"touched": "changed", "replaced": "changed", "added": "added", "removed": "removed"}[change]
    assert re.search(rf"rebuilt: source files .*\d+ {word}.* since the last build", after.report.cache_note)
    mem = _load(root, cache=False)
    assert torch.equal(after.images, mem.images) and torch.equal(after.labels, mem.labels)
    assert "read from" in _load(root).report.cache_note


def test_a_damaged_cache_is_rebuilt(tmp_path):
    root = _folder(tmp_path / "f")
    path = _load(root).cache_dir
    with open(path / "images.u8", "r+b") as f:
        f.truncate(100)  # a disk error, a user's editor: not the size meta.json says
    again = _load(root)
    assert "rebuilt: the earlier cache was damaged" in again.report.cache_note
    assert torch.equal(again.images, _load(root, cache=False).images)


def _batches(loader, steps: int) -> list:
    return [loader.next() for _ in range(steps)]


def _same(a, b) -> None:
    assert torch.equal(a.x, b.x) and a.x.dtype == b.x.dtype == torch.float32
    assert (a.y is None and b.y is None) or torch.equal(a.y, b.y)
    assert a.extra.keys() == b.extra.keys()
    for k in a.extra:
        assert torch.equal(a.extra[k], b.extra[k])


@pytest.mark.parametrize("rank,world", [(0, 1), (1, 2)])
def test_disk_loader_gives_the_in_memory_batches_and_resumes_exactly(tmp_path, rank, world):
    root = _folder(tmp_path / "f")
    mem, disk = _load(root, cache=False), _load(root)
    kw = dict(seed=5, rank=rank, world_size=world)
    a, b = InMemoryLoader(mem, 8, CPU, **kw), make_loader(disk, 8, CPU, **kw)
    assert isinstance(b, DiskLoader)
    ref = _batches(a, 11)  # 36 images, 4 batches an epoch: across two epoch boundaries
    for x, y in zip(ref, _batches(b, 11), strict=True):
        _same(x, y)
    resumed = make_loader(disk, 8, CPU, **kw)
    resumed.load_state_dict({"counter": 6})
    for x, y in zip(ref[6:], _batches(resumed, 5), strict=True):
        _same(x, y)
    b.load_state_dict({"counter": 2})  # a prefetched batch it no longer needs is dropped
    _same(ref[2], b.next())
    b.load_state_dict(a.state_dict())
    a.set_batch_size(4), b.set_batch_size(4)  # a stage's batch size: the counter stays the position
    for x, y in zip(_batches(a, 3), _batches(b, 3), strict=True):
        _same(x, y)
    b.close()


def test_fit_stops_the_disk_loaders_thread(tmp_path):
    """`Trainer.fit` closes its loader: the thread that gathers batches ahead ends with the run."""
    from gennet.api import build_model
    from gennet.train import Trainer

    data = _load(_folder(tmp_path / "f"))
    before = set(threading.enumerate())
    cfg = TrainConfig(model="ae", steps=3, batch_size=8, quiet=True, sample_every=100)
    trainer = Trainer(
        build_model("ae", data.spec, {"hidden": (16,), "latent_dim": 2}), data, cfg, tmp_path / "r", CPU
    )
    trainer.fit()
    assert isinstance(trainer.loader, DiskLoader)
    started = [
        t for t in threading.enumerate() if t not in before and t.name.startswith("gennet-disk-loader")
    ]
    assert started == []


def test_unpaired_domains_are_cached_and_batched_alike(tmp_path):
    root = tmp_path / "u"
    for dom, n in (("trainA", 12), ("trainB", 9)):
        (root / dom).mkdir(parents=True)
        for i in range(n):
            _picture(root / dom / f"{i}.png", i + 50 * len(dom), (18, 18), "L")
    mem = load_dataset(str(root), image_size=16)
    disk = load_dataset(str(root), image_size=16, cache=CacheRequest())
    assert disk.a.cache_dir != disk.b.cache_dir and disk.cache_dir == disk.a.cache_dir
    assert disk.a.images.shape[1] == 1  # grey from the headers, as decoding finds
    a, b = make_loader(mem, 4, CPU, seed=1), make_loader(disk, 4, CPU, seed=1)
    for x, y in zip(_batches(a, 5), _batches(b, 5), strict=True):
        _same(x, y)


def test_a_build_that_fails_midway_leaves_nothing_used(tmp_path, monkeypatch):
    root = _folder(tmp_path / "f")
    real, calls = folder_module._to_array, []

    def failing(img, channels):
        calls.append(1)
        if len(calls) == 10:
            raise KeyboardInterrupt  # as Ctrl-C would, in the middle of the build
        return real(img, channels)

    monkeypatch.setattr(folder_module, "_to_array", failing)
    with pytest.raises(KeyboardInterrupt):
        _load(root)
    assert list((root / ".gennet-cache").iterdir()) == []  # neither a cache nor a temporary folder
    monkeypatch.setattr(folder_module, "_to_array", real)
    built = _load(root)
    assert "built now" in built.report.cache_note
    assert torch.equal(built.images, _load(root, cache=False).images)


KILLED_BUILD = """
import sys, time
from gennet.data import CacheRequest, load_dataset
from gennet.data import folder
real = folder._to_array
def slow(img, channels):
    time.sleep(0.05)
    return real(img, channels)
folder._to_array = slow
load_dataset(sys.argv[1], image_size=16, cache=CacheRequest())
"""


def test_a_killed_build_leaves_no_cache_that_is_used_later(tmp_path):
    root = _folder(tmp_path / "f")
    env = {**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_BUILD, str(root)], env=env, stderr=subprocess.DEVNULL
    )
    deadline = time.time() + 60
    while not list((root / ".gennet-cache").glob(".building-*/images.u8*")) and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)  # a few pictures into the build
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    left = list((root / ".gennet-cache").glob(".building-*"))
    assert len(left) == 1 and not (left[0] / "meta.json").exists()
    assert _caches(root) == []  # nothing a later run could take for a cache
    built = _load(root)
    assert "built now" in built.report.cache_note
    assert not left[0].exists()  # the dead builder's leftovers are removed by the next build
    assert torch.equal(built.images, _load(root, cache=False).images)


def test_a_read_only_folder_caches_in_the_user_cache(tmp_path, monkeypatch):
    root = _folder(tmp_path / "f")
    (root / ".gennet-cache").write_text("in the way")  # mkdir fails here even for root
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    data = _load(root)
    assert data.cache_dir.is_relative_to(tmp_path / "xdg" / "gennet" / "folders")
    assert "read from" in _load(root).report.cache_note


def test_other_processes_wait_for_the_builder(tmp_path, monkeypatch):
    root = _folder(tmp_path / "f")
    monkeypatch.setattr(cache_module, "POLL_S", 0.02)
    got = {}

    def waiter():
        got["data"] = _load(root, build=False)

    thread = threading.Thread(target=waiter)
    thread.start()
    time.sleep(0.2)
    assert "data" not in got  # nothing to read yet: it waits
    built = _load(root)
    thread.join(10)
    assert "built by process 0" in got["data"].report.cache_note
    assert torch.equal(got["data"].images, built.images)


def test_auto_uses_the_disk_only_for_a_folder_that_would_not_fit(tmp_path, monkeypatch):
    root = _folder(tmp_path / "f")
    monkeypatch.setattr(load_module, "available_memory", lambda: 10**9)
    assert use_disk_cache("auto", str(root), 16, None, 0.25) == (False, None)
    monkeypatch.setattr(load_module, "available_memory", lambda: 100_000)  # 41 x 3 x 16 x 16 = 31 kB
    disk, why = use_disk_cache("auto", str(root), 16, None, 0.25)
    assert disk and "cached on disk" in why and "data_cache=memory" in why
    assert use_disk_cache("memory", str(root), 16, None, 0.25) == (False, None)
    assert use_disk_cache("disk", str(root), 16, None, 0.25) == (True, None)
    disk, why = use_disk_cache("disk", "mnist", None, None, 0.25)
    assert not disk and "kept in memory" in why
    for bad in ({"data_cache": "ram"}, {"data_cache_memory": 0}, {"data_cache_memory": 1.5}):
        with pytest.raises(ConfigError, match="data_cache"):
            apply_overrides(TrainConfig(), bad, what="train")


def _train(tmp_path, data: Path, out: str, *extra: str) -> tuple[int, str]:
    args = ["train", "ae", "--data", str(data), "--steps", "3", "--batch-size", "8", "--out"]
    args += [str(tmp_path / out), "--set", "image_size=16", "--set", "latent_dim=4", "--set", "hidden=32"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return main([*args, *extra])


def test_cli_trains_through_the_disk_cache_as_in_memory(tmp_path, capsys):
    data = _folder(tmp_path / "f")
    assert _train(tmp_path, data, "disk", "--set", "data_cache=disk") == 0
    err = capsys.readouterr().err
    assert "images cached in" in err and "(built now)" in err, err
    assert _train(tmp_path, data, "mem", "--set", "data_cache=memory") == 0
    disk, mem = (
        load_file(tmp_path / "disk" / "model.safetensors"),
        load_file(tmp_path / "mem" / "model.safetensors"),
    )
    assert disk.keys() == mem.keys() and all(torch.equal(disk[k], mem[k]) for k in disk)
    saved = json.loads((tmp_path / "disk" / "config.json").read_text())["train"]
    assert saved["data_cache"] == "disk"
