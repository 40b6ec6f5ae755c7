"""A memory-mapped cache of an image folder's decoded pictures, for sets larger than memory.

The pictures are decoded once (fitted to the image size, converted to the channels asked for, as
`folder` does in memory) into one flat uint8 file, which later runs map into memory
(`np.memmap`): the operating system pages in what a batch touches, so a set many times the size
of the memory trains like one that fits. One cache per folder part and settings:

    <folder>/.gennet-cache/<key>/        (a hidden folder: `list_images` does not see it)
        images.u8    uint8 (N, C, H, W) in C order, nothing else
        labels.npy   int64 (N,), with class subfolders only
        index.json   the source files [relative path, bytes, mtime_ns] and the class names
        meta.json    format, key, settings, index digest, shape, the load report: written last

When the folder cannot be written (read-only, a file in the way), the cache lives under
`$XDG_CACHE_HOME/gennet/folders/<hash of the folder's path>/<key>/` (`~/.cache/...` by default).

`key` hashes the settings that decide the pixels (image size, channels asked for, strictness, the
skip rule, `decode.DECODER_VERSION`, Pillow's version, the part of the folder: split, domain).
`meta.json` holds a digest of the file index (every source's path, size and mtime, the labels):
a cache is used only when both match the folder now. A changed setting builds a cache beside the
old one (switching back reuses it); a touched, replaced, added or removed file rebuilds this one
in place. A build writes into `.building-<pid>-<random>/` beside it and renames it into place
when complete (`atomic.publish_dir`): a build killed midway leaves no cache that is ever read, and
the next build removes the leftovers of builders that are gone. Under torchrun one process builds
(`CacheRequest.build`); the others wait until the complete cache appears.

Layer: data; imports `atomic`, `errors` and `types`. `folder` calls it and brings the decoding
(`Decoder`), so this module knows nothing of Pillow.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import secrets
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from ..atomic import atomic_write, publish_dir, write_text, write_with
from ..errors import DataError
from .types import ImageData, LoadReport

CACHE_FORMAT = 1
FOLDER_NAME = ".gennet-cache"
POLL_S = 0.5  # how often a process waiting for another's build looks again


@dataclass(frozen=True)
class CacheRequest:
    """Read a folder through the disk cache. `build`: this process builds it when missing (False:
    another process, torchrun's rank 0, does; this one waits). `tag`: the part of the folder (a
    split, a domain), set by the loaders, so that the parts' caches live apart."""

    build: bool = True
    tag: str = ""


@dataclass(frozen=True)
class Decoder:
    """The folder loader's decoding, for a build. `read(path, channels, report)`: the picture as
    uint8 (C, H, W), or None when it is skipped (counted in `report`); `channels()`: the channel
    count when none was asked; `empty(report)`: the error message when nothing was kept; `bar`:
    show a progress bar while decoding."""

    read: Callable[[Path, int, LoadReport], np.ndarray | None]
    channels: Callable[[], int]
    empty: Callable[[LoadReport], str]
    bar: bool = False


@dataclass(frozen=True)
class Source:
    """What a cache is of: the folder `root`, its part `where`, the files and their labels."""

    root: Path
    where: Path
    files: list[Path]
    labels: list[int] | None
    classes: list[str] | None


def _digest(obj) -> str:
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def file_index(root: Path, files: list[Path]) -> list[list]:
    """[path relative to root, size in bytes, mtime in ns] of each file: what a cache is of."""
    out = []
    for f in files:
        try:
            st = f.stat()
        except OSError as e:
            raise DataError(f"cannot read {f} while indexing {root}: {e.strerror or e}") from None
        out.append([f.relative_to(root).as_posix(), st.st_size, st.st_mtime_ns])
    return out


