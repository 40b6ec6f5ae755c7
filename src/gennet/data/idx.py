"""Reader for the IDX file format (MNIST, Fashion-MNIST), raw or gzip-compressed.

Format (http://yann.lecun.com/exdb/mnist/): two zero bytes, one type-code byte, one byte giving the
number of dimensions, then one big-endian uint32 per dimension, then the data, big-endian, row-major.
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ..atomic import write_bytes
from ..errors import DataError
from ..validation import available_memory

GZIP_MAGIC = b"\x1f\x8b"

# type code -> big-endian numpy dtype
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

IDX_TYPE_NAMES = {0x08: "ubyte", 0x09: "byte", 0x0B: "short", 0x0C: "int", 0x0D: "float", 0x0E: "double"}


TRAILING_CHECK = 1 << 20  # trailing bytes counted exactly up to this many


def _open(path: Path) -> BinaryIO:
    """The file as a binary stream, decompressed on the fly when it starts with the gzip magic."""
    try:
        f = open(path, "rb")  # closed by the caller's `with`
    except FileNotFoundError:
        raise DataError(f"IDX file not found: {path}") from None
    except OSError as exc:
        raise DataError(f"cannot read IDX file {path}: {exc}") from exc
    if f.read(2) == GZIP_MAGIC:
        f.close()  # a GzipFile given a fileobj would leave it open; one opened by name closes it
        return gzip.open(path, "rb")  # type: ignore[return-value]
    f.seek(0)
    return f


def _parse_header(f: BinaryIO, path: Path) -> tuple[int, tuple[int, ...]]:
    """Read and validate the header; returns (type code, shape)."""
    data = f.read(4)
    if len(data) < 4:
        raise DataError(f"IDX file {path} is too short for a header ({len(data)} bytes)")
    if data[0] != 0 or data[1] != 0:
        raise DataError(
            f"IDX file {path} has a bad magic number {data[:4].hex()}: it should start with two zero bytes"
        )
    code, ndim = data[2], data[3]
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise DataError(f"IDX file {path} has an unknown type code 0x{code:02X} (known: {known})")
    if not 1 <= ndim <= 4:
        raise DataError(f"IDX file {path} claims {ndim} dimensions; expected 1 to 4")
    header_len = 4 + 4 * ndim
    dims = f.read(4 * ndim)
    if len(dims) < 4 * ndim:
        raise DataError(
            f"IDX file {path} is truncated inside its header ({4 + len(dims)} of {header_len} bytes)"
        )
    return code, tuple(int(d) for d in np.frombuffer(dims, dtype=">u4"))


def _payload(f: BinaryIO, path: Path, code: int, shape: tuple[int, ...]) -> bytes:
    """Exactly the bytes the header declares, never more (a gzip bomb inflates no further);
    DataError when the file holds fewer or more."""
    dtype = IDX_DTYPES[code]
    count = int(np.prod(shape, dtype=np.int64))
    expected = count * dtype.itemsize
    dims = "x".join(str(d) for d in shape)
    what = f"header says {count} items of {IDX_TYPE_NAMES[code]} ({dims}) = {expected} bytes"
    if expected > available_memory() // 2:
        raise DataError(f"IDX file {path} is not plausible: {what}, more than this machine can hold")
    data = f.read(expected)
    if len(data) < expected:
        raise DataError(f"IDX file {path} is truncated: {what}, file has {len(data)}")
    extra = len(f.read(TRAILING_CHECK + 1))
    if extra:
        n = f"{extra}" if extra <= TRAILING_CHECK else f"more than {TRAILING_CHECK}"
        raise DataError(f"IDX file {path} has {n} extra trailing bytes: {what}")
    return data


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file (raw or gzip, detected by magic bytes).

    Returns an array of the header's shape (e.g. (N, 28, 28) uint8 images or (N,) uint8 labels),
    in native byte order. The header is read first and then only the bytes it declares, so a
    compressed file that inflates beyond them is refused without being inflated whole. Raises
    DataError naming the file for any fault: bad magic, unknown type code, bad dimension count,
    corrupt gzip, truncated data or trailing extra bytes.
    """
    path = Path(path)
    try:
        with _open(path) as f:
            code, shape = _parse_header(f, path)
            data = _payload(f, path, code, shape)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"corrupt gzip stream in IDX file {path}: {exc}") from exc
    dtype = IDX_DTYPES[code]
    arr = np.frombuffer(data, dtype=dtype).reshape(shape)
    return arr.astype(dtype.newbyteorder("="))


def read_idx_pair(
    images_path: str | os.PathLike, labels_path: str | os.PathLike
) -> tuple[np.ndarray, np.ndarray]:
    """Read an images file (N, H, W) and its labels file (N,); checks shapes and that the counts agree."""
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3:
        raise DataError(f"IDX images file {images_path} has shape {images.shape}; expected 3-D (N, H, W)")
    if labels.ndim != 1:
        raise DataError(f"IDX labels file {labels_path} has shape {labels.shape}; expected 1-D (N,)")
    if len(images) != len(labels):
        raise DataError(
            f"image/label count mismatch: {images_path} has {len(images)} images "
            f"but {labels_path} has {len(labels)} labels"
        )
    return images, labels


def write_idx(path: str | os.PathLike, array: np.ndarray, *, compress: bool | None = None) -> None:
    """Write `array` as an IDX file (gzip if `compress`, or if None and the name ends in .gz)."""
    path = Path(path)
    arr = np.asarray(array)
    code = next((c for c, dt in IDX_DTYPES.items() if dt.newbyteorder("=") == arr.dtype), None)
    if code is None or not 1 <= arr.ndim <= 4:
        raise DataError(f"cannot write {arr.dtype} array of {arr.ndim} dims as IDX to {path}")
    header = bytes([0, 0, code, arr.ndim]) + np.asarray(arr.shape, dtype=">u4").tobytes()
    payload = header + arr.astype(IDX_DTYPES[code]).tobytes()
    if compress or (compress is None and path.suffix == ".gz"):
        payload = gzip.compress(payload)
    write_bytes(path, payload)
