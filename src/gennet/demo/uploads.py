"""An image the demo page uploads -> uint8 (1, C, H, W) of the run's image shape, or a clear error.

The bytes are checked before anything decodes them: not empty, at most MAX_UPLOAD_BYTES, a PNG or
JPEG by their signature, and at most MAX_UPLOAD_PIXELS by the header's width and height (a small
file can declare a huge image). Then `io.read_images`, the one reader of user images, decodes the
file strictly and fits it to the model: grayscale or RGB as the model takes, the shorter side
resized (Lanczos) and the centre cropped; a model with non-square images refuses image files.

Layer: imports `io`, `data.DataSpec` and `errors`, and Pillow for the header; `demo.actions` uses it.
"""

from __future__ import annotations

import io
import tempfile
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..data import DataSpec
from ..errors import DataError, GennetError
from ..io import read_images

MAX_UPLOAD_BYTES = 8 * 2**20  # 8 MiB: a large photo; the models take 16x16 to 256x256
MAX_UPLOAD_PIXELS = 4096 * 4096
SIGNATURES = {b"\x89PNG\r\n\x1a\n": ".png", b"\xff\xd8\xff": ".jpg"}
HEADER_ERRORS = (
    UnidentifiedImageError,
    OSError,
    SyntaxError,
    ValueError,
    Image.DecompressionBombError,
    Image.DecompressionBombWarning,
)


def image_suffix(data: bytes) -> str:
    """.png or .jpg from the file's first bytes; DataError for anything else."""
    if not data:
        raise DataError("the upload is empty: choose a PNG or JPEG image")
    if len(data) > MAX_UPLOAD_BYTES:
        raise DataError(too_large(len(data)))
    for signature, suffix in SIGNATURES.items():
        if data.startswith(signature):
            return suffix
    raise DataError("the upload is not a PNG or JPEG image (its first bytes are not an image signature)")


def too_large(size: int) -> str:
    return f"the upload is {size / 2**20:.1f} MiB; images up to {MAX_UPLOAD_BYTES // 2**20} MiB are taken"


def header_size(data: bytes) -> tuple[int, int]:
    """(width, height) from the header alone; DataError when unreadable or above MAX_UPLOAD_PIXELS."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                width, height = img.size
    except HEADER_ERRORS as exc:
        raise DataError(f"the upload is not a readable image ({type(exc).__name__}: {exc})") from None
    if width * height > MAX_UPLOAD_PIXELS:
        raise DataError(
            f"the uploaded image is {width}x{height} pixels; images up to {MAX_UPLOAD_PIXELS:,} pixels "
            "(4096x4096) are taken: scale it down first"
        )
    return width, height


def read_upload(data: bytes, spec: DataSpec) -> tuple[np.ndarray, str | None]:
    """The uploaded image as uint8 (1, C, H, W) fitted to `spec`, and a note when it was resized."""
    suffix = image_suffix(data)
    width, height = header_size(data)
    with tempfile.TemporaryDirectory(prefix="gennet-demo-") as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(data)
        try:
            images = read_images(path, spec)
        except GennetError as e:  # name the upload, not the temporary file
            raise type(e)(str(e).replace(str(path), "the uploaded image")) from None
    note = None
    if (width, height) != (spec.width, spec.height):
        note = (
            f"resized from {width}x{height} to {spec.width}x{spec.height} "
            "(shorter side to fit, centre cropped)"
        )
    return images, note
