"""Losses shared by the families. Per-image losses return shape (N,); callers average.

Reconstruction losses are summed over pixels (nats per image for BCE), the convention of the
VAE literature, so that KL and reconstruction terms share one scale.

Layer: imports `eval.pixel_metrics` (the Gaussian KL) and torch; the model families use it.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from .errors import ConfigError
from .eval.pixel_metrics import gaussian_kl_standard as kl_standard_normal  # noqa: F401 (re-exported)


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


# ---- adversarial ----------------------------------------------------------------------------------
# D outputs logits (no sigmoid): D(x) = sigmoid(logit). Every function returns a scalar (batch mean).
ADVERSARIAL = ("minimax", "non-saturating", "wasserstein", "hinge", "least-squares")


def _check_kind(kind: str) -> None:
    if kind not in ADVERSARIAL:
        raise ConfigError(f"unknown adversarial loss {kind!r}; choose one of {', '.join(ADVERSARIAL)}")


def d_loss(kind: str, real: Tensor, fake: Tensor) -> Tensor:
    """Discriminator (critic) loss from its outputs on real and fake samples, to minimise.

    minimax / non-saturating: -log D(x) - log(1 - D(G(z)))   (the two differ only for G)
    wasserstein:              E[f(G(z))] - E[f(x)]           (critic f; Lipschitz by clip or penalty)
    hinge:                    E[relu(1 - f(x))] + E[relu(1 + f(G(z)))]
    least-squares (LSGAN):    0.5 E[(D(x) - 1)^2] + 0.5 E[D(G(z))^2]
    """
    _check_kind(kind)
    if kind in ("minimax", "non-saturating"):
        return F.softplus(-real).mean() + F.softplus(fake).mean()
    if kind == "wasserstein":
        return fake.mean() - real.mean()
    if kind == "hinge":
        return F.relu(1 - real).mean() + F.relu(1 + fake).mean()
    return 0.5 * ((real - 1).pow(2).mean() + fake.pow(2).mean())


def g_loss(kind: str, fake: Tensor) -> Tensor:
    """Generator loss from D's outputs on generated samples, to minimise.

    minimax:        E[log(1 - D(G(z)))] = -E[softplus(logit)]   (the original objective; saturates)
    non-saturating: -E[log D(G(z))]     =  E[softplus(-logit)]
    wasserstein / hinge: -E[f(G(z))];   least-squares: 0.5 E[(D(G(z)) - 1)^2]
    """
    _check_kind(kind)
    if kind == "minimax":
        return -F.softplus(fake).mean()
    if kind == "non-saturating":
        return F.softplus(-fake).mean()
    if kind in ("wasserstein", "hinge"):
        return -fake.mean()
    return 0.5 * (fake - 1).pow(2).mean()


def gradient_penalty(critic, real: Tensor, fake: Tensor, alpha: Tensor | None = None) -> Tensor:
    """WGAN-GP (Gulrajani et al. 2017): E[(||grad_x^ f(x^)||_2 - 1)^2], x^ = a x + (1 - a) x~,
    a ~ U(0, 1) per sample (or the given `alpha`, shape (N,)). `critic` maps x^ to (N,) or (N, 1)
    scores; `real` and `fake` share a shape (N, ...). Differentiable in the critic's weights
    (create_graph), so it is added to the critic loss and trained through."""
    n = real.shape[0]
    if alpha is None:
        alpha = torch.rand(n, device=real.device, dtype=real.dtype)
    a = alpha.view(n, *([1] * (real.dim() - 1)))
    x_hat = (a * real.detach() + (1 - a) * fake.detach()).requires_grad_(True)
    scores = critic(x_hat)
    (grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)
    return (grad.flatten(1).norm(2, dim=1) - 1).pow(2).mean()


def r1_penalty(scores: Tensor, real: Tensor) -> Tensor:
    """R1 (Mescheder et al. 2018): E_x ||grad_x D(x)||^2 over real images, summed over pixels and
    averaged over the batch. `scores` (N,) must come from `real`, which requires grad; the graph is
    kept (create_graph) so the penalty trains D."""
    (grad,) = torch.autograd.grad(scores.sum(), real, create_graph=True)
    return grad.pow(2).flatten(1).sum(1).mean()


def cycle_loss(reconstructed: Tensor, original: Tensor) -> Tensor:
    """CycleGAN's cycle-consistency term for one direction: ||F(G(x)) - x||_1, mean over pixels."""
    return (reconstructed - original).abs().mean()
