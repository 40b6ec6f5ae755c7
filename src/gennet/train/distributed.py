"""Multi-process data parallel through torchrun + DistributedDataParallel (PyTorch's own engine).

torchrun sets RANK, WORLD_SIZE and LOCAL_RANK; we join the process group (nccl on CUDA, gloo
otherwise) and wrap the model once. Each process takes its slice of every global batch; a flag that
one process raises becomes every one's (`broadcast_flag`, `StopVote`).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from ..errors import ConfigError

VOTE_EVERY_S = 1.0  # under torchrun, the processes agree whether to stop about this often
MAX_VOTE_GAP = 1000  # steps between two votes at most


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """'auto' -> cuda:LOCAL_RANK if available, else mps, else cpu; explicit names are checked."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", local_rank % torch.cuda.device_count())
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"unknown device {name!r}; use auto, cpu, cuda, cuda:N or mps") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device 'cuda' was asked for but torch sees no CUDA GPU (is this the CPU build?)")
    if dev.type == "cuda" and dev.index is None:
        dev = torch.device("cuda", local_rank % torch.cuda.device_count())
    return dev


def init_from_env(device: torch.device) -> DistInfo:
    """Join the process group if launched by torchrun (WORLD_SIZE > 1); else a single process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    info = DistInfo(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group(backend=backend)
    return info


def wrap(model: torch.nn.Module, info: DistInfo, device: torch.device, phases) -> torch.nn.Module:
    """The model as the trainer calls it: itself, or one DDP wrapper around it.

    Where phases train different parts (the generator, then the discriminator), parameters
    unused by a phase are expected, and DDP must look for them (find_unused_parameters)."""
    if not info.enabled:
        return model
    everything = {id(p) for p in model.parameters() if p.requires_grad}
    partial = any({id(p) for p in ph.params} != everything for ph in phases)
    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=ids, find_unused_parameters=partial)


def barrier(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.barrier()


def shutdown(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()


def broadcast_flag(info: DistInfo, flag: bool, device: torch.device) -> bool:
    """Any process's flag (e.g. 'loss is not finite') becomes every process's."""
    if not info.enabled:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


class StopVote:
    """Whether to stop after a step: a signal, the time limit or a failed callback on any process
    stops every process, at the same step.

    A single process decides at every step, alone: `vote(step, asks)` is `asks`. Under torchrun the
    processes must agree, with a collective that each enters at the same steps, so they vote with
    one all-reduce: not after every step (a collective and a wait for the device each) but about
    every `VOTE_EVERY_S` seconds. In the same all-reduce process 0 proposes how many steps until the
    next vote (its step rate since the last one), so every process knows when the next vote is. A
    wish to stop is kept until the vote (a signal, the time limit and a failed callback all last),
    and is acted on within about a second and a step: well inside the grace period after a SIGTERM
    (torchrun's: 30 s before SIGKILL)."""

    def __init__(self, info: DistInfo, device: torch.device, every_s: float | None = None):
        self.info, self.device = info, device
        self.every_s = VOTE_EVERY_S if every_s is None else every_s
        self.next_vote = 0  # the step after which the processes vote next
        self._last: tuple[int, float] | None = None  # (step, time) of the last vote

    def __call__(self, step: int, asks: bool) -> bool:
        """Whether every process stops after `step` (steps done); `asks`: this process's wish."""
        if not self.info.enabled:
            return asks
        if step < self.next_vote:
            return False
        now = time.perf_counter()
        gap = self._gap(step, now) if self.info.is_main else 0
        t = torch.tensor([1.0 if asks else 0.0, float(gap)], device=self.device)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)  # any wish; process 0's gap (the others give 0)
        stop, gap = t.tolist()
        self.next_vote, self._last = step + max(1, int(gap)), (step, now)
        return stop > 0

    def _gap(self, step: int, now: float) -> int:
        """Process 0's proposal: the steps in `every_s` seconds at the rate since the last vote."""
        if self._last is None:
            return 1
        rate = (step - self._last[0]) / max(now - self._last[1], 1e-9)
        return max(1, min(MAX_VOTE_GAP, int(self.every_s * rate)))
