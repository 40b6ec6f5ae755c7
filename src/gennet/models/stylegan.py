"""StyleGAN (Karras, Laine & Aila 2019): a style-based generator, trained with progressive growing.

    z ~ N(0, I) --mapping f (8 FC, lr x 0.01)--> w --A (affine)--> styles y = (y_s, y_b) per layer
    synthesis g: const 4x4 -> [upsample, conv, blur] -> noise B, bias, act, instance norm, AdaIN ...
    AdaIN(x, y) = (y_s + 1) * (x - mu(x)) / sigma(x) + y_b
    D: mirror of g with minibatch standard deviation; non-saturating logistic loss with R1 on reals
    style mixing: w1 below a random crossover layer, w2 from it on (probability 0.9)
    w_avg: EMA (beta 0.995) of the batch-mean w, in training only;
    truncation: w' = w_avg + psi (w - w_avg) on layers < cutoff, at sampling only

Phases: `D` (logistic + R1 on the same reals, as the authors; with r1_every = k > 1 R1 moves to a
lazy `D_reg` phase every k steps that shares D's Adam and scales gamma by k, StyleGAN2's form),
then `G`. The schedule of resolutions (`progressive.py`) is a pure function of the images shown,
so resume is exact mid-fade; G, D and the real images are all faded, as the authors do. Images that
are not square powers of two (28x28 digits) are padded to one (32x32) and cropped back.

Departures from the authors' code, and why: the networks run at the current resolution instead of
upsampling everything to the final one (the same function, far cheaper: see nn/stylegan.py); the
fakes of a conditional run take the labels of the real batch (the authors draw labels from the
training set at random: the same distribution); the default R1 gamma is 0.01, not the paper's 10,
because R1 sums the squared gradient over pixels, so its scale grows with the pixel count, and the
10 was tuned at 1024x1024 (stylegan2-ada's CIFAR-10 setting at 32x32 is 0.01).

Layer: a model family: imports `models.base`, `progressive`, `labels`, `nn.stylegan`, `losses`,
`optim`, `registry` and `errors`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar, Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from .. import losses
from ..errors import ConfigError
from ..nn.stylegan import MappingNetwork, StyleDiscriminator, SynthesisNetwork
from ..registry import register_model
from ..validation import LEARNING_RATE, NON_NEGATIVE, POSITIVE, UNIT, UNIT_OPEN, WIDTH, Range
from .base import Batch, GenerativeModel, OptimSpec, Phase, Stage, StepContext
from .labels import label_tensor
from .progressive import crop_to, downsample_to, fade_reals, pad_to, power_of_two_side, progressive_stage
from .sides import power_of_two_at_most


@dataclass
class StyleGANConfig:
    latent_dim: int = 512  # z
    w_dim: int = 512
    mapping_layers: int = 8
    mapping_lr_mul: float = 0.01
    fmap_base: int = 8192  # channels at resolution 2^(s+1): min(fmap_base / 2^(s * fmap_decay), fmap_max)
    fmap_max: int = 512
    fmap_decay: float = 1.0
    blur: bool = True
    noise: bool = True  # per-pixel noise inputs (off: synthesis is deterministic)
    mbstd_group: int = 4
    conditional: bool = False
    loss: Literal["logistic", "wgan-gp"] = "logistic"
    r1_gamma: float = 0.01  # R1 weight on reals (logistic loss); see the module docstring
    r1_every: int = 1  # 1: R1 in every D step (the authors); k > 1: lazy, every k steps
    gp: float = 10.0  # WGAN-GP lambda (loss=wgan-gp), with the ProGAN drift term below
    drift: float = 0.001
    style_mixing: float = 0.9
    w_avg_beta: float = 0.995
    start_resolution: int = 8
    stage_kimg: float = 600.0  # thousands of images per stable part of a resolution
    fade_kimg: float = 600.0  # thousands of images per fade-in
    batch_by_resolution: dict[int, int] = field(default_factory=dict)  # {} : the run's batch_size
    lr_by_resolution: dict[int, float] = field(
        default_factory=lambda: {128: 1.5, 256: 2.0, 512: 3.0, 1024: 3.0}
    )  # lr multipliers (the authors' 0.0015, 0.002, 0.003 over 0.001)
    reset_optimizers: bool = True  # clear Adam's state at every stage change (the authors')
    lr_g: float = 0.001  # Adam's learning rate for G (mapping + synthesis), the authors' G_lrate_base
    lr_d: float = 0.001  # and for D (D_lrate_base); the CPU config raises both (see README)
    betas: tuple[float, float] = (0.0, 0.99)
    mirror: bool = False  # random horizontal flips of the reals (the authors' mirror_augment)

    ranges: ClassVar[dict[str, Range]] = {
        "latent_dim": WIDTH,
        "w_dim": WIDTH,
        "mapping_layers": Range(1, 32),
        "mapping_lr_mul": Range(0, 1, lo_open=True),
        "fmap_base": Range(1, 2**20),
        "fmap_max": WIDTH,
        "fmap_decay": NON_NEGATIVE,
        "mbstd_group": Range(0, 1024),
        "r1_gamma": NON_NEGATIVE,
        "r1_every": Range(1, 1000),
        "gp": NON_NEGATIVE,
        "drift": NON_NEGATIVE,
        "style_mixing": UNIT,
        "w_avg_beta": UNIT,
        "start_resolution": Range(4, 1024),
        "stage_kimg": POSITIVE,
        "fade_kimg": NON_NEGATIVE,
        "batch_by_resolution": Range(1, 2**20),
        "lr_by_resolution": POSITIVE,
        "lr_g": LEARNING_RATE,
        "lr_d": LEARNING_RATE,
        "betas": UNIT_OPEN,
    }

    def validate(self) -> None:
        """What one range per field cannot say (ranges are checked before this)."""
        start = self.start_resolution
        if start & (start - 1):
            raise ConfigError(f"start_resolution must be a power of two >= 4, got {start}")


def _int_keys(d: dict, cast) -> dict:
    """Resolution-keyed settings: JSON turns the keys into strings; read them back as ints."""
    try:
        return {int(k): cast(v) for k, v in d.items()}
    except (TypeError, ValueError) as e:
        raise ConfigError(f"resolution-keyed settings need integer resolutions: {d!r}") from e


@register_model(
    "stylegan",
    description="StyleGAN: mapping network, AdaIN, noise, style mixing, truncation; progressive growing",
    train_defaults={"ema_kimg": 10.0},
    image_size=256,  # the paper's LSUN size (its FFHQ runs end at 1024: --set image_size=1024)
)
class StyleGAN(GenerativeModel):
    Config = StyleGANConfig
    capabilities = frozenset({"sample", "decode", "interpolate", "style_mix"})
    ema_modules = ("mapping", "synthesis")  # G alone; w_avg is a buffer of the model: copied, not averaged

    def __init__(self, cfg: StyleGANConfig, spec):
        super().__init__(cfg, spec)
        self.make_conditional(cfg.conditional)
        self.side = power_of_two_side(spec.height, spec.width)
        self._batch_by_res = _int_keys(cfg.batch_by_resolution, int)
        self._lr_by_res = _int_keys(cfg.lr_by_resolution, float)
        widths = {"fmap_base": cfg.fmap_base, "fmap_decay": cfg.fmap_decay, "fmap_max": cfg.fmap_max}
        self.mapping = MappingNetwork(
            cfg.latent_dim,
            cfg.w_dim,
            num_layers=cfg.mapping_layers,
            hidden=cfg.w_dim,
            lr_mul=cfg.mapping_lr_mul,
            num_classes=self.num_classes,
        )
        self.synthesis = SynthesisNetwork(cfg.w_dim, self.side, spec.channels, blur=cfg.blur, **widths)
        self.D = StyleDiscriminator(
            self.side,
            spec.channels,
            mbstd_group=cfg.mbstd_group,
            num_classes=self.num_classes,
            blur=cfg.blur,
            **widths,
        )
        self.num_ws = self.synthesis.num_ws
        self.w_dim = cfg.w_dim
        self.register_buffer("w_avg", torch.zeros(cfg.w_dim))
        # the resolution and fade of the last training step: what the verbs synthesise at
        self.register_buffer("stage_resolution", torch.tensor(self._start()))
        self.register_buffer("stage_alpha", torch.tensor(1.0))

    @classmethod
    def image_side(cls, cfg: StyleGANConfig, side: int) -> tuple[int, str]:
        return power_of_two_at_most(side), "a power of two (the resolutions of progressive growing)"

    def _start(self) -> int:
        return min(self.cfg.start_resolution, self.side)

    # ---- schedule and phases ----------------------------------------------------------------------
    def stage(self, step: int, images_seen: int) -> Stage:
        cfg = self.cfg
        return progressive_stage(
            images_seen,
            self.side,
            self._start(),
            cfg.stage_kimg,
            cfg.fade_kimg,
            self._batch_by_res,
            self._lr_by_res,
            cfg.reset_optimizers,
        )

    def phases(self) -> list[Phase]:
        cfg = self.cfg
        d_params = list(self.D.parameters())
        out = [Phase("D", d_params, self.d_loss, OptimSpec("adam", cfg.lr_d, cfg.betas))]
        if cfg.loss == "logistic" and cfg.r1_gamma > 0 and cfg.r1_every > 1:
            out.append(Phase("D_reg", d_params, self.d_reg_loss, "D", every=cfg.r1_every))
        g_params = [*self.mapping.parameters(), *self.synthesis.parameters()]
        return [*out, Phase("G", g_params, self.g_loss, OptimSpec("adam", cfg.lr_g, cfg.betas))]

    def _enter(self, stage: Stage) -> None:
        self.stage_resolution.fill_(int(stage.resolution or self.side))
        self.stage_alpha.fill_(float(stage.alpha))

    def _reals(self, batch: Batch, stage: Stage) -> Tensor:
        """Real images in [-1, 1] padded to the canvas, at the stage's resolution and fade."""
        x = pad_to(batch.x * 2 - 1, self.side, -1.0)
        x = fade_reals(downsample_to(x, stage.resolution), stage.alpha)
        if self.cfg.mirror and self.training:
            flip = (torch.rand(len(x)) < 0.5).to(x.device).view(-1, 1, 1, 1)
            x = torch.where(flip, x.flip(-1), x)
        return x

    def _styles(self, n: int, y: Tensor | None, like: Tensor, resolution: int) -> Tensor:
        """Training styles ws (n, num_ws, w_dim): w_avg tracked, style mixing at a random crossover."""
        z = torch.randn(n, self.cfg.latent_dim, device=like.device, dtype=like.dtype)
        w = self.mapping(z, y)
        with torch.no_grad():  # w_avg <- beta w_avg + (1 - beta) mean(w)
            self.w_avg.lerp_(w.detach().float().mean(0), 1.0 - self.cfg.w_avg_beta)
        ws = w.unsqueeze(1).expand(-1, self.num_ws, -1)
        active = 2 * int(math.log2(resolution)) - 2
        if active > 1 and float(torch.rand(())) < self.cfg.style_mixing:
            cutoff = int(torch.randint(1, active, ()))  # uniform over the active crossovers 1..active-1
            ws = self.mix_styles(ws, self.mapping(torch.randn_like(z), y), cutoff)
        return ws

    def mix_styles(self, w1: Tensor, w2: Tensor, cutoff: int) -> Tensor:
        """Style mixing: ws with w1's styles on inputs < cutoff and w2's from cutoff on.
        w1, w2: (N, w_dim) or (N, num_ws, w_dim) -> (N, num_ws, w_dim)."""
        a, b = (w.unsqueeze(1).expand(-1, self.num_ws, -1) if w.dim() == 2 else w for w in (w1, w2))
        idx = torch.arange(self.num_ws, device=a.device).view(1, -1, 1)
        return torch.where(idx < cutoff, a, b)

    def _fakes(self, batch: Batch, stage: Stage) -> Tensor:
        ws = self._styles(len(batch.x), self.batch_labels(batch), batch.x, stage.resolution)
        return self.synthesis(ws, stage.resolution, stage.alpha, self._noise("random"))

    def _score(self, x: Tensor, stage: Stage, y: Tensor | None) -> Tensor:
        return self.D(x, stage.resolution, stage.alpha, y)

    def _r1(self, real: Tensor, stage: Stage, y: Tensor | None) -> tuple[Tensor, Tensor]:
        """(D(real), R1 = E ||grad_x D(x)||^2 on reals) in one forward. The authors take the gradient
        with respect to reals upsampled to the final size, which D first averages back down: that
        is this penalty at the current resolution divided by (final / current)^2, so we divide."""
        real = real.detach().requires_grad_(True)
        scores = self._score(real, stage, y)
        return scores, losses.r1_penalty(scores, real) / (self.side // stage.resolution) ** 2

    def d_loss(self, batch: Batch, ctx: StepContext) -> dict[str, Tensor]:
        cfg, stage, y = self.cfg, ctx.stage, self.batch_labels(batch)
        self._enter(stage)
        real = self._reals(batch, stage)
        with torch.no_grad():
            fake = self._fakes(batch, stage)
        s_fake = self._score(fake, stage, y)
        out: dict[str, Tensor] = {}
        if cfg.loss == "wgan-gp":
            s_real = self._score(real, stage, y)
            out["gp"] = losses.gradient_penalty(lambda v: self._score(v, stage, y), real, fake)
            loss = s_fake.mean() - s_real.mean() + cfg.gp * out["gp"] + cfg.drift * s_real.pow(2).mean()
        elif cfg.r1_gamma > 0 and cfg.r1_every == 1:
            s_real, out["r1"] = self._r1(real, stage, y)
            loss = F.softplus(s_fake).mean() + F.softplus(-s_real).mean() + cfg.r1_gamma / 2 * out["r1"]
        else:
            s_real = self._score(real, stage, y)
            loss = F.softplus(s_fake).mean() + F.softplus(-s_real).mean()
        out.update(real=s_real.detach().mean(), fake=s_fake.detach().mean(), loss=loss)
        return out

    def d_reg_loss(self, batch: Batch, ctx: StepContext) -> dict[str, Tensor]:
        """Lazy R1 (StyleGAN2): every r1_every steps, weighted by r1_every to keep its strength."""
        _, r1 = self._r1(self._reals(batch, ctx.stage), ctx.stage, self.batch_labels(batch))
        return {"r1": r1.detach(), "loss": self.cfg.r1_gamma / 2 * r1 * self.cfg.r1_every}

    def g_loss(self, batch: Batch, ctx: StepContext) -> dict[str, Tensor]:
        stage, y = ctx.stage, self.batch_labels(batch)
        self._enter(stage)
        s_fake = self._score(self._fakes(batch, stage), stage, y)
        loss = -s_fake.mean() if self.cfg.loss == "wgan-gp" else F.softplus(-s_fake).mean()
        return {"loss": loss}

    # ---- verbs --------------------------------------------------------------------------------------
    def _noise(self, noise: str) -> str:
        return noise if self.cfg.noise else "none"

    def ws_resolution(self, i: int) -> int:
        """The resolution of the block that style input i drives: 4, 4, 8, 8, 16, ..."""
        return 2 ** (i // 2 + 2)

    def truncate(self, w: Tensor, psi: float | Tensor = 1.0, cutoff: int | None = None) -> Tensor:
        """w (N, w_dim) or ws (N, num_ws, w_dim) -> ws: w_avg + psi (w - w_avg) on inputs < cutoff.
        psi: a number, or a 0-d tensor (an input of an exported graph: no shortcut at psi = 1)."""
        ws = w.unsqueeze(1).expand(-1, self.num_ws, -1) if w.dim() == 2 else w
        if not torch.is_tensor(psi) and psi == 1.0:
            return ws
        idx = torch.arange(self.num_ws, device=ws.device).view(1, -1, 1)
        limit = self.num_ws if cutoff is None else cutoff
        return torch.where(idx < limit, torch.lerp(self.w_avg.to(ws.dtype), ws, psi), ws)

    def mapping_of(self, z: Tensor, labels=None) -> Tensor:
        """z (N, latent_dim) [, labels] -> w (N, w_dim) (labels validated; a conditional model without
        labels takes 0, 1, ..., K-1, 0, ...)."""
        return self.mapping(z, label_tensor(labels, z.shape[0], self.num_classes, self.name, z.device))

    def trained_stage(self) -> tuple[int, float]:
        """(resolution, fade alpha) of the last training step: what the verbs synthesise at."""
        return int(self.stage_resolution), float(self.stage_alpha)

    def synthesize(self, ws: Tensor, noise: str = "random", stage: tuple[int, float] | None = None) -> Tensor:
        """ws (N, num_ws, w_dim) -> images (N, C, H, W) in [0, 1] at the data's size, synthesised at
        `stage` (resolution, alpha), by default the one the model was last trained at (upsampled to
        the canvas, then cropped). An exported graph passes its stage: it cannot read a buffer's value."""
        res, alpha = self.trained_stage() if stage is None else stage
        x = self.synthesis(ws, res, alpha, self._noise(noise))
        if res < self.side:
            x = F.interpolate(x, scale_factor=self.side // res, mode="nearest")
        x = crop_to(x, self.spec.height, self.spec.width)
        return ((x + 1) / 2).clamp(0, 1)

    def decode(self, z: Tensor, labels=None) -> Tensor:
        """(N, latent_dim) [, labels] -> images (N, C, H, W) in [0, 1], no truncation."""
        return self.synthesize(self.truncate(self.mapping_of(z, labels)))

    def sample(
        self,
        n: int,
        labels: Tensor | None = None,
        generator: torch.Generator | None = None,
        truncation: float = 1.0,
        truncation_cutoff: int | None = None,
    ) -> Tensor:
        """n images; with a `generator`, its draws decide the codes and the noise inputs alike."""
        w = self.mapping_of(self.latent_prior(n, generator), labels)
        ws = self.truncate(w, truncation, truncation_cutoff)
        if generator is None:
            return self.synthesize(ws)
        seed = int(torch.randint(0, 2**62, (1,), generator=generator))
        with torch.random.fork_rng(devices=[self.device] if self.device.type == "cuda" else []):
            torch.manual_seed(seed)
            return self.synthesize(ws)

    def idle_parameters(self) -> set[str]:
        """ToRGB / FromRGB layers of resolutions the current stage does not use."""
        res, alpha = int(self.stage_resolution), float(self.stage_alpha)
        used = {res} | ({res // 2} if alpha < 1.0 else set())
        idle = set()
        for name, _ in self.named_parameters():
            parts = name.split(".")
            if parts[1] in ("torgb", "fromrgb") and 2 ** (int(parts[2]) + 2) not in used:
                idle.add(name)
        return idle
