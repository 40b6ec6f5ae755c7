"""Adam's step on a CPU: torch's default (a loop over parameters), foreach, and the fused kernel.

    python bench/optimizer_step.py [--threads T] [--steps N]

Question: what does `OptimSpec.build` gain by asking for the fused kernel (gennet.optim.fusable)?
The parameters are CycleGAN's two ResNet generators at the CPU bench's size (base 16, 3 blocks,
48 tensors, 0.54 M values), each with a random gradient. Each variant is timed over N steps after
10 warm-up steps; the variants run twice, alternating, and the median of the two is printed.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from gennet.nn.image_to_image import ResnetGenerator

VARIANTS = {"default": {}, "foreach": {"foreach": True}, "fused": {"fused": True}}


def time_step(kwargs: dict, steps: int) -> float:
    torch.manual_seed(0)
    params = [p for _ in range(2) for p in ResnetGenerator(1, 1, 16, 3).parameters()]
    for p in params:
        p.grad = torch.randn_like(p)
    opt = torch.optim.Adam(params, lr=2e-4, betas=(0.5, 0.999), **kwargs)
    for _ in range(10):
        opt.step()
    t = time.perf_counter()
    for _ in range(steps):
        opt.step()
    return (time.perf_counter() - t) / steps * 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=300)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    times: dict[str, list[float]] = {k: [] for k in VARIANTS}
    for order in (list(VARIANTS), list(VARIANTS)[::-1]):
        for name in order:
            times[name].append(time_step(VARIANTS[name], args.steps))
    base = statistics.median(times["default"])
    print(f"Adam step, CycleGAN's two generators, {args.threads} thread(s), median of 2 x {args.steps} steps")
    for name, ts in times.items():
        ms = statistics.median(ts)
        print(f"  {name:8s} {ms:.3f} ms  ({base / ms:.2f}x the default)")


if __name__ == "__main__":
    main()
