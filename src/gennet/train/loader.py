"""In-memory batches: the whole uint8 set lives on the device and a batch is one index op.

Much faster than a per-sample DataLoader for image sets that fit in memory (MNIST is 7 MB).
The order is a pure function of (seed, epoch), and the position is one counter, so resuming
continues exactly where a run stopped; under torchrun each process takes an interleaved
slice of the same global batch.

A set's `companions()` (domain B of an `UnpairedData`, CycleGAN) ride along: each batch also
carries a batch of each in `extra[key]` (`extra["b"]`, its labels in `extra["b_y"]`), drawn by its
own permutation (seeded apart from the main set's) at a position that is a function of the same
counter, so resuming stays exact.
"""

from __future__ import annotations

import torch

from ..data import ImageData, UnpairedData
from ..errors import ConfigError
from ..models.base import Batch

B_SEED_OFFSET = 7_919  # a companion's (domain B's) permutations are seeded apart from A's


class InMemoryLoader:
    def __init__(
        self,
        data: ImageData | UnpairedData,
        batch_size: int,
        device: torch.device,
        *,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        channels_last: bool = False,
    ):
        n = len(data)
        self._check_batch_size(batch_size, n, world_size)
        self.images = data.images.to(device)
        self.labels = data.labels.to(device) if data.labels is not None else None
        self.batch_size, self.seed, self.rank, self.world = batch_size, seed, rank, world_size
        self.per_epoch = n // batch_size  # drop the ragged last batch
        self.channels_last = channels_last
        self.device = device
        self.counter = 0
        self._epoch, self._perm = -1, None
        self.companions: dict[str, InMemoryLoader] = {}
        for key, other in data.companions().items():  # e.g. domain B: driven by this one's counter
            if other.images.shape[1:] != data.images.shape[1:]:
                raise ConfigError(
                    f"the two domains differ in image shape: A {tuple(data.images.shape[1:])}, B "
                    f"{tuple(other.images.shape[1:])}; set image_size and channels to make them match"
                )
            self.companions[key] = InMemoryLoader(
                other,
                batch_size,
                device,
                seed=seed + B_SEED_OFFSET,
                rank=rank,
                world_size=world_size,
                channels_last=channels_last,
            )

    @staticmethod
    def _check_batch_size(batch_size: int, n: int, world_size: int) -> None:
        if batch_size % world_size:
            raise ConfigError(f"batch_size {batch_size} must divide evenly across {world_size} processes")
        if batch_size > n:
            raise ConfigError(f"batch_size {batch_size} is larger than the training set ({n} images)")

    def set_batch_size(self, batch_size: int) -> None:
        """A new batch size (a model's stage schedule): the position stays one counter of batches,
        so where a stage starts is a pure function of the step and resume stays exact."""
        if batch_size == self.batch_size:
            return
        self._check_batch_size(batch_size, len(self.images), self.world)
        self.batch_size, self.per_epoch = batch_size, len(self.images) // batch_size
        for other in self.companions.values():
            other.set_batch_size(batch_size)

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
        batch = Batch(x=x, y=y)
        for key, loader in self.companions.items():
            loader.counter = self.counter - 1  # B's position is a function of A's counter
            other = loader.next()
            batch.extra[key] = other.x
            if other.y is not None:
                batch.extra[f"{key}_y"] = other.y
        return batch

    def state_dict(self) -> dict:
        return {"counter": self.counter}

    def load_state_dict(self, state: dict) -> None:
        self.counter = int(state["counter"])
