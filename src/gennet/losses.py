"""Losses shared by the families. Per-image losses return shape (N,); callers average.

Reconstruction losses are summed over pixels (nats per image for BCE), the convention of the
VAE literature, so that KL and reconstruction terms share one scale.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from .errors import ConfigError
from .eval.metrics import gaussian_kl_standard as kl_standard_normal  # noqa: F401 (re-exported)


def reconstruction_loss(logits: Tensor, x: Tensor, kind: str) -> Tensor:
    """logits, x: (N, C, H, W); x in [0, 1]. bce: -log Bernoulli(x; sigmoid(logits)) summed;
    mse: squared error of sigmoid(logits) summed. Returns (N,)."""
    if kind == "bce":
        return F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)
    if kind == "mse":
        return (torch.sigmoid(logits) - x).pow(2).flatten(1).sum(1)
    raise ConfigError(f"unknown reconstruction loss {kind!r}; choose bce or mse")


def gaussian_nll(mean: Tensor, x: Tensor, log_scale: Tensor) -> Tensor:
    """-log N(x; mean, exp(log_scale)^2) summed over pixels -> (N,)."""
    var_term = 2 * log_scale + math.log(2 * math.pi)
    return (0.5 * ((x - mean) * torch.exp(-log_scale)).pow(2) + 0.5 * var_term).flatten(1).sum(1)


def l1_activity(h: Tensor) -> Tensor:
    """Sum of |h| per sample: (N, D) -> (N,)."""
    return h.abs().sum(1)


def kl_sparsity(h: Tensor, rho: float, eps: float = 1e-6) -> Tensor:
    """Sum over units of KL(Bernoulli(rho) || Bernoulli(rho_hat_j)), rho_hat_j the unit's mean
    activation over the batch (h in (0, 1), (N, D)). Returns a scalar (it is a batch statistic)."""
    rho_hat = h.mean(0).clamp(eps, 1 - eps)
    return (rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))).sum()
