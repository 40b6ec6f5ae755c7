"""Reading user images for the verbs and writing results as .png grids or .npz arrays.

Layer: imports `data` (the folder loader) and `viz` (writers); the verbs and the CLI use it.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .arrays import as_uint8_images, read_npz
from .data import DataSpec
from .data.folder import build_image_data
from .data.listing import IMAGE_SUFFIXES, list_images
from .errors import DataError, GennetError
from .viz import save_grid, save_image_npz, save_rows

NPZ_KEY = "images"


def read_images(path: str | os.PathLike, spec: DataSpec | None) -> np.ndarray:
    """Images a user gives (`-i/--input`, `--images`) -> uint8 (N, C, H, W). The one set of rules:

    - a missing path is an error; so is any suffix but .npz, .png, .jpg and .jpeg (any case);
    - .npz: the array named `images`, else the file's only array (several arrays and none named
      `images` is an error). Shapes (N, C, H, W) and (N, H, W, C) with C in (1, 3), and (N, H, W)
      (one channel); a 4-D array is channels-last when its axis 1 is not 1 or 3 and its last axis
      is. Read by `arrays.read_npz` (no pickles; a truncated, renamed or object-holding
      file is a clear error); pixel values by `arrays.as_uint8_images`: uint8 is kept as it
      is, any other integer type must lie in 0..255, floats must be finite and lie in [0, 1] (then
      x 255, rounded); nothing is clipped. An empty array is an error. An .npz is never resized:
      with `spec`, its shape must be (N, spec.channels, spec.height, spec.width);
    - an image file, or a folder of them (every .png/.jpg/.jpeg in it and its subfolders, sorted by
      path, hidden entries skipped; subfolders are not classes here): decoded strictly (an
      unreadable file is an error), transparency composited onto white; with `spec`, resized
      (shorter side, Lanczos) and centre-cropped to spec.height (square specs only) and converted
      to spec.channels, without it all images must share one size and are grayscale only if
      every one is.
    """
    p = Path(path).expanduser()
    accepted = "give an .npz, a .png/.jpg/.jpeg image or a folder of them"
    if not p.exists():
        raise GennetError(f"input not found: {p}; {accepted}")
    if p.suffix.lower() == ".npz":
        return _check_shape(p, _npz_images(p), spec)
    if p.is_dir():
        files = list_images(p)
    elif p.suffix.lower() in IMAGE_SUFFIXES:
        files = [p]
    else:
        raise GennetError(f"cannot read {p}: unsupported suffix {p.suffix or '(none)'!r}; {accepted}")
    size, channels = (None, None) if spec is None else (spec.height, spec.channels)
    if spec is not None and spec.height != spec.width:
        raise GennetError(
            f"this model's images are {spec.height}x{spec.width}; image files are only resized to "
            "square shapes: give an .npz of shape (N, C, H, W) instead"
        )
    data = build_image_data(p, files, None, None, image_size=size, channels=channels, strict=True)
    return data.images.numpy()


def _npz_images(p: Path) -> np.ndarray:
    """The image array of an .npz as uint8 (N, C, H, W); see `read_images` for the rules."""
    arrays = read_npz(p)
    keys = list(arrays)
    if NPZ_KEY not in keys and len(keys) != 1:
        raise GennetError(f"{p} holds arrays {keys}; name the images {NPZ_KEY!r} (or save only one array)")
    arr = arrays[NPZ_KEY if NPZ_KEY in keys else keys[0]]
    if arr.ndim == 3:
        arr = arr[:, None]
    if arr.ndim == 4 and arr.shape[1] not in (1, 3) and arr.shape[-1] in (1, 3):
        arr = arr.transpose(0, 3, 1, 2)  # (N, H, W, C) -> (N, C, H, W)
    if arr.ndim != 4 or arr.shape[1] not in (1, 3):
        raise GennetError(
            f"{p}: images of shape {arr.shape} are not images; give (N, C, H, W), (N, H, W, C) "
            "with C 1 or 3, or (N, H, W)"
        )
    if arr.size == 0:
        raise DataError(f"{p}: the image array of shape {arr.shape} is empty; give at least one image")
    return np.ascontiguousarray(as_uint8_images(arr, str(p)))


def _check_shape(p: Path, arr: np.ndarray, spec: DataSpec | None) -> np.ndarray:
    want = None if spec is None else (spec.channels, spec.height, spec.width)
    if want is not None and tuple(arr.shape[1:]) != want:
        raise GennetError(
            f"{p}: images of shape {tuple(arr.shape)} do not fit this model, which takes "
            f"(N, {want[0]}, {want[1]}, {want[2]}) (or (N, {want[1]}, {want[2]}, {want[0]}))"
        )
    return arr


IMAGE_OUTPUTS = (".png", ".npz")


def check_output(path: str | Path, suffixes: tuple[str, ...] | None = IMAGE_OUTPUTS) -> Path:
    """Where a result will be written, checked before any work is done: one of `suffixes` (any
    case; None: any name), not a folder, and under a folder that exists and is writable or can be
    made (its nearest existing ancestor is a writable folder). GennetError otherwise."""
    p = Path(path).expanduser()
    if suffixes is not None and p.suffix.lower() not in suffixes:
        raise GennetError(f"output must end in {' or '.join(suffixes)}, got {p.name}")
    if p.is_dir():
        raise GennetError(f"output {p} is a folder; give a file name")
    ancestor = p.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir() or not os.access(ancestor, os.W_OK | os.X_OK):
        raise GennetError(f"cannot write {p}: {ancestor} is not a folder this user can write in")
    return p


def write_images(path: str | Path, images: np.ndarray, nrow: int | None = None, **arrays) -> Path:
    """uint8 (N, C, H, W) -> a .png grid or an .npz holding `images` (plus any extra arrays)."""
    p = check_output(path)
    if p.suffix.lower() == ".npz":
        save_image_npz(p, images=images, **{k: v for k, v in arrays.items() if v is not None})
        return p
    return save_grid(images, p, nrow=nrow)


def write_rows(path: str | Path, rows: list[np.ndarray], labels: list[str] | None = None, **arrays) -> Path:
    """Several aligned rows (e.g. originals, reconstructions) -> .png rows or .npz arrays."""
    p = check_output(path)
    if p.suffix.lower() == ".npz":
        save_image_npz(p, **arrays)
        return p
    return save_rows(rows, p, labels=labels)
