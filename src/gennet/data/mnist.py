"""MNIST and Fashion-MNIST: the embedded 10,000 MNIST digits, and the full sets from IDX files
(--data-dir, $GENNET_DATA, or Debian's `dataset-fashion-mnist` package). Registers `mnist` and
`fashion-mnist`.

Layer: a loader; imports only `types`, `idx`, `registry` and `errors`.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import torch

from ..errors import DataError
from .idx import read_idx_pair
from .registry import register_dataset
from .types import ImageData, split_indices

ASSETS = Path(__file__).resolve().parent / "assets"
MNIST_EMBEDDED = ASSETS / "mnist-10k"
# Where Debian's `dataset-fashion-mnist` package puts the files; a module constant so tests can move it.
FASHION_MNIST_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")
ENV_DATA = "GENNET_DATA"

MNIST_CLASSES = [str(d) for d in range(10)]
FASHION_MNIST_CLASSES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]
# The four standard IDX file stems, by split: (images, labels).
IDX_STEMS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def _find_idx_file(folder: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def _find_idx_folder(candidates: list[Path]) -> Path | None:
    """The first folder holding all four standard IDX files; DataError for a folder holding only some."""
    stems = [s for pair in IDX_STEMS.values() for s in pair]
    for folder in candidates:
        found = [_find_idx_file(folder, s) for s in stems]
        if all(found):
            return folder
        if any(found):
            missing = ", ".join(s + "[.gz]" for s, f in zip(stems, found, strict=True) if f is None)
            raise DataError(f"incomplete IDX dataset in {folder}: missing {missing}")
    return None


def _load_idx_split(folder: Path, split: str, name: str, classes: list[str]) -> ImageData:
    images_stem, labels_stem = IDX_STEMS[split]
    images, labels = read_idx_pair(_find_idx_file(folder, images_stem), _find_idx_file(folder, labels_stem))
    return _to_image_data(images, labels, name, classes)


def _to_image_data(images: np.ndarray, labels: np.ndarray, name: str, classes: list[str]) -> ImageData:
    """(N, H, W) uint8 + (N,) labels -> ImageData with images (N, 1, H, W)."""
    if images.dtype != np.uint8:
        raise DataError(f"{name}: expected uint8 images, got {images.dtype}")
    if len(labels) and (labels.min() < 0 or labels.max() >= len(classes)):
        raise DataError(
            f"{name}: labels outside 0..{len(classes) - 1} (min {labels.min()}, max {labels.max()})"
        )
    tensor = torch.from_numpy(np.ascontiguousarray(images[:, None]))
    return ImageData(tensor, torch.from_numpy(labels.astype(np.int64)), name, list(classes))


def _describe_searched(folders: list[Path]) -> str:
    stems = ", ".join(s for pair in IDX_STEMS.values() for s in pair)
    return "\n".join(f"  {f}/" for f in folders) + f"\n(each looked for {stems}, with or without .gz)"


def _env_dir() -> Path | None:
    value = os.environ.get(ENV_DATA)
    return Path(value).expanduser() if value else None


@register_dataset(
    "mnist",
    description="handwritten digits 28x28 gray, 10 classes; 10,000 embedded (9000/1000), "
    "full 60k/10k with --data-dir",
)
def load_mnist(
    split: str, data_dir: str | None = None, test_fraction: float = 0.1, seed: int = 0
) -> ImageData:
    """One split of MNIST: images uint8 (N, 1, 28, 28), labels 0..9. The full set from IDX files in
    `data_dir` (or $GENNET_DATA), else a `split_indices` split of the embedded 10,000 digits."""
    root = Path(data_dir).expanduser() if data_dir else _env_dir()
    if root is not None and not data_dir and _find_idx_folder([root, root / "mnist"]) is None:
        # $GENNET_DATA may be meant for other sets (Fashion-MNIST): fall back, and say so
        warnings.warn(f"no full MNIST in ${ENV_DATA}={root}; using the embedded 10,000 digits", stacklevel=3)
        root = None
    if root is None:
        images, labels = read_idx_pair(
            MNIST_EMBEDDED / "images-idx3-ubyte.gz", MNIST_EMBEDDED / "labels-idx1-ubyte.gz"
        )
        train, test = split_indices(len(images), test_fraction, seed)
        index = train if split == "train" else test
        return _to_image_data(images[index], labels[index], "mnist", MNIST_CLASSES)
    candidates = [root, root / "mnist"]
    folder = _find_idx_folder(candidates)
    if folder is None:
        raise DataError(
            f"full MNIST not found in --data-dir {root}; searched:\n{_describe_searched(candidates)}\n"
            f"Without --data-dir the embedded 10,000 MNIST digits are used."
        )
    return _load_idx_split(folder, split, "mnist", MNIST_CLASSES)


@register_dataset(
    "fashion-mnist",
    description="Zalando clothing 28x28 gray, 10 classes, 60k/10k; needs the files "
    "(apt-get install dataset-fashion-mnist or --data-dir)",
)
def load_fashion_mnist(
    split: str, data_dir: str | None = None, test_fraction: float = 0.1, seed: int = 0
) -> ImageData:
    """One split of Fashion-MNIST from IDX files (its own train/test split: `test_fraction` and
    `seed` are unused): images uint8 (N, 1, 28, 28), labels 0..9."""
    candidates: list[Path] = []
    if data_dir:
        root = Path(data_dir).expanduser()
        candidates += [root, root / "fashion-mnist"]
    env = _env_dir()
    if env is not None:
        candidates += [env, env / "fashion-mnist"]
    candidates.append(Path(FASHION_MNIST_SYSTEM_DIR))
    folder = _find_idx_folder(candidates)
    if folder is None:
        raise DataError(
            f"Fashion-MNIST not found; searched:\n{_describe_searched(candidates)}\n"
            "To get it: `apt-get install dataset-fashion-mnist` (Debian/Ubuntu), or download the four files "
            "from the Zalando Fashion-MNIST repository (github.com/zalandoresearch/fashion-mnist) into a "
            "folder and pass --data-dir FOLDER."
        )
    return _load_idx_split(folder, split, "fashion-mnist", FASHION_MNIST_CLASSES)
