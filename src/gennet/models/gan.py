"""GAN (Goodfellow et al. 2014), DCGAN (Radford et al. 2016), WGAN (Arjovsky et al. 2017),
WGAN-GP (Gulrajani et al. 2017) and the conditional GAN (Mirza & Osindero 2014): one class,
five registered names that differ only in their defaults.

    min_G max_D  E_x[log D(x)] + E_z[log(1 - D(G(z)))]                       (minimax)
    G instead maximises E_z[log D(G(z))]                                     (non-saturating)
    WGAN:    min_G max_{||f||_L <= 1} E_x[f(x)] - E_z[f(G(z))]; f clipped to [-c, c]
    WGAN-GP: the critic adds lambda E_x^[(||grad f(x^)||_2 - 1)^2], x^ between real and fake
    cGAN:    G(z, y), D(x, y)

Phases: `D` (or `critic`) repeated k = d_steps times on fresh batches, then `G`.
Data in [0, 1] is mapped to [-1, 1] for D; G's tanh output is mapped back by the verbs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

import torch
from torch import Tensor

from .. import losses
from ..errors import ConfigError
from ..nn.adversarial import make_discriminator, make_generator
from ..nn.batching import stacked
from ..optim import linear_decay
from ..registry import register_model
from ..validation import LEARNING_RATE, NON_NEGATIVE, UNIT, UNIT_OPEN, WIDTH, Range
from .base import Batch, GenerativeModel, OptimSpec, Phase, StepContext
from .labels import label_tensor
from .sides import DCGANSides

LossKind = Literal["minimax", "non-saturating", "wasserstein", "hinge", "least-squares"]


@dataclass
class GANConfig:
    arch: Literal["mlp", "conv"] = "mlp"
    latent_dim: int = 100
    hidden: tuple[int, ...] = (256, 512)  # MLP generator hidden sizes; the discriminator mirrors them
    base_channels: int = 64  # DCGAN width b: G ... 2b, b; D b, 2b, ...
    loss: LossKind = "non-saturating"
    d_steps: int = 1  # k discriminator (critic) updates per generator update
    d_norm: Literal["batch", "layer", "none"] = "batch"  # conv discriminator normalisation
    clip: float = 0.0  # WGAN weight clipping c: critic weights kept in [-c, c] (0: off)
    gp: float = 0.0  # WGAN-GP gradient penalty weight lambda (0: off)
    optimizer: Literal["adam", "rmsprop"] = "adam"
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    conditional: bool = False  # cGAN: G(z, y) and D(x, y)
    lr_decay: float = 0.0  # share of the run, at its end, over which both learning rates fall linearly to 0
    reuse_fakes: bool = True  # with d_steps=1, G's update reuses the D update's fakes (as pytorch/examples)

    ranges: ClassVar[dict[str, Range]] = {
        "latent_dim": WIDTH,
        "hidden": WIDTH,
        "base_channels": WIDTH,
        "d_steps": Range(1, 100),
        "clip": NON_NEGATIVE,
        "gp": NON_NEGATIVE,
        "lr_g": LEARNING_RATE,
        "lr_d": LEARNING_RATE,
        "betas": UNIT_OPEN,
        "lr_decay": UNIT,
    }

    def validate(self) -> None:
        """What one range per field cannot say (ranges are checked before this)."""
        if self.gp > 0 and self.d_norm == "batch" and self.arch == "conv":
            raise ConfigError(
                "the gradient penalty is per sample, and batch norm mixes samples: use d_norm=layer or none"
            )


@register_model(
    "gan",
    description="GAN: MLP generator and discriminator, minimax or non-saturating loss, k D steps",
    image_size=28,  # the paper's MNIST
)
@register_model(
    "dcgan",
    description="DCGAN: strided/transposed convolutions, batch norm, Adam(2e-4, 0.5); 28-64 px, gray or RGB",
    defaults={"arch": "conv"},
    image_size=64,  # the paper's
)
@register_model(
    "wgan",
    description="WGAN: critic without sigmoid, weight clipping c, RMSprop, n_critic steps",
    defaults={
        "arch": "conv",
        "loss": "wasserstein",
        "clip": 0.01,
        "optimizer": "rmsprop",
        "lr_g": 5e-5,
        "lr_d": 5e-5,
        "d_steps": 5,
    },
    image_size=64,  # the paper's LSUN bedrooms
)
@register_model(
    "wgan-gp",
    description="WGAN-GP: gradient penalty lambda, Adam(1e-4, (0, 0.9)), no batch norm in the critic",
    defaults={
        "arch": "conv",
        "loss": "wasserstein",
        "gp": 10.0,
        "d_norm": "none",
        "lr_g": 1e-4,
        "lr_d": 1e-4,
        "betas": (0.0, 0.9),
        "d_steps": 5,
    },
    image_size=64,  # the paper's LSUN bedrooms
)
@register_model(
    "cgan",
    description="conditional GAN: labels condition G and D; sample the classes you ask for",
    defaults={"arch": "conv", "conditional": True},
    image_size=28,  # the paper's MNIST
)
class GAN(DCGANSides, GenerativeModel):
    Config = GANConfig
    capabilities = frozenset({"sample", "decode", "interpolate"})
    ema_modules = ("G",)  # the EMA averages the generator; D is never sampled from

    def __init__(self, cfg: GANConfig, spec):
        super().__init__(cfg, spec)
        self.make_conditional(cfg.conditional)
        shape = (spec.channels, spec.height, spec.width)
        k, b = self.num_classes, cfg.base_channels
        self.G = make_generator(cfg.arch, cfg.latent_dim, shape, cfg.hidden, b, k)
        wasserstein = cfg.loss == "wasserstein"
        self.D = make_discriminator(cfg.arch, shape, cfg.hidden, b, cfg.d_norm, k, head_bias=not wasserstein)

    # ---- phases -----------------------------------------------------------------------------
    def phases(self) -> list[Phase]:
        cfg = self.cfg
        d_opt = OptimSpec(cfg.optimizer, cfg.lr_d, cfg.betas)
        g_opt = OptimSpec(cfg.optimizer, cfg.lr_g, cfg.betas)
        return [
            Phase(
                "critic" if cfg.loss == "wasserstein" else "D",
                list(self.D.parameters()),
                self.d_loss,
                d_opt,
                repeat=cfg.d_steps,
                after_step=self.clip_weights if cfg.clip > 0 else None,
                lr_lambda=self._schedule(),
                freeze_others=not self._reusing,
            ),
            Phase("G", list(self.G.parameters()), self.g_loss, g_opt, lr_lambda=self._schedule()),
        ]

    @property
    def _reusing(self) -> bool:
        return self.cfg.reuse_fakes and self.cfg.d_steps == 1

    def _schedule(self):
        """Constant, then linear decay to 0 over the last `lr_decay` share of the run (None: constant)."""
        if self.cfg.lr_decay <= 0 or not self.total_steps:
            return None
        return linear_decay(self.total_steps, max(1.0, self.cfg.lr_decay * self.total_steps))

    def _z(self, n: int, like: Tensor) -> Tensor:
        return torch.randn(n, self.cfg.latent_dim, device=like.device, dtype=like.dtype)

    def d_loss(self, batch: Batch, ctx: StepContext) -> dict[str, Tensor]:
        """max_D: real images (N, C, H, W) in [0, 1] against G(z), z ~ N(0, I), labels shared."""
        y = self.batch_labels(batch)
        real = batch.x * 2 - 1
        if self._reusing and self.training:
            # One G forward serves both updates: D sees the fakes detached; the G phase that follows
            # back-propagates through these same fakes (G's parameters were not frozen here).
            ctx.scratch["fakes"] = (self.G(self._z(real.shape[0], real), y), y)
            fake = ctx.scratch["fakes"][0].detach()
        else:
            with torch.no_grad():
                fake = self.G(self._z(real.shape[0], real), y)
        # one forward for both unless D mixes samples (DCGAN's batch norm: each batch its own statistics)
        s_real, s_fake = stacked(self.D, (real, y), (fake, y))
        loss = losses.d_loss(self.cfg.loss, s_real, s_fake)
        out = {"real": s_real.detach().mean(), "fake": s_fake.detach().mean()}
        if self.cfg.loss == "wasserstein":
            out["w_dist"] = out["real"] - out["fake"]  # the critic's estimate of W(p_data, p_G)
        if self.cfg.gp > 0:
            out["gp"] = losses.gradient_penalty(lambda v: self.D(v, y), real, fake)
            loss = loss + self.cfg.gp * out["gp"]
        out["loss"] = loss
        return out

    def g_loss(self, batch: Batch, ctx: StepContext) -> dict[str, Tensor]:
        stash = ctx.scratch.pop("fakes", None)
        if stash is not None and stash[0].requires_grad:
            fake, y = stash
        else:
            y = self.batch_labels(batch)
            fake = self.G(self._z(batch.x.shape[0], batch.x), y)
        return {"loss": losses.g_loss(self.cfg.loss, self.D(fake, y))}

    @torch.no_grad()
    def clip_weights(self) -> None:
        """WGAN: after every critic update, every critic parameter is clamped to [-c, c]."""
        for p in self.D.parameters():
            p.clamp_(-self.cfg.clip, self.cfg.clip)

    # ---- verbs ------------------------------------------------------------------------------
    def check_labels(self, labels, n: int) -> Tensor | None:
        """Labels for n samples: None -> 0, 1, ..., K-1, 0, 1, ... (conditional models); validated."""
        return label_tensor(labels, n, self.num_classes, self.name, self.device)

    def decode(self, z: Tensor, labels=None) -> Tensor:
        """(N, latent_dim) [, labels] -> images (N, C, H, W) in [0, 1]."""
        return ((self.G(z, self.check_labels(labels, z.shape[0])) + 1) / 2).clamp(0, 1)

    def sample(
        self, n: int, labels: Tensor | None = None, generator: torch.Generator | None = None
    ) -> Tensor:
        return self.decode(self.latent_prior(n, generator), labels)
