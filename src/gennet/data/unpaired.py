"""Unpaired two-domain image sets for CycleGAN, as `UnpairedData` (domain A in `.a`, domain B in
`.b`). The two domains may hold different numbers of images.

- Folders in the CycleGAN repository's layout: `DIR/trainA`, `DIR/trainB` (and `DIR/testA`,
  `DIR/testB` for the held-out split; without them, a deterministic share of trainA/trainB is
  held out). PNG/JPEG of any size and mode, resized (shorter side) and centre-cropped.
- Built-in pairs that need no download and whose success can be measured:
  `mnist-thick` (digits <-> the same digit classes drawn with thicker strokes), `mnist-inverted`
  (digits <-> white-on-black inverted digits), `fashion-sneaker-boot` (Fashion-MNIST sneakers <->
  ankle boots; needs the Fashion-MNIST files) and `synthetic-rgb-pair` (red blobs <-> blue blobs,
  16x16, for tests). The digit pairs take A and B from disjoint halves of the split, so no image
  of A has its counterpart in B: they are truly unpaired. Each registers its name.

Layer: a loader; imports only `types`, `registry`, `cache`, `listing`, the other loaders (`mnist`,
`synthetic`, `folder`) and `errors`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from scipy import ndimage

from ..errors import DataError
from .cache import CacheRequest
from .folder import build_image_data
from .listing import Listing
from .mnist import load_fashion_mnist, load_mnist
from .registry import register_dataset
from .synthetic import make_rgb
from .types import ImageData, UnpairedData, split_indices

DOMAIN_DIRS = ("trainA", "trainB", "testA", "testB")


@dataclass(frozen=True)
class Pair:
    """A built-in unpaired set. `features`: the shipped feature network that scores it (None: the
    default fallback); `class_rule`: "keep" (a translation should keep its input's class: digits),
    "target" (a translation should be classed as the target domain's class) or "none".

    `view_b` maps domain-B images (uint8 numpy (N, C, H, W)) back toward what the feature network
    was trained on before it classifies them (inverted digits are inverted back, thick strokes are
    eroded); with `view_b_for_fid` FID/KID use that view too (needed where the network cannot
    read B at all: inverted digits)."""

    description: str
    make: Callable[..., UnpairedData]
    features: str | None = None
    class_rule: str = "none"
    view_b: Callable[[np.ndarray], np.ndarray] | None = None
    view_b_for_fid: bool = False
    target_class: tuple[int, int] | None = None  # (class of A, class of B) for class_rule "target"


def _halves(data: ImageData, seed: int) -> tuple[ImageData, ImageData]:
    """Two disjoint halves of `data` (a seeded permutation, each half in its original order)."""
    perm = np.random.default_rng(seed + 1_234_567).permutation(len(data))
    half = len(data) // 2
    return data.subset(np.sort(perm[:half])), data.subset(np.sort(perm[half:]))


def thicken(images: torch.Tensor, size: int = 3) -> torch.Tensor:
    """Grey dilation of uint8 (N, C, H, W) with a size x size square: strokes grow by size - 1 pixels."""
    out = ndimage.grey_dilation(images.numpy(), footprint=np.ones((1, 1, size, size), dtype=bool))
    return torch.from_numpy(np.ascontiguousarray(out))


def thin(images: np.ndarray, size: int = 3) -> np.ndarray:
    """Grey erosion of uint8 (N, C, H, W) with a size x size square: undoes `thicken` up to an opening."""
    return ndimage.grey_erosion(images, footprint=np.ones((1, 1, size, size), dtype=bool))


def _invert(images: np.ndarray) -> np.ndarray:
    return 255 - images


def _unpaired(a: ImageData, b: ImageData, name: str) -> UnpairedData:
    """Domain A named `name`, domain B named `name:B`."""
    return UnpairedData(replace(a, name=name), replace(b, name=f"{name}:B"), name)


def _mnist_pair(name: str, transform: Callable[[torch.Tensor], torch.Tensor]):
    def make(split: str, data_dir: str | None, test_fraction: float, seed: int) -> UnpairedData:
        a, b = _halves(load_mnist(split, data_dir, test_fraction, seed), seed)
        return _unpaired(a, ImageData(transform(b.images), b.labels, name, b.classes), name)

    return make


def _fashion_pair(split: str, data_dir: str | None, test_fraction: float, seed: int) -> UnpairedData:
    data = load_fashion_mnist(split, data_dir)
    a = data.subset(data.labels == 7)  # Sneaker
    b = data.subset(data.labels == 9)  # Ankle boot
    return _unpaired(a, b, "fashion-sneaker-boot")


def _rgb_pair(split: str, data_dir: str | None, test_fraction: float, seed: int) -> UnpairedData:
    data = make_rgb(1200, seed=seed)
    domains = []
    for label in (0, 2):  # red, blue
        dom = data.subset(data.labels == label)
        train, test = split_indices(len(dom), test_fraction, seed)
        domains.append(dom.subset(train if split == "train" else test))
    return _unpaired(domains[0], domains[1], "synthetic-rgb-pair")


PAIRS: dict[str, Pair] = {
    "mnist-thick": Pair(
        "MNIST digits <-> digits with thicker strokes (3x3 grey dilation), disjoint halves, 28x28 gray",
        _mnist_pair("mnist-thick", thicken),
        features="mnist",
        class_rule="keep",
        view_b=thin,
    ),
    "mnist-inverted": Pair(
        "MNIST digits <-> inverted digits (black on white), disjoint halves, 28x28 gray",
        _mnist_pair("mnist-inverted", lambda x: 255 - x),
        features="mnist",
        class_rule="keep",
        view_b=_invert,
        view_b_for_fid=True,
    ),
    "fashion-sneaker-boot": Pair(
        "Fashion-MNIST sneakers <-> ankle boots, 28x28 gray, 6000/6000 (needs the Fashion-MNIST files)",
        _fashion_pair,
        features="fashion-mnist",
        class_rule="target",
        target_class=(7, 9),
    ),
    "synthetic-rgb-pair": Pair(
        "red blobs <-> blue blobs on noise, 16x16 RGB, 360/360 train (for tests)", _rgb_pair
    ),
}
for _name, _pair in PAIRS.items():
    register_dataset(_name, description=f"unpaired A<->B (CycleGAN): {_pair.description}")(_pair.make)


def load_pair(
    name: str, split: str, *, data_dir=None, test_fraction: float = 0.1, seed: int = 0
) -> UnpairedData:
    """Built-in pair `name`, one split: domains A and B, images uint8 (N, C, H, W)."""
    if name not in PAIRS:
        raise DataError(f"unknown unpaired set {name!r}; built-in: {', '.join(PAIRS)}")
    return PAIRS[name].make(split, data_dir, test_fraction, seed)


def pair_info(name: str) -> Pair | None:
    return PAIRS.get(name)


# ---- folders in the CycleGAN layout -------------------------------------------------------------
def is_unpaired_folder(root: Path) -> bool:
    """True if `root` has any of trainA, trainB, testA, testB as a subfolder."""
    return any((root / d).is_dir() for d in DOMAIN_DIRS)


def domain_listing(root: Path) -> Listing:
    """The domain folders (trainA, trainB, testA, testB: those present) of `root`, listed once."""
    return Listing.of(root, [d for d in DOMAIN_DIRS if (root / d).is_dir()])


def _domain_dir(listing: Listing, split: str, dom: str) -> str:
    """The folder domain `dom` of `split` is read from: testX for the test split when present, else trainX."""
    return f"test{dom}" if split == "test" and f"test{dom}" in listing.parts else f"train{dom}"


def _domain_files(listing: Listing, split: str, test_fraction: float, seed: int) -> dict[str, list[Path]]:
    """{'A': files, 'B': files} of one split; testA/testB, or a held-out share of trainA/trainB."""
    root = listing.root
    for d in ("trainA", "trainB"):
        if d not in listing.parts:
            present = ", ".join(listing.parts) or "none"
            raise DataError(
                f"unpaired folder {root} has no {d}/ subfolder (found: {present}); the CycleGAN layout is "
                f"{root}/trainA, {root}/trainB (and optionally testA, testB)"
            )
    out = {}
    for dom in ("A", "B"):
        files = listing.parts[_domain_dir(listing, split, dom)]
        if f"test{dom}" not in listing.parts and len(files) >= 2:  # no testX/: hold out a share of trainX/
            train, test = split_indices(len(files), test_fraction, seed)
            files = [files[i] for i in (train if split == "train" else test)]
        out[dom] = files
    for dom, files in out.items():
        if not files:
            where = root / _domain_dir(listing, split, dom)
            raise DataError(f"no images (.png, .jpg, .jpeg) found in {where}")
    return out


def load_unpaired_folder(
    root: str | os.PathLike,
    split: str = "train",
    *,
    image_size: int | None = None,
    channels: int | None = None,
    strict: bool = False,
    test_fraction: float = 0.1,
    seed: int = 0,
    cache: CacheRequest | None = None,
    listing: Listing | None = None,
) -> UnpairedData:
    """DIR/trainA + DIR/trainB (split "train") or DIR/testA + DIR/testB ("test") as domains A and B.
    channels None: 1 if every image of both domains is grayscale, else 3 (the same for both, so
    that one network reads both). Unreadable files are skipped with a warning
    (an error when `strict`). Without image_size every image must share one size. With `cache`,
    each domain is read through its own disk cache (`cache.py`). `listing`: the folder's
    `domain_listing` when the caller has one (else it is listed here)."""
    root = Path(root).expanduser()
    listing = listing if listing is not None else domain_listing(root)
    files = _domain_files(listing, split, test_fraction, seed)
    if channels is None:
        channels = 1 if listing.all_gray(listing.files) else 3
    doms = {}
    for dom, fs in files.items():
        doms[dom] = build_image_data(
            root,
            fs,
            None,
            None,
            image_size=image_size,
            channels=channels,
            strict=strict,
            folder=root / _domain_dir(listing, split, dom),
            skip_small=True,
            cache=None if cache is None else replace(cache, tag=f"{split}{dom}"),
        )
    a, b = doms["A"], doms["B"]
    if a.images.shape[1:] != b.images.shape[1:]:
        raise DataError(
            f"the domains of {root} differ in image shape: A {tuple(a.images.shape[1:])}, B "
            f"{tuple(b.images.shape[1:])}; pass an image size (--set image_size=N) to resize and crop both"
        )
    return _unpaired(a, b, root.name)
