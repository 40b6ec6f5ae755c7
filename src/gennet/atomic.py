"""Every file gennet writes is written here, atomically: all of it or none of it.

    with atomic_write(path) as f:      # a temporary file in the same folder
        f.write(data)                  # flushed, fsync'ed, then os.replace'd onto `path`

A reader (another process, or gennet after a crash) sees the old file or the new one, never half of
one: an earlier good file (a checkpoint, a sample grid, config.json) survives a full disk, an error
while encoding or a kill. On any failure the temporary file is removed and the destination is left
as it was; an `OSError` (a full disk, a read-only folder, a quota) becomes a `GennetError` naming
the file. A kill cannot run that clean-up, so a folder gennet writes into again (a resumed run)
first removes the temporary files a killed writer left (`remove_stale_temps`). A folder of files
(the image cache) is published the same way: built under a temporary name, then renamed into
place whole (`publish_dir`).

Layer: the bottom (imports `errors` only); everything that writes a file imports it.
"""

from __future__ import annotations

import contextlib
import errno
import fnmatch
import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from .errors import GennetError

TEMP_SUFFIX = ".tmp"
_TOKEN = re.compile(r"[0-9A-Za-z_]{8}")  # the random part of a temporary name

_REASONS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EFBIG: "the file is too large for this file system",
}


def write_error(path: str | os.PathLike, exc: OSError) -> GennetError:
    """A clear error for an `OSError` met while writing `path`: the file, why, what to do."""
    why = _REASONS.get(exc.errno) or exc.strerror or str(exc)
    full = exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
    todo = "Free some space or choose another location" if full else "Choose another location"
    return GennetError(
        f"cannot write {path}: {why}; it was left as it was (nothing half-written). "
        f"{todo}, then run the command again"
    )


def _open_temp(path: Path) -> tuple[Path, IO[bytes]]:
    """A new file `NAME.<random>.tmp` beside `path`, opened for writing (mode 0666 less the umask)."""
    for _ in range(100):
        tmp = path.with_name(f"{path.name}.{secrets.token_hex(4)}{TEMP_SUFFIX}")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        return tmp, os.fdopen(fd, "wb")
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(path))


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[IO[bytes]]:
    """Yield a binary file object; when the block ends without an error, its bytes replace `path`.

    Parent folders are made. Any exception in the block, or while flushing and renaming, removes
    the temporary file and leaves `path` untouched; an `OSError` is raised as a `GennetError`."""
    path = Path(path)
    tmp: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp, f = _open_temp(path)
        with f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        tmp = None
    except OSError as e:
        raise write_error(path, e) from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    with atomic_write(path) as f:
        f.write(data)
    return Path(path)


def write_text(path: str | os.PathLike, text: str) -> Path:
    """`text` as UTF-8, atomically."""
    return write_bytes(path, text.encode("utf-8"))


def write_with(path: str | os.PathLike, save: Callable[[IO[bytes]], Any]) -> Path:
    """`save(file_object)` (PIL's `img.save`, `np.savez`, `fig.savefig`, ...) into `path`, atomically."""
    with atomic_write(path) as f:
        save(f)
    return Path(path)


def remove_stale_temps(folder: str | os.PathLike, targets: list[str]) -> list[Path]:
    """Remove the temporary files a killed writer left in `folder` for the files `targets` (glob
    patterns relative to `folder`: "config.json", "samples/step-*.png"); returns them.

    Only the temporary names of those targets are touched, never another `*.tmp` a user keeps there
    (a run may be started in any folder). Call it before writing there again."""
    root, stale = Path(folder), []
    for target in targets:
        for p in root.glob(target + "*" + TEMP_SUFFIX):
            if _is_temp_of(p.name, Path(target).name) and p.is_file() and not p.is_symlink():
                stale.append(p)
    for p in stale:
        with contextlib.suppress(FileNotFoundError):
            p.unlink()
    return stale


def _is_temp_of(name: str, pattern: str) -> bool:
    """`name` is NAME.<8 characters>.tmp (this module's names, and earlier versions' mkstemp names)
    or NAME.tmp, for a NAME that matches the glob `pattern`."""
    if not name.endswith(TEMP_SUFFIX):
        return False
    base = name[: -len(TEMP_SUFFIX)]
    stem, dot, token = base.rpartition(".")
    bases = [base, stem] if dot and _TOKEN.fullmatch(token) else [base]
    return any(fnmatch.fnmatchcase(b, pattern) for b in bases)


def publish_dir(tmp: str | os.PathLike, final: str | os.PathLike) -> Path:
    """Rename the finished folder `tmp` to `final` (same file system), replacing an older `final`:
    that one is first renamed aside, then removed. A reader sees the old folder, none, or the new
    one, never a half-written one. An `OSError` becomes a `GennetError` naming `final`."""
    tmp, final = Path(tmp), Path(final)
    aside = final.with_name(f".old-{final.name}-{secrets.token_hex(4)}")
    try:
        if final.exists():
            os.rename(final, aside)
        os.rename(tmp, final)
    except OSError as e:
        raise write_error(final, e) from None
    shutil.rmtree(aside, ignore_errors=True)
    return final
