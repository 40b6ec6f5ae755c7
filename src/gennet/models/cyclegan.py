"""CycleGAN (Zhu et al. 2017): unpaired image-to-image translation between domains X (A) and Y (B).

    G: X -> Y, F: Y -> X              generators (ResNet of the paper, or a U-Net)
    D_Y on Y, D_X on X                PatchGAN discriminators (per-patch logits)
    L_G = L_gan(G, D_Y) + L_gan(F, D_X)
          + lambda * (||F(G(x)) - x||_1 + ||G(F(y)) - y||_1)                   cycle consistency
          + lambda * lambda_idt * (||G(y) - y||_1 + ||F(x) - x||_1)             identity (optional)
    L_D = l_D(D_Y(y), D_Y(pool_Y(G(x)))) + l_D(D_X(x), D_X(pool_X(F(y))))

Least-squares GAN by default (any of the shared adversarial losses), lambda = 10, lambda_idt = 0.5,
a history pool of 50 generated images per discriminator, Adam(2e-4, 0.5) with the learning rate
constant for the first half of the run and decaying linearly to 0 over the second.

Phases: `G_pair` (G and F), then `D_pair` (D_X and D_Y), each on its own batch. A batch holds
domain A in `x` and domain B in `extra["b"]` (see `train/loader.py`). The D phase is shown the
fakes the G phase of the same step made, through the pools, as in the reference code. Networks
work in [-1, 1]; the verbs take and return images in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

import torch
from torch import Tensor, nn
from torch.func import functional_call

from .. import losses
from ..data import UnpairedData
from ..errors import ConfigError, GennetError
from ..nn.batching import stacked
from ..nn.image_to_image import ImagePool, PatchDiscriminator, ResnetGenerator, UnetGenerator
from ..nn.init import init_normal
from ..optim import linear_decay
from ..registry import register_model
from ..validation import LEARNING_RATE, NON_NEGATIVE, UNIT, UNIT_OPEN, WIDTH, Range
from .base import Batch, GenerativeModel, OptimSpec, Phase, StepContext
from .sides import multiple_of, power_of_two_at_most

DIRECTIONS = ("AtoB", "BtoA")
NEEDS_TWO_DOMAINS = (
    "cyclegan trains on unpaired two-domain data: a built-in pair (mnist-thick, mnist-inverted, "
    "fashion-sneaker-boot, synthetic-rgb-pair) or a folder with trainA/ and trainB/"
)
GanLoss = Literal["least-squares", "non-saturating", "minimax", "hinge", "wasserstein"]


@dataclass
class CycleGANConfig:
    generator: Literal["resnet", "unet"] = "resnet"
    base_channels: int = 64  # ngf = ndf, the width of the first layer of every network
    n_blocks: int = 9  # residual blocks of the ResNet generator (the paper: 6 at 128x128, 9 at 256x256)
    n_down: int = 2  # stride-2 stages of the ResNet generator (image sides must divide by 2**n_down)
    unet_depth: int = 0  # U-Net levels; 0 = as many as the image side allows, at most 8
    disc_layers: int = (
        0  # PatchGAN stride-2 layers; 0 = 3 (70x70 patches) at >= 128 px, 2 (34) at >= 56, else 1 (16)
    )
    gan_loss: GanLoss = "least-squares"
    lambda_cycle: float = 10.0  # lambda
    lambda_identity: float = 0.5  # identity weight as a share of lambda (0 = off)
    pool_size: int = 50  # history of generated images shown to each discriminator (0 = none)
    lr: float = 2e-4
    beta1: float = 0.5
    decay_fraction: float = 0.5  # the last share of the run over which the lr falls linearly to 0
    flip: bool = True  # random horizontal flips of both domains during training
    # training: enlarge by this (the reference's load 286 / crop 256) and crop back at random; 1 = off
    load_scale: float = 286 / 256

    ranges: ClassVar[dict[str, Range]] = {
        "base_channels": WIDTH,
        "n_blocks": Range(0, 64),
        "n_down": Range(0, 8),
        "unet_depth": Range(0, 8),  # 0: automatic
        "disc_layers": Range(0, 8),  # 0: automatic
        "lambda_cycle": NON_NEGATIVE,
        "lambda_identity": NON_NEGATIVE,
        "pool_size": Range(0, 10000),
        "lr": LEARNING_RATE,
        "beta1": UNIT_OPEN,
        "decay_fraction": UNIT,
        "load_scale": Range(1, 2),
    }


def identity_loss(mapped: Tensor, original: Tensor) -> Tensor:
    """CycleGAN's identity term for one generator: ||G(y) - y||_1, mean over pixels."""
    return (mapped - original).abs().mean()


