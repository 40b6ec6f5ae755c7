"""A folder of PNG/JPEG images as a dataset; class labels from top-level subfolders.

The pictures are decoded into memory, or (given a `cache.CacheRequest`) into a memory-mapped cache
on disk that later runs reuse (`cache`): the same pixels either way.

Layer: a loader; imports only `decode`, `listing`, `cache`, `types` and `errors`. `build_image_data`
is public for the other folder loaders (unpaired A/B folders, translation inputs).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import PIL
import torch
from PIL import Image
from tqdm.auto import tqdm

from ..errors import DataError
from .cache import CacheRequest, Decoder, Source, cached_image_data
from .decode import DECODER_VERSION, read_image
from .listing import BAR_FROM, Listing, list_images
from .types import ImageData, LoadReport, split_indices


def _classes(root: Path, files: list[Path]) -> list[str] | None:
    """The class names: the sorted top-level subfolders of `root` holding `files`, if at least 2."""
    tops = sorted({f.relative_to(root).parts[0] for f in files if len(f.relative_to(root).parts) > 1})
    return tops if len(tops) >= 2 else None


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


def _min_side(size: int | None, skip_small: bool) -> int:
    """The shorter side below which a picture is skipped as too small (0: none is)."""
    return (size + 1) // 2 if skip_small and size is not None else 0


def _read(
    path: Path, size: int | None, strict: bool, skip_small: bool, report: LoadReport
) -> Image.Image | None:
    """`decode.read_image`, or None when it fails and not strict (with a warning) or when
    `skip_small` and the picture's shorter side is under half of `size` (it would be enlarged
    more than twice; only its header is read); either is counted in `report`."""
    min_side = _min_side(size, skip_small)
    try:
        img, dims = read_image(path, size, min_side)
    except DataError as exc:
        if strict:
            raise
        warnings.warn(f"skipping {exc}", stacklevel=5)
        report.skip("unreadable", path)
        return None
    if img is None:
        report.skip(f"too small (shorter side under {min_side} px)", path)
    elif size is not None and dims != (size, size):
        report.resized += 1
    return img


def _decode(
    files: list[Path], *, image_size: int | None, strict: bool, root: Path, skip_small: bool
) -> tuple[list[tuple[int, Image.Image]], LoadReport]:
    """(index in files, L or RGB image) for each readable file, resized if image_size, else sizes
    checked; and the report of what was kept, resized and skipped. A bar shows for many files."""
    out: list[tuple[int, Image.Image]] = []
    report = LoadReport(root, size=image_size)
    bar = tqdm(files, desc=f"reading {root.name}", unit="image", disable=len(files) < BAR_FROM or None)
    for i, path in enumerate(bar):
        img = _read(path, image_size, strict, skip_small, report)
        if img is None:
            continue
        if image_size is None and out and img.size != out[0][1].size:
            (w0, h0), (w, h) = out[0][1].size, img.size
            raise DataError(
                f"images in {root} differ in size: {files[out[0][0]]} is {w0}x{h0} but {path} is {w}x{h}; "
                "pass an image size (--set image_size=N) to resize and crop them"
            )
        out.append((i, img))
    bar.close()
    report.kept = len(out)
    if not out:
        raise DataError(_nothing_kept(root, report))
    return out, report


def _nothing_kept(root: Path, report: LoadReport) -> str:
    if not report.skipped:
        return f"no readable images (.png, .jpg, .jpeg) in {root}"
    why = report.summary().split(", ", 1)[-1]
    hint = (
        "give a smaller image size (--set image_size=N)"
        if any(r.startswith("too small") for r in report.skipped)
        else "replace or remove the unreadable files"
    )
    return f"no usable images in {root}: {why}; {hint}"


def _to_array(img: Image.Image, channels: int) -> np.ndarray:
    """A PIL image -> uint8 (channels, H, W); RGB->L uses Pillow's ITU-R 601 luma."""
    arr = np.asarray(img.convert("L" if channels == 1 else "RGB"), dtype=np.uint8)
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)


