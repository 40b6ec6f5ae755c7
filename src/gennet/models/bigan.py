"""BiGAN (Donahue et al. 2017; ALI, Dumoulin et al. 2017): an encoder E: x -> z learned with the
generator G: z -> x by a discriminator on joint pairs D(x, z).

    D:    max  E_x[log D(x, E(x))] + E_z[log(1 - D(G(z), z))]
    G+E:  the same objective with the labels swapped (the non-saturating form):
          min  -E_z[log D(G(z), z)] - E_x[log(1 - D(x, E(x)))]
At the optimum E inverts G, so `encode` gives codes and `reconstruct` is G(E(x)).

Phases: `D`, then `G+E`. Data in [0, 1] is mapped to [-1, 1]; G ends in tanh.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

import torch
from torch import Tensor

from .. import losses
from ..nn.adversarial import ImageToVector, JointDiscriminator, make_generator
from ..nn.batching import stacked
from ..registry import register_model
from ..validation import LEARNING_RATE, UNIT_OPEN, WIDTH, Range
from .base import Batch, GenerativeModel, OptimSpec, Phase, StepContext
from .sides import DCGANSides


@dataclass
class BiGANConfig:
    arch: Literal["mlp", "conv"] = "mlp"
    latent_dim: int = 50  # the paper's MNIST code size
    hidden: tuple[int, ...] = (512, 512)  # G's MLP hidden sizes; E and D's image branch mirror them
    base_channels: int = 64  # conv width (arch=conv)
    disc_hidden: tuple[int, ...] = (512,)  # the joint part of D(x, z)
    loss: Literal["non-saturating", "least-squares", "hinge"] = "non-saturating"
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)

    ranges: ClassVar[dict[str, Range]] = {
        "latent_dim": WIDTH,
        "hidden": WIDTH,
        "base_channels": WIDTH,
        "disc_hidden": WIDTH,
        "lr": LEARNING_RATE,
        "betas": UNIT_OPEN,
    }


@register_model(
    "bigan",
    description="BiGAN: generator, encoder and a discriminator on (x, z) pairs",
    image_size=28,  # the paper's MNIST networks
)
class BiGAN(DCGANSides, GenerativeModel):
    Config = BiGANConfig
    capabilities = frozenset({"sample", "encode", "decode", "reconstruct", "interpolate"})
    ema_modules = ("G", "E")  # the joint discriminator is never used by a verb

    def __init__(self, cfg: BiGANConfig, spec):
        super().__init__(cfg, spec)
        shape = (spec.channels, spec.height, spec.width)
        self.G = make_generator(cfg.arch, cfg.latent_dim, shape, cfg.hidden, cfg.base_channels)
        self.E = ImageToVector(
            cfg.arch, shape, list(reversed(list(cfg.hidden))), cfg.base_channels, cfg.latent_dim
        )
        self.D = JointDiscriminator(
            cfg.arch, shape, cfg.hidden, cfg.base_channels, cfg.latent_dim, cfg.disc_hidden
        )

    def phases(self) -> list[Phase]:
        opt = OptimSpec("adam", self.cfg.lr, self.cfg.betas)
        ge = list(self.G.parameters()) + list(self.E.parameters())
        return [
            Phase("D", list(self.D.parameters()), self.d_loss, opt),
            Phase("G+E", ge, self.ge_loss, opt),
        ]

    def _pairs(self, batch: Batch) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """(x, E(x)) and (G(z), z), images in [-1, 1]."""
        x = batch.x * 2 - 1
        z = torch.randn(x.shape[0], self.cfg.latent_dim, device=x.device, dtype=x.dtype)
        return x, self.E(x), self.G(z), z

    def d_loss(self, batch: Batch, ctx: StepContext) -> dict[str, Tensor]:
        with torch.no_grad():
            x, ex, gz, z = self._pairs(batch)
        s_real, s_fake = stacked(self.D, (x, ex), (gz, z))  # one forward where D mixes no samples
        return {
            "loss": losses.d_loss(self.cfg.loss, s_real, s_fake),
            "real": s_real.detach().mean(),
            "fake": s_fake.detach().mean(),
        }

    def ge_loss(self, batch: Batch, ctx: StepContext) -> dict[str, Tensor]:
        x, ex, gz, z = self._pairs(batch)
        s_fake, s_real = stacked(self.D, (gz, z), (x, ex))
        return {"loss": losses.d_loss(self.cfg.loss, s_fake, s_real)}  # labels swapped

    # ---- verbs ------------------------------------------------------------------------------
    def encode(self, x: Tensor) -> Tensor:
        return self.E(x * 2 - 1)

    def decode(self, z: Tensor) -> Tensor:
        return ((self.G(z) + 1) / 2).clamp(0, 1)
