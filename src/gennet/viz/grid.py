"""Image grids as numpy arrays and PNG files (Pillow + numpy, no torchvision).

Images follow the gennet convention: float tensors/arrays in [0, 1] or uint8 arrays/tensors, of
shape (N, C, H, W) with C = 1 or 3. Grids are uint8 arrays of shape (C, H', W').
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from gennet.atomic import write_with
from gennet.errors import ConfigError

MIN_PNG_WIDTH = 256
"""save_grid's default upscale makes the PNG at least this many pixels wide."""


def _to_numpy(images) -> np.ndarray:
    if hasattr(images, "detach"):  # torch.Tensor, without importing torch here
        images = images.detach().cpu().numpy()
    return np.asarray(images)


def to_uint8(images) -> np.ndarray:
    """Images (N, C, H, W), float in [0, 1] (clamped, NaN -> 0) or uint8 -> uint8 numpy (N, C, H, W).

    Floats are scaled by 255 and rounded to the nearest integer, not truncated.
    """
    arr = _to_numpy(images)
    if arr.ndim != 4 or arr.shape[1] not in (1, 3):
        raise ConfigError(f"images must have shape (N, C, H, W) with C in (1, 3), got {arr.shape}")
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == np.bool_:
        return arr.astype(np.uint8) * 255
    if not np.issubdtype(arr.dtype, np.floating):
        raise ConfigError(f"images must be float in [0, 1] or uint8, got dtype {arr.dtype}")
    arr = np.nan_to_num(arr.astype(np.float32), nan=0.0)
    return np.rint(np.clip(arr, 0.0, 1.0) * 255.0).astype(np.uint8)


def make_grid(images, nrow: int | None = None, padding: int = 2, pad_value: int = 255) -> np.ndarray:
    """Tile images (N, C, H, W) into one uint8 grid of shape (C, H', W').

    nrow is the number of images per row (default ceil(sqrt(N))), capped at N. With R rows:
    H' = R * (H + padding) + padding and W' = nrow * (W + padding) + padding. Empty cells and the
    borders take pad_value.
    """
    arr = to_uint8(images)
    n, c, h, w = arr.shape
    if n == 0:
        raise ConfigError("make_grid needs at least one image")
    if nrow is None:
        nrow = math.ceil(math.sqrt(n))
    if nrow < 1 or padding < 0 or not 0 <= pad_value <= 255:
        raise ConfigError(f"bad grid options: nrow={nrow}, padding={padding}, pad_value={pad_value}")
    ncol = min(nrow, n)
    rows = math.ceil(n / ncol)
    grid = np.full((c, rows * (h + padding) + padding, ncol * (w + padding) + padding), pad_value, np.uint8)
    for i in range(n):
        top = padding + (i // ncol) * (h + padding)
        left = padding + (i % ncol) * (w + padding)
        grid[:, top : top + h, left : left + w] = arr[i]
    return grid


def _upscale(grid: np.ndarray, upscale: int | None) -> np.ndarray:
    """Nearest-neighbour enlargement of a (C, H, W) grid; None picks a factor for >= MIN_PNG_WIDTH px."""
    if upscale is None:
        upscale = max(1, math.ceil(MIN_PNG_WIDTH / grid.shape[2]))
    if isinstance(upscale, bool) or not isinstance(upscale, int) or upscale < 1:
        raise ConfigError(f"upscale must be a positive integer, got {upscale!r}")
    if upscale == 1:
        return grid
    return grid.repeat(upscale, axis=1).repeat(upscale, axis=2)


def to_pil(grid: np.ndarray) -> Image.Image:
    """(C, H, W) uint8 -> PIL image of mode L (C=1) or RGB (C=3)."""
    if grid.shape[0] == 1:
        return Image.fromarray(np.ascontiguousarray(grid[0]))
    return Image.fromarray(np.ascontiguousarray(grid.transpose(1, 2, 0)))


def save_grid(images, path, nrow: int | None = None, padding: int = 2, upscale: int | None = None) -> Path:
    """Write images (N, C, H, W) as one PNG grid (mode L for C=1, RGB for C=3); returns the path.

    upscale: integer nearest-neighbour factor; None makes the PNG at least MIN_PNG_WIDTH px wide.
    """
    grid = _upscale(make_grid(images, nrow=nrow, padding=padding), upscale)
    return write_with(path, lambda f: to_pil(grid).save(f, format="PNG"))


def _stack_rows(rows: list) -> np.ndarray:
    """Several (N, C, H, W) batches with equal N, H, W -> one (R * N, C, H, W) uint8 array.

    Grey batches are repeated to RGB when any batch is RGB.
    """
    if not rows:
        raise ConfigError("save_rows needs at least one row")
    arrs = [to_uint8(r) for r in rows]
    counts = {a.shape[0] for a in arrs}
    sizes = {a.shape[2:] for a in arrs}
    if len(counts) != 1 or len(sizes) != 1:
        raise ConfigError(f"rows must hold equally many images of one size, got {[a.shape for a in arrs]}")
    c = max(a.shape[1] for a in arrs)
    return np.concatenate([np.repeat(a, c // a.shape[1], axis=1) for a in arrs])


def _draw_labels(img: Image.Image, labels: list[str], n_rows: int, padding: int) -> Image.Image:
    """Return img with a white margin at the left holding one label per grid row."""
    font = ImageFont.load_default()
    probe = ImageDraw.Draw(img)
    margin = int(max(probe.textlength(s, font=font) for s in labels)) + 12
    out = Image.new(img.mode, (img.width + margin, img.height), 255 if img.mode == "L" else (255, 255, 255))
    out.paste(img, (margin, 0))
    draw = ImageDraw.Draw(out)
    ink = 0 if img.mode == "L" else (0, 0, 0)
    row_h = (img.height - padding) / n_rows
    for i, label in enumerate(labels):
        box = draw.textbbox((0, 0), label, font=font)
        y = padding + i * row_h + (row_h - padding - (box[3] - box[1])) / 2 - box[1]
        draw.text((6, y), label, fill=ink, font=font)
    return out


def save_rows(
    rows: list,
    path,
    labels: list[str] | None = None,
    *,
    padding: int = 2,
    upscale: int | None = None,
) -> Path:
    """Stack R rows of N images each (every row (N, C, H, W)) into one PNG grid of R x N cells.

    Typical use: originals above reconstructions. labels (one per row) are drawn in a margin at
    the left with Pillow's default font. Returns the path.
    """
    if labels is not None and len(labels) != len(rows):
        raise ConfigError(f"got {len(labels)} labels for {len(rows)} rows")
    stacked = _stack_rows(rows)
    n = stacked.shape[0] // len(rows)
    grid = make_grid(stacked, nrow=n, padding=padding)
    if upscale is None:
        upscale = max(1, math.ceil(MIN_PNG_WIDTH / grid.shape[2]))
    grid = _upscale(grid, upscale)
    img = to_pil(grid)
    if labels:
        img = _draw_labels(img, [str(s) for s in labels], len(rows), padding * upscale)
    return write_with(path, lambda f: img.save(f, format="PNG"))


def save_image_npz(path, **arrays) -> Path:
    """np.savez_compressed(path, **arrays), atomically, parent dirs made; tensors become numpy arrays.

    Returns the path written (".npz" is appended when the name lacks it, as numpy does).
    """
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    data = {k: _to_numpy(v) for k, v in arrays.items()}
    return write_with(path, lambda f: np.savez_compressed(f, **data))
