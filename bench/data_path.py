"""Images per second of gennet's data paths on a folder of 64x64 pictures.

    python bench/data_path.py [--n 50000] [--batch 128] [--batches 200] [--threads 1] [--json OUT]

Three ways to feed training batches (float [0, 1] (B, 3, 64, 64), shuffled) are timed on the same
folder of N generated PNG pictures (made once under bench/out/data_path/N/):

- cached: gennet's disk cache (`--set data_cache=disk`): the pictures decoded once into a
  memory-mapped uint8 file; `DiskLoader` gathers each batch from the map (sorted indices, one
  batch prefetched in a thread);
- in-memory: gennet's `InMemoryLoader` over the whole decoded set (the default for sets that fit);
- DataLoader: the usual PyTorch way, a Dataset that opens each file with PIL, resizes it and makes a
  tensor, through `torch.utils.data.DataLoader(shuffle=True)` with 0 and 2 worker processes.

The one-off costs are printed too: decoding the folder into memory, building the cache, opening a
built cache. The cache file was just written, so the page cache holds it: the cached figure is
that of a set whose pages are in memory, an upper bound for one that is not.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from gennet.atomic import write_text  # noqa: E402
from gennet.data import CacheRequest, load_dataset  # noqa: E402
from gennet.train.loader import DiskLoader, InMemoryLoader  # noqa: E402

SIDE = 64


def make_folder(folder: Path, n: int, seed: int = 0) -> Path:
    """N smooth 64x64 RGB PNG pictures (blurred colour fields: photo-like file sizes); kept across runs."""
    done = folder / ".complete"
    if done.is_file():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        small = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
        img = Image.fromarray(small).resize((SIDE, SIDE), Image.Resampling.BICUBIC)
        img.save(folder / f"{i // 1000:03d}-{i:06d}.png")
    done.write_text("ok\n")
    return folder


class PilFiles(torch.utils.data.Dataset):
    """The usual per-file Dataset: open with PIL, RGB, resize, to a float tensor in [0, 1]."""

    def __init__(self, files: list[Path]):
        self.files = files

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> torch.Tensor:
        with Image.open(self.files[i]) as img:
            img = img.convert("RGB").resize((SIDE, SIDE), Image.Resampling.BILINEAR)
            return torch.from_numpy(np.asarray(img).copy()).permute(2, 0, 1).float().div_(255.0)


def rate_of(next_batch, batch: int, batches: int, warmup: int = 2) -> float:
    """Images per second over `batches` batches after `warmup` ones."""
    for _ in range(warmup):
        next_batch()
    t = time.perf_counter()
    for _ in range(batches):
        next_batch()
    return batches * batch / (time.perf_counter() - t)


def dataloader_rate(folder: Path, batch: int, batches: int, workers: int) -> float:
    files = sorted(folder.glob("*.png"))
    loader = torch.utils.data.DataLoader(
        PilFiles(files),
        batch_size=batch,
        shuffle=True,
        num_workers=workers,
        drop_last=True,
        generator=torch.Generator().manual_seed(0),
        persistent_workers=workers > 0,
    )

    def batches_forever():
        while True:
            yield from loader

    it = batches_forever()
    return rate_of(lambda: next(it), batch, batches)


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def run(args) -> dict:
    folder, made = timed(lambda: make_folder(ROOT / "bench" / "out" / "data_path" / str(args.n), args.n))
    shutil.rmtree(folder / ".gennet-cache", ignore_errors=True)
    load = dict(image_size=SIDE, channels=3, test_fraction=0.01)
    cpu = torch.device("cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mem, t_mem = timed(lambda: load_dataset(str(folder), **load))
        _, t_build = timed(lambda: load_dataset(str(folder), cache=CacheRequest(), **load))
        disk, t_open = timed(lambda: load_dataset(str(folder), cache=CacheRequest(), **load))
    batches = min(args.batches, len(mem) // args.batch - 2)
    rates = {}
    disk_loader = DiskLoader(disk, args.batch, cpu, seed=0)
    rates["cached (gennet DiskLoader)"] = rate_of(disk_loader.next, args.batch, batches)
    disk_loader.close()
    mem_loader = InMemoryLoader(mem, args.batch, cpu, seed=0)
    rates["in-memory (gennet InMemoryLoader)"] = rate_of(mem_loader.next, args.batch, batches)
    for workers in (0, 2):
        rates[f"DataLoader over PIL files, num_workers={workers}"] = dataloader_rate(
            folder, args.batch, batches, workers
        )
    once = {
        "make the folder (s)": made,
        "decode into memory (s)": t_mem,
        "build the cache (s)": t_build,
        "open the built cache (s)": t_open,
    }
    return {
        "n": args.n,
        "train images": len(mem),
        "batch": args.batch,
        "batches": batches,
        "rates": rates,
        **once,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=50_000, help="pictures in the folder (default 50,000)")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--batches", type=int, default=200, help="batches timed per path (at most an epoch)")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    res = run(args)
    cached = res["rates"]["cached (gennet DiskLoader)"]
    n, batch, batches = res["train images"], res["batch"], res["batches"]
    print(f"\n{n} training images of 64x64 RGB, batch {batch}, {batches} batches timed per path")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), load average {os.getloadavg()}\n")
    print("| path | images/s | cached ÷ this |\n| --- | ---: | ---: |")
    for name, rate in res["rates"].items():
        print(f"| {name} | {rate:,.0f} | {cached / rate:.2f} |")
    print()
    for key in (
        "make the folder (s)",
        "decode into memory (s)",
        "build the cache (s)",
        "open the built cache (s)",
    ):
        print(f"{key}: {res[key]:.2f}")
    if args.json:
        write_text(args.json, json.dumps(res, indent=2) + "\n")


if __name__ == "__main__":
    main()
