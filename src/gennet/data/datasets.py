"""Image datasets as uint8 tensors, and the `load_dataset` entry point that finds them by name."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import ConfigError, DataError
from .idx import read_idx_pair

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
SPLITS = ("train", "test")
SYNTHETIC_SIZES = {"synthetic-shapes": 2000, "synthetic-rgb": 1000, "synthetic-ring": 20000}


@dataclass(frozen=True)
class DataSpec:
    """What a model needs to know about its data: image shape (C, H, W) and number of classes."""

    channels: int
    height: int
    width: int
    num_classes: int | None = None

    def to_dict(self) -> dict:
        return {
            "channels": self.channels,
            "height": self.height,
            "width": self.width,
            "num_classes": self.num_classes,
        }

    @classmethod
    def from_dict(cls, d: dict) -> DataSpec:
        try:
            nc = d.get("num_classes")
            return cls(int(d["channels"]), int(d["height"]), int(d["width"]), None if nc is None else int(nc))
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"invalid data spec {d!r}: {exc}") from exc


@dataclass
class ImageData:
    """A set of images: `images` uint8 (N, C, H, W) contiguous on CPU, `labels` int64 (N,) or None."""

    images: torch.Tensor
    labels: torch.Tensor | None
    name: str
    classes: list[str] | None = None
    # Unpaired two-domain sets (CycleGAN): this object is domain A and carries domain B here.
    # The domains may differ in size; they share channels and image size.
    domain_b: ImageData | None = None

    @property
    def spec(self) -> DataSpec:
        if self.classes:
            num_classes = len(self.classes)
        elif self.labels is not None and len(self.labels):
            num_classes = int(self.labels.max()) + 1
        else:
            num_classes = None
        _, c, h, w = self.images.shape
        return DataSpec(int(c), int(h), int(w), num_classes)

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def subset(self, index: torch.Tensor | np.ndarray | Sequence[int] | slice) -> ImageData:
        """The images (and labels) at `index`: an index tensor/array/list, a bool mask, or a slice."""
        if not isinstance(index, slice):
            index = torch.as_tensor(np.asarray(index) if not torch.is_tensor(index) else index)
            if index.dtype != torch.bool:
                index = index.long()
        labels = None if self.labels is None else self.labels[index].contiguous()
        # domain B (unpaired): a slice applies to it too (the first n of each domain); an index
        # into A says nothing about B, which is kept whole
        b = self.domain_b
        if b is not None and isinstance(index, slice):
            b = b.subset(index)
        return ImageData(
            self.images[index].contiguous(),
            labels,
            self.name,
            None if self.classes is None else list(self.classes),
            b,
        )


def split_indices(n: int, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic split of range(n): (train, test) sorted int64 index arrays, disjoint, covering all.

    The test part has round(n * test_fraction) items; at least 1 and at most n - 1 when the fraction
    is above 0 and n >= 2.
    """
    if not 0.0 <= test_fraction < 1.0:
        raise ConfigError(f"test_fraction must be in [0, 1), got {test_fraction}")
    n_test = int(round(n * test_fraction))
    if test_fraction > 0 and n >= 2:
        n_test = min(max(n_test, 1), n - 1)
    perm = np.random.default_rng(seed).permutation(n)
    return np.sort(perm[n_test:]).astype(np.int64), np.sort(perm[:n_test]).astype(np.int64)


def resize_images(images: torch.Tensor, size: int) -> torch.Tensor:
    """Bilinear (antialiased) resize of uint8 (N, C, H, W) to uint8 (N, C, size, size)."""
    if size < 1:
        raise ConfigError(f"image_size must be positive, got {size}")
    if tuple(images.shape[-2:]) == (size, size):
        return images
    out = F.interpolate(
        images.float(), size=(size, size), mode="bilinear", align_corners=False, antialias=True
    )
    return out.round_().clamp_(0, 255).to(torch.uint8).contiguous()


def convert_channels(images: torch.Tensor, channels: int) -> torch.Tensor:
    """uint8 (N, C, H, W) -> (N, channels, H, W): gray->RGB repeats, RGB->gray uses ITU-R 601 luma."""
    c = images.shape[1]
    if c == channels:
        return images
    if c == 1 and channels == 3:
        return images.repeat(1, 3, 1, 1).contiguous()
    if c == 3 and channels == 1:
        weights = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
        luma = (images.float() * weights).sum(dim=1, keepdim=True)
        return luma.round_().clamp_(0, 255).to(torch.uint8).contiguous()
    raise ConfigError(f"cannot convert {c}-channel images to {channels} channels (only 1 and 3 are known)")


