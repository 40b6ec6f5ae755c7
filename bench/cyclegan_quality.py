"""CycleGAN quality on a built-in digit pair at 28x28, within a CPU budget.

    python bench/cyclegan_quality.py [--data mnist-thick] [--steps N] [--batch B] [--base C]
                                     [--blocks K] [--threads T] [--out DIR] [--json OUT]

Trains `cyclegan` (ResNet generators, PatchGAN, LSGAN, lambda 10, identity 0.5, pool 50,
constant-then-linear-decay lr) on the CPU through the public API, then prints
`gennet.evaluate_translation` on the held-out split: the share of translations the
shipped MNIST feature network still classes as the input's digit (target >= 90%), cycle PSNR
both ways, FID/KID of translations against the target domain with the untranslated-input
baseline and the real-data floor. Writes translation grids (rows: input, translation, cycle
reconstruction) to OUT/.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path

import torch

from gennet import api
from gennet.api import evaluate_translation, save_translation, translate
from gennet.config import write_json


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="mnist-thick")
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--base", type=int, default=16, help="base_channels (ngf = ndf)")
    ap.add_argument("--blocks", type=int, default=3, help="residual blocks (n_blocks)")
    ap.add_argument(
        "--load-scale",
        type=float,
        default=1.0,
        help="random crops after enlarging by this (the model's default is 286/256; "
        "the README's figures were measured without crops, 1.0)",
    )
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path("bench/out/cyclegan"))
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    run_dir = args.out / f"run-{args.data}"
    if run_dir.exists():
        shutil.rmtree(run_dir)
    settings = dict(
        steps=args.steps,
        batch_size=args.batch,
        base_channels=args.base,
        n_blocks=args.blocks,
        load_scale=args.load_scale,
        data=args.data,
        device="cpu",
        seed=args.seed,
        quiet=True,
        log_every=max(1, args.steps // 20),
        sample_every=max(1, args.steps // 4),
        checkpoint_every=args.steps,
    )
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), load {os.getloadavg()[0]:.2f}")
    print(f"training cyclegan on {args.data}: {settings}")
    t0 = time.perf_counter()
    api.train("cyclegan", out=run_dir, **settings)
    train_s = time.perf_counter() - t0
    run = api.load(run_dir, device="cpu")
    n_params = sum(p.numel() for p in run.model.parameters())
    print(
        f"trained {args.steps} steps in {train_s:.0f} s ({args.steps / train_s:.2f} steps/s), "
        f"{n_params:,} parameters"
    )
    t1 = time.perf_counter()
    res = evaluate_translation(run, seed=args.seed)
    eval_s = time.perf_counter() - t1
    for direction in ("AtoB", "BtoA"):
        grid = save_translation(
            translate(run, direction=direction, n=16), args.out / f"{args.data}-{direction}.png"
        )
        print(f"grid: {grid}")
    flat = {k: v for k, v in res.items() if isinstance(v, float)}
    print(
        f"\n### CycleGAN on {args.data}, 28x28, {args.steps} steps, CPU {train_s:.0f} s "
        f"(evaluation {eval_s:.0f} s)\n"
    )
    print("| metric | value | untranslated baseline | real floor |")
    print("|---|---:|---:|---:|")
    for k, v in flat.items():
        base, floor = res["baseline"].get(k), res.get("floor", {}).get(k)
        fmt = lambda x: "-" if x is None else f"{x:.4g}"  # noqa: E731
        print(f"| {k} | {v:.4g} | {fmt(base)} | {fmt(floor)} |")
    for k in ("class_kept_AtoB", "class_kept_BtoA"):
        if k in res:
            print(f"{k}: {100 * res[k]:.1f}% (target >= 90%): {'met' if res[k] >= 0.9 else 'NOT met'}")
    if args.json:
        write_json(args.json, {"settings": settings, "train_s": train_s, **res})
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