def _stack(decoded: list[tuple[int, Image.Image]], channels: int) -> torch.Tensor:
    """PIL images -> uint8 (N, channels, H, W)."""
    return torch.from_numpy(np.ascontiguousarray(np.stack([_to_array(img, channels) for _, img in decoded])))


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

    channels None => 1 if every image is grayscale, else 3. image_size None => all must share one
    size; else each is turned upright (EXIF), resized (shorter side) and centre-cropped, and those
    it would enlarge more than twice are skipped (counted in the result's `report`).
    """
    root = _check_root(root)
    files = list_images(root)
    classes = _classes(root, files)
    files, labels = _labels_for(root, files, classes)
    return build_image_data(
        root, files, labels, classes, image_size=image_size, channels=channels, strict=strict, skip_small=True
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
    skip_small: bool = False,
    cache: CacheRequest | None = None,
    listing: Listing | None = None,
) -> ImageData:
    """Decode `files`; with channels None, 1 if they (and the other split's `others`) are all grayscale.
    `skip_small`: leave out pictures that `image_size` would enlarge more than twice. The result's
    `report` says what was kept, resized and skipped. With `cache`, the pictures are decoded into
    (or read back from) a memory-mapped cache on disk (`cache.py`) instead of memory. `listing`: the
    folder's, whose headers (read once) say what is grey."""
    if not files:
        raise DataError(f"no images (.png, .jpg, .jpeg) found in {folder or root}")
    where = folder or root
    headers = listing if listing is not None else Listing(root, {})
    if cache is not None:
        src = Source(root, where, files, labels, classes)
        return _cached(src, image_size, channels, strict, others, skip_small, cache, headers)
    decoded, report = _decode(files, image_size=image_size, strict=strict, root=where, skip_small=skip_small)
    if channels is None:
        gray = all(img.mode == "L" for _, img in decoded) and headers.all_gray(others)
        channels = 1 if gray else 3
    label_t = None if labels is None else torch.tensor([labels[i] for i, _ in decoded], dtype=torch.int64)
    return ImageData(_stack(decoded, channels), label_t, root.name, classes, report=report)


def _cached(
    src: Source,
    image_size: int | None,
    channels: int | None,
    strict: bool,
    others: Sequence[Path],
    skip_small: bool,
    request: CacheRequest,
    headers: Listing,
) -> ImageData:
    """`build_image_data` through the disk cache: the same decoding, picture by picture."""

    def read(path: Path, chans: int, report: LoadReport) -> np.ndarray | None:
        img = _read(path, image_size, strict, skip_small, report)
        return None if img is None else _to_array(img, chans)

    def gray_or_rgb() -> int:
        if channels is not None:
            return channels
        min_side = _min_side(image_size, skip_small)
        gray = headers.all_gray(src.files, min_side) and headers.all_gray(others)
        return 1 if gray else 3

    settings = {
        "image_size": image_size,
        "channels": channels,
        "strict": strict,
        "skip_small": skip_small,
        "decoder": DECODER_VERSION,
        "pillow": PIL.__version__,
    }
    bar = len(src.files) >= BAR_FROM
    decoder = Decoder(read, gray_or_rgb, lambda report: _nothing_kept(src.where, report), bar)
    return cached_image_data(src, settings=settings, decoder=decoder, request=request)


def has_train_test_layout(root: Path) -> bool:
    """True if the folder's only (non-hidden) subfolders are `train` and `test`."""
    subdirs = {d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")}
    return subdirs == {"train", "test"}


def split_listing(root: Path) -> Listing:
    """The folder as `load_folder_split` reads it, listed once: its parts `train` and `test` when it
    has exactly those subfolders, else the one part "" (the whole folder)."""
    return Listing.of(root, ("train", "test") if has_train_test_layout(root) else ("",))


def load_folder_split(
    root: str | os.PathLike,
    split: str,
    *,
    image_size: int | None = None,
    channels: int | None = None,
    strict: bool = False,
    test_fraction: float = 0.1,
    seed: int = 0,
    cache: CacheRequest | None = None,
    listing: Listing | None = None,
) -> ImageData:
    """One split of an image folder: its `train/` or `test/` subfolder if it has exactly those two,
    else a deterministic `split_indices` split of all its files. Images uint8 (N, C, H, W); with
    `cache`, read through the folder's disk cache (`cache.py`). `listing`: the folder's
    `split_listing` when the caller has one (else it is listed here)."""
    root = _check_root(root)
    listing = listing if listing is not None else split_listing(root)
    cache = None if cache is None else replace(cache, tag=split)
    if "" not in listing.parts:  # the train/test layout
        scans = {s: (listing.parts[s], _classes(root / s, listing.parts[s])) for s in ("train", "test")}
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
            skip_small=True,
            cache=cache,
            listing=listing,
        )
    classes = _classes(root, listing.parts[""])
    files, labels = _labels_for(root, listing.parts[""], classes)
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
        skip_small=True,
        cache=cache,
        listing=listing,
    )
