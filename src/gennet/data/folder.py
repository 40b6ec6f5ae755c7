"""A folder of PNG/JPEG images as a dataset; class labels from top-level subfolders.

Layer: a loader; imports only `types` and `errors`. `build_image_data` and `is_gray_file` are
public for the other folder loaders (unpaired A/B folders, translation inputs).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..errors import DataError
from .types import ImageData, split_indices

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}
GRAY_MODES = {"1", "L", "LA", "La", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"}
# Errors Pillow raises for a file it cannot identify or decode (UnidentifiedImageError is an OSError).
DECODE_ERRORS = (OSError, SyntaxError, ValueError, Image.DecompressionBombError)


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


def _scan(root: Path) -> tuple[list[Path], list[str] | None]:
    """Image files and the class names (sorted top-level subfolders holding images, if at least 2)."""
    files = list_images(root)
    tops = sorted({f.relative_to(root).parts[0] for f in files if len(f.relative_to(root).parts) > 1})
    return files, (tops if len(tops) >= 2 else None)


def _labels_for(
    root: Path, files: list[Path], classes: list[str] | None
) -> tuple[list[Path], list[int] | None]:
    """Label of each file (index of its top-level folder in `classes`); loose files in root are skipped."""
    if classes is None:
        return files, None
    index = {c: i for i, c in enumerate(classes)}
    kept, labels = [], []
    for f in files:
        parts = f.relative_to(root).parts
        if len(parts) < 2:
            warnings.warn(f"skipping {f}: it lies outside the class subfolders of {root}", stacklevel=3)
            continue
        kept.append(f)
        labels.append(index[parts[0]])
    return kept, labels


def is_gray_file(path: Path) -> bool | None:
    """True/False from the file header alone; None if Pillow cannot identify it."""
    try:
        with Image.open(path) as img:
            return img.mode in GRAY_MODES
    except DECODE_ERRORS:
        return None


def _open(path: Path, strict: bool) -> Image.Image | None:
    """Open and fully decode; None (with a warning) or DataError (strict) when that fails."""
    try:
        with Image.open(path) as img:
            img.load()
            return img.copy()
    except DECODE_ERRORS as exc:
        reason = f"{type(exc).__name__}: {exc}"
        if strict:
            raise DataError(f"unreadable image {path}: {reason}") from exc
        warnings.warn(f"skipping unreadable image {path}: {reason}", stacklevel=5)
        return None


def _normalize(img: Image.Image) -> Image.Image:
    """Any Pillow image -> mode L (grayscale sources) or RGB; transparency is composited onto white."""
    gray = img.mode in GRAY_MODES
    if img.mode in ("I", "I;16", "I;16L", "I;16B", "I;16N"):
        arr = np.asarray(img, dtype=np.float64) / 257.0  # 16-bit range -> 8-bit
        img = Image.fromarray(np.clip(np.rint(arr), 0, 255).astype(np.uint8))
    if img.mode in ("RGBA", "LA", "La", "RGBa", "PA") or "transparency" in img.info:
        rgba = img.convert("RGBA")
        img = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    return img.convert("L" if gray else "RGB")


def _fit(img: Image.Image, size: int) -> Image.Image:
    """Resize the shorter side to `size` (Lanczos), then center-crop to size x size."""
    w, h = img.size
    scale = size / min(w, h)
    nw, nh = max(size, round(w * scale)), max(size, round(h * scale))
    img = img.resize((nw, nh), Image.Resampling.LANCZOS)
    left, top = (nw - size) // 2, (nh - size) // 2
    return img.crop((left, top, left + size, top + size))


def _decode(
    files: list[Path], *, image_size: int | None, strict: bool, root: Path
) -> list[tuple[int, Image.Image]]:
    """(index in files, L or RGB image) for each readable file, resized if image_size, else sizes checked."""
    out: list[tuple[int, Image.Image]] = []
    for i, path in enumerate(files):
        img = _open(path, strict)
        if img is None:
            continue
        img = _normalize(img)
        if image_size is not None:
            img = _fit(img, image_size)
        elif out and img.size != out[0][1].size:
            (w0, h0), (w, h) = out[0][1].size, img.size
            raise DataError(
                f"images in {root} differ in size: {files[out[0][0]]} is {w0}x{h0} but {path} is {w}x{h}; "
                "pass an image size (--set image_size=N) to resize and crop them"
            )
        out.append((i, img))
    if not out:
        raise DataError(f"no readable images (.png, .jpg, .jpeg) in {root}")
    return out


def _stack(decoded: list[tuple[int, Image.Image]], channels: int) -> torch.Tensor:
    """PIL images -> uint8 (N, channels, H, W); RGB->L uses Pillow's ITU-R 601 luma."""
    arrays = []
    for _, img in decoded:
        arr = np.asarray(img.convert("L" if channels == 1 else "RGB"), dtype=np.uint8)
        arrays.append(arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1))
    return torch.from_numpy(np.ascontiguousarray(np.stack(arrays)))


