"""Quality at equal steps, fp32 against bf16 autocast, for every registered model family.

    python bench/precision_quality.py --threads 2 [--steps 300] [--slow-steps 60] [--n 500]
                                      [--models ae vae ...] [--out bench/out/precision]

Each model trains `--steps` steps (cyclegan and stylegan: `--slow-steps`, their steps cost 10-50x
more) on the embedded MNIST (cyclegan: its built-in pair mnist-thick) with precision=fp32 and with
precision=bf16, seeds 0 and 1, the same settings otherwise; then the family's own score from
`gennet.evaluate` on the held-out split: FID (n samples, the shipped feature network) for models
that sample, the ELBO for the VAE, the reconstruction PSNR for the autoencoders, FID A->B for
CycleGAN (evaluate_translation, n per domain). "within noise" is
|mean bf16 - mean fp32| <= max(fp32 seed spread, bf16 seed spread), spread = |seed 0 - seed 1|.
No timing is reported: the machine may be shared.
Writes OUT/results.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import torch

import gennet
from gennet import api
from gennet.config import write_json

SLOW = {"cyclegan", "stylegan"}
MODELS = [
    "ae", "sparse-ae", "denoising-ae", "vae", "gan", "dcgan", "wgan", "wgan-gp",
    "cgan", "aae", "bigan", "cyclegan", "stylegan",
]  # fmt: skip
# small widths so that 52 runs fit in about 20 minutes on 2 cores
SETTINGS = {
    "wgan-gp": {"base_channels": 32},
    "wgan": {"base_channels": 32},
    "dcgan": {"base_channels": 32},
    "cgan": {"base_channels": 32},
    "cyclegan": {"data": "mnist-thick", "batch_size": 8, "base_channels": 16, "n_blocks": 3},
    "stylegan": {
        "latent_dim": 64, "w_dim": 64, "fmap_base": 256, "fmap_max": 32, "mapping_layers": 4,
        "start_resolution": 8, "stage_kimg": 2.0, "fade_kimg": 2.0, "r1_every": 4, "r1_gamma": 0.1,
    },
}  # fmt: skip
# which number of the evaluation scores each family, and whether higher is better
SCORES = {"ae": ("recon_psnr", True), "sparse-ae": ("recon_psnr", True), "denoising-ae": ("recon_psnr", True)}
SCORES |= {"vae": ("elbo_nats", True), "cyclegan": ("fid_AtoB", False)}


def score(name: str, run_dir: Path, n: int) -> float:
    key, _ = SCORES.get(name, ("fid", False))
    if name == "cyclegan":
        return float(api.evaluate_translation(run_dir, n=n, floor=False)[key])
    metrics = ["fid"] if key == "fid" else None
    res = api.evaluate(run_dir, n=n, k=1, metrics=metrics, floor=False, ppl_samples=1, track=False)
    return float(res[key])


def one(name: str, precision: str, seed: int, steps: int, n: int, out: Path) -> float:
    run_dir = out / f"{name}-{precision}-{seed}"
    if run_dir.exists():
        shutil.rmtree(run_dir)
    settings = {"batch_size": 64, **SETTINGS.get(name, {})}
    settings.update(steps=steps, seed=seed, precision=precision, device="cpu", quiet=True, track=[])
    settings.update(log_every=max(1, steps // 5), sample_every=10**6, checkpoint_every=10**6)
    api.train(name, out=run_dir, **settings)
    return score(name, run_dir, n)


def row(name: str, steps: int, r: dict) -> tuple[str, bool]:
    f, b = r["fp32"], r["bf16"]
    sf, sb = abs(f[0] - f[1]), abs(b[0] - b[1])
    diff = abs(sum(b) / 2 - sum(f) / 2)
    ok = diff <= max(sf, sb)
    key, up = SCORES.get(name, ("fid", False))
    cells = [name, str(steps), f"{key} {'↑' if up else '↓'}", *(f"{v:.3f}" for v in (*f, *b))]
    cells += [f"{sf:.3f}", f"{sb:.3f}", f"{diff:.3f}", "yes" if ok else "**no**"]
    return "| " + " | ".join(cells) + " |", ok


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=MODELS)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--slow-steps", type=int, default=60, help="steps for cyclegan and stylegan")
    ap.add_argument("--n", type=int, default=500, help="samples (or held-out images) scored")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--out", type=Path, default=Path("bench/out/precision"))
    ap.add_argument("--table", type=Path, nargs="+", help="only print the table of these results.json")
    args = ap.parse_args()
    if args.table:
        print_table({k: v for f in args.table for k, v in json.loads(f.read_text()).items()})
        return
    if args.threads:
        torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"gennet {gennet.__version__}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"cpu capability {torch.backends.cpu.get_cpu_capability()}, n={args.n}", flush=True)  # fmt: skip
    results: dict[str, dict] = {}
    for name in args.models:
        steps = args.slow_steps if name in SLOW else args.steps
        r = {p: [one(name, p, s, steps, args.n, args.out) for s in (0, 1)] for p in ("fp32", "bf16")}
        results[name] = {"steps": steps, **r}
        print(f"{name}: {r}", flush=True)
        write_json(args.out / "results.json", results)
    print_table(results)


def print_table(results: dict) -> None:
    head = "| model | steps | score | fp32 seed 0 | fp32 seed 1 | bf16 seed 0 | bf16 seed 1 "
    head += "| fp32 spread | bf16 spread | abs(mean diff) | within noise |"
    print("\n" + head + "\n|" + "---|" * 11)
    noisy = []
    for name, r in results.items():
        line, ok = row(name, r["steps"], r)
        print(line)
        noisy += [] if ok else [name]
    print(f"\nnot within noise: {', '.join(noisy) or 'none'}")


if __name__ == "__main__":
    main()
