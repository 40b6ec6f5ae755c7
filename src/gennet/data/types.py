"""The data layer's types and pure helpers: `DataSpec`, `ImageData`, `UnpairedData`, and splitting,
resizing and channel conversion of uint8 image tensors.

Layer: the bottom of `gennet.data`; it imports nothing of gennet but `errors`.

`UnpairedData` is an unpaired two-domain set (CycleGAN): two `ImageData`, `a` and `b`, which may
differ in size but share channels and image size. It answers what the trainer asks of any dataset
with domain A (`spec`, `len`, `images`, `labels`, `classes`: the training `x` is A), and lists the
rest in `companions()` (`{"b": b}`), which the in-memory loader draws batches of into
`Batch.extra` (`extra["b"]`, `extra["b_y"]`); a plain `ImageData` has no companions, so neither
the trainer nor the loader branches on the kind of set. `subset(slice)` takes the first n of each
domain; an index array or mask indexes A and keeps B whole (it says nothing about B).
`map_images(fn)` applies an images -> images transform (resize, channel conversion) to every domain.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import ConfigError

Index = torch.Tensor | np.ndarray | Sequence[int] | slice


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
class LoadReport:
    """What loading an image folder did: images kept, those resized or cropped to `size`, and
    the files skipped, by reason ("unreadable", "too small", ...)."""

    folder: Path
    kept: int = 0
    resized: int = 0
    size: int | None = None  # the square side images were fitted to (None: their own size)
    skipped: dict[str, list[Path]] = field(default_factory=dict)
    cache_note: str | None = None  # where the images were cached on disk, and whether built now

    def skip(self, reason: str, path: Path) -> None:
        self.skipped.setdefault(reason, []).append(path)

    def summary(self) -> str:
        """One line: 'DIR/trainA: 12 images kept (9 resized and cropped to 64x64), 1 skipped
        (unreadable: 1 (x.png))'."""
        line = f"{self.folder}: {self.kept} image{'s' * (self.kept != 1)} kept"
        if self.size is not None:
            line += f" ({self.resized} resized and cropped to {self.size}x{self.size})"
        n = sum(len(v) for v in self.skipped.values())
        if n:
            parts = []
            for reason, paths in self.skipped.items():
                shown = ", ".join(p.name for p in paths[:3]) + (", ..." if len(paths) > 3 else "")
                parts.append(f"{reason}: {len(paths)} ({shown})")
            line += f", {n} skipped ({'; '.join(parts)})"
        return line


@dataclass
class ImageData:
    """A set of images: `images` uint8 (N, C, H, W) contiguous on CPU, `labels` int64 (N,) or None.
    `report`: what loading it from a folder did (None for other sources); not kept by `subset`.
    `cache_dir`: the folder of the memory-mapped cache `images` is read from (`data.cache`; None:
    the images are in memory); a batch loader reads such a set in batches instead of copying it."""

    images: torch.Tensor
    labels: torch.Tensor | None
    name: str
    classes: list[str] | None = None
    report: LoadReport | None = field(default=None, compare=False, repr=False)
    cache_dir: Path | None = field(default=None, compare=False, repr=False)

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

    def subset(self, index: Index) -> ImageData:
        """The images (and labels) at `index`: an index tensor/array/list, a bool mask, or a slice."""
        if not isinstance(index, slice):
            index = torch.as_tensor(np.asarray(index) if not torch.is_tensor(index) else index)
            if index.dtype != torch.bool:
                index = index.long()
        labels = None if self.labels is None else self.labels[index].contiguous()
        classes = None if self.classes is None else list(self.classes)
        return ImageData(self.images[index].contiguous(), labels, self.name, classes)

    def map_images(self, fn: Callable[[torch.Tensor], torch.Tensor]) -> ImageData:
        """This set with images fn(images) (labels, name, classes kept); itself if fn changed nothing."""
        images = fn(self.images)
        return self if images is self.images else ImageData(images, self.labels, self.name, self.classes)

    def companions(self) -> dict[str, ImageData]:
        """Sets drawn beside this one into each batch's `extra`, by key: none for one domain."""
        return {}


@dataclass
class UnpairedData:
    """An unpaired two-domain set (CycleGAN): domain A (`a`, the training `x`) and domain B (`b`).

    The domains may differ in size; they share channels and image size. `spec`, `len`, `images`,
    `labels` and `classes` are domain A's; `companions()` is `{"b": b}`."""

    a: ImageData
    b: ImageData
    name: str

    @property
    def spec(self) -> DataSpec:
        return self.a.spec

    @property
    def images(self) -> torch.Tensor:
        return self.a.images

    @property
    def labels(self) -> torch.Tensor | None:
        return self.a.labels

    @property
    def classes(self) -> list[str] | None:
        return self.a.classes

    @property
    def cache_dir(self) -> Path | None:
        return self.a.cache_dir

    def __len__(self) -> int:
        return len(self.a)

    def subset(self, index: Index) -> UnpairedData:
        """A slice takes the first n of each domain; an index array or mask indexes A, B stays whole."""
        b = self.b.subset(index) if isinstance(index, slice) else self.b
        return UnpairedData(self.a.subset(index), b, self.name)

    def map_images(self, fn: Callable[[torch.Tensor], torch.Tensor]) -> UnpairedData:
        a, b = self.a.map_images(fn), self.b.map_images(fn)
        return self if (a is self.a and b is self.b) else UnpairedData(a, b, self.name)

    def companions(self) -> dict[str, ImageData]:
        return {"b": self.b}


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
