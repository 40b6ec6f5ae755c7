"""In-memory batches: the whole uint8 set lives on the device and a batch is one index op.

Much faster than a per-sample DataLoader for image sets that fit in memory (MNIST is 7 MB).
The order is a pure function of (seed, epoch), and the position is one counter, so resuming
continues exactly where a run stopped; under torchrun each process takes an interleaved
slice of the same global batch.
"""

from __future__ import annotations

import torch

from ..data import ImageData
from ..errors import ConfigError
from ..models.base import Batch


class InMemoryLoader:
    def __init__(
        self,
        data: ImageData,
        batch_size: int,
        device: torch.device,
        *,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        channels_last: bool = False,
    ):
        n = len(data)
        if batch_size % world_size:
            raise ConfigError(f"batch_size {batch_size} must divide evenly across {world_size} processes")
        if batch_size > n:
            raise ConfigError(f"batch_size {batch_size} is larger than the training set ({n} images)")
        self.images = data.images.to(device)
        self.labels = data.labels.to(device) if data.labels is not None else None
        self.batch_size, self.seed, self.rank, self.world = batch_size, seed, rank, world_size
        self.per_epoch = n // batch_size  # drop the ragged last batch
        self.channels_last = channels_last
        self.device = device
        self.counter = 0
        self._epoch, self._perm = -1, None

    def _permutation(self, epoch: int) -> torch.Tensor:
        if epoch != self._epoch:
            g = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
            self._perm = torch.randperm(len(self.images), generator=g).to(self.device)
            self._epoch = epoch
        return self._perm

    def next(self) -> Batch:
        epoch, i = divmod(self.counter, self.per_epoch)
        self.counter += 1
        perm = self._permutation(epoch)
        idx = perm[i * self.batch_size : (i + 1) * self.batch_size][self.rank :: self.world]
        x = self.images[idx].float().div_(255.0)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        y = self.labels[idx] if self.labels is not None else None
        return Batch(x=x, y=y)

    def state_dict(self) -> dict:
        return {"counter": self.counter}

    def load_state_dict(self, state: dict) -> None:
        self.counter = int(state["counter"])
