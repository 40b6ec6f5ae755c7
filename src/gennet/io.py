"""Reading user images for the verbs and writing results as .png grids or .npz arrays."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .data import DataSpec, load_image_folder
from .errors import GennetError
from .viz import save_grid, save_image_npz, save_rows


def read_images(path: str | Path, spec: DataSpec | None) -> np.ndarray:
    """An .npz (key `images`, or its only array), an image file or a folder of images ->
    uint8 (N, C, H, W), converted and resized to `spec` where given (folders and files)."""
    p = Path(path)
    if not p.exists():
        raise GennetError(f"input not found: {p}")
    if p.suffix.lower() == ".npz":
        with np.load(p) as z:
            keys = list(z.keys())
            key = "images" if "images" in keys else (keys[0] if len(keys) == 1 else None)
            if key is None:
                raise GennetError(f"{p} holds {keys}; expected an array named 'images'")
            arr = z[key]
        if arr.ndim == 3:
            arr = arr[:, None]
        if arr.ndim == 4 and arr.shape[1] not in (1, 3) and arr.shape[-1] in (1, 3):
            arr = arr.transpose(0, 3, 1, 2)  # (N, H, W, C) -> (N, C, H, W)
        if arr.dtype != np.uint8:
            arr = np.clip(np.rint(arr.astype(np.float64) * 255.0), 0, 255).astype(np.uint8)
        return np.ascontiguousarray(arr)
    size, channels = (spec.height, spec.channels) if spec is not None else (None, None)
    if p.is_dir():
        return load_image_folder(p, image_size=size, channels=channels, strict=True).images.numpy()
    import shutil
    import tempfile

    with tempfile.TemporaryDirectory(prefix="gennet-in-") as tmp:  # one file: the folder loader's conversion
        shutil.copy(p, Path(tmp) / p.name)
        return load_image_folder(tmp, image_size=size, channels=channels, strict=True).images.numpy()


def write_images(path: str | Path, images: np.ndarray, nrow: int | None = None, **arrays) -> Path:
    """uint8 (N, C, H, W) -> a .png grid or an .npz holding `images` (plus any extra arrays)."""
    p = Path(path)
    if p.suffix.lower() == ".npz":
        save_image_npz(p, images=images, **{k: v for k, v in arrays.items() if v is not None})
        return p
    if p.suffix.lower() != ".png":
        raise GennetError(f"output must end in .png or .npz, got {p.name}")
    return save_grid(images, p, nrow=nrow)


def write_rows(path: str | Path, rows: list[np.ndarray], labels: list[str] | None = None, **arrays) -> Path:
    """Several aligned rows (e.g. originals, reconstructions) -> .png rows or .npz arrays."""
    p = Path(path)
    if p.suffix.lower() == ".npz":
        save_image_npz(p, **arrays)
        return p
    if p.suffix.lower() != ".png":
        raise GennetError(f"output must end in .png or .npz, got {p.name}")
    return save_rows(rows, p, labels=labels)
