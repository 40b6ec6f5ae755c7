"""Paths through latent space: linear and spherical interpolation.

Pure functions of tensors, used by the ``interpolate`` (and ``arithmetic``) verbs. Latent codes are
vectors of shape (D,); batched codes of shape (B, D) are accepted too, in which case every output
gains the batch dimension after the time one: (T, B, D).

Layer: a leaf (torch only); the generation verbs use it.
"""

from __future__ import annotations

import torch

from gennet.errors import ConfigError

METHODS = ("linear", "spherical")
_PARALLEL_EPS = 1e-6


def _as_t(t: torch.Tensor | list[float], like: torch.Tensor) -> torch.Tensor:
    """Return t as a 1-D tensor (T,) with like's dtype and device."""
    t = torch.as_tensor(t, dtype=like.dtype, device=like.device)
    if t.dim() != 1:
        raise ConfigError(f"t must be a 1-D tensor of interpolation times, got shape {tuple(t.shape)}")
    return t


def _check_pair(z0: torch.Tensor, z1: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    z0, z1 = torch.as_tensor(z0), torch.as_tensor(z1)
    if z0.shape != z1.shape:
        raise ConfigError(f"z0 and z1 must have the same shape, got {tuple(z0.shape)} and {tuple(z1.shape)}")
    if z0.dim() == 0:
        raise ConfigError("z0 and z1 must be vectors of shape (D,) or (B, D), got scalars")
    if not z0.is_floating_point():
        z0, z1 = z0.float(), z1.float()
    return z0, z1


def lerp(z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Linear interpolation ``(1 - t) * z0 + t * z1``.

    z0, z1: (D,) or (B, D); t: (T,). Returns (T, D) or (T, B, D).
    """
    z0, z1 = _check_pair(z0, z1)
    t = _as_t(t, z0).reshape(-1, *([1] * z0.dim()))
    return (1 - t) * z0 + t * z1


def slerp(z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation on the angle between z0 and z1 (along the last dim).

    ``sin((1-t)w)/sin(w) * z0 + sin(t w)/sin(w) * z1`` with w the angle between the vectors. Where
    the vectors are parallel or anti-parallel (|sin w| < 1e-6) or one is zero, the result is the
    linear interpolation instead. For endpoints of equal norm every point keeps that norm.

    z0, z1: (D,) or (B, D); t: (T,). Returns (T, D) or (T, B, D).
    """
    z0, z1 = _check_pair(z0, z1)
    t = _as_t(t, z0).reshape(-1, *([1] * z0.dim()))
    n0 = z0.norm(dim=-1, keepdim=True)
    n1 = z1.norm(dim=-1, keepdim=True)
    u0, u1 = z0 / n0.clamp_min(1e-30), z1 / n1.clamp_min(1e-30)
    # 2 atan2(|u0 - u1|, |u0 + u1|) is accurate near 0 and pi, where arccos(dot) loses half the digits
    omega = 2.0 * torch.atan2((u0 - u1).norm(dim=-1, keepdim=True), (u0 + u1).norm(dim=-1, keepdim=True))
    sin = torch.sin(omega)  # (..., 1)
    degenerate = (sin.abs() < _PARALLEL_EPS) | (n0 == 0) | (n1 == 0)
    safe_sin = torch.where(degenerate, torch.ones_like(sin), sin)
    w0 = torch.sin((1 - t) * omega) / safe_sin
    w1 = torch.sin(t * omega) / safe_sin
    spherical = w0 * z0 + w1 * z1
    linear = (1 - t) * z0 + t * z1
    return torch.where(degenerate, linear, spherical)


def interpolation_path(
    z0: torch.Tensor, z1: torch.Tensor, steps: int, method: str = "linear"
) -> torch.Tensor:
    """``steps`` evenly spaced points from z0 to z1, both endpoints included.

    z0, z1: (D,) or (B, D). method: "linear" or "spherical". Returns (steps, D) or (steps, B, D).
    Raises ConfigError for an unknown method or steps < 2.
    """
    if method not in METHODS:
        raise ConfigError(f"unknown interpolation method {method!r}; choose one of {', '.join(METHODS)}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 2:
        raise ConfigError(f"steps must be an integer >= 2, got {steps!r}")
    z0, z1 = _check_pair(z0, z1)
    t = torch.linspace(0.0, 1.0, steps, dtype=z0.dtype, device=z0.device)
    out = lerp(z0, z1, t) if method == "linear" else slerp(z0, z1, t)
    out[0], out[-1] = z0, z1  # endpoints exact, free of rounding in the weights
    return out
