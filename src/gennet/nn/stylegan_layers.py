"""Building blocks of StyleGAN (Karras, Laine & Aila 2019), written after the authors' TensorFlow
code (NVlabs/stylegan, `training/networks_stylegan.py`) but not copied from it.

Equalised learning rate: a layer stores its weight drawn from N(0, 1/lr_mul^2) and multiplies it at
run time by  gain / sqrt(fan_in) * lr_mul  (the original's `use_wscale=True` with `lrmul`); its bias
is stored as bias_init / lr_mul and multiplied by lr_mul at run time. With lr_mul = 0.01 (the mapping
network) an optimiser step moves the effective weights 100 times less than elsewhere.

Departures from the original, and why:
- `MinibatchStdDev`: the original requires the batch to be divisible by (or smaller than) the group
  size. Here a group size that does not divide the batch N falls back to the largest divisor of N
  that is <= group_size, so any batch (e.g. the last, short one) works; the grouping is otherwise the
  original's (strided: group m holds samples m, m + M, m + 2M, ... with M = N / G).
- `upsample2d` / `downsample2d` / `Blur` rely on autograd for their gradients; the original hand-
  writes them (same values, it only saves memory in TF).
- `EqualizedConv2d` has an optional bias (the original always applies the bias as a separate op):
  where an op that does not commute with a constant (the blur, whose zero padding dims a constant at
  the borders) sits between the convolution and the bias, the synthesis network uses `bias=False`.

Layer: networks only (imports torch and `gennet.errors`).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import ConfigError

SQRT2 = math.sqrt(2.0)


def nf(stage: int, fmap_base: int = 8192, fmap_decay: float = 1.0, fmap_max: int = 512) -> int:
    """Feature maps at a stage: min(int(fmap_base / 2**(stage * fmap_decay)), fmap_max).

    As the original, the block of resolution 2**res has nf(res - 1) channels: nf(1) at 4x4, nf(2) at
    8x8, ... (and D's dense layer has nf(0))."""
    return min(int(fmap_base / (2.0 ** (stage * fmap_decay))), fmap_max)


def leaky_relu(x: Tensor) -> Tensor:
    """LeakyReLU(0.2); its He gain sqrt(2) lives in the next layer's weight scale, as the original."""
    return F.leaky_relu(x, 0.2)


class EqualizedLinear(nn.Module):
    """Fully connected layer with equalised learning rate; (N, *) flattened to (N, in) -> (N, out)."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        gain: float = SQRT2,
        lr_mul: float = 1.0,
        bias_init: float = 0.0,
    ):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_mul)
        self.bias = nn.Parameter(torch.full((out_features,), float(bias_init) / lr_mul))
        # runtime coefficient: the He constant gain / sqrt(fan_in), times the learning-rate multiplier
        self.w_scale = gain / math.sqrt(in_features) * lr_mul
        self.lr_mul = lr_mul

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x.flatten(1), self.weight * self.w_scale, self.bias * self.lr_mul)


class EqualizedConv2d(nn.Module):
    """k x k convolution (stride 1, 'same' padding k // 2) with equalised learning rate;
    (N, cin, H, W) -> (N, cout, H, W). fan_in = cin * k * k."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        gain: float = SQRT2,
        lr_mul: float = 1.0,
        bias: bool = True,
    ):
        super().__init__()
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ConfigError(f"EqualizedConv2d needs an odd kernel size; got {kernel_size}")
        shape = (out_channels, in_channels, kernel_size, kernel_size)
        self.weight = nn.Parameter(torch.randn(shape) / lr_mul)
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.w_scale = gain / math.sqrt(in_channels * kernel_size * kernel_size) * lr_mul
        self.lr_mul = lr_mul
        self.padding = kernel_size // 2

    def forward(self, x: Tensor) -> Tensor:
        b = None if self.bias is None else self.bias * self.lr_mul
        return F.conv2d(x, self.weight * self.w_scale, b, padding=self.padding)


def pixel_norm(x: Tensor, eps: float = 1e-8) -> Tensor:
    """x / sqrt(mean(x^2 over dim 1) + eps); (N, C, ...) -> same. Computed in float32 whatever the
    input's dtype (under bf16 autocast a normalisation in bf16 loses the statistics' precision)."""
    xf = x.float()
    return (xf * torch.rsqrt(xf.square().mean(dim=1, keepdim=True) + eps)).to(x.dtype)


class PixelNorm(nn.Module):
    """Module form of `pixel_norm` (normalises each sample's feature vector to unit RMS)."""

    def forward(self, x: Tensor) -> Tensor:
        return pixel_norm(x)


def instance_norm(x: Tensor, eps: float = 1e-8) -> Tensor:
    """Per sample and channel: (x - mean) / sqrt(mean((x - mean)^2) + eps) over H, W.
    (N, C, H, W) -> same. No affine parameters (the style supplies them). In float32 whatever the
    input's dtype, as `pixel_norm`. torch's fused kernel: the same function, and on 1 CPU thread
    (64x64x16x16 in bf16, forward + backward) 12 ms against 21 for the same steps written out."""
    return F.instance_norm(x.float(), eps=eps).to(x.dtype)


NOISE_MODES = ("random", "const", "none")


class NoiseInjection(nn.Module):
    """x + B * noise: single-channel per-pixel noise (N, 1, H, W) scaled by a learned per-channel
    weight B (C,), initialised to 0. (N, C, H, W) -> same.

    Modes: "random" draws fresh N(0, 1) noise from the global RNG; "const" uses this layer's fixed
    buffer (1, 1, size, size), drawn once at construction (needs `size`); "none" adds nothing."""

    def __init__(self, channels: int, size: int | None = None):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(channels))
        self.noise_const: Tensor | None
        if size is None:
            self.noise_const = None
        else:
            self.register_buffer("noise_const", torch.randn(1, 1, size, size))

    def forward(self, x: Tensor, mode: str = "random") -> Tensor:
        if mode == "none":
            return x
        if mode == "random":
            noise = torch.randn(x.shape[0], 1, x.shape[2], x.shape[3], device=x.device, dtype=x.dtype)
        elif mode == "const":
            if self.noise_const is None or self.noise_const.shape[-2:] != x.shape[-2:]:
                raise ConfigError(f"this noise layer has no constant noise of size {tuple(x.shape[-2:])}")
            noise = self.noise_const
        else:
            raise ConfigError(f"unknown noise mode {mode!r}; expected one of {', '.join(NOISE_MODES)}")
        return x + noise * self.weight.view(1, -1, 1, 1)


