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
        params = [_group(p) if isinstance(p, dict) else p for p in params]  # each iterable read once
        kwargs: dict[str, Any] = {"lr": self.lr, "weight_decay": self.weight_decay}
        if self.name in ("adam", "adamw"):
            kwargs["betas"] = tuple(self.betas)
            kwargs["fused"] = fusable(params) or None
        return cls(params, **kwargs)


FUSED_DEVICES = ("cpu", "cuda")


def _group(group: dict) -> dict:
    """A param group with its parameters as a list (torch takes a tensor, a list or any iterable)."""
    ps = group["params"]
    return {**group, "params": [ps] if isinstance(ps, torch.Tensor) else list(ps)}


def fusable(params: list) -> bool:
    """Whether torch's fused Adam kernel takes these parameters (a list of tensors or of param
    groups): all floating point, on a CPU or a CUDA device. torch picks the per-parameter loop on a
    CPU by default; the fused kernel does the same update in one pass over each tensor (Adam step of
    CycleGAN's two generators: 0.49 vs 1.70 ms, bench/optimizer_step.py). A checkpoint keeps the setting it
    was trained with: resuming loads its param groups, `fused` with them."""
    tensors = [t for p in params for t in (_group(p)["params"] if isinstance(p, dict) else [p])]
    return bool(tensors) and all(t.is_floating_point() and t.device.type in FUSED_DEVICES for t in tensors)


def linear_decay(total_steps: int, span: float) -> Schedule:
    """Constant, then linear decay to 0 at `total_steps`: factor(step) = min(1, (total - step) / span).

    The GAN's `lr_decay` share d gives span = d * total; CycleGAN's reference schedule (constant for
    n_const steps, then n_decay steps whose first has 1 - 1/(n_decay + 1) and last 1/(n_decay + 1))
    is span = n_decay + 1."""
    if span <= 0:
        raise ConfigError(f"a linear decay needs a positive span, got {span}")
    return lambda step: min(1.0, (total_steps - step) / span)