def locations(root: Path) -> list[Path]:
    """Where the caches of folder `root` may live, in order: inside it, then the user's cache."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    folder_hash = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]
    return [root / FOLDER_NAME, base / "gennet" / "folders" / folder_hash]


def _read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _valid_meta(path: Path, key: str, digest: str) -> dict | None:
    """The meta of the complete cache at `path` when it is of `key` and `digest`; else None."""
    meta = _read_json(path / "meta.json")
    if meta is None or meta.get("format") != CACHE_FORMAT or meta.get("key") != key:
        return None
    if meta.get("index_digest") != digest:
        return None
    try:
        whole = (path / "images.u8").stat().st_size == math.prod(int(s) for s in meta["shape"])
    except (OSError, KeyError, TypeError, ValueError):
        return None
    return meta if whole else None


def _open(path: Path, meta: dict, src: Source, note: str) -> ImageData:
    """The cache at `path` as ImageData whose images map the file (copy-on-write: never changed)."""
    shape = tuple(int(s) for s in meta["shape"])
    images = torch.from_numpy(np.memmap(path / "images.u8", dtype=np.uint8, mode="c", shape=shape))
    labels = None
    if (path / "labels.npy").is_file():
        labels = torch.from_numpy(np.load(path / "labels.npy", allow_pickle=False).astype(np.int64))
    r = meta["report"]
    report = LoadReport(src.where, kept=r["kept"], resized=r["resized"], size=r["size"], cache_note=note)
    for reason, paths in r["skipped"].items():
        report.skipped[reason] = [src.root / p for p in paths]
    classes = meta.get("classes")
    return ImageData(images, labels, src.root.name, classes, report=report, cache_dir=path)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # a leftover of an earlier build of this process (it is not building now)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def remove_leftovers(parent: Path) -> list[Path]:
    """Remove the half-built caches of builders that are gone and the caches a replacement set
    aside (`.old-*`); returns them."""
    gone = []
    for d in sorted(parent.glob(".building-*")) + sorted(parent.glob(".old-*")):
        pid = d.name.split("-")[1] if d.name.startswith(".building-") else ""
        if not pid.isdigit() or not _alive(int(pid)):
            shutil.rmtree(d, ignore_errors=True)
            gone.append(d)
    return gone


def _changes(old: list[list], new: list[list]) -> str:
    """'2 files added, 1 changed' between two file indexes."""
    before, after = {p: (s, m) for p, s, m in old}, {p: (s, m) for p, s, m in new}
    counts = {
        "added": len(after.keys() - before.keys()),
        "removed": len(before.keys() - after.keys()),
        "changed": sum(before[p] != after[p] for p in after.keys() & before.keys()),
    }
    said = [f"{n} {what}" for what, n in counts.items() if n]
    return f"source files {', '.join(said)}" if said else ""


def _why_rebuild(path: Path, index: list[list]) -> str:
    """Why a cache is being built at `path`: new, or what changed among the files since."""
    old = _read_json(path / "index.json")
    if old is None or not isinstance(old.get("files"), list):
        return "built now"
    what = _changes(old["files"], index)
    return f"rebuilt: {what} since the last build" if what else "rebuilt: the earlier cache was damaged"


def _check_space(parent: Path, need: int | None) -> None:
    if need is None:
        return
    free = shutil.disk_usage(parent).free
    if free < need:
        raise DataError(
            f"not enough free disk space for the image cache in {parent}: it needs about "
            f"{need / 1e9:.1f} GB, {free / 1e9:.1f} GB are free; free some space, or keep the images in "
            "memory (--set data_cache=memory) if they fit"
        )


def _fill(tmp: Path, src: Source, decoder: Decoder, size: int | None) -> tuple[dict, list[int]]:
    """Decode every file of `src` into `tmp`/images.u8; the meta's shape and report, and the kept labels."""
    channels = decoder.channels()
    report = LoadReport(src.where, size=size)
    kept: list[int] = []
    shape, first = None, None
    progress = tqdm(
        src.files, desc=f"caching {src.where.name}", unit="image", disable=not decoder.bar or None
    )
    with atomic_write(tmp / "images.u8") as f:
        for i, path in enumerate(progress):
            arr = decoder.read(path, channels, report)
            if arr is None:
                continue
            if shape is None:
                shape, first = arr.shape, path
            elif arr.shape != shape:
                raise DataError(
                    f"images in {src.where} differ in size: {first} is {shape[2]}x{shape[1]} but {path} "
                    f"is {arr.shape[2]}x{arr.shape[1]}; pass an image size (--set image_size=N) to "
                    "resize and crop them"
                )
            f.write(np.ascontiguousarray(arr).data)
            kept.append(i)
    progress.close()
    report.kept = len(kept)
    if not kept:
        raise DataError(decoder.empty(report))
    skipped = {r: [p.relative_to(src.root).as_posix() for p in ps] for r, ps in report.skipped.items()}
    meta = {"shape": [len(kept), *shape], "report": {"kept": report.kept, "resized": report.resized}}
    meta["report"].update(size=size, skipped=skipped)
    return meta, kept


