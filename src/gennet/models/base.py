"""The one contract between models and the trainer.

A model declares its training *phases*; the generic `Trainer` runs them. A phase is a name,
the parameters it updates, its optimizer (its own `OptimSpec`, or the name of an earlier phase
whose optimizer it shares), how often it runs (`every` steps, `repeat` times in a row, each on a
fresh batch) and a loss function `loss(batch, ctx)` that returns named scalars, of which `"loss"`
is the one differentiated. For example:

    AE / VAE           recon
    GAN, DCGAN, cGAN   D (repeat=k), G
    WGAN               critic (repeat=n_critic, after_step=clip), G
    CycleGAN           G_pair, D_pair
    StyleGAN           D, D_reg (every=16, optimizer="D": D's Adam), G

`ctx` is the `StepContext` of the step: the step, the run's length, the current `Stage` of the
model's schedule and a scratch dict that lives for one step (a GAN's D phase leaves its fakes
there for the G phase). A model may declare a schedule of stages (`stage(step, images_seen)`:
resolution, fade-in alpha, batch size, learning-rate scale, optimizer reset) as a pure function
of the step and the images shown, so a resumed run is in the same stage as an unbroken one; and
the modules its EMA averages (`ema_modules`).

Under torchrun the trainer calls the model through one DistributedDataParallel wrapper as
`ddp(phase_name, batch, ctx)`, which lands in `forward` below, so every phase's gradients are
averaged across processes by PyTorch itself.

Verbs (`sample`, `encode`, `decode`, `reconstruct`, `denoise`, `translate`, likelihoods) are
declared in `capabilities`; `require` turns a missing one into a clear `CapabilityError`.

Layer: imports `data` (DataSpec), `optim`, `validation` and `errors`; the families in `models/` build on it,
and `train/` runs it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from ..data import DataSpec
from ..errors import CapabilityError, ConfigError, GennetError
from ..optim import OptimSpec, Schedule
from ..validation import check_settings

LossDict = dict[str, Tensor]

__all__ = ["Batch", "GenerativeModel", "LossDict", "OptimSpec", "Phase", "Stage", "StepContext"]


@dataclass
class Batch:
    """One training batch on the device. x: float (N, C, H, W) in [0, 1]; y: int64 (N,) or None."""

    x: Tensor
    y: Tensor | None = None
    extra: dict[str, Tensor] = field(default_factory=dict)


@dataclass(frozen=True)
class Stage:
    """Where a model's schedule stands at a step. At stage boundaries (a new `index`) the trainer
    reads `batch_size`, `lr_scale` and `reset_optimizers`, which must stay fixed within a stage;
    `alpha` (fade-in of the newest layers, 0 -> 1 within a stage) and `resolution` are for the
    model's own use, handed to its phases every step in `ctx.stage`."""

    index: int = 0
    resolution: int | None = None
    alpha: float = 1.0
    batch_size: int | None = None  # None: the run's batch_size
    lr_scale: float = 1.0
    reset_optimizers: bool = False  # entering this stage clears every optimizer's state (ProGAN)


@dataclass
class StepContext:
    """What a phase's loss knows of the step it runs in. `scratch` is emptied every step."""

    step: int = 0
    total_steps: int = 0
    stage: Stage = field(default_factory=Stage)
    images_seen: int = 0  # training images shown before this step (all processes together)
    scratch: dict[str, Any] = field(default_factory=dict)


@dataclass
class Phase:
    """One kind of update. `loss(batch, ctx)` returns {"loss": scalar to minimise, other: logged}."""

    name: str
    params: list[nn.Parameter]
    loss: Callable[[Batch, StepContext], LossDict]
    # Its own optimizer, or the name of an earlier phase whose optimizer (state, learning-rate
    # schedule) it shares: a lazy regulariser updating D with D's Adam, as stylegan2-ada's Dreg.
    optimizer: OptimSpec | str = field(default_factory=OptimSpec)
    repeat: int = 1  # consecutive updates per step (k discriminator steps), a fresh batch each
    every: int = 1  # run on steps where step % every == 0
    after_step: Callable[[], None] | None = None  # e.g. weight clipping, after optimizer.step()
    lr_lambda: Schedule | None = None  # multiplicative LR schedule of the step (own optimizer only)
    # While the phase runs, the trainer switches off requires_grad of every parameter it does not
    # train, so its backward skips their weight gradients. A phase whose forward builds a graph
    # through other parameters for a later phase to use (a GAN's D step making the fakes the G
    # step reuses) sets this False.
    freeze_others: bool = True

    @property
    def shares_optimizer(self) -> bool:
        return isinstance(self.optimizer, str)


