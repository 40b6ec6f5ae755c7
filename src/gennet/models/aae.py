"""Adversarial autoencoder (Makhzani et al. 2016): an autoencoder whose code distribution q(z) is
pushed toward the prior p(z) = N(0, I) by a discriminator on codes, in place of the VAE's KL.

    z = E(x), x^ = sigmoid(Dec(z))           deterministic encoder, as in the paper's main results
    recon:     min_{E,Dec} rec(x^, x)
    D_latent:  max_D  log D(z'), z' ~ p(z)  +  log(1 - D(E(x)))
    G_latent:  min_E  -log D(E(x))           (the encoder is the generator of codes)

Phases: `recon`, `D_latent`, `G_latent`, each once a step. Sampling decodes z ~ N(0, I).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

import torch
from torch import Tensor

from .. import losses
from ..nn.adversarial import MLPDiscriminator
from ..nn.batching import stacked
from ..nn.blocks import make_decoder, make_encoder
from ..registry import register_model
from ..validation import LEARNING_RATE, UNIT_OPEN, WIDTH, Range
from .base import Batch, GenerativeModel, OptimSpec, Phase, StepContext
from .sides import ConvStageSides


@dataclass
class AAEConfig:
    arch: Literal["mlp", "conv"] = "mlp"
    hidden: tuple[int, ...] = (512, 256)  # encoder MLP; the decoder mirrors it
    conv_channels: tuple[int, ...] = (32, 64)
    latent_dim: int = 8  # the paper's MNIST code size
    disc_hidden: tuple[int, ...] = (256, 256)  # the latent discriminator
    loss: Literal["bce", "mse"] = "bce"
    adversarial: Literal["non-saturating", "least-squares", "hinge"] = "non-saturating"
    lr: float = 1e-3  # reconstruction
    lr_adv: float = 2e-4  # discriminator and encoder-as-generator
    betas_adv: tuple[float, float] = (0.5, 0.999)

    ranges: ClassVar[dict[str, Range]] = {
        "hidden": WIDTH,
        "conv_channels": WIDTH,
        "latent_dim": WIDTH,
        "disc_hidden": WIDTH,
        "lr": LEARNING_RATE,
        "lr_adv": LEARNING_RATE,
        "betas_adv": UNIT_OPEN,
    }


@register_model(
    "aae",
    description="adversarial autoencoder: a latent discriminator pushes q(z) to N(0, I)",
    image_size=28,  # the paper's MNIST
)
class AAE(ConvStageSides, GenerativeModel):
    Config = AAEConfig
    capabilities = frozenset({"sample", "encode", "decode", "reconstruct", "interpolate"})
    ema_modules = ("encoder", "decoder")  # the latent discriminator is never used by a verb

    def __init__(self, cfg: AAEConfig, spec):
        super().__init__(cfg, spec)
        self.encoder = make_encoder(cfg.arch, spec, cfg.hidden, cfg.conv_channels, cfg.latent_dim)
        self.decoder = make_decoder(cfg.arch, spec, cfg.hidden, cfg.conv_channels, cfg.latent_dim)
        self.D = MLPDiscriminator(cfg.latent_dim, cfg.disc_hidden)

    def phases(self) -> list[Phase]:
        cfg = self.cfg
        ae = list(self.encoder.parameters()) + list(self.decoder.parameters())
        adv = OptimSpec("adam", cfg.lr_adv, cfg.betas_adv)
        return [
            Phase("recon", ae, self.recon_loss, OptimSpec("adam", cfg.lr)),
            Phase("D_latent", list(self.D.parameters()), self.d_latent_loss, adv),
            Phase("G_latent", list(self.encoder.parameters()), self.g_latent_loss, adv),
        ]

    def recon_loss(self, batch: Batch, ctx: StepContext) -> dict[str, Tensor]:
        rec = losses.reconstruction_loss(self.decoder(self.encoder(batch.x)), batch.x, self.cfg.loss).mean()
        return {"loss": rec}

    def d_latent_loss(self, batch: Batch, ctx: StepContext) -> dict[str, Tensor]:
        with torch.no_grad():
            q = self.encoder(batch.x)
        p = torch.randn_like(q)
        s_prior, s_code = stacked(self.D, p, q)  # one forward: the MLP scores each code on its own
        return {
            "loss": losses.d_loss(self.cfg.adversarial, s_prior, s_code),
            "prior": s_prior.detach().mean(),
            "code": s_code.detach().mean(),
        }

    def g_latent_loss(self, batch: Batch, ctx: StepContext) -> dict[str, Tensor]:
        return {"loss": losses.g_loss(self.cfg.adversarial, self.D(self.encoder(batch.x)))}

    # ---- verbs ------------------------------------------------------------------------------
    def encode(self, x: Tensor) -> Tensor:
        return self.encoder(x)

    def decode(self, z: Tensor) -> Tensor:
        return torch.sigmoid(self.decoder(z))
