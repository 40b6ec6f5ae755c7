"""Input corruptions for denoising: x float (N, C, H, W) in [0, 1] -> corrupted copy, same shape.

Layer: a leaf (imports `errors`); models and the denoise verb use it.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .errors import ConfigError

KINDS = ("gaussian", "salt-pepper", "mask")


def _uniform(x: Tensor, generator: torch.Generator | None) -> Tensor:
    if generator is None:
        return torch.rand_like(x)
    return torch.rand(x.shape, generator=generator, device=generator.device).to(x.device, x.dtype)


def corrupt(x: Tensor, kind: str, level: float, generator: torch.Generator | None = None) -> Tensor:
    """gaussian: x + level * N(0, 1), clamped; salt-pepper: a `level` share of pixels set to 0 or 1;
    mask: a `level` share of pixels set to 0 (masking noise of Vincent et al. 2008)."""
    if kind == "gaussian":
        if generator is None:
            noise = torch.randn_like(x)
        else:
            noise = torch.randn(x.shape, generator=generator, device=generator.device).to(x.device, x.dtype)
        return (x + level * noise).clamp(0.0, 1.0)
    if kind == "salt-pepper":
        u = _uniform(x, generator)
        hit = u < level
        salt = u < level / 2  # half of the hit pixels become white, half black
        return torch.where(hit, salt.to(x.dtype), x)
    if kind == "mask":
        return torch.where(_uniform(x, generator) < level, torch.zeros_like(x), x)
    raise ConfigError(f"unknown corruption {kind!r}; choose one of {', '.join(KINDS)}")