class StyleMod(nn.Module):
    """Style modulation: the affine map A(w) = (y_s, y_b) (an EqualizedLinear(w_dim, 2C, gain=1)), and
    x * (y_s + 1) + y_b per channel. x (N, C, H, W), w (N, w_dim) -> (N, C, H, W)."""

    def __init__(self, w_dim: int, channels: int):
        super().__init__()
        self.affine = EqualizedLinear(w_dim, 2 * channels, gain=1.0)

    def forward(self, x: Tensor, w: Tensor) -> Tensor:
        style = self.affine(w).view(x.shape[0], 2, x.shape[1], 1, 1)
        # paper's y_s is stored as an offset from 1, so a fresh layer has scale ~1 and bias ~0
        y_s, y_b = style[:, 0], style[:, 1]
        return x * (y_s + 1) + y_b


class AdaIN(nn.Module):
    """AdaIN(x, y) = y_s * (x - mu(x)) / sigma(x) + y_b: `instance_norm` then `StyleMod`.
    x (N, C, H, W), w (N, w_dim) -> (N, C, H, W)."""

    def __init__(self, w_dim: int, channels: int):
        super().__init__()
        self.style = StyleMod(w_dim, channels)

    def forward(self, x: Tensor, w: Tensor) -> Tensor:
        return self.style(instance_norm(x), w)


class Blur(nn.Module):
    """Depthwise low-pass filter: the outer product of [1, 2, 1] with itself, normalised to sum 1,
    zero padding 1. (N, C, H, W) -> same."""

    def __init__(self):
        super().__init__()
        f = torch.tensor([1.0, 2.0, 1.0])
        f = f[:, None] * f[None, :]
        self.register_buffer("kernel", (f / f.sum())[None, None], persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        c = x.shape[1]
        k = self.kernel.to(dtype=x.dtype).repeat(c, 1, 1, 1)
        return F.conv2d(x, k, padding=1, groups=c)


def upsample2d(x: Tensor) -> Tensor:
    """Nearest-neighbour x2: (N, C, H, W) -> (N, C, 2H, 2W). The same values either way; the faster
    way depends on the layout (2 CPU threads, 64x64x16x16, forward + backward: channels_last bf16
    4.3 ms by interpolate, 11.0 by repeat_interleave; contiguous fp32 8.8 and 5.4)."""
    if x.dim() == 4 and x.shape[1] > 1 and x.is_contiguous(memory_format=torch.channels_last):
        return F.interpolate(x, scale_factor=2, mode="nearest")
    return x.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)


def downsample2d(x: Tensor) -> Tensor:
    """2x2 average pooling: (N, C, H, W) -> (N, C, H/2, W/2)."""
    return F.avg_pool2d(x, 2)


def mbstd_group(batch: int, group_size: int) -> int:
    """The group size used for a batch: the largest divisor of `batch` that is <= group_size."""
    g = max(1, min(group_size, batch))
    while batch % g:
        g -= 1
    return g


class MinibatchStdDev(nn.Module):
    """Appends `num_features` channels of minibatch statistics: (N, C, H, W) -> (N, C + F, H, W).

    The batch is split into M = N / G groups of G samples (strided, as the original: sample i is in
    group i mod M); the channels into F slices of C / F. For each group and slice: the standard
    deviation over the group of each value (biased variance, sqrt(var + 1e-8)), averaged over the
    slice's channels and the pixels; the scalar is broadcast to every pixel of the group's samples.
    G is the largest divisor of N that is <= group_size (the original requires G to divide N)."""

    mixes_samples = True  # a sample's output depends on its group: never stacked (nn/batching.py)

    def __init__(self, group_size: int = 4, num_features: int = 1):
        super().__init__()
        self.group_size = group_size
        self.num_features = num_features

    def forward(self, x: Tensor) -> Tensor:
        n, c, h, w = x.shape
        f = self.num_features
        if c % f:
            raise ConfigError(f"minibatch stddev: {c} channels do not split into {f} features")
        g = mbstd_group(n, self.group_size)
        y = x.reshape(g, n // g, f, c // f, h, w).float()  # [G, M, F, c, H, W]
        y = y - y.mean(dim=0, keepdim=True)
        y = (y.square().mean(dim=0) + 1e-8).sqrt()  # [M, F, c, H, W]: std over the group
        y = y.mean(dim=(2, 3, 4)).to(x.dtype)  # [M, F]
        y = y.repeat(g, 1)[:, :, None, None].expand(n, f, h, w)  # sample i -> group i mod M
        return torch.cat([x, y], dim=1)
