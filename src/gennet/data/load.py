"""`load_dataset`: one split of a registered dataset (by name) or of an image folder (by path).

Layer: the top of `gennet.data`; imports `types`, `registry`, the loaders and `errors`. Importing
it imports every loader module, which registers the built-in names (mnist, fashion-mnist, the
synthetic sets, the unpaired pairs).
"""

from __future__ import annotations

import os
from pathlib import Path

from tqdm.auto import tqdm

from ..errors import ConfigError, DataError
from .decode import upright_size
from .folder import BAR_FROM, list_images, load_folder_split
from .mnist import load_mnist  # noqa: F401  (importing the loaders registers their names)
from .registry import dataset_entry, dataset_names
from .synthetic import make_synthetic  # noqa: F401
from .types import ImageData, UnpairedData, convert_channels, resize_images
from .unpaired import DOMAIN_DIRS, is_unpaired_folder, load_unpaired_folder

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
) -> ImageData | UnpairedData:
    """Load dataset `name` (see `dataset_names()`) or an image folder path; one split of it.

    Returns ImageData with images uint8 (N, C, H, W), or UnpairedData (two domains) for an unpaired
    set. `image_size` resizes to square, `channels` (1 or 3) converts; `strict` makes unreadable
    images in a folder an error rather than a warning. A registered name wins over a folder path
    of the same name.
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
        )
    names = ", ".join(dataset_names())
    hint = f"no folder {name} exists; " if ("/" in name or os.sep in name) else ""
    raise DataError(
        f"unknown dataset {name!r}: {hint}known names are {names}; "
        "a path to a folder of images is also accepted"
    )


def folder_picture_sizes(name: str) -> list[tuple[int, int]] | None:
    """The upright (width, height) of every readable picture of the image folder `name` (both
    splits; the domain folders of an unpaired one), from the files' headers; None when `name` is a
    registered dataset or not a folder."""
    folder = Path(name).expanduser()
    if dataset_entry(name) is not None or not folder.is_dir():
        return None
    if is_unpaired_folder(folder):
        files = [f for d in DOMAIN_DIRS if (folder / d).is_dir() for f in list_images(folder / d)]
    else:
        files = list_images(folder)
    bar = tqdm(files, desc=f"measuring {folder.name}", unit="image", disable=len(files) < BAR_FROM or None)
    sizes = [upright_size(f) for f in bar]
    return [s for s in sizes if s is not None]