class GenerativeModel(nn.Module):
    """Base class of every gennet model. Subclasses set `Config` and `capabilities`."""

    Config: ClassVar[type]
    capabilities: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, cfg, spec: DataSpec):
        super().__init__()
        # settings are checked when they are made (config.apply_overrides); again here for a
        # Config built by hand in Python
        check_settings(cfg, f"{type(self).__name__} model")
        self.cfg = cfg
        self.spec = spec
        self._phase_map: dict[str, Phase] = {}
        # The trainer sets this before asking for phases, for schedules that need the run's length
        # (e.g. CycleGAN's constant-then-linear-decay learning rate).
        self.total_steps: int | None = None

    # ---- image sizes (gennet.sizing asks these for folders of pictures of any size) ------------
    @classmethod
    def image_side(cls, cfg, side: int) -> tuple[int, str]:
        """The square side to train at for a wished-for `side`: the largest <= side the networks of
        `cfg` take (or their smallest), and a few words on what they need ('' when any side does)."""
        return side, ""

    @classmethod
    def takes_image_shape(cls, cfg, height: int, width: int) -> bool:
        """Whether the networks of `cfg` take images of height x width as they are."""
        return True

    # ---- the training contract -------------------------------------------------------------
    def check_data(self, data) -> None:
        """Refuse a training set this model cannot learn from, with what it needs. The trainer asks
        once, when it is built, before any file of the run is written. Default: any image set (what
        the data's spec decides, such as labels for a conditional model, was checked at build)."""

    def phases(self) -> list[Phase]:
        raise NotImplementedError

    def training_phases(self) -> list[Phase]:
        """Called once by the trainer; also makes `forward(name, batch)` dispatch to them."""
        phases = self.phases()
        names = [p.name for p in phases]
        if len(set(names)) != len(names):
            raise RuntimeError(f"{type(self).__name__} declares duplicate phase names {names}")
        for i, p in enumerate(phases):
            owner = p.optimizer if p.shares_optimizer else None
            if owner is not None and (owner not in names[:i] or phases[names.index(owner)].shares_optimizer):
                raise RuntimeError(
                    f"phase {p.name!r} shares the optimizer of {owner!r}, not an earlier owner"
                )
            if owner is not None and p.lr_lambda is not None:
                raise RuntimeError(f"phase {p.name!r} shares {owner!r}'s optimizer, so its schedule too")
        self._phase_map = {p.name: p for p in phases}
        return phases

    def forward(self, phase: str, batch: Batch, ctx: StepContext) -> LossDict:  # noqa: D401
        return self._phase_map[phase].loss(batch, ctx)

    def stage(self, step: int, images_seen: int) -> Stage:
        """The stage of the model's schedule before `step`, when `images_seen` training images have
        been shown: a pure function of the two (both are restored on resume). Default: one stage."""
        return Stage()

    def idle_parameters(self) -> set[str]:
        """Names of phase parameters that a step at the current stage leaves untouched (progressive
        growing: the ToRGB layers of other resolutions). Default: none."""
        return set()

    # Names of the top-level modules the EMA averages (e.g. ("G",): the generator, not D);
    # None averages the whole model.
    ema_modules: ClassVar[tuple[str, ...] | None] = None

    # ---- class labels (conditional models) -----------------------------------------------------
    def make_conditional(self, conditional: bool) -> None:
        """Set `num_classes` from the data (0 when not conditional) and declare `conditional`."""
        self.num_classes = 0
        if conditional:
            if not self.spec.num_classes:
                raise ConfigError(
                    f"a conditional {type(self).__name__} needs labelled data (a dataset with classes)"
                )
            self.num_classes = int(self.spec.num_classes)
            self.capabilities = self.capabilities | {"conditional"}

    def batch_labels(self, batch: Batch) -> Tensor | None:
        """The batch's labels for a conditional model (None otherwise); a batch without is an error."""
        if not getattr(self, "num_classes", 0):
            return None
        if batch.y is None:
            raise GennetError(f"a conditional {type(self).__name__} was given a batch without labels")
        return batch.y

    # ---- capabilities ----------------------------------------------------------------------
    def can(self, verb: str) -> bool:
        return verb in self.capabilities

    def require(self, verb: str) -> None:
        if verb not in self.capabilities:
            have = ", ".join(sorted(self.capabilities)) or "none"
            raise CapabilityError(f"model {self.name!r} cannot {verb}; it can: {have}")

    @property
    def name(self) -> str:
        return getattr(self, "registered_name", type(self).__name__)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @torch.no_grad()
    def preview(self, x: Tensor, n: int, generator: torch.Generator | None = None) -> list[Tensor]:
        """Rows of images for a progress grid: samples if the model samples, else input/output rows."""
        if self.can("sample"):
            return [self.sample(n, generator=generator)]
        if self.can("reconstruct"):
            x = x[:n]
            rows = [x]
            if self.can("denoise") and getattr(self, "corrupts", False):
                noisy = self.corrupt(x, generator=generator)
                rows += [noisy, self.reconstruct(noisy)]
            else:
                rows.append(self.reconstruct(x))
            return rows
        return [x[:n]]

    # Verbs a family implements when it declares them (images in/out: float (N, C, H, W) in [0, 1]).
    def sample(
        self, n: int, labels: Tensor | None = None, generator: torch.Generator | None = None
    ) -> Tensor:
        """n images decoded from prior codes (conditional models override this to use `labels`)."""
        self.require("sample")
        return self.decode(self.latent_prior(n, generator))

    def encode(self, x: Tensor) -> Tensor:
        self.require("encode")
        raise NotImplementedError

    def decode(self, z: Tensor) -> Tensor:
        self.require("decode")
        raise NotImplementedError

    def reconstruct(self, x: Tensor) -> Tensor:
        self.require("reconstruct")
        return self.decode(self.encode(x))

    def denoise(self, x: Tensor) -> Tensor:
        """A (denoising) autoencoder's reconstruction of a corrupted x is its denoised estimate."""
        self.require("denoise")
        return self.reconstruct(x)

    def latent_prior(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """Draw n codes from the prior p(z): (n, latent_dim)."""
        self.require("sample")
        return torch.randn(n, self.latent_dim, generator=generator, device="cpu").to(self.device)

    @property
    def latent_dim(self) -> int:
        return int(self.cfg.latent_dim)
