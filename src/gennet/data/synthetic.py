"""Small synthetic image sets for tests and smoke runs, deterministic from a seed. Registers
`synthetic-shapes`, `synthetic-rgb` and `synthetic-ring`.

Layer: a loader; imports only `types`, `registry` and `errors`.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import torch

from ..errors import ConfigError, DataError
from .registry import register_dataset
from .types import ImageData, split_indices

SIZE = 16
SHAPES_CLASSES = ["horizontal bar", "vertical bar", "filled square", "cross"]
RGB_CLASSES = ["red", "green", "blue"]


def _balanced_labels(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    """n labels in 0..k-1, as equal in count as possible, in random order."""
    return rng.permutation(np.arange(n) % k).astype(np.int64)


def _bar(rng: np.random.Generator, length: int, thick: int) -> tuple[slice, slice]:
    """Row and column slices of a horizontal bar of the given length and thickness, at a random place."""
    r = int(rng.integers(0, SIZE - thick + 1))
    c = int(rng.integers(0, SIZE - length + 1))
    return slice(r, r + thick), slice(c, c + length)


def _draw_shape(rng: np.random.Generator, label: int) -> np.ndarray:
    """One 16x16 float image in [0, 1] of the shape `label` (see SHAPES_CLASSES)."""
    img = np.zeros((SIZE, SIZE), dtype=np.float64)
    level = rng.uniform(0.7, 1.0)
    if label in (0, 1):
        rows, cols = _bar(rng, int(rng.integers(8, 15)), int(rng.integers(2, 5)))
        img[rows, cols] = level
        if label == 1:
            img = img.T.copy()
    elif label == 2:
        side = int(rng.integers(5, 11))
        r, c = rng.integers(0, SIZE - side + 1, size=2)
        img[r : r + side, c : c + side] = level
    else:
        arm, thick = int(rng.integers(8, 15)), int(rng.integers(2, 4))
        top, left = rng.integers(0, SIZE - arm + 1, size=2)
        mid_r = top + (arm - thick) // 2
        mid_c = left + (arm - thick) // 2
        img[mid_r : mid_r + thick, left : left + arm] = level
        img[top : top + arm, mid_c : mid_c + thick] = level
    return img


def make_shapes(n: int, seed: int = 0) -> ImageData:
    """`synthetic-shapes`: images uint8 (n, 1, 16, 16), labels (n,) in 0..3 (bar -, bar |, square, cross)."""
    rng = np.random.default_rng(seed)
    labels = _balanced_labels(rng, n, len(SHAPES_CLASSES))
    images = np.stack([_draw_shape(rng, int(lab)) for lab in labels]) if n else np.zeros((0, SIZE, SIZE))
    images = images + rng.uniform(0.0, 0.08, size=images.shape)  # faint background noise
    images = np.clip(np.rint(images * 255), 0, 255).astype(np.uint8)[:, None]
    return ImageData(
        torch.from_numpy(np.ascontiguousarray(images)),
        torch.from_numpy(labels),
        "synthetic-shapes",
        list(SHAPES_CLASSES),
    )


def make_rgb(n: int, seed: int = 0) -> ImageData:
    """`synthetic-rgb`: images uint8 (n, 3, 16, 16), a red, green or blue soft blob on noise; labels 0..2."""
    rng = np.random.default_rng(seed)
    labels = _balanced_labels(rng, n, len(RGB_CLASSES))
    background = rng.uniform(0.0, 0.25, size=(n, 3, SIZE, SIZE))
    centers = rng.uniform(4.0, SIZE - 4.0, size=(n, 2))
    radii = rng.uniform(2.5, 5.0, size=n)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64)
    dist2 = (yy[None] - centers[:, 0, None, None]) ** 2 + (xx[None] - centers[:, 1, None, None]) ** 2
    mask = np.exp(-dist2 / (2.0 * radii[:, None, None] ** 2))[:, None]  # (n, 1, H, W)
    colors = rng.uniform(0.0, 0.25, size=(n, 3))
    colors[np.arange(n), labels] = rng.uniform(0.8, 1.0, size=n)
    images = background * (1.0 - mask) + colors[:, :, None, None] * mask
    images = np.clip(np.rint(images * 255), 0, 255).astype(np.uint8)
    return ImageData(
        torch.from_numpy(np.ascontiguousarray(images)),
        torch.from_numpy(labels),
        "synthetic-rgb",
        list(RGB_CLASSES),
    )


# The Unrolled GAN paper's mixture (Metz et al. 2017): 8 Gaussians of std 0.02 on a circle of radius 2.
RING_MODES, RING_RADIUS, RING_STD = 8, 2.0, 0.02
RING_SCALE = 5.0  # ring coordinates -> [0, 1]: u = 0.5 + v / RING_SCALE


def ring_centres() -> np.ndarray:
    """(8, 2) mode centres in ring coordinates."""
    angles = 2 * np.pi * np.arange(RING_MODES) / RING_MODES
    return RING_RADIUS * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def ring_to_unit(v: np.ndarray) -> np.ndarray:
    return 0.5 + np.asarray(v, dtype=np.float64) / RING_SCALE


def unit_to_ring(u: np.ndarray) -> np.ndarray:
    return (np.asarray(u, dtype=np.float64) - 0.5) * RING_SCALE


def make_ring(n: int, seed: int = 0) -> ImageData:
    """`synthetic-ring`: n 2-D points stored as uint8 images (n, 1, 1, 2), labels = mode (0..7).

    Points are mapped to [0, 1] by u = 0.5 + v / 5, so uint8 storage rounds each coordinate to
    5/255 = 0.0196 ring units, about one mode std; the models see what every image model sees."""
    rng = np.random.default_rng(seed)
    labels = _balanced_labels(rng, n, RING_MODES)
    points = ring_centres()[labels] + rng.normal(0.0, RING_STD, size=(n, 2))
    images = np.clip(np.rint(ring_to_unit(points) * 255), 0, 255).astype(np.uint8).reshape(n, 1, 1, 2)
    return ImageData(
        torch.from_numpy(images), torch.from_numpy(labels), "synthetic-ring", [f"mode {i}" for i in range(8)]
    )


SYNTHETIC = {"synthetic-shapes": make_shapes, "synthetic-rgb": make_rgb, "synthetic-ring": make_ring}


def make_synthetic(name: str, n: int, seed: int = 0) -> ImageData:
    """Synthetic set `name` (synthetic-shapes, -rgb or -ring) of n images; same seed, same images."""
    if name not in SYNTHETIC:
        raise DataError(f"unknown synthetic dataset {name!r}: known are {', '.join(SYNTHETIC)}")
    if n < 0:
        raise ConfigError(f"number of synthetic images must be >= 0, got {n}")
    return SYNTHETIC[name](int(n), seed)


SYNTHETIC_SIZES = {"synthetic-shapes": 2000, "synthetic-rgb": 1000, "synthetic-ring": 20000}
DESCRIPTIONS = {
    "synthetic-shapes": "bars, squares and crosses 16x16 gray, 4 classes, 2000 images (for tests)",
    "synthetic-rgb": "red/green/blue blobs on noise 16x16 RGB, 3 classes, 1000 images (for tests)",
    "synthetic-ring": "8 Gaussians on a ring (2-D points stored as 1x2 images), 8 classes, 20000 "
    "(the Unrolled GAN mode-coverage test)",
}


def load_synthetic(
    name: str, split: str, data_dir: str | None = None, test_fraction: float = 0.1, seed: int = 0
) -> ImageData:
    """One `split_indices` split of synthetic set `name` at its registered size (`data_dir` unused)."""
    data = make_synthetic(name, SYNTHETIC_SIZES[name], seed=seed)
    train, test = split_indices(len(data), test_fraction, seed)
    return data.subset(train if split == "train" else test)


for _name, _description in DESCRIPTIONS.items():
    register_dataset(_name, description=_description)(partial(load_synthetic, _name))
