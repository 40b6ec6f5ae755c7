"""VAE quality: train gennet's default `vae` on the embedded MNIST and measure it on the test split.

    python bench/vae_quality.py [--steps N] [--out DIR] [--k K] [--threads T] [--json OUT]

Trains the default `vae` (MLP 784-400-20, Bernoulli likelihood of grey levels, Adam 1e-3,
batch 128) with `gennet.api.train`, evaluates it with `gennet.api.evaluate` on the held-out
split (the embedded set's 1000 test images), and writes two grids into DIR:
`samples.png` (64 draws from the prior) and `reconstructions.png` (16 test digits above
their reconstructions). Likelihoods are in nats per image; the ELBO is a single-sample
estimate, the IW-NLL is the importance-weighted bound with K samples (Burda et al. 2016).
The sample metrics that `evaluate` reports for sampling models (FID, KID, precision/recall,
class coverage, classifier score, each with its real-vs-real floor) are printed too.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from pathlib import Path

import torch

import gennet
from gennet import api
from gennet.config import write_json
from gennet.viz import save_grid, save_rows

# Sample metrics that `gennet.api.evaluate` adds for models that sample (n samples vs the test
# split in the shipped feature network's space); printed when present.
SAMPLE_METRICS = {
    "fid": "FID",
    "kid": "KID",
    "precision": "precision",
    "recall": "recall",
    "classes_covered": "classes covered (of 10)",
    "classifier_score": "classifier score",
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=10000, help="training steps (default 10000)")
    ap.add_argument("--out", type=Path, default=Path("bench/out/vae_quality"), help="run directory")
    ap.add_argument("--k", type=int, default=1000, help="importance samples for the IW-NLL (default 1000)")
    ap.add_argument("--n", type=int, default=None, help="test images to evaluate (default: all 1000)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads(N) first")
    ap.add_argument("--fresh", action="store_true", help="delete DIR first if it holds a gennet run")
    ap.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = ap.parse_args()

    if args.threads:
        torch.set_num_threads(args.threads)
    out: Path = args.out
    if (out / "config.json").is_file():
        if not args.fresh:
            raise SystemExit(f"{out} already holds a gennet run; pass --fresh to replace it or choose --out")
        shutil.rmtree(out)

    print(f"gennet {gennet.__version__}, torch {torch.__version__}, threads {torch.get_num_threads()}")
    load, cores = os.getloadavg()[0], os.cpu_count() or 1
    print(f"load average before: {load:.2f} (1 min), {cores} logical CPUs")
    if torch.get_num_threads() > 1 and load > cores - torch.get_num_threads() + 0.5:
        print(
            "warning: other processes are busy on these cores; torch's intra-op threads then contend "
            "with them and training can slow down many times over (try --threads 1)"
        )
    print(f"training vae (MLP 784-400-20, Bernoulli) for {args.steps} steps into {out} ...", flush=True)
    t0 = time.perf_counter()
    api.train("vae", out=out, steps=args.steps, seed=args.seed, quiet=True)
    train_s = time.perf_counter() - t0
    rows = [json.loads(r) for r in (out / "metrics.jsonl").read_text().splitlines() if r]
    last = rows[-1]

    print(f"evaluating on the test split (k={args.k}) ...", flush=True)
    t0 = time.perf_counter()
    ev = api.evaluate(out, n=args.n, k=args.k, seed=args.seed)
    eval_s = time.perf_counter() - t0

    run = api.load(out)
    samples_png = save_grid(api.sample(run, 64, seed=args.seed), out / "samples.png")
    originals, recons = api.reconstruct(run, n=16)
    recon_png = save_rows(
        [originals, recons], out / "reconstructions.png", labels=["test", "recon"], upscale=3
    )

    n_test = ev["protocol"]["n"]
    figures = {
        "steps": args.steps,
        "train_wall_s": train_s,
        "train_steps_per_s": args.steps / train_s,
        "train_neg_elbo_last_interval": last.get("recon/neg_elbo"),
        "eval_wall_s": eval_s,
        "test_images": n_test,
        "test_elbo_nats": ev["elbo_nats"],
        "test_iw_nll_nats": ev["iw_nll_nats"],
        "iw_k": ev["iw_k"],
        "recon_mse": ev["recon_mse"],
        "recon_psnr_db": ev["recon_psnr"],
        "recon_ssim": ev["recon_ssim"],
        "recon_bce": ev["recon_bce"],
        "samples_png": str(samples_png),
        "reconstructions_png": str(recon_png),
        "nll_note": ev["protocol"].get("nll_note"),
        "feature_metrics": {k: ev[k] for k in SAMPLE_METRICS if k in ev},
        "feature_metrics_floor": {k: v for k, v in (ev.get("floor") or {}).items() if k in SAMPLE_METRICS},
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }

    print(f"\n### gennet vae on embedded MNIST ({n_test} test images)\n")
    print("| figure | value |")
    print("|---|---:|")
    print(f"| steps (batch 128) | {args.steps} |")
    print(f"| training wall time | {train_s:.1f} s ({args.steps / train_s:.1f} steps/s, set-up included) |")
    print(f"| train -ELBO, last log interval | {figures['train_neg_elbo_last_interval']:.2f} nats/image |")
    print(f"| test ELBO (1 sample) | {ev['elbo_nats']:.2f} nats/image |")
    print(f"| test IW-NLL (k={ev['iw_k']}) | {ev['iw_nll_nats']:.2f} nats/image |")
    print(f"| recon MSE | {ev['recon_mse']:.5f} |")
    print(f"| recon PSNR | {ev['recon_psnr']:.2f} dB |")
    print(f"| recon SSIM | {ev['recon_ssim']:.4f} |")
    floor = ev.get("floor") or {}
    for key, label in SAMPLE_METRICS.items():
        if key in ev:
            ref = f" (real-vs-real floor {floor[key]:.4g})" if key in floor else ""
            print(f"| samples: {label} | {ev[key]:.4g}{ref} |")
    print(f"| evaluation wall time | {eval_s:.1f} s |")
    print(f"\n{figures['nll_note']}.")
    print(f"samples grid:         {samples_png}")
    print(f"reconstructions grid: {recon_png}  (top row: test images, bottom row: reconstructions)")
    if args.json:
        write_json(args.json, figures)
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
