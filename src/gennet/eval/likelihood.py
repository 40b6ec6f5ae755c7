"""The importance-weighted log-likelihood estimate (Burda et al. 2016), model-agnostic.

    log p(x) ~= log (1/k) sum_{i=1..k} p(x|z_i) p(z_i) / q(z_i|x),   z_i ~ q(z|x) = N(mu, diag e^logvar)

A lower bound in expectation that tightens as k grows (k = 1 is the ELBO), and exact for any k
when q is the true posterior.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from .pixel_metrics import log_mean_exp, log_normal_diag, log_normal_standard


@torch.no_grad()
def iw_log_likelihood(
    x: Tensor,
    mu: Tensor,
    logvar: Tensor,
    log_px_given_z: Callable[[Tensor, Tensor], Tensor],
    k: int = 100,
    chunk: int = 100,
) -> Tensor:
    """x: (N, ...); mu, logvar: (N, D) of q(z|x); log_px_given_z(z (M, D), x (M, ...)) -> (M,).

    Returns (N,) estimates of log p(x) in nats, with p(z) = N(0, I)."""
    std = torch.exp(0.5 * logvar)
    log_w = []
    for start in range(0, k, chunk):
        kk = min(chunk, k - start)
        z = mu + std * torch.randn(kk, *mu.shape, device=mu.device, dtype=mu.dtype)  # (kk, N, D)
        xr = x.unsqueeze(0).expand(kk, *x.shape).reshape(-1, *x.shape[1:])
        log_px = log_px_given_z(z.reshape(-1, mu.shape[1]), xr).view(kk, -1)
        log_w.append(log_px + log_normal_standard(z) - log_normal_diag(z, mu, logvar))
    return log_mean_exp(torch.cat(log_w, 0), dim=0)
