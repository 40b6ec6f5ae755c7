"""The feature network gennet trains and ships, so that FID/KID/precision/recall/coverage work
offline and give the same numbers on every machine (no Inception weights from a URL).

One small CNN per dataset it was trained on (MNIST, Fashion-MNIST), 28x28 grayscale. Its
penultimate layer (128-d, after global average pooling) gives the features; its softmax gives
the classes for mode coverage and the classifier score. Every score records the SHA-256 of the
weights that produced it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..data import convert_channels, resize_images
from ..errors import GennetError

WEIGHTS = Path(__file__).resolve().parent / "weights"
SHIPPED = {"mnist": "mnist", "fashion-mnist": "fashion-mnist"}
INPUT_SIZE = 28


def _block(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class FeatureNet(nn.Module):
    """(N, 1, 28, 28) in [0, 1] -> logits (N, num_classes); `features` -> (N, widths[-1])."""

    def __init__(self, num_classes: int = 10, widths: tuple[int, ...] = (32, 64, 128), dropout: float = 0.3):
        super().__init__()
        a, b, c = widths
        self.body = nn.Sequential(  # ~7.4M multiply-adds an image: 10,000 images in seconds on a CPU
            *_block(1, a),
            nn.MaxPool2d(2),  # 14x14
            *_block(a, b),
            nn.MaxPool2d(2),  # 7x7
            *_block(b, c),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(c, num_classes)

    def features(self, x: Tensor) -> Tensor:
        return self.body(((x - 0.5) / 0.5).contiguous(memory_format=torch.channels_last))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.dropout(self.features(x)))


def prepare(images, size: int = INPUT_SIZE) -> Tensor:
    """uint8 or float images (N, C, H, W) -> float (N, 1, size, size) in [0, 1] (gray, resized)."""
    x = torch.as_tensor(np.asarray(images)) if not torch.is_tensor(images) else images
    if x.dtype != torch.uint8:
        x = (x.float().clamp(0, 1) * 255).round().to(torch.uint8)
    if x.shape[1] != 1:
        x = convert_channels(x, 1)
    if x.shape[-2:] != (size, size):
        x = resize_images(x, size)
    return x.float() / 255.0


@dataclass
class FeatureExtractor:
    """A trained FeatureNet and its provenance. Call it on images -> (features, probabilities)."""

    name: str
    net: FeatureNet
    sha256: str
    info: dict

    @torch.no_grad()
    def __call__(self, images, batch_size: int = 1000) -> tuple[np.ndarray, np.ndarray]:
        """images (N, C, H, W) uint8 or float [0, 1] -> features (N, D) float64, probs (N, K) float64."""
        self.net.eval()
        feats, probs = [], []
        for i in range(0, len(images), batch_size):
            x = prepare(images[i : i + batch_size])
            f = self.net.features(x)
            feats.append(f.double().numpy())
            probs.append(F.softmax(self.net.head(f), dim=1).double().numpy())
        return np.concatenate(feats), np.concatenate(probs)

    @torch.no_grad()
    def embed(self, images: Tensor) -> Tensor:
        """Float images (N, C, H, W) in [0, 1] -> features (N, D) float32, without `__call__`'s rounding
        to grey levels (gray by ITU-R 601 luma, antialiased bilinear resize): for distances between
        images that differ by less than a grey level (perceptual path length)."""
        self.net.eval()
        x = images.float().to(next(self.net.parameters()).device)
        if x.shape[1] == 3:
            x = (x * torch.tensor([0.299, 0.587, 0.114], device=x.device).view(1, 3, 1, 1)).sum(
                1, keepdim=True
            )
        elif x.shape[1] != 1:
            raise GennetError(f"the feature network takes 1 or 3 channels; got {x.shape[1]}")
        if x.shape[-2:] != (INPUT_SIZE, INPUT_SIZE):
            x = F.interpolate(
                x, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False, antialias=True
            )
        return self.net.features(x.clamp(0, 1)).float()

    def protocol(self) -> dict:
        return {
            "extractor": self.name,
            "extractor_sha256": self.sha256,
            "extractor_test_accuracy": self.info.get("test_accuracy"),
            "input": "1x28x28 gray",
        }


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_extractor(name: str) -> FeatureExtractor:
    """The shipped extractor trained on `name` ("mnist" or "fashion-mnist")."""
    from safetensors.torch import load_file

    if name not in SHIPPED:
        raise GennetError(f"no shipped feature network for {name!r}; shipped: {', '.join(SHIPPED)}")
    path = WEIGHTS / f"{SHIPPED[name]}.safetensors"
    meta_path = path.with_suffix(".json")
    if not path.is_file() or not meta_path.is_file():
        raise GennetError(
            f"feature network weights missing at {path}; retrain them with "
            f"`python -m gennet.eval.train_features --data {name}`"
        )
    info = json.loads(meta_path.read_text())
    net = FeatureNet(num_classes=info["num_classes"], widths=tuple(info["widths"]))
    net.load_state_dict(load_file(str(path)))
    net = net.to(memory_format=torch.channels_last)
    digest = sha256_file(path)
    if info.get("sha256") and info["sha256"] != digest:
        raise GennetError(f"{path} does not match its recorded SHA-256 (a modified or partial file)")
    return FeatureExtractor(name, net.eval(), digest, info)


def extractor_for(dataset: str) -> tuple[FeatureExtractor, str]:
    """The extractor for a dataset and why it was chosen (recorded in every protocol)."""
    if dataset in SHIPPED:
        return load_extractor(dataset), f"trained on {dataset}: the data being scored"
    return load_extractor("fashion-mnist"), (
        f"no network was trained on {dataset!r}; images are converted to 28x28 grayscale and scored with "
        "the Fashion-MNIST network. Scores compare models on this data with each other and with the "
        "real-vs-real floor, not with figures from other datasets; pass your own extractor for more."
    )
