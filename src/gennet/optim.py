"""Optimizers by name and the learning-rate schedules the families share.

Layer: a leaf (imports torch and `errors` only); models declare `OptimSpec`s and schedules from here,
and the trainer builds them.

A schedule is a multiplicative factor of the step, `factor(step) -> float`, applied to each
optimizer's base learning rate before the step runs (as `torch.optim.lr_scheduler.LambdaLR`
would), so it is a pure function of the step and resume needs no scheduler state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from .errors import ConfigError

Schedule = Callable[[int], float]

OPTIMIZERS = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "rmsprop": torch.optim.RMSprop,
    "sgd": torch.optim.SGD,
}


@dataclass
class OptimSpec:
    """An optimizer by name with its settings; `build(params)` makes it."""

    name: str = "adam"
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 0.0

    def build(self, params) -> torch.optim.Optimizer:
        try:
            cls = OPTIMIZERS[self.name]
        except KeyError:
            raise ConfigError(
                f"unknown optimizer {self.name!r}; choose one of {sorted(OPTIMIZERS)}"
            ) from None
        kwargs: dict[str, Any] = {"lr": self.lr, "weight_decay": self.weight_decay}
        if self.name in ("adam", "adamw"):
            kwargs["betas"] = tuple(self.betas)
        return cls(params, **kwargs)


def linear_decay(total_steps: int, span: float) -> Schedule:
    """Constant, then linear decay to 0 at `total_steps`: factor(step) = min(1, (total - step) / span).

    The GAN's `lr_decay` share d gives span = d * total; CycleGAN's reference schedule (constant for
    n_const steps, then n_decay steps whose first has 1 - 1/(n_decay + 1) and last 1/(n_decay + 1))
    is span = n_decay + 1."""
    if span <= 0:
        raise ConfigError(f"a linear decay needs a positive span, got {span}")
    return lambda step: min(1.0, (total_steps - step) / span)