def _twos(n: int) -> int:
    """How many times n divides by 2."""
    k = 0
    while n > 0 and n % 2 == 0:
        n, k = n // 2, k + 1
    return k


@register_model(
    "cyclegan",
    description="CycleGAN: unpaired translation A<->B (ResNet/U-Net generators, PatchGAN, cycle loss)",
    train_defaults={"batch_size": 1},  # the paper's (instance norm; a step is one image per domain)
    image_size=256,  # the paper's (and its code's crop size)
)
class CycleGAN(GenerativeModel):
    Config = CycleGANConfig
    capabilities = frozenset({"translate"})
    ema_modules = ("G", "F")  # the generators; the discriminators are never used by a verb

    def __init__(self, cfg: CycleGANConfig, spec):
        super().__init__(cfg, spec)
        c, h, w = spec.channels, spec.height, spec.width
        self.G = self._generator(c, h, w)  # A -> B
        self.F = self._generator(c, h, w)  # B -> A
        layers = cfg.disc_layers or (3 if min(h, w) >= 128 else 2 if min(h, w) >= 56 else 1)
        self.D_X = PatchDiscriminator(c, cfg.base_channels, layers)  # judges domain A
        self.D_Y = PatchDiscriminator(c, cfg.base_channels, layers)  # judges domain B
        for net in (self.G, self.F, self.D_X, self.D_Y):
            init_normal(net)  # the reference code's N(0, 0.02) conv weights, zero biases
        self.pool_A = ImagePool(cfg.pool_size, (c, h, w))  # fakes F(y) for D_X
        self.pool_B = ImagePool(cfg.pool_size, (c, h, w))  # fakes G(x) for D_Y

    @classmethod
    def image_side(cls, cfg: CycleGANConfig, side: int) -> tuple[int, str]:
        if cfg.generator == "unet" and not cfg.unet_depth:
            return power_of_two_at_most(side), "a power of two (a U-Net as deep as the side allows)"
        n = cfg.unet_depth if cfg.generator == "unet" else cfg.n_down
        what = "unet_depth" if cfg.generator == "unet" else "n_down"
        return multiple_of(side, 2**n), f"a multiple of {2**n} ({what}={n} stride-2 stages)"

    @classmethod
    def takes_image_shape(cls, cfg: CycleGANConfig, height: int, width: int) -> bool:
        return cls._why_not(cfg, height, width) is None

    @staticmethod
    def _unet_depth(cfg: CycleGANConfig, h: int, w: int) -> int:
        """The U-Net's depth: unet_depth, else as deep as both sides halve (at most 8)."""
        return cfg.unet_depth or min(8, _twos(h), _twos(w))

    @classmethod
    def _why_not(cls, cfg: CycleGANConfig, h: int, w: int) -> str | None:
        """Why the generators cannot take h x w images; None when they can."""
        if cfg.generator == "unet":
            depth = cls._unet_depth(cfg, h, w)
            f = 2 ** max(depth, 1)
            if depth >= 1 and h % f == 0 and w % f == 0:
                return None
            return f"a U-Net of depth {depth} needs image sides divisible by {f}; got {h}x{w}"
        f = 2**cfg.n_down
        if h % f == 0 and w % f == 0:
            return None
        return (
            f"the ResNet generator with n_down={cfg.n_down} needs image sides divisible by {f}; got "
            f"{h}x{w}. Pass image_size (e.g. {max(f, round(h / f) * f)}) or a smaller n_down."
        )

    def _generator(self, c: int, h: int, w: int) -> nn.Module:
        cfg = self.cfg
        problem = self._why_not(cfg, h, w)
        if problem is not None:
            raise ConfigError(problem)
        if cfg.generator == "unet":
            return UnetGenerator(c, c, cfg.base_channels, self._unet_depth(cfg, h, w))
        return ResnetGenerator(c, c, cfg.base_channels, cfg.n_blocks, cfg.n_down)

    # ---- training -----------------------------------------------------------------------------
    def check_data(self, data) -> None:
        if not isinstance(data, UnpairedData):
            raise GennetError(f"{NEEDS_TWO_DOMAINS} (nothing was written)")

    def phases(self) -> list[Phase]:
        opt = OptimSpec("adam", self.cfg.lr, (self.cfg.beta1, 0.999))
        decay = self._lr_lambda()
        g_params = [*self.G.parameters(), *self.F.parameters()]
        d_params = [*self.D_X.parameters(), *self.D_Y.parameters()]
        return [
            Phase("G_pair", g_params, self.generator_loss, opt, lr_lambda=decay),
            Phase("D_pair", d_params, self.discriminator_loss, opt, lr_lambda=decay),
        ]

    def _lr_lambda(self):
        """Constant, then linear decay to 0 over the last `decay_fraction` of `total_steps`, as the
        reference code: the first decayed step has 1 - 1/(n+1), the last 1/(n+1). None: constant."""
        total = self.total_steps
        n_decay = 0 if not total else int(round(total * self.cfg.decay_fraction))
        return linear_decay(total, n_decay + 1) if n_decay else None

    def _domains(self, batch: Batch) -> tuple[Tensor, Tensor]:
        """Batch -> (x in A, y in B), in [-1, 1], flipped at random (global RNG) when cfg.flip."""
        if "b" not in batch.extra:
            raise GennetError(NEEDS_TWO_DOMAINS)
        x, y = batch.x * 2 - 1, batch.extra["b"] * 2 - 1
        if self.cfg.load_scale > 1 and self.training:
            x, y = self._random_crop(x), self._random_crop(y)
        if self.cfg.flip and self.training:
            x, y = self._flip(x), self._flip(y)
        return x, y

    def _random_crop(self, x: Tensor) -> Tensor:
        """The reference's resize-and-crop: each image enlarged by `load_scale` (bilinear), then a
        window of its own size at a random place (global RNG). The reference enlarges the file
        itself (to 286 for a crop of 256); here the loaded image is enlarged: the same window, from
        the image at the training size."""
        h, w = x.shape[-2:]
        big_h, big_w = round(h * self.cfg.load_scale), round(w * self.cfg.load_scale)
        if (big_h, big_w) == (h, w):
            return x
        big = nn.functional.interpolate(x, size=(big_h, big_w), mode="bilinear", align_corners=False)
        tops = torch.randint(0, big_h - h + 1, (len(x),)).tolist()
        lefts = torch.randint(0, big_w - w + 1, (len(x),)).tolist()
        return torch.stack([b[:, t : t + h, l : l + w] for b, t, l in zip(big, tops, lefts, strict=True)])

    @staticmethod
    def _flip(x: Tensor) -> Tensor:
        mask = (torch.rand(len(x)) < 0.5).to(x.device).view(-1, 1, 1, 1)
        return torch.where(mask, x.flip(-1), x)

    def _judge(self, d: nn.Module, images: Tensor) -> Tensor:
        """D(images) with D's weights held fixed (no gradient to them), gradient to the images.
        The trainer freezes D during the G phase itself, except under DDP, where this does it."""
        if not any(p.requires_grad for p in d.parameters()):
            return d(images)
        frozen = {k: v.detach() for k, v in d.named_parameters()}
        return functional_call(d, frozen, (images,))

    def generator_loss(self, batch: Batch, ctx: StepContext) -> dict[str, Tensor]:
        cfg = self.cfg
        x, y = self._domains(batch)
        # Five or six generator passes in three calls: G on x (and y), then F on y, G(x) (and x)
        # together, then G on F(y). Instance norm treats each image on its own, so the values are
        # those of a call each (nn/batching.py), in half the calls.
        idt = cfg.lambda_identity > 0
        fake_y, *idt_y = stacked(self.G, x, *([y] if idt else []))  # G(x) in B, G(y)
        fake_x, rec_x, *idt_x = stacked(self.F, y, fake_y, *([x] if idt else []))  # F(y) in A, F(G(x)), F(x)
        out = {
            "gan_G": losses.g_loss(cfg.gan_loss, self._judge(self.D_Y, fake_y)),
            "gan_F": losses.g_loss(cfg.gan_loss, self._judge(self.D_X, fake_x)),
            "cycle_A": losses.cycle_loss(rec_x, x),  # ||F(G(x)) - x||_1
            "cycle_B": losses.cycle_loss(self.G(fake_x), y),  # ||G(F(y)) - y||_1
        }
        loss = out["gan_G"] + out["gan_F"] + cfg.lambda_cycle * (out["cycle_A"] + out["cycle_B"])
        if idt:
            out["idt_G"] = identity_loss(idt_y[0], y)  # ||G(y) - y||_1
            out["idt_F"] = identity_loss(idt_x[0], x)  # ||F(x) - x||_1
            loss = loss + cfg.lambda_cycle * cfg.lambda_identity * (out["idt_G"] + out["idt_F"])
        out["loss"] = loss
        ctx.scratch["fakes"] = (fake_y.detach(), fake_x.detach())  # for this step's D phase
        return out

    def discriminator_loss(self, batch: Batch, ctx: StepContext) -> dict[str, Tensor]:
        kind = self.cfg.gan_loss
        x, y = self._domains(batch)
        fakes = ctx.scratch.pop("fakes", None)
        if fakes is None:  # no G phase ran this step: make this batch's fakes
            with torch.no_grad():
                fakes = (self.G(x), self.F(y))
        fake_y, fake_x = fakes
        fake_y, fake_x = self.pool_B.query(fake_y), self.pool_A.query(fake_x)
        out = {
            "D_Y": losses.d_loss(kind, *stacked(self.D_Y, y, fake_y)),
            "D_X": losses.d_loss(kind, *stacked(self.D_X, x, fake_x)),
        }
        out["loss"] = out["D_Y"] + out["D_X"]
        return out

    # ---- verbs --------------------------------------------------------------------------------
    def _pair(self, direction: str) -> tuple[nn.Module, nn.Module]:
        if direction not in DIRECTIONS:
            raise ConfigError(f"direction must be AtoB or BtoA, got {direction!r}")
        return (self.G, self.F) if direction == "AtoB" else (self.F, self.G)

    def translate(self, x: Tensor, direction: str = "AtoB") -> Tensor:
        """(N, C, H, W) in [0, 1] of the source domain -> translations (N, C, H, W) in [0, 1]."""
        fwd, _ = self._pair(direction)
        return (fwd(x * 2 - 1) + 1) / 2

    def cycle(self, x: Tensor, direction: str = "AtoB") -> tuple[Tensor, Tensor]:
        """(translation, cycle reconstruction), both (N, C, H, W) in [0, 1]."""
        fwd, back = self._pair(direction)
        t = fwd(x * 2 - 1)
        return (t + 1) / 2, (back(t) + 1) / 2

    @torch.no_grad()
    def preview(self, x: Tensor, n: int, generator: torch.Generator | None = None) -> list[Tensor]:
        """Rows: inputs from A, their translations G(x), the cycle reconstructions F(G(x))."""
        x = x[:n]
        t, r = self.cycle(x, "AtoB")
        return [x, t, r]
