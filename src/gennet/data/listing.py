"""One walk of an image folder, with each picture's header read at most once.

Before its first step, training on a folder asks it several things: the pictures' sizes (the size
choice, `gennet.sizing`), about how many bytes they take decoded (`load.use_disk_cache`), the files
of the split or domain to load, and whether every picture is grey (the loaders). A `Listing`
answers them all from one walk: the folder is listed once, part by part, and a file's header (its
mode and upright size, `decode.header`) is read the first time it is asked for, then kept.

    listing = Listing.of(root, ("train", "test"))    # list_images(root / "train"), ... once
    listing.sizes()                                  # every header, read now
    listing.is_gray(listing.parts["test"][0])        # the header already read

Layer: data; imports `decode` only. `folder`, `unpaired` and `load` build on it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from .decode import GRAY_MODES, header

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}
BAR_FROM = 200  # a folder of at least this many files shows a progress bar (on a terminal)

Header = tuple[str, tuple[int, int]]  # (Pillow mode, upright (width, height))


def list_images(root: Path) -> list[Path]:
    """Every .png/.jpg/.jpeg under `root` (any case, recursive, hidden entries skipped), sorted."""
    found = []
    for path in root.rglob("*"):
        rel = path.relative_to(root)
        if (
            path.suffix.lower() in IMAGE_SUFFIXES
            and not any(p.startswith(".") for p in rel.parts)
            and path.is_file()
        ):
            found.append(rel)
    return [root / rel for rel in sorted(found, key=lambda r: r.as_posix())]


@dataclass
class Listing:
    """The pictures of an image folder by part, each part `list_images(root / part)`: {"": ...}
    for the whole folder, {"train": ..., "test": ...} for the train/test layout, {"trainA": ...,
    "trainB": ...} for an unpaired folder's domain folders. Headers are read once, when first asked."""

    root: Path
    parts: dict[str, list[Path]]
    _headers: dict[Path, Header | None] = field(default_factory=dict, init=False, repr=False, compare=False)

    @classmethod
    def of(cls, root: Path, parts: Iterable[str]) -> Listing:
        return cls(root, {part: list_images(root / part) for part in parts})

    @property
    def files(self) -> list[Path]:
        """Every file of every part, part by part."""
        return [f for files in self.parts.values() for f in files]

    def header(self, path: Path) -> Header | None:
        """`decode.header(path)` (None: unreadable), read the first time only; any path may be asked."""
        if path not in self._headers:
            self._headers[path] = header(path)
        return self._headers[path]

    def is_gray(self, path: Path) -> bool | None:
        """True/False from the file's header; None if Pillow cannot identify it."""
        found = self.header(path)
        return None if found is None else found[0] in GRAY_MODES

    def all_gray(self, files: Iterable[Path], min_side: int = 0) -> bool:
        """Whether every readable picture of `files` at least `min_side` on its shorter side is grey,
        from the headers alone (what decoding them would find: decoding keeps a file's mode)."""
        for f in files:
            found = self.header(f)
            if found is not None and min(found[1]) >= min_side and found[0] not in GRAY_MODES:
                return False
        return True

    def sizes(self) -> list[tuple[int, int]]:
        """The upright (width, height) of every readable picture, from the headers (a bar for many)."""
        files = self.files
        bar = tqdm(
            files, desc=f"measuring {self.root.name}", unit="image", disable=len(files) < BAR_FROM or None
        )
        found = [self.header(f) for f in bar]
        return [h[1] for h in found if h is not None]
