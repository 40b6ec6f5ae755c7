"""`load_dataset`: one split of a registered dataset (by name) or of an image folder (by path).

`use_disk_cache` says whether a folder is read through its disk cache (`cache.py`) rather than
decoded into memory: always, never, or (`auto`) when its decoded pictures would take more than a
share of the memory available now. `folder_listing` lists an image folder once, with the headers
read once (`listing.Listing`), for all of these and for the size choice (`gennet.sizing`).

Layer: the top of `gennet.data`; imports `types`, `registry`, `cache`, `listing`, the loaders, `errors`
and `validation` (the memory available). Importing
it imports every loader module, which registers the built-in names (mnist, fashion-mnist, the
synthetic sets, the unpaired pairs).
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import ConfigError, DataError
from ..validation import available_memory
from .cache import CacheRequest
from .folder import load_folder_split, split_listing
from .listing import Listing
from .mnist import load_mnist  # noqa: F401  (importing the loaders registers their names)
from .registry import dataset_entry, dataset_names
from .synthetic import make_synthetic  # noqa: F401
from .types import ImageData, UnpairedData, convert_channels, resize_images
from .unpaired import domain_listing, is_unpaired_folder, load_unpaired_folder

SPLITS = ("train", "test")


def _adapt(images, image_size: int | None, channels: int | None):
    """uint8 (N, C, H, W) -> converted to `channels` (if given), then resized to `image_size` (if given)."""
    if channels is not None:
        images = convert_channels(images, channels)
    if image_size is not None:
        images = resize_images(images, image_size)
    return images


def load_dataset(
    name: str,
    *,
    split: str = "train",
    data_dir: str | None = None,
    image_size: int | None = None,
    channels: int | None = None,
    strict: bool = False,
    test_fraction: float = 0.1,
    seed: int = 0,
    cache: CacheRequest | None = None,
    listing: Listing | None = None,
) -> ImageData | UnpairedData:
    """Load dataset `name` (see `dataset_names()`) or an image folder path; one split of it.

    Returns ImageData with images uint8 (N, C, H, W), or UnpairedData (two domains) for an unpaired
    set. `image_size` resizes to square, `channels` (1 or 3) converts; `strict` makes unreadable
    images in a folder an error rather than a warning. A registered name wins over a folder path
    of the same name. `cache`: an image folder is read through its disk cache (`cache.py`; a
    registered dataset is always in memory). `listing`: the folder's `folder_listing` when the
    caller has one (else it is listed here).
    """
    if split not in SPLITS:
        raise ConfigError(f"split must be 'train' or 'test', got {split!r}")
    if channels not in (None, 1, 3):
        raise ConfigError(f"channels must be 1 or 3, got {channels!r}")
    entry = dataset_entry(name)
    if entry is not None:
        data = entry.load(split=split, data_dir=data_dir, test_fraction=test_fraction, seed=seed)
        return data.map_images(lambda images: _adapt(images, image_size, channels))
    folder = Path(name).expanduser()
    if folder.is_dir():
        load_folder = load_unpaired_folder if is_unpaired_folder(folder) else load_folder_split
        return load_folder(
            folder,
            split,
            image_size=image_size,
            channels=channels,
            strict=strict,
            test_fraction=test_fraction,
            seed=seed,
            cache=cache,
            listing=listing,
        )
    names = ", ".join(dataset_names())
    hint = f"no folder {name} exists; " if ("/" in name or os.sep in name) else ""
    raise DataError(
        f"unknown dataset {name!r}: {hint}known names are {names}; "
        "a path to a folder of images is also accepted"
    )


def folder_listing(name: str) -> Listing | None:
    """The image folder `name` listed once as its loader reads it (both splits; the domain folders of
    an unpaired one), its headers read when first asked; None when `name` is a registered dataset or
    not a folder."""
    folder = Path(name).expanduser()
    if dataset_entry(name) is not None or not folder.is_dir():
        return None
    return domain_listing(folder) if is_unpaired_folder(folder) else split_listing(folder)


def decoded_bytes(
    name: str, image_size: int | None, channels: int | None, listing: Listing | None = None
) -> int | None:
    """About how many bytes the decoded uint8 pictures of the image folder `name` take (every file,
    both splits; 3 channels unless `channels` says; without `image_size`, the first readable
    picture's size); None for a registered dataset or a name that is not a folder. `listing`: the
    folder's (`folder_listing`) when the caller has one."""
    listing = listing if listing is not None else folder_listing(name)
    if listing is None:
        return None
    files = listing.files
    if image_size is not None:
        pixels = image_size * image_size
    else:
        found = (listing.header(f) for f in files[:32])
        dims = next((h[1] for h in found if h is not None), (0, 0))
        pixels = dims[0] * dims[1]
    return len(files) * (channels or 3) * pixels


def use_disk_cache(
    mode: str,
    name: str,
    image_size: int | None,
    channels: int | None,
    share: float,
    listing: Listing | None = None,
) -> tuple[bool, str | None]:
    """(whether to read the data `name` through the disk cache, a sentence for the user or None).
    `mode`: "memory" never, "disk" always (image folders: a registered set stays in memory), "auto"
    when the decoded pictures would take more than `share` of the memory available now. `listing`:
    the folder's (`folder_listing`) when the caller has one."""
    if mode == "memory":
        return False, None
    size = decoded_bytes(name, image_size, channels, listing)
    if size is None:
        said = (
            f"data_cache=disk applies to image folders; {name} is kept in memory" if mode == "disk" else None
        )
        return False, said
    if mode == "disk":
        return True, None
    free = available_memory()
    if size <= share * free:
        return False, None
    return True, (
        f"the decoded pictures of {name} (about {size / 1e9:.1f} GB) would take more than {share:g} of the "
        f"memory available ({free / 1e9:.1f} GB): they are cached on disk and read in batches "
        "(--set data_cache=memory keeps them in memory)"
    )