def _check_root(root: str | os.PathLike) -> Path:
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DataError(f"image folder {root} does not exist or is not a folder")
    return root


def load_image_folder(
    root: str | os.PathLike,
    *,
    image_size: int | None = None,
    channels: int | None = None,
    strict: bool = False,
) -> ImageData:
    """All images under `root` as ImageData: images uint8 (N, C, H, W), labels int64 (N,) from class folders.

    channels None => 1 if every image is grayscale, else 3. image_size None => all must share one size.
    """
    root = _check_root(root)
    files, classes = _scan(root)
    files, labels = _labels_for(root, files, classes)
    return build_image_data(
        root, files, labels, classes, image_size=image_size, channels=channels, strict=strict
    )


def build_image_data(
    root: Path,
    files: list[Path],
    labels: list[int] | None,
    classes: list[str] | None,
    *,
    image_size: int | None,
    channels: int | None,
    strict: bool,
    others: Sequence[Path] = (),
    folder: Path | None = None,
) -> ImageData:
    """Decode `files`; with channels None, 1 if they (and the other split's `others`) are all grayscale."""
    if not files:
        raise DataError(f"no images (.png, .jpg, .jpeg) found in {folder or root}")
    decoded = _decode(files, image_size=image_size, strict=strict, root=folder or root)
    if channels is None:
        gray = all(img.mode == "L" for _, img in decoded) and all(
            is_gray_file(f) is not False for f in others
        )
        channels = 1 if gray else 3
    label_t = None if labels is None else torch.tensor([labels[i] for i, _ in decoded], dtype=torch.int64)
    return ImageData(_stack(decoded, channels), label_t, root.name, classes)


def has_train_test_layout(root: Path) -> bool:
    """True if the folder's only (non-hidden) subfolders are `train` and `test`."""
    subdirs = {d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")}
    return subdirs == {"train", "test"}


def load_folder_split(
    root: str | os.PathLike,
    split: str,
    *,
    image_size: int | None = None,
    channels: int | None = None,
    strict: bool = False,
    test_fraction: float = 0.1,
    seed: int = 0,
) -> ImageData:
    """One split of an image folder: its `train/` or `test/` subfolder if it has exactly those two,
    else a deterministic `split_indices` split of all its files. Images uint8 (N, C, H, W)."""
    root = _check_root(root)
    if has_train_test_layout(root):
        scans = {s: _scan(root / s) for s in ("train", "test")}
        labelled = all(c is not None for _, c in scans.values())
        classes = sorted(set(scans["train"][1]) | set(scans["test"][1])) if labelled else None
        files, labels = _labels_for(root / split, scans[split][0], classes)
        other = scans["test" if split == "train" else "train"][0]
        return build_image_data(
            root,
            files,
            labels,
            classes,
            image_size=image_size,
            channels=channels,
            strict=strict,
            others=other,
            folder=root / split,
        )
    files, classes = _scan(root)
    files, labels = _labels_for(root, files, classes)
    if not files:
        raise DataError(f"no images (.png, .jpg, .jpeg) found in {root}")
    train, test = split_indices(len(files), test_fraction, seed)
    index, other = (train, test) if split == "train" else (test, train)
    sub_labels = None if labels is None else [labels[i] for i in index]
    return build_image_data(
        root,
        [files[i] for i in index],
        sub_labels,
        classes,
        image_size=image_size,
        channels=channels,
        strict=strict,
        others=[files[i] for i in other],
    )
