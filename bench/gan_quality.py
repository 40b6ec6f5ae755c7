"""Sample quality of the adversarial family on the embedded MNIST under a fixed CPU budget.

    python bench/gan_quality.py [--budget SECONDS] [--models dcgan wgan-gp cgan] [--out bench/out/gan]
                                [--threads T] [--n 1000]
    python bench/gan_quality.py --models stylegan dcgan --threads 2   # StyleGAN's CPU config, then a
                                DCGAN for the same wall-clock time as the StyleGAN run took

A model with a shipped config (stylegan: configs/stylegan-mnist-cpu.yaml) trains with it, its own
step count and time cap (not --budget); models after it get the wall-clock time it took, so the
comparison is at equal time. For StyleGAN the bench also writes the truncation sweep
(OUT/stylegan-truncation.png: rows psi = 1, 0.7, 0.5, 0) and the style-mixing grid
(OUT/stylegan-style-mix.png).

Each model trains for `--budget` seconds of wall time (the trainer's max_seconds) with the
settings below, then: a 10x10 sample grid (cGAN: row = the classes 0..9 in order), and FID, KID,
precision/recall, mode coverage and the classifier score of n samples against the held-out split
in the shipped MNIST feature network's space, beside the real-vs-real floor at the same n.
Writes OUT/MODEL/ (the run), OUT/MODEL.png and OUT/results.json, and prints a table.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

import gennet
from gennet import api
from gennet.viz import save_grid, save_rows

# Per-model settings for a CPU budget of minutes: the paper architectures at base width 64 are
# kept for dcgan/cgan; the WGAN-GP critic (5 updates a step, each with a double backward) is
# narrowed to base 32 so that a few thousand generator steps fit in the budget.
SETTINGS = {
    "dcgan": {"batch_size": 64},
    "cgan": {"batch_size": 64},
    "wgan-gp": {"batch_size": 64, "base_channels": 32},
    "wgan": {"batch_size": 64, "base_channels": 32},
    "gan": {"batch_size": 64},
    "aae": {"batch_size": 64},
    "bigan": {"batch_size": 64},
}
CONFIGS = {"stylegan": "configs/stylegan-mnist-cpu.yaml"}
NAN = float("nan")
COMMON = {
    "precision": "bf16",
    "channels_last": True,
    "ema": 0.999,
    "log_every": 100,
    "sample_every": 500,
    "quiet": True,
}


def _style_figures(run, prefix: Path) -> None:
    """The truncation sweep (the same 10 codes at psi = 1, 0.7, 0.5, 0) and the style-mixing grid."""
    rows = [api.sample(run, 10, seed=1, truncation=psi) for psi in (1.0, 0.7, 0.5, 0.0)]
    save_rows(rows, f"{prefix}-truncation.png", labels=["psi 1", "psi 0.7", "psi 0.5", "psi 0"])
    mix = api.style_mix(run, rows=5, cols=5, seed=2)
    save_rows(mix["rows"], f"{prefix}-style-mix.png", labels=mix["names"])
    print(f"wrote {prefix}-truncation.png and {prefix}-style-mix.png", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=["dcgan", "wgan-gp", "cgan"])
    ap.add_argument("--budget", type=float, default=480.0, help="training seconds per model (default 480)")
    ap.add_argument("--n", type=int, default=1000, help="samples scored per model")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--out", type=Path, default=Path("bench/out/gan"))
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"gennet {gennet.__version__}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"device {args.device}, budget {args.budget:.0f} s per model")  # fmt: skip
    results = {}
    budget = args.budget
    for name in args.models:
        run_dir = args.out / name
        t0 = time.perf_counter()
        if name in CONFIGS:
            settings = {"config_file": CONFIGS[name], "quiet": True}
            api.train(name, run_dir, device=args.device, **settings)
        else:
            settings = {**COMMON, **SETTINGS.get(name, {})}
            api.train(name, run_dir, data="mnist", steps=10**6, max_seconds=budget, checkpoint_every=10**6,
                      device=args.device, **settings)  # fmt: skip
        seconds = time.perf_counter() - t0
        if name in CONFIGS:
            budget = seconds  # the models after it train for the same wall-clock time
        rows = [json.loads(r) for r in (run_dir / "metrics.jsonl").read_text().splitlines() if r]
        run = api.load(run_dir, device=args.device)
        labels = torch.arange(100) % 10 if run.model.can("conditional") else None
        grid = args.out / f"{name}.png"
        save_grid(api.sample(run, 100, seed=0, labels=labels), grid, nrow=10)
        if run.model.can("style_mix"):
            _style_figures(run, args.out / name)
        scores = api.evaluate(run, n=args.n, seed=0, metrics=["fid", "kid", "precision_recall", "coverage",
                                                            "classifier_score"])  # fmt: skip
        results[name] = {
            "steps": rows[-1]["step"],
            "train_seconds": round(seconds, 1),
            "settings": settings,
            "diversity_last": rows[-1].get("monitor/diversity"),
            "scores": {k: v for k, v in scores.items() if k not in ("protocol",)},
            "grid": str(grid),
        }
        s = scores
        print(f"{name}: {rows[-1]['step']} steps in {seconds:.0f} s; FID {s['fid']:.2f} (floor "
              f"{s['floor']['fid']:.2f}), KID {s['kid']:.4f}, classes covered {s.get('classes_covered')}, "
              f"classifier score {s.get('classifier_score', NAN):.2f}; grid {grid}", flush=True)  # fmt: skip
    (args.out / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    print("\n| model | steps | train s | FID (floor) | KID | precision | recall | classes covered | "
          "classifier score |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|")  # fmt: skip
    for name, r in results.items():
        s, f = r["scores"], r["scores"]["floor"]
        print(f"| {name} | {r['steps']} | {r['train_seconds']:.0f} | {s['fid']:.2f} ({f['fid']:.2f}) | "
              f"{s['kid']:.4f} | {s.get('precision', NAN):.3f} | {s.get('recall', NAN):.3f} | "
              f"{s.get('classes_covered')} | {s.get('classifier_score', NAN):.2f} |")  # fmt: skip
    print(f"wrote {args.out / 'results.json'}")


if __name__ == "__main__":
    main()