def _build(
    target: Path, key: str, settings: dict, src: Source, decoder: Decoder, index: list, digest: str
) -> dict:
    """Build the cache of `src` into a temporary folder beside `target`, then rename it into place;
    on any error or interrupt the temporary folder is removed. Returns its meta."""
    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(parent)
    size = settings.get("image_size")
    need = None if size is None else len(src.files) * (settings.get("channels") or 3) * size * size
    _check_space(parent, need)
    tmp = parent / f".building-{os.getpid()}-{secrets.token_hex(4)}"
    tmp.mkdir()
    try:
        meta, kept = _fill(tmp, src, decoder, size)
        if src.labels is not None:
            labels = np.asarray([src.labels[i] for i in kept], dtype=np.int64)
            write_with(tmp / "labels.npy", lambda f: np.save(f, labels, allow_pickle=False))
        write_text(tmp / "index.json", json.dumps({"files": index, "classes": src.classes}))
        meta.update(format=CACHE_FORMAT, key=key, index_digest=digest, settings=settings, classes=src.classes)
        meta["built"] = time.strftime("%Y-%m-%d %H:%M:%S")
        write_text(tmp / "meta.json", json.dumps(meta, indent=1))  # last: its presence marks a whole cache
        publish_dir(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return meta


def _build_somewhere(key, settings, src: Source, decoder: Decoder, index, digest) -> tuple[Path, dict, str]:
    """Build at the first location that can be written: (its path, meta, a note saying why)."""
    failures = []
    for loc in locations(src.root):
        target = loc / key
        try:
            why = _why_rebuild(target, index)
            meta = _build(target, key, settings, src, decoder, index, digest)
        except OSError as e:  # this location cannot be written (read-only, a file in the way): the next
            failures.append(f"{loc}: {e.strerror or e}")
            continue
        return target, meta, why
    raise DataError(
        f"cannot write an image cache for {src.where} ({'; '.join(failures)}); make one of those writable "
        "or keep the images in memory (--set data_cache=memory) if they fit"
    )


def _find(key: str, src: Source, digest: str) -> tuple[Path, dict] | None:
    """The complete cache of `key` and `digest` in the first location that holds one, with its meta."""
    for loc in locations(src.root):
        meta = _valid_meta(loc / key, key, digest)
        if meta is not None:
            return loc / key, meta
    return None


def _wait(key: str, src: Source, digest: str) -> tuple[Path, dict]:
    """Wait (another process builds it) until the complete cache of `key` and `digest` appears."""
    while (found := _find(key, src, digest)) is None:
        time.sleep(POLL_S)
    return found


def cached_image_data(src: Source, *, settings: dict, decoder: Decoder, request: CacheRequest) -> ImageData:
    """The images of `src` read from their disk cache: reused when its settings and file index
    match, else built (or, with `request.build` False, waited for). `settings`: what decides the
    pixels (JSON values; `image_size` and `channels` among them). The
    result's `images` map the cache file; its `report` says where the cache is and if built now."""
    settings = {**settings, "tag": request.tag}
    key = _digest(settings)[:16]
    index = file_index(src.root, src.files)
    digest = _digest({"files": index, "labels": src.labels, "classes": src.classes})
    found = _find(key, src, digest)
    if found is not None:
        return _open(*found, src, f"images read from the cache {found[0]}")
    if not request.build:
        path, meta = _wait(key, src, digest)
        return _open(path, meta, src, f"images read from the cache {path} (built by process 0)")
    path, meta, why = _build_somewhere(key, settings, src, decoder, index, digest)
    return _open(path, meta, src, f"images cached in {path} ({why})")
