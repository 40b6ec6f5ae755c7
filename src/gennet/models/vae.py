"""Variational autoencoder (Kingma & Welling 2014) with beta (Higgins et al. 2017) and the
importance-weighted log-likelihood estimate (Burda et al. 2016).

    q(z|x) = N(mu(x), diag sigma^2(x))       encoder outputs (mu, log sigma^2)
    z = mu + sigma * eps, eps ~ N(0, I)      reparameterization trick
    p(z) = N(0, I);  p(x|z) = Bernoulli(sigmoid(g(z))) or N(sigmoid(g(z)), s^2), s learned
    ELBO(x) = E_q[log p(x|z)] - KL(q(z|x) || p(z));   training minimises -E_q[log p(x|z)] + beta * KL
    log p(x) ~= log (1/k) sum_i p(x, z_i) / q(z_i|x),  z_i ~ q(z|x)   (IWAE bound, tight as k grows)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .. import losses
from ..eval.likelihood import iw_log_likelihood
from ..nn.blocks import make_decoder, make_encoder
from ..registry import register_model
from ..validation import LEARNING_RATE, NON_NEGATIVE, WIDTH, Range
from .base import Batch, GenerativeModel, OptimSpec, Phase, StepContext
from .sides import ConvStageSides


@dataclass
class VAEConfig:
    arch: Literal["mlp", "conv"] = "mlp"
    hidden: tuple[int, ...] = (400,)  # 784-400-20 is the PyTorch example's VAE
    conv_channels: tuple[int, ...] = (32, 64)
    latent_dim: int = 20
    likelihood: Literal["bernoulli", "gaussian"] = "bernoulli"
    beta: float = 1.0
    lr: float = 1e-3

    ranges: ClassVar[dict[str, Range]] = {
        "hidden": WIDTH,
        "conv_channels": WIDTH,
        "latent_dim": WIDTH,
        "beta": NON_NEGATIVE,
        "lr": LEARNING_RATE,
    }


@register_model(
    "vae",
    description="variational autoencoder: ELBO, beta, sampling, importance-weighted NLL",
    image_size=28,  # the PyTorch example's MNIST (MLP 784-400-20)
)
class VAE(ConvStageSides, GenerativeModel):
    Config = VAEConfig
    capabilities = frozenset(
        {"sample", "encode", "decode", "reconstruct", "denoise", "interpolate", "likelihood"}
    )

    def __init__(self, cfg: VAEConfig, spec):
        super().__init__(cfg, spec)
        self.encoder = make_encoder(cfg.arch, spec, cfg.hidden, cfg.conv_channels, 2 * cfg.latent_dim)
        self.decoder = make_decoder(cfg.arch, spec, cfg.hidden, cfg.conv_channels, cfg.latent_dim)
        # Gaussian decoder: one learned log standard deviation shared by all pixels.
        self.log_scale = nn.Parameter(torch.zeros(())) if cfg.likelihood == "gaussian" else None

    def phases(self) -> list[Phase]:
        return [Phase("recon", list(self.parameters()), self.elbo_loss, OptimSpec("adam", self.cfg.lr))]

    def posterior(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(N, C, H, W) -> mu, logvar, each (N, latent_dim)."""
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return mu, logvar

    @staticmethod
    def reparameterize(mu: Tensor, logvar: Tensor) -> Tensor:
        return mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)

    def log_px_given_z(self, logits: Tensor, x: Tensor) -> Tensor:
        """log p(x|z) summed over pixels: (N,)."""
        if self.log_scale is None:
            return -F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)
        return -losses.gaussian_nll(torch.sigmoid(logits), x, self.log_scale)

    def elbo_loss(self, batch: Batch, ctx: StepContext) -> dict[str, Tensor]:
        mu, logvar = self.posterior(batch.x)
        z = self.reparameterize(mu, logvar)
        rec = -self.log_px_given_z(self.decoder(z), batch.x).mean()
        kl = losses.kl_standard_normal(mu, logvar).mean()
        return {"loss": rec + self.cfg.beta * kl, "rec": rec, "kl": kl, "neg_elbo": rec + kl}

    # ---- verbs ------------------------------------------------------------------------------
    def encode(self, x: Tensor) -> Tensor:
        return self.posterior(x)[0]

    def decode(self, z: Tensor) -> Tensor:
        return torch.sigmoid(self.decoder(z))

    def elbo(self, x: Tensor) -> Tensor:
        """Single-sample ELBO estimate in nats per image (beta = 1): (N,)."""
        mu, logvar = self.posterior(x)
        z = self.reparameterize(mu, logvar)
        return self.log_px_given_z(self.decoder(z), x) - losses.kl_standard_normal(mu, logvar)

    @torch.no_grad()
    def log_likelihood(self, x: Tensor, k: int = 100, chunk: int = 100) -> Tensor:
        """Importance-weighted estimate of log p(x) with k samples from q(z|x): (N,) nats.

        log p(x) >= log (1/k) sum_i exp(log p(x|z_i) + log p(z_i) - log q(z_i|x)); the bound
        tightens as k grows (k = 1 is the ELBO)."""
        mu, logvar = self.posterior(x)
        return iw_log_likelihood(
            x, mu, logvar, lambda z, xr: self.log_px_given_z(self.decoder(z), xr), k, chunk
        )
