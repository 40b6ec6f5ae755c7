"""One image file -> a Pillow image ready to stack: decoded, turned upright (EXIF orientation),
converted to L or RGB, and fitted to a square side (shorter side resized with an antialiased
filter, then centre-cropped); and the upright sizes of many files read from their headers alone.

Layer: a leaf of `gennet.data` (imports Pillow and `errors` only); `folder` builds on it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from ..errors import DataError

# Raise when a change here changes the pixels a file decodes to: image caches keyed on it rebuild.
DECODER_VERSION = 1
GRAY_MODES = {"1", "L", "LA", "La", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"}
# Errors Pillow raises for a file it cannot identify or decode (UnidentifiedImageError is an OSError).
DECODE_ERRORS = (OSError, SyntaxError, ValueError, Image.DecompressionBombError)
# EXIF orientations 5-8 turn the picture a quarter: its stored width is its upright height
_QUARTER_TURNS = {5, 6, 7, 8}
_ORIENTATION_TAG = 0x0112


def _upright(img: Image.Image) -> tuple[int, int]:
    """(width, height) of an opened (not yet decoded) image as it is meant to be seen."""
    w, h = img.size
    return (h, w) if img.getexif().get(_ORIENTATION_TAG, 1) in _QUARTER_TURNS else (w, h)


def header(path: Path) -> tuple[str, tuple[int, int]] | None:
    """(Pillow mode, upright (width, height)) from the file's header alone; None if unreadable."""
    try:
        with Image.open(path) as img:
            return img.mode, _upright(img)
    except DECODE_ERRORS:
        return None


def upright_size(path: Path) -> tuple[int, int] | None:
    """(width, height) of the picture as it is meant to be seen, from the header; None if unreadable."""
    found = header(path)
    return None if found is None else found[1]


def open_upright(
    path: Path, draft_side: int | None = None, min_side: int = 0
) -> tuple[Image.Image | None, tuple[int, int]]:
    """(the decoded picture with its EXIF orientation applied, its upright (width, height)); the
    picture is None, and nothing is decoded, when its shorter side is below `min_side`.
    `draft_side`: a JPEG may be decoded at a reduced scale (1/2, 1/4, 1/8: libjpeg's DCT scaling)
    whose shorter side stays >= draft_side. Raises one of DECODE_ERRORS when the file cannot be read."""
    with Image.open(path) as img:
        dims = _upright(img)
        if min(dims) < min_side:
            return None, dims
        if draft_side is not None and img.format == "JPEG":
            w, h = img.size
            scale = draft_side / min(w, h)
            if scale < 0.5:
                img.draft(img.mode, (int(w * scale) + 1, int(h * scale) + 1))
        img.load()
        upright = ImageOps.exif_transpose(img)
        return (upright if upright is not img else img.copy()), dims


def normalize(img: Image.Image) -> Image.Image:
    """Any Pillow image -> mode L (grayscale sources) or RGB; transparency is composited onto white."""
    gray = img.mode in GRAY_MODES
    if img.mode in ("I", "I;16", "I;16L", "I;16B", "I;16N"):
        arr = np.asarray(img, dtype=np.float64) / 257.0  # 16-bit range -> 8-bit
        img = Image.fromarray(np.clip(np.rint(arr), 0, 255).astype(np.uint8))
    if img.mode in ("RGBA", "LA", "La", "RGBa", "PA") or "transparency" in img.info:
        rgba = img.convert("RGBA")
        img = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    return img.convert("L" if gray else "RGB")


def fit(img: Image.Image, size: int) -> Image.Image:
    """Resize the shorter side to `size` (Lanczos, antialiased; large reductions first by box
    averaging, `reducing_gap`), then centre-crop to size x size. An image of that size is returned as is."""
    w, h = img.size
    if (w, h) == (size, size):
        return img
    scale = size / min(w, h)
    nw, nh = max(size, round(w * scale)), max(size, round(h * scale))
    img = img.resize((nw, nh), Image.Resampling.LANCZOS, reducing_gap=3.0)
    left, top = (nw - size) // 2, (nh - size) // 2
    return img.crop((left, top, left + size, top + size))


def read_image(path: Path, size: int | None, min_side: int = 0) -> tuple[Image.Image | None, tuple[int, int]]:
    """(`path` upright, as L or RGB, fitted to size x size when `size` is given; its upright
    (width, height) in the file). The image is None when its shorter side is below `min_side`.
    Raises DataError naming the file when it cannot be decoded."""
    try:
        img, dims = open_upright(path, None if size is None else 2 * size, min_side)
        if img is None:
            return None, dims
        img = normalize(img)
    except DECODE_ERRORS as exc:
        raise DataError(f"unreadable image {path}: {type(exc).__name__}: {exc}") from exc
    return (img if size is None else fit(img, size)), dims
