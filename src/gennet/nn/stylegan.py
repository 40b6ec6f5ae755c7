"""StyleGAN networks (Karras, Laine & Aila 2019): the mapping network f: z -> w, the style-based
synthesis network g and the discriminator, after the authors' TensorFlow code (NVlabs/stylegan,
`G_mapping`, `G_synthesis`, `D_basic`), written anew in PyTorch.

Notation: z the latent (N, z_dim); w the intermediate latent (N, w_dim); `ws` (N, num_ws, w_dim) one w
per style input (two per resolution, 4x4 first); A the learned affine map w -> y = (y_s, y_b); B the
per-channel noise weights. The block of resolution 2**res has nf(res - 1) feature maps.

Progressive growing. The original always works at the full resolution: G nearest-upsamples its output
by 2**lod and D average-pools its input by 2**lod before its first layer. Here both work at the
current resolution r. This is equivalent: G's full-size output is a nearest upsampling of the r x r
image and adds nothing; D's first op, the 2**lod average pooling, exactly inverts a nearest
upsampling (avg-pool of nearest-upsampled x is x), so D sees the same r x r image and gives the same
score. The fade-in is the original's lerp with alpha = 1 - (lod - floor(lod)).

Departures from the original, and why:
- No fused up/down-sampling convolutions (the original switches to a transposed / strided 4x4 kernel
  at 128x128 and up to save memory): we always use the separate ops, which give the same function
  (nearest-upsample then conv3x3; conv3x3 then 2x2 average).
- alpha = 0 and alpha = 1 skip the unused path (no work, and its parameters get no gradient rather
  than a zero one); at 4x4 alpha is ignored (there is no smaller stage).
- The noise mode is a forward argument ("random" / "const" / "none") rather than the graph-level
  `randomize_noise` flag; "none" is our addition (deterministic output without the stored noise).
- Gradient penalties: the original's R1 is taken with respect to the full-size (upsampled) reals;
  with respect to the r x r images here it is 4**lod times larger (each pixel's gradient is spread
  over 4**lod copies there). A trainer wanting the original's numbers divides by 4**lod.
- Labels are class indices (N,) int64; the original takes one-hot rows. Embedding by index equals
  one-hot times the embedding matrix; D's "label switch" keeps the label's output, as the original.

Layer: networks only (imports torch, `gennet.errors` and `stylegan_layers`).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ..errors import ConfigError
from .stylegan_layers import (
    AdaIN,
    Blur,
    EqualizedConv2d,
    EqualizedLinear,
    MinibatchStdDev,
    NoiseInjection,
    downsample2d,
    leaky_relu,
    nf,
    pixel_norm,
    upsample2d,
)
from .tracing import recording


def _log2_resolution(resolution: int) -> int:
    res = int(round(math.log2(resolution))) if resolution > 0 else 0
    if resolution < 4 or 2**res != resolution:
        raise ConfigError(f"StyleGAN resolutions are powers of two >= 4; got {resolution}")
    return res


def _current(full: int, resolution: int | None, alpha: float) -> int:
    """log2 of the resolution to run at (default the full one), checking it and alpha."""
    res = _log2_resolution(full if resolution is None else resolution)
    if 2**res > full:
        raise ConfigError(f"resolution {2**res} is above the network's {full}")
    if not 0.0 <= alpha <= 1.0:
        raise ConfigError(f"alpha must be in [0, 1]; got {alpha}")
    return res


def _check_labels(labels: Tensor | None, num_classes: int, n: int) -> None:
    if num_classes == 0:
        if labels is not None:
            raise ConfigError("labels given to an unconditional StyleGAN network (num_classes=0)")
        return
    if labels is None:
        raise ConfigError(f"this StyleGAN network is conditional ({num_classes} classes): pass labels")
    if labels.shape != (n,) or labels.dtype != torch.int64:
        raise ConfigError(f"labels must be int64 of shape ({n},); got {labels.dtype} {tuple(labels.shape)}")
    if n and not recording() and (labels.min() < 0 or labels.max() >= num_classes):
        lo, hi = int(labels.min()), int(labels.max())
        raise ConfigError(f"labels must be in [0, {num_classes}); got {lo}..{hi}")


class MappingNetwork(nn.Module):
    """f: z (N, z_dim) [, labels (N,) int64] -> w (N, w_dim).

    [z, embed(label)] -> pixel norm -> `num_layers` x (EqualizedLinear(lr_mul) -> LeakyReLU(0.2)),
    He gain sqrt(2) in every layer, the activation after the last one too (as the original)."""

    def __init__(
        self,
        z_dim: int = 512,
        w_dim: int = 512,
        num_layers: int = 8,
        hidden: int = 512,
        lr_mul: float = 0.01,
        num_classes: int = 0,
        normalize_z: bool = True,
    ):
        super().__init__()
        if num_layers < 1:
            raise ConfigError(f"the mapping network needs at least one layer; got {num_layers}")
        self.z_dim, self.w_dim, self.num_classes, self.normalize_z = z_dim, w_dim, num_classes, normalize_z
        # the original's label embedding: a (classes, z_dim) matrix N(0, 1), no equalised scaling
        self.embed = nn.Parameter(torch.randn(num_classes, z_dim)) if num_classes else None
        sizes = [z_dim * (2 if num_classes else 1)] + [hidden] * (num_layers - 1) + [w_dim]
        self.layers = nn.ModuleList(
            EqualizedLinear(a, b, lr_mul=lr_mul) for a, b in zip(sizes[:-1], sizes[1:], strict=True)
        )

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        _check_labels(labels, self.num_classes, z.shape[0])
        x = z
        if self.embed is not None:
            x = torch.cat([x, self.embed[labels]], dim=1)
        if self.normalize_z:
            x = pixel_norm(x)
        for layer in self.layers:
            x = leaky_relu(layer(x))
        return x


class _Epilogue(nn.Module):
    """After each synthesis conv: noise (B), bias, LeakyReLU(0.2), instance norm, style (A).
    x (N, C, s, s), w (N, w_dim) -> (N, C, s, s)."""

    def __init__(self, channels: int, w_dim: int, size: int):
        super().__init__()
        self.noise = NoiseInjection(channels, size)
        self.bias = nn.Parameter(torch.zeros(channels))
        self.adain = AdaIN(w_dim, channels)

    def forward(self, x: Tensor, w: Tensor, noise: str) -> Tensor:
        x = self.noise(x, noise) + self.bias.view(1, -1, 1, 1)
        return self.adain(leaky_relu(x), w)


class _SynthesisBlock(nn.Module):
    """One resolution of g, two style inputs. 4x4 (`up=False`): x -> epilogue -> conv3x3 -> epilogue;
    else upsample -> conv3x3 -> blur -> epilogue -> conv3x3 -> epilogue.
    x (N, cin, s, s) [s = size / 2 if up] -> (N, cout, size, size)."""

    def __init__(self, cin: int, cout: int, w_dim: int, size: int, up: bool, blur: bool):
        super().__init__()
        self.up = up
        self.conv0 = EqualizedConv2d(cin, cout, 3, bias=False) if up else None
        self.blur = Blur() if (up and blur) else None
        self.epi0 = _Epilogue(cout, w_dim, size)
        self.conv1 = EqualizedConv2d(cout, cout, 3, bias=False)
        self.epi1 = _Epilogue(cout, w_dim, size)

    def forward(self, x: Tensor, w0: Tensor, w1: Tensor, noise: str) -> Tensor:
        if self.conv0 is not None:
            x = self.conv0(upsample2d(x))
            if self.blur is not None:
                x = self.blur(x)
        x = self.epi0(x, w0, noise)
        return self.epi1(self.conv1(x), w1, noise)


class SynthesisNetwork(nn.Module):
    """g: ws (N, num_ws, w_dim) -> images (N, channels, r, r), linear output (no tanh).

    A learned constant (1, nf(1), 4, 4) (init ones) feeds the 4x4 block; block 2**res has nf(res - 1)
    maps and takes ws[:, 2*(res-2)] and ws[:, 2*(res-2)+1]; ToRGB_res is a 1x1 conv (gain 1) + bias.
    num_ws = 2 * (log2(resolution) - 1). ws may also be (N, w_dim): one w for every layer."""

    def __init__(
        self,
        w_dim: int = 512,
        resolution: int = 1024,
        channels: int = 3,
        fmap_base: int = 8192,
        fmap_decay: float = 1.0,
        fmap_max: int = 512,
        blur: bool = True,
    ):
        super().__init__()
        top = _log2_resolution(resolution)
        self.w_dim, self.resolution, self.channels = w_dim, resolution, channels
        self.num_ws = 2 * (top - 1)

        def nf_(stage: int) -> int:
            return nf(stage, fmap_base, fmap_decay, fmap_max)

        self.const = nn.Parameter(torch.ones(1, nf_(1), 4, 4))
        self.blocks = nn.ModuleList()
        self.torgb = nn.ModuleList()
        for res in range(2, top + 1):  # index res - 2
            cin = nf_(res - 2) if res > 2 else nf_(1)
            self.blocks.append(_SynthesisBlock(cin, nf_(res - 1), w_dim, 2**res, up=res > 2, blur=blur))
            self.torgb.append(EqualizedConv2d(nf_(res - 1), channels, 1, gain=1.0))

    def _check_ws(self, ws: Tensor) -> Tensor:
        if ws.dim() == 2:
            ws = ws[:, None].expand(-1, self.num_ws, -1)
        if ws.dim() != 3 or ws.shape[1] != self.num_ws or ws.shape[2] != self.w_dim:
            raise ConfigError(
                f"ws must be (N, {self.num_ws}, {self.w_dim}) or (N, {self.w_dim}); got {tuple(ws.shape)}"
            )
        return ws

    def forward(
        self, ws: Tensor, resolution: int | None = None, alpha: float = 1.0, noise: str = "random"
    ) -> Tensor:
        """At r with alpha < 1: lerp(upsample2d(torgb_{r/2}(x_{r/2})), torgb_r(x_r), alpha)."""
        ws = self._check_ws(ws)
        top = _current(self.resolution, resolution, alpha)
        fade = top > 2 and alpha < 1.0
        last = top - 1 if fade and alpha == 0.0 else top  # alpha = 0: block r is not needed
        x = self.const.expand(ws.shape[0], -1, -1, -1)
        prev = x
        for res in range(2, last + 1):
            prev = x
            x = self.blocks[res - 2](x, ws[:, 2 * res - 4], ws[:, 2 * res - 3], noise)
        if not fade:
            return self.torgb[top - 2](x)
        old = upsample2d(self.torgb[top - 3](x if last < top else prev))
        if last < top:
            return old
        return torch.lerp(old, self.torgb[top - 2](x), alpha)


class _DiscriminatorBlock(nn.Module):
    """conv3x3 (cin -> cin) + act, blur, conv3x3 (cin -> cout) + 2x2 average + act.
    (N, cin, s, s) -> (N, cout, s/2, s/2)."""

    def __init__(self, cin: int, cout: int, blur: bool):
        super().__init__()
        self.conv0 = EqualizedConv2d(cin, cin, 3)
        self.blur = Blur() if blur else None
        self.conv1 = EqualizedConv2d(cin, cout, 3)

    def forward(self, x: Tensor) -> Tensor:
        x = leaky_relu(self.conv0(x))
        if self.blur is not None:
            x = self.blur(x)
        # the bias commutes with the average pooling, so it stays inside conv1
        return leaky_relu(downsample2d(self.conv1(x)))


class _DiscriminatorEpilogue(nn.Module):
    """The 4x4 block: minibatch stddev, conv3x3 + act, dense to nf(0) + act, dense (gain 1) to
    max(num_classes, 1) outputs. (N, nf(1), 4, 4) -> (N, max(num_classes, 1))."""

    def __init__(self, c4: int, c0: int, mbstd_group: int, mbstd_features: int, outputs: int):
        super().__init__()
        self.mbstd = MinibatchStdDev(mbstd_group, mbstd_features) if mbstd_group > 1 else None
        extra = mbstd_features if self.mbstd is not None else 0
        self.conv = EqualizedConv2d(c4 + extra, c4, 3)
        self.dense0 = EqualizedLinear(c4 * 16, c0)
        self.dense1 = EqualizedLinear(c0, outputs, gain=1.0)

    def forward(self, x: Tensor) -> Tensor:
        if self.mbstd is not None:
            x = self.mbstd(x)
        x = leaky_relu(self.conv(x))
        return self.dense1(leaky_relu(self.dense0(x)))


class StyleDiscriminator(nn.Module):
    """D: images (N, channels, r, r) [, labels (N,) int64] -> scores (N,) (raw, no sigmoid).

    FromRGB_res: 1x1 conv to nf(res - 1) + act; block res (8x8 and up): nf(res - 1) -> nf(res - 2),
    halving the side; then the 4x4 epilogue. Conditional: one output per class, the label's kept."""

    def __init__(
        self,
        resolution: int = 1024,
        channels: int = 3,
        fmap_base: int = 8192,
        fmap_decay: float = 1.0,
        fmap_max: int = 512,
        mbstd_group: int = 4,
        mbstd_features: int = 1,
        num_classes: int = 0,
        blur: bool = True,
    ):
        super().__init__()
        top = _log2_resolution(resolution)
        self.resolution, self.channels, self.num_classes = resolution, channels, num_classes

        def nf_(stage: int) -> int:
            return nf(stage, fmap_base, fmap_decay, fmap_max)

        self.fromrgb = nn.ModuleList(EqualizedConv2d(channels, nf_(res - 1), 1) for res in range(2, top + 1))
        # blocks[res - 3] is the block of resolution 2**res (res >= 3)
        self.blocks = nn.ModuleList(
            _DiscriminatorBlock(nf_(res - 1), nf_(res - 2), blur) for res in range(3, top + 1)
        )
        self.epilogue = _DiscriminatorEpilogue(
            nf_(1), nf_(0), mbstd_group, mbstd_features, max(num_classes, 1)
        )

    def forward(
        self,
        images: Tensor,
        resolution: int | None = None,
        alpha: float = 1.0,
        labels: Tensor | None = None,
    ) -> Tensor:
        """At r with alpha < 1 the first features are
        lerp(fromrgb_{r/2}(downsample2d(images)), block_r(fromrgb_r(images)), alpha)."""
        top = _current(self.resolution, resolution, alpha)
        n = images.shape[0]
        if images.dim() != 4 or images.shape[1:] != (self.channels, 2**top, 2**top):
            raise ConfigError(
                f"D at {2**top}x{2**top} takes ({n}, {self.channels}, {2**top}, {2**top}) images; "
                f"got {tuple(images.shape)}"
            )
        _check_labels(labels, self.num_classes, n)
        fade = top > 2 and alpha < 1.0
        if fade:
            old = leaky_relu(self.fromrgb[top - 3](downsample2d(images)))
            if alpha == 0.0:
                x = old
            else:
                new = self.blocks[top - 3](leaky_relu(self.fromrgb[top - 2](images)))
                x = torch.lerp(old, new, alpha)
            start = top - 1
        else:
            x = leaky_relu(self.fromrgb[top - 2](images))
            start = top
        for res in range(start, 2, -1):
            x = self.blocks[res - 3](x)
        out = self.epilogue(x)
        if labels is None:
            return out[:, 0]
        return out.gather(1, labels[:, None])[:, 0]
