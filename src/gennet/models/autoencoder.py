"""Autoencoders: plain bottleneck AE, sparse AE (L1 activity or KL toward a target rate) and
denoising AE (Gaussian, salt-and-pepper or masking corruption). One class, three names.

    z = f(x~)             encoder; x~ = x, or a corruption of x for the denoising AE
    x^ = sigmoid(g(z))    decoder
    L = rec(x^, x) + lambda * sum|z|            (sparsity = l1)
      = rec(x^, x) + beta * sum_j KL(rho || rho^_j)  (sparsity = kl; z = sigmoid code)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

import torch
from torch import Tensor, nn

from .. import losses
from ..corruption import corrupt
from ..nn.blocks import make_decoder, make_encoder
from ..registry import register_model
from ..validation import LEARNING_RATE, NON_NEGATIVE, UNIT, WIDTH, Range
from .base import Batch, GenerativeModel, OptimSpec, Phase, StepContext
from .sides import ConvStageSides


@dataclass
class AEConfig:
    arch: Literal["mlp", "conv"] = "mlp"
    hidden: tuple[int, ...] = (512, 256)  # MLP hidden sizes of the encoder; the decoder mirrors them
    conv_channels: tuple[int, ...] = (32, 64)  # conv widths (each halves the image side)
    latent_dim: int = 32
    loss: Literal["bce", "mse"] = "bce"
    sparsity: Literal["none", "l1", "kl"] = "none"
    sparsity_weight: float = 1e-3  # lambda (l1) or beta (kl)
    sparsity_target: float = 0.05  # rho, the target mean activation (kl)
    corruption: Literal["none", "gaussian", "salt-pepper", "mask"] = "none"
    corruption_level: float = 0.3  # noise std (gaussian) or share of pixels hit
    lr: float = 1e-3

    ranges: ClassVar[dict[str, Range]] = {
        "hidden": WIDTH,
        "conv_channels": WIDTH,
        "latent_dim": WIDTH,
        "sparsity_weight": NON_NEGATIVE,
        "sparsity_target": Range(0, 1, lo_open=True, hi_open=True),
        "corruption_level": UNIT,
        "lr": LEARNING_RATE,
    }


@register_model(
    "ae",
    description="bottleneck autoencoder (MLP or conv), BCE or MSE reconstruction",
    image_size=28,  # MNIST's, as the MLP 784-512-256 is made for
)
@register_model(
    "sparse-ae",
    description="sparse autoencoder: KL sparsity toward rate rho (or L1 activity penalty)",
    defaults={"sparsity": "kl", "sparsity_weight": 1.0, "hidden": (512,), "latent_dim": 64},
    image_size=28,
)
@register_model(
    "denoising-ae",
    description="denoising autoencoder: learns to restore corrupted inputs",
    defaults={"corruption": "gaussian", "corruption_level": 0.4},
    image_size=28,
)
class Autoencoder(ConvStageSides, GenerativeModel):
    Config = AEConfig
    capabilities = frozenset({"encode", "decode", "reconstruct", "denoise", "interpolate"})

    def __init__(self, cfg: AEConfig, spec):
        super().__init__(cfg, spec)
        self.encoder = make_encoder(cfg.arch, spec, cfg.hidden, cfg.conv_channels, cfg.latent_dim)
        self.decoder = make_decoder(cfg.arch, spec, cfg.hidden, cfg.conv_channels, cfg.latent_dim)
        self.code_act = {"kl": nn.Sigmoid(), "l1": nn.ReLU()}.get(cfg.sparsity, nn.Identity())

    @property
    def corrupts(self) -> bool:
        return self.cfg.corruption != "none"

    def phases(self) -> list[Phase]:
        return [Phase("recon", list(self.parameters()), self.recon_loss, OptimSpec("adam", self.cfg.lr))]

    def recon_loss(self, batch: Batch, ctx: StepContext) -> dict[str, Tensor]:
        x = batch.x
        x_in = self.corrupt(x) if self.corrupts else x
        z = self.encode(x_in)
        rec = losses.reconstruction_loss(self.decoder(z), x, self.cfg.loss).mean()
        out = {"rec": rec}
        if self.cfg.sparsity == "l1":
            out["l1"] = losses.l1_activity(z).mean()
            out["loss"] = rec + self.cfg.sparsity_weight * out["l1"]
        elif self.cfg.sparsity == "kl":
            out["kl_sparsity"] = losses.kl_sparsity(z, self.cfg.sparsity_target)
            out["loss"] = rec + self.cfg.sparsity_weight * out["kl_sparsity"]
        else:
            out["loss"] = rec
        return out

    def corrupt(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        kind = self.cfg.corruption if self.corrupts else "gaussian"
        return corrupt(x, kind, self.cfg.corruption_level, generator)

    def encode(self, x: Tensor) -> Tensor:
        """(N, C, H, W) in [0, 1] -> codes (N, latent_dim)."""
        return self.code_act(self.encoder(x))

    def decode(self, z: Tensor) -> Tensor:
        """(N, latent_dim) -> images (N, C, H, W) in [0, 1]."""
        return torch.sigmoid(self.decoder(z))
