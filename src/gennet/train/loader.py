"""Batches by one counter: the order is a pure function of (seed, epoch) and the position is one
counter, so resuming continues exactly where a run stopped; under torchrun each process takes an
interleaved slice of the same global batch. Two loaders share that logic (`CounterLoader`):

- `InMemoryLoader`: the whole uint8 set lives on the device and a batch is one index op. Much
  faster than a per-sample DataLoader for image sets that fit in memory (MNIST is 7 MB).
- `DiskLoader`: for a set read from its memory-mapped disk cache (`ImageData.cache_dir`, a folder
  larger than memory): a batch's indices are gathered from the map in sorted order (locality)
  and put back in batch order, pinned when the device is CUDA, and the next batch is gathered in
  a background thread while this one trains. It gives exactly the batches `InMemoryLoader` gives.

`make_loader` picks one by the set. A set's `companions()` (domain B of an `UnpairedData`,
CycleGAN) ride along: each batch also carries a batch of each in `extra[key]` (`extra["b"]`, its
labels in `extra["b_y"]`), drawn by its own permutation (seeded apart from the main set's) at a
position that is a function of the same counter, so resuming stays exact.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import torch

from ..data import ImageData, UnpairedData
from ..errors import ConfigError
from ..models.base import Batch

B_SEED_OFFSET = 7_919  # a companion's (domain B's) permutations are seeded apart from A's


def make_loader(
    data: ImageData | UnpairedData, batch_size: int, device: torch.device, **options
) -> CounterLoader:
    """A `DiskLoader` for a set read from its disk cache, else an `InMemoryLoader` (`options`: the
    keyword arguments of `CounterLoader`)."""
    cls = DiskLoader if data.cache_dir is not None else InMemoryLoader
    return cls(data, batch_size, device, **options)


class CounterLoader:
    """The order and position of batches (a permutation per epoch, one counter), the companions,
    and the state to resume from. Subclasses hold the images and say how a batch is fetched
    (`_fetch(counter, batch_size) -> (x float [0, 1] on the device, y or None)`)."""

    perm_device = torch.device("cpu")

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
        self.n = len(data)
        self._check_batch_size(batch_size, self.n, world_size)
        self.batch_size, self.seed, self.rank, self.world = batch_size, seed, rank, world_size
        self.labels = data.labels.to(device) if data.labels is not None else None
        self.channels_last = channels_last
        self.device = device
        self.counter = 0
        self._epoch, self._perm = -1, None
        self.companions: dict[str, CounterLoader] = {}
        for key, other in data.companions().items():  # e.g. domain B: driven by this one's counter
            if other.images.shape[1:] != data.images.shape[1:]:
                raise ConfigError(
                    f"the two domains differ in image shape: A {tuple(data.images.shape[1:])}, B "
                    f"{tuple(other.images.shape[1:])}; set image_size and channels to make them match"
                )
            self.companions[key] = make_loader(
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
        self._check_batch_size(batch_size, self.n, self.world)
        self.batch_size = batch_size
        for other in self.companions.values():
            other.set_batch_size(batch_size)

    def _permutation(self, epoch: int) -> torch.Tensor:
        if epoch != self._epoch:
            g = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
            self._perm = torch.randperm(self.n, generator=g).to(self.perm_device)
            self._epoch = epoch
        return self._perm

    def _indices(self, counter: int, batch_size: int) -> torch.Tensor:
        """This process's indices of batch number `counter` (on `perm_device`)."""
        epoch, i = divmod(counter, self.n // batch_size)
        perm = self._permutation(epoch)
        return perm[i * batch_size : (i + 1) * batch_size][self.rank :: self.world]

    def _fetch(self, counter: int, batch_size: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        raise NotImplementedError

    def next(self) -> Batch:
        x, y = self._fetch(self.counter, self.batch_size)
        self.counter += 1
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
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

    def close(self) -> None:
        """Release what fetching holds (a `DiskLoader`'s thread), the companions' too. The trainer
        calls it when `fit` ends, however it ends."""
        for other in self.companions.values():
            other.close()


class InMemoryLoader(CounterLoader):
    """The whole uint8 set on the device; a batch is one index op."""

    def __init__(self, data: ImageData | UnpairedData, batch_size: int, device: torch.device, **kw):
        super().__init__(data, batch_size, device, **kw)
        self.perm_device = device
        self.images = data.images.to(device)

    def _fetch(self, counter: int, batch_size: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        idx = self._indices(counter, batch_size)
        x = self.images[idx].float().div_(255.0)
        return x, (self.labels[idx] if self.labels is not None else None)


class DiskLoader(CounterLoader):
    """A set whose images map its disk cache: each batch is gathered from the map (sorted indices
    for locality, then back in batch order) in one background thread, which gathers the next
    batch while the current one trains; pinned memory and an asynchronous copy on CUDA. The
    gathered batch depends only on (counter, batch size), so prefetching never changes a batch:
    a resumed or resized loader just drops a prefetched batch it no longer needs."""

    def __init__(self, data: ImageData | UnpairedData, batch_size: int, device: torch.device, **kw):
        super().__init__(data, batch_size, device, **kw)
        self.array = data.images.numpy()  # the map (N, C, H, W) uint8; nothing is read yet
        self.pin = device.type == "cuda"
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gennet-disk-loader")
        self._ahead: tuple[tuple[int, int], Future] | None = None

    def _gather(self, counter: int, batch_size: int) -> tuple[torch.Tensor, np.ndarray]:
        """(uint8 images of batch `counter` on the CPU, pinned on CUDA; their indices). Runs in
        the loader's thread, the only one that touches the permutation."""
        idx = self._indices(counter, batch_size).numpy()
        order = np.argsort(idx, kind="stable")
        rows = self.array[idx[order]]  # ascending offsets in the file: sequential-ish reads
        out = np.empty_like(rows)
        out[order] = rows  # back in batch order
        x = torch.from_numpy(out)
        return (x.pin_memory() if self.pin else x), idx

    def _fetch(self, counter: int, batch_size: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        key = (counter, batch_size)
        if self._ahead is not None and self._ahead[0] == key:
            job = self._ahead[1]
        else:
            job = self._pool.submit(self._gather, counter, batch_size)
        after = (counter + 1, batch_size)
        self._ahead = (after, self._pool.submit(self._gather, *after))
        x, idx = job.result()
        x = x.to(self.device, non_blocking=self.pin).float().div_(255.0)
        y = None
        if self.labels is not None:
            y = self.labels[torch.from_numpy(idx).to(self.device)]
        return x, y

    def close(self) -> None:
        """Stop the background thread (after the batch it may be gathering) and drop the batch
        gathered ahead."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._ahead = None
        super().close()
