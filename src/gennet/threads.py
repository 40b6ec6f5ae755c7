"""How many CPU threads torch uses: by default one per core this process may run on.

torch's own default counts the machine's cores, not the ones this process is allowed
(`taskset`, a container's CPU set, a batch scheduler), and several processes under torchrun
each take them all; the threads then contend and a run slows down many times over.

Layer: a leaf (imports torch only); the CLI calls `use_threads` once, before any work.
"""

from __future__ import annotations

import os

import torch

HELP = (
    "CPU threads for torch (default: the cores this process may use, shared among torchrun's "
    "processes; OMP_NUM_THREADS also sets it)"
)


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity), else all the machine's."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return max(1, os.cpu_count() or 1)


def default_threads() -> int:
    """usable cores / processes on this node (torchrun's LOCAL_WORLD_SIZE), at least 1."""
    try:
        local = max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    except ValueError:
        local = 1
    return max(1, usable_cores() // local)


def use_threads(n: int | None) -> int:
    """Set torch's intra-op threads: `n`, else OMP_NUM_THREADS where set (torch reads it), else
    `default_threads()`. Returns the count in use."""
    if n is None and os.environ.get("OMP_NUM_THREADS"):
        return torch.get_num_threads()
    torch.set_num_threads(n if n is not None else default_threads())
    return torch.get_num_threads()
