"""Generators and discriminators of the adversarial family (MLP and DCGAN), shared by gan, dcgan,
wgan, wgan-gp, cgan and bigan.

Images inside these networks live in [-1, 1] (tanh outputs); models map [0, 1] data to that
range. Discriminators return raw scores (logits, or a critic's value) of shape (N,).

DCGAN guidelines (Radford et al. 2016): strided convolutions in D, transposed convolutions in G,
batch norm in both (not in D's first layer nor G's output), ReLU in G with a tanh output,
LeakyReLU(0.2) in D, weights from N(0, 0.02).

Conditioning (cGAN): G takes [z, one_hot(y)]; D adds a projection term <embed(y), phi(x)>
(Miyato & Koyama 2018) to its score, phi the pooled last features.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import ConfigError
from .init import init_normal


def dcgan_stages(height: int, width: int) -> int:
    """Number of stride-2 stages for a DCGAN at this size: halve while the side stays even and >= 4.

    28 -> 2 (7x7 base), 32 -> 3 (4x4), 64 -> 4 (4x4), 16 -> 2 (4x4)."""
    if height != width:
        raise ConfigError(f"the DCGAN networks need square images; got {height}x{width} (pass image_size)")
    k, side = 0, height
    while side % 2 == 0 and side // 2 >= 4:
        side //= 2
        k += 1
    if k < 1:
        raise ConfigError(
            f"images of {height}x{width} are too small or odd-sided for a DCGAN; pass image_size "
            "(e.g. 28, 32 or 64) or use arch=mlp"
        )
    return k


def _one_hot(y: Tensor | None, k: int, like: Tensor) -> Tensor | None:
    return None if y is None or k == 0 else F.one_hot(y, k).to(like.dtype)


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":
        return nn.GroupNorm(1, channels)  # layer norm over (C, H, W), as WGAN-GP suggests
    if kind == "none":
        return nn.Identity()
    raise ConfigError(f"unknown discriminator norm {kind!r}; choose batch, layer or none")


def _dense(sizes: Sequence[int], act: Callable[[], nn.Module]) -> list[nn.Module]:
    """Linear + activation for each consecutive pair of `sizes`."""
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [nn.Linear(a, b), act()]
    return layers


def _leaky() -> nn.Module:
    return nn.LeakyReLU(0.2)


def _d_stages(channels: int, base: int, k: int, norm: str) -> tuple[list[nn.Module], int]:
    """The DCGAN discriminator's k stride-2 4x4 convs of widths b, 2b, 4b, ... (norm after all but
    the first, LeakyReLU 0.2) -> (layers, output channels)."""
    layers: list[nn.Module] = []
    prev = channels
    for i in range(k):
        width = base * 2**i
        layers.append(nn.Conv2d(prev, width, 4, 2, 1, bias=i == 0 or norm == "none"))
        if i > 0:
            layers.append(_norm(norm, width))
        layers.append(nn.LeakyReLU(0.2, True))
        prev = width
    return layers, prev


class MLPGenerator(nn.Module):
    """[z (N, latent), one_hot(y)] -> image (N, C, H, W) in [-1, 1]: Linear + ReLU layers, tanh out."""

    def __init__(self, latent: int, shape: tuple[int, int, int], hidden: Sequence[int], num_classes: int = 0):
        super().__init__()
        self.shape, self.num_classes = tuple(shape), num_classes
        sizes = [latent + num_classes, *hidden]
        layers = _dense(sizes, nn.ReLU)
        layers += [nn.Linear(sizes[-1], shape[0] * shape[1] * shape[2]), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        oh = _one_hot(y, self.num_classes, z)
        if oh is not None:
            z = torch.cat([z, oh], 1)
        return self.net(z).view(-1, *self.shape)


class MLPDiscriminator(nn.Module):
    """image (N, C, H, W) [, y] -> score (N,): Linear + LeakyReLU(0.2) layers, projection if conditional."""

    def __init__(self, in_features: int, hidden: Sequence[int], num_classes: int = 0, head_bias: bool = True):
        super().__init__()
        sizes = [in_features, *hidden]
        self.body = nn.Sequential(nn.Flatten(), *_dense(sizes, _leaky))
        self.head = nn.Linear(sizes[-1], 1, bias=head_bias)
        self.embed = nn.Embedding(num_classes, sizes[-1]) if num_classes else None

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        h = self.body(x)
        out = self.head(h).squeeze(1)
        if self.embed is not None and y is not None:
            out = out + (self.embed(y) * h).sum(1)
        return out


class DCGANGenerator(nn.Module):
    """[z, one_hot(y)] -> (N, C, H, W) in [-1, 1]. 28x28: 1x1 -> 7x7 (2b) -> 14x14 (b) -> 28x28;
    64x64: 1x1 -> 4x4 (8b) -> 8 (4b) -> 16 (2b) -> 32 (b) -> 64, b = base_channels."""

    def __init__(self, latent: int, shape: tuple[int, int, int], base: int, num_classes: int = 0):
        super().__init__()
        c, h, w = shape
        k = dcgan_stages(h, w)
        self.num_classes = num_classes
        widths = [base * 2 ** (k - 1 - i) for i in range(k)]  # e.g. [2b, b] for 28x28
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(latent + num_classes, widths[0], (h >> k, w >> k), 1, 0, bias=False),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(True),
        ]
        for a, b in zip(widths[:-1], widths[1:], strict=True):
            layers += [nn.ConvTranspose2d(a, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b), nn.ReLU(True)]
        layers += [nn.ConvTranspose2d(widths[-1], c, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        init_normal(self)

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        oh = _one_hot(y, self.num_classes, z)
        if oh is not None:
            z = torch.cat([z, oh], 1)
        return self.net(z[:, :, None, None])


class DCGANDiscriminator(nn.Module):
    """(N, C, H, W) [, y] -> score (N,): stride-2 4x4 convs b, 2b, 4b, ... (norm after all but the
    first, LeakyReLU 0.2), then a conv over the remaining 4x4 / 7x7 map. `norm`: batch (DCGAN),
    layer or none (a WGAN-GP critic must not use batch norm)."""

    def __init__(
        self,
        shape: tuple[int, int, int],
        base: int,
        norm: str = "batch",
        num_classes: int = 0,
        head_bias: bool = True,
    ):
        super().__init__()
        c, h, w = shape
        k = dcgan_stages(h, w)
        layers, prev = _d_stages(c, base, k, norm)
        self.body = nn.Sequential(*layers)
        self.head = nn.Conv2d(prev, 1, (h >> k, w >> k), 1, 0, bias=head_bias)
        self.embed = nn.Embedding(num_classes, prev) if num_classes else None
        self.features = prev
        init_normal(self)

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        h = self.body(x)
        out = self.head(h).flatten(1).squeeze(1)
        if self.embed is not None and y is not None:
            out = out + (self.embed(y) * h.sum((2, 3))).sum(1)
        return out


def make_generator(arch: str, latent: int, shape, hidden, base: int, num_classes: int = 0) -> nn.Module:
    if arch == "mlp":
        return MLPGenerator(latent, shape, hidden, num_classes)
    return DCGANGenerator(latent, shape, base, num_classes)


def make_discriminator(
    arch: str, shape, hidden, base: int, norm: str, num_classes: int = 0, head_bias: bool = True
) -> nn.Module:
    """`head_bias=False` for a Wasserstein critic: its loss E[f(fake)] - E[f(real)] ignores a constant."""
    if arch == "mlp":
        flat = shape[0] * shape[1] * shape[2]
        return MLPDiscriminator(flat, list(reversed(list(hidden))), num_classes, head_bias)
    return DCGANDiscriminator(shape, base, norm, num_classes, head_bias)


class ImageToVector(nn.Module):
    """(N, C, H, W) in [-1, 1] -> (N, out): the DCGAN discriminator's conv stages (or an MLP with
    LeakyReLU), then a linear layer. BiGAN's encoder E and the image branch of its D(x, z)."""

    def __init__(self, arch: str, shape, hidden: Sequence[int], base: int, out: int, norm: str = "batch"):
        super().__init__()
        c, h, w = shape
        if arch == "mlp":
            sizes = [c * h * w, *hidden]
            layers: list[nn.Module] = [nn.Flatten(), *_dense(sizes, _leaky)]
            flat = sizes[-1]
        else:
            k = dcgan_stages(h, w)
            layers, prev = _d_stages(c, base, k, norm)
            layers.append(nn.Flatten())
            flat = prev * (h >> k) * (w >> k)
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(flat, out)
        if arch == "conv":
            init_normal(self)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.body(x))


class JointDiscriminator(nn.Module):
    """BiGAN's D(x, z) -> score (N,): an image branch and a code branch, joined by an MLP."""

    def __init__(self, arch: str, shape, hidden, base: int, latent: int, joint: Sequence[int]):
        super().__init__()
        width = joint[0]
        self.x_branch = nn.Sequential(
            ImageToVector(arch, shape, list(reversed(list(hidden))), base, width), nn.LeakyReLU(0.2)
        )
        self.z_branch = nn.Sequential(*_dense([latent, width], _leaky))
        sizes = [2 * width, *joint]
        self.joint = nn.Sequential(*_dense(sizes, _leaky), nn.Linear(sizes[-1], 1))

    def forward(self, x: Tensor, z: Tensor) -> Tensor:
        return self.joint(torch.cat([self.x_branch(x), self.z_branch(z)], 1)).squeeze(1)
