"""An exponential moving average of the weights the verbs use.

The model says which of its top-level modules are averaged (`ema_modules`, e.g. the generator and
not D; None: the whole model), so a GAN keeps one copy of G, not of D. The EMA is given as a decay
per step, or as stylegan2-ada does, as a half-life in thousands of images with an optional ramp-up:

    beta = 0.5 ** (batch_size / (ema_kimg * 1000))     half-life ema_kimg thousand images
    with ema_rampup r: the half-life is at most r x images seen so far

Each update is W_ema <- beta W_ema + (1 - beta) W (torch's AveragedModel with a decay that may
change per step); the first update copies. Buffers (batch-norm statistics) are averaged too.

Layer: part of `train/`; imports torch only.
"""

from __future__ import annotations

import copy

import torch
from torch import Tensor, nn
from torch.optim.swa_utils import AveragedModel


class EMA:
    """`module` is the model as the verbs see it: the averaged modules in place of the live ones."""

    def __init__(self, model: nn.Module, decay: float = 0.0, kimg: float = 0.0, rampup: float = 0.0):
        self.names = getattr(model, "ema_modules", None)
        self.decay, self.kimg, self.rampup = decay, kimg, rampup
        self.beta = decay
        self.averaged = AveragedModel(self._tracked(model), multi_avg_fn=self._lerp, use_buffers=True)
        self._live = model
        self._view: nn.Module | None = None

    def _tracked(self, model: nn.Module) -> nn.Module:
        if self.names is None:
            return model
        return nn.ModuleDict({n: getattr(model, n) for n in self.names})

    def beta_for(self, batch_size: int, images_seen: int) -> float:
        """The decay of this update (batch_size images after `images_seen`)."""
        if self.kimg <= 0:
            return self.decay
        nimg = self.kimg * 1000
        if self.rampup > 0:
            nimg = min(nimg, images_seen * self.rampup)
        return 0.5 ** (batch_size / max(nimg, 1e-8))

    @torch.no_grad()
    def _lerp(self, ema: list[Tensor], current: list[Tensor], _n) -> None:
        if torch.is_floating_point(ema[0]) or torch.is_complex(ema[0]):
            torch._foreach_lerp_(ema, current, 1 - self.beta)
        else:  # integer buffers (num_batches_tracked), as torch's get_ema_multi_avg_fn
            for e, c in zip(ema, current, strict=True):
                e.copy_(e * self.beta + c * (1 - self.beta))

    def update(self, model: nn.Module, batch_size: int, images_seen: int) -> None:
        self.beta = self.beta_for(batch_size, images_seen)
        self.averaged.update_parameters(self._tracked(model))

    @property
    def module(self) -> nn.Module:
        """The whole model with the averaged modules in place (a shallow view: D is the live one)."""
        if self.names is None:
            return self.averaged.module
        if self._view is None:
            view = copy.copy(self._live)
            view._modules = dict(self._live._modules)
            view._modules.update(self.averaged.module)
            self._view = view
        return self._view

    def state_dict(self) -> dict:
        return self.averaged.state_dict()

    def load_state_dict(self, state: dict) -> None:
        """Also reads checkpoints of gennet 0.1.0, whose EMA averaged the whole model: the entries
        of the modules this EMA does not average (D) are dropped."""
        own = self.averaged.state_dict().keys()
        if set(own) < set(state):
            state = {k: v for k, v in state.items() if k in own}
        self.averaged.load_state_dict(state)
