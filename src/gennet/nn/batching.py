"""Several batches through one network in one call, where that gives the values of separate calls.

At small batches a training step is bound by the cost of each operation rather than by arithmetic,
so one call on stacked batches is cheaper than a call per batch (CycleGAN at batch 8: six generator
calls a step made three took the step from 1.47x to 1.68x a plain loop, bench/README.md). It is
exact only where the network treats each sample on its own: a batch norm in training mode, or a
layer that mixes samples (StyleGAN's minibatch standard deviation: `mixes_samples = True`), makes a
stacked call differ, and there `stacked` makes the separate calls.

Layer: a leaf of `nn/` (imports torch only).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

Call = Tensor | tuple[Tensor | None, ...]


def mixes_samples(net: nn.Module) -> bool:
    """Whether `net`'s output for one sample depends on the other samples of its batch: a batch norm
    that normalises with the batch's statistics (training mode, or no running statistics), or a
    module that says so (`mixes_samples = True`)."""
    for m in net.modules():
        if getattr(m, "mixes_samples", False):
            return True
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and (m.training or not m.track_running_stats):
            return True
    return False


def stacked(net: nn.Module, *calls: Call) -> list[Tensor]:
    """[net(*call) for call in calls]: in one call on the calls' inputs stacked along the batch
    where `net` does not mix samples, else a call each. A call is a tensor or a tuple of arguments;
    an argument that is None in every call (no labels) stays None."""
    args = [c if isinstance(c, tuple) else (c,) for c in calls]
    if len(args) == 1 or mixes_samples(net):
        return [net(*a) for a in args]
    joined = [None if all(v is None for v in col) else torch.cat(col) for col in zip(*args, strict=True)]
    return list(net(*joined).split([len(a[0]) for a in args]))
