"""Progressive growing (Karras et al. 2018, as StyleGAN 2019 trains): the schedule of resolutions
as a pure function of the images shown, and the padding that takes any image size to a power of two.

The schedule of the authors' training loop, in kimg = images shown / 1000:

    phase i (i = 0, 1, ...) lasts stage_kimg + fade_kimg; level of detail
    lod = log2(final) - log2(start) - i - max(phase_kimg - stage_kimg, 0) / fade_kimg, clipped at 0
    resolution = 2 ** (log2(final) - floor(lod)), alpha = 1 - (lod - floor(lod))

so every phase is a stable part at its resolution, then a fade-in (alpha 0 -> 1) of the next one.
The stage index counts both parts: 0 (start, stable), 1 (fading in start x 2), 2 (stable), ...
The authors clear the optimizers' state whenever floor(lod) or ceil(lod) changes, which is at
every new index.

Layer: a leaf of `models/` (imports torch, `base` and `errors`).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from .base import Stage


def power_of_two_side(height: int, width: int) -> int:
    """The side of the square power-of-two canvas that holds (height, width): 28x28 -> 32."""
    side = max(height, width, 4)
    return 1 << (side - 1).bit_length()


def pad_to(x: Tensor, side: int, value: float) -> Tensor:
    """(N, C, H, W) -> (N, C, side, side), centred, filled with `value` (as the authors' MNIST
    converter pads 28x28 digits to 32x32)."""
    h, w = x.shape[-2:]
    top, left = (side - h) // 2, (side - w) // 2
    return F.pad(x, (left, side - w - left, top, side - h - top), value=value)


def crop_to(x: Tensor, height: int, width: int) -> Tensor:
    """The inverse of `pad_to`: the centred (height, width) window."""
    side_h, side_w = x.shape[-2:]
    top, left = (side_h - height) // 2, (side_w - width) // 2
    return x[..., top : top + height, left : left + width]


def downsample_to(x: Tensor, resolution: int) -> Tensor:
    """Average-pool a square (N, C, S, S) batch down to `resolution` (S / resolution a power of 2)."""
    factor = x.shape[-1] // resolution
    return x if factor == 1 else F.avg_pool2d(x, factor)


def fade_reals(x: Tensor, alpha: float) -> Tensor:
    """Real images at a resolution being faded in, blended as the generator's output is:
    lerp(upsample(downsample(x)), x, alpha) (the authors' process_reals)."""
    if alpha >= 1.0:
        return x
    low = F.interpolate(F.avg_pool2d(x, 2), scale_factor=2, mode="nearest")
    return torch.lerp(low, x, alpha)


def progressive_stage(
    images_seen: int,
    final: int,
    start: int,
    stage_kimg: float,
    fade_kimg: float,
    batch_by_resolution: dict[int, int] | None = None,
    lr_by_resolution: dict[int, float] | None = None,
    reset_optimizers: bool = True,
) -> Stage:
    """The stage at `images_seen` (see the module docstring); batch size and lr scale by resolution.
    `start` <= `final` are powers of two >= 4 and stage_kimg > 0 (StyleGANConfig.validate checks)."""
    kimg = images_seen / 1000.0
    top, first = int(math.log2(final)), int(math.log2(start))
    phase_dur = stage_kimg + fade_kimg
    phase = math.floor(kimg / phase_dur)
    lod = top - first - phase
    if fade_kimg > 0:
        lod -= max(kimg - phase * phase_dur - stage_kimg, 0.0) / fade_kimg
    lod = max(lod, 0.0)
    res_log2 = top - math.floor(lod)
    fading = lod != math.floor(lod)
    resolution = 2**res_log2
    index = 2 * (res_log2 - first) - (1 if fading else 0)
    return Stage(
        index=index,
        resolution=resolution,
        alpha=1.0 - (lod - math.floor(lod)),
        batch_size=(batch_by_resolution or {}).get(resolution),
        lr_scale=float((lr_by_resolution or {}).get(resolution, 1.0)),
        reset_optimizers=reset_optimizers,
    )