def dataset_names() -> dict[str, str]:
    """Dataset name -> one-line description."""
    return {
        "mnist": "handwritten digits 28x28 gray, 10 classes; 10,000 embedded (9000/1000), "
        "full 60k/10k with --data-dir",
        "fashion-mnist": "Zalando clothing 28x28 gray, 10 classes, 60k/10k; needs the files "
        "(apt-get install dataset-fashion-mnist or --data-dir)",
        "synthetic-shapes": "bars, squares and crosses 16x16 gray, 4 classes, 2000 images (for tests)",
        "synthetic-rgb": "red/green/blue blobs on noise 16x16 RGB, 3 classes, 1000 images (for tests)",
        "synthetic-ring": "8 Gaussians on a ring (2-D points stored as 1x2 images), 8 classes, 20000 "
        "(the Unrolled GAN mode-coverage test)",
        **_pair_names(),
    }


def _pair_names() -> dict[str, str]:
    from .unpaired import PAIRS

    return {name: f"unpaired A<->B (CycleGAN): {p.description}" for name, p in PAIRS.items()}


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


def _load_mnist(split: str, data_dir: str | None, test_fraction: float, seed: int) -> ImageData:
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


def _load_fashion_mnist(split: str, data_dir: str | None) -> ImageData:
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


def _load_synthetic(name: str, split: str, test_fraction: float, seed: int) -> ImageData:
    from .synthetic import make_synthetic

    data = make_synthetic(name, SYNTHETIC_SIZES[name], seed=seed)
    train, test = split_indices(len(data), test_fraction, seed)
    return data.subset(train if split == "train" else test)


def _adapt(data: ImageData, image_size: int | None, channels: int | None) -> ImageData:
    images = data.images
    if channels is not None:
        images = convert_channels(images, channels)
    if image_size is not None:
        images = resize_images(images, image_size)
    b = None if data.domain_b is None else _adapt(data.domain_b, image_size, channels)
    if images is not data.images or b is not data.domain_b:
        data = ImageData(images, data.labels, data.name, data.classes, b)
    return data


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
) -> ImageData:
    """Load dataset `name` (see `dataset_names()`) or an image folder path; one split of it.

    Returns ImageData with images uint8 (N, C, H, W). `image_size` resizes to square, `channels` (1 or 3)
    converts; `strict` makes unreadable images in a folder an error rather than a warning.
    """
    if split not in SPLITS:
        raise ConfigError(f"split must be 'train' or 'test', got {split!r}")
    if channels not in (None, 1, 3):
        raise ConfigError(f"channels must be 1 or 3, got {channels!r}")
    from .unpaired import PAIRS, is_unpaired_folder, load_pair, load_unpaired_folder

    if name in PAIRS:
        data = load_pair(name, split, data_dir=data_dir, test_fraction=test_fraction, seed=seed)
    elif Path(name).expanduser().is_dir() and is_unpaired_folder(Path(name).expanduser()):
        return load_unpaired_folder(
            Path(name).expanduser(),
            split,
            image_size=image_size,
            channels=channels,
            strict=strict,
            test_fraction=test_fraction,
            seed=seed,
        )
    elif name == "mnist":
        data = _load_mnist(split, data_dir, test_fraction, seed)
    elif name == "fashion-mnist":
        data = _load_fashion_mnist(split, data_dir)
    elif name in SYNTHETIC_SIZES:
        data = _load_synthetic(name, split, test_fraction, seed)
    elif Path(name).expanduser().is_dir():
        from .folder import load_folder_split

        return load_folder_split(
            Path(name).expanduser(),
            split,
            image_size=image_size,
            channels=channels,
            strict=strict,
            test_fraction=test_fraction,
            seed=seed,
        )
    else:
        names = ", ".join(dataset_names())
        hint = f"no folder {name} exists; " if ("/" in name or os.sep in name) else ""
        raise DataError(
            f"unknown dataset {name!r}: {hint}known names are {names}; "
            "a path to a folder of images is also accepted"
        )
    return _adapt(data, image_size, channels)
