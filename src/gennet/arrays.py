"""Arrays a user gives: the one guarded .npz reader and the one rule for pixel values.

    arrays = read_npz("samples.npz")              # {name: array}; DataError naming the file
    images = as_uint8_images(arr, "samples.npz")  # uint8, or DataError naming the source

Pixel values accepted: uint8 (0..255); any other integer type within 0..255; floats in [0, 1].
Anything else (a float image in 0..255, NaN, infinities, negative numbers, booleans, objects) is
refused with what was found and what to do, never clipped or zeroed in silence.

Layer: a leaf (imports `errors` only); `io`, `runs` and `eval` use it.
"""

from __future__ import annotations

import os
import pickle
import zipfile
import zlib
from pathlib import Path

import numpy as np

from .errors import DataError

ACCEPTED = "uint8 0..255, another integer type within 0..255, or floats in [0, 1]"


def read_npz(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Every array of an .npz file, read eagerly without pickles. DataError naming the file when it
    is missing, not an .npz (a text file, a single .npy renamed), truncated or corrupt, holds an
    object array, or holds no array."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise DataError(f"{p}: no such file" if not p.exists() else f"{p} is not a file")
    what = "write it with numpy.savez (or savez_compressed)"
    try:
        _check_zip(p, what)
        loaded = np.load(p, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise DataError(f"{p} is a single .npy array, not an .npz archive; {what}")
        with loaded as z:
            arrays = {k: np.asarray(z[k]) for k in z.files}
    except DataError:
        raise
    except (ValueError, pickle.UnpicklingError) as e:
        if "allow_pickle" in str(e) or "bject arrays" in str(e):
            raise DataError(
                f"{p} holds Python objects (an object array or a pickle), not numbers; {what}"
            ) from None
        raise DataError(f"{p} is not a readable .npz ({e}); {what}") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, KeyError) as e:
        raise DataError(f"{p} is truncated or corrupt ({type(e).__name__}: {e}); {what}") from None
    if not arrays:
        raise DataError(f"{p} holds no arrays")
    return arrays


def check_pixels(arr: np.ndarray, source: str) -> None:
    """Raise DataError naming `source` unless the pixel values follow the module's rule."""
    arr = np.asarray(arr)
    kind = arr.dtype.kind
    if arr.dtype == np.uint8 or (arr.size == 0 and kind in "iuf"):
        return
    if kind not in "iuf":
        raise DataError(f"{source}: images of dtype {arr.dtype}; give {ACCEPTED}")
    if kind == "f":
        bad = int(np.count_nonzero(~np.isfinite(arr)))
        if bad:
            raise DataError(f"{source}: {bad} pixel values are NaN or infinite; give {ACCEPTED}")
    lo, hi = arr.min(), arr.max()
    if kind in "iu" and (lo < 0 or hi > 255):
        raise DataError(f"{source}: integer images must lie in 0..255, got {lo}..{hi}")
    if kind == "f" and (lo < 0 or hi > 1):
        hint = " (images in 0..255? divide by 255 or save them as uint8)" if hi > 1 and lo >= 0 else ""
        raise DataError(f"{source}: float images must lie in [0, 1], got {lo:g}..{hi:g}{hint}")


def _check_zip(p: Path, what: str) -> None:
    """An .npz is a zip archive: refuse anything else (a damaged member fails its CRC check when
    np.load reads it: zipfile.BadZipFile, a DataError in `read_npz`)."""
    if not zipfile.is_zipfile(p):
        with open(p, "rb") as f:
            npy = f.read(6) == b"\x93NUMPY"
        kind = "a single .npy array" if npy else "not a zip archive (an .npz is one)"
        raise DataError(f"{p} is {kind}; {what}")


def as_uint8_images(arr: np.ndarray, source: str) -> np.ndarray:
    """Pixel values -> uint8 by the module's rule (floats x 255, rounded); DataError naming `source`."""
    arr = np.asarray(arr)
    check_pixels(arr, source)
    if arr.dtype.kind == "f":
        return np.rint(arr.astype(np.float64) * 255.0).astype(np.uint8)
    return arr.astype(np.uint8, copy=False)
