"""Every conv model at gennet's default settings against a plain fp32 loop of the same networks.

    python bench/default_speed.py [--steps N | --scale F] [--repeats R] [--threads T]
                                  [--models ae dcgan ...] [--json OUT]

Question (issue 13's CPU target): in one run, is every conv model's default configuration at least
1.5x the steps/s of a plain fp32 loop of the same networks, measured side by side? (Both sides
train the same batch size, so the ratio of steps/s is the ratio of images/s.)

Models (registry names; all with conv networks) and where their two sides come from, reused by
import so that each is measured exactly as in its own bench:

- ae (arch=conv): throughput.py (conv_ae_sides; batch 128)
- vae, aae (arch=conv): encoder_loops.py (batch 128); bigan (arch=conv): encoder_loops.py (batch 64)
- dcgan, wgan-gp, wgan, cgan: gan_throughput.py (gan_sides; batch 64)
- cyclegan: cyclegan_throughput.py (cyclegan_sides; mnist-thick, batch 8, base 16, 3 blocks)
- stylegan: stylegan_throughput.py (stylegan_sides; 32x32, batch 64, the CPU config's widths)

Left out: `gan` (MLP networks; its conv form is `dcgan`), `sparse-ae` and `denoising-ae` (their conv
form is the ae's conv networks with a sparsity penalty or corrupted inputs: the ae row times those
networks). The MLP defaults of ae, vae, aae and bigan are not conv models; bench/throughput.py times
the MLP VAE. A model registered later and in neither list is named in the output as not timed.

Variants of each model, in one process:

- gennet default: the bench's gennet runner with no precision and no channels_last setting, so the
  run takes whatever TrainConfig and the model's registered train defaults say (today precision=auto,
  bf16 autocast on a CPU with AVX512-BF16 or AMX, fp32 elsewhere; channels_last auto: on with
  bf16 on a CPU) and follows them if they change. The table names the precision it resolved to
  ("auto -> bf16"). Kept as each bench sets them: steps, logging, batch size, and the model
  settings that make gennet's networks and per-step work those of the plain loop (arch=conv;
  cyclegan's sizes, data pair and no crop; stylegan's widths, fixed 32x32 resolution and R1 every
  step).
- gennet fp32: the same with precision=fp32.
- plain fp32: the hand-written loop of the same networks (parameter counts asserted equal).

Timing is bench/throughput.py's rule (bench/timing.py): the variants of a model run one after
another, in reverse order on every other repeat; each run is timed in intervals of a tenth of its
steps and the first interval is warm-up, untimed, on both sides; gennet's intervals are the
trainer's own metrics.jsonl rows. Ratios are gennet / plain fp32, as a ratio of medians and as the
median paired ratio (each run against the plain run of the same repeat); the >= 1.5x verdict is
on the ratio of medians. CPU only.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import textwrap
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cyclegan_throughput import cyclegan_sides  # noqa: E402
from encoder_loops import encoder_sides  # noqa: E402
from gan_throughput import gan_sides  # noqa: E402
from stylegan_throughput import stylegan_sides  # noqa: E402
from throughput import conv_ae_sides  # noqa: E402
from timing import Sides, prepare, run_case, summarise  # noqa: E402

import gennet  # noqa: E402
from gennet.config import write_json  # noqa: E402
from gennet.data import load_dataset  # noqa: E402
from gennet.registry import model_names  # noqa: E402

MODELS = ["ae", "vae", "aae", "dcgan", "wgan", "wgan-gp", "cgan", "bigan", "cyclegan", "stylegan"]
CONV_ARCH = {"ae", "vae", "aae", "bigan"}  # MLP by default: timed with arch=conv
LEFT_OUT = {
    "gan": "MLP networks; its conv form is dcgan",
    "sparse-ae": "its conv form is the ae row's networks with a sparsity penalty",
    "denoising-ae": "its conv form is the ae row's networks with corrupted inputs",
}
TARGET = 1.5
DEFAULT, FP32, PLAIN = "gennet default", "gennet fp32", "plain fp32"
NOTE = (
    "Median of {repeats} alternating runs each. Rate = steps after the first tenth of each run / their "
    "wall time (the first tenth is warm-up, untimed, on both sides); gennet's rate comes from the "
    "trainer's own metrics.jsonl rows, so its set-up and end-of-run writes are in neither side's rate. "
    "ratio = gennet median / plain fp32 median; paired = median over repeats of (gennet run / the plain "
    "run of the same repeat). 'gennet default' sets no precision and no channels_last (the resolved "
    "precision is named); '>= {target}x' is judged on the ratio of medians of the default."
)


@functools.cache
def _data(name: str):
    return load_dataset(name, split="train")


def sides_for(model: str, device: torch.device) -> Sides:
    """The gennet runner and the plain loop of `model`, from the bench that owns them."""
    if model == "ae":
        mnist = _data("mnist")
        return conv_ae_sides(mnist, mnist.images.float().div(255.0))
    if model in ("vae", "aae", "bigan"):
        return encoder_sides(model, _data("mnist"), device)
    if model == "cyclegan":
        return cyclegan_sides(_data("mnist-thick"))
    if model == "stylegan":
        return stylegan_sides(_data("mnist"), device)
    return gan_sides(model, _data("mnist"), device)


def label(model: str) -> str:
    return f"{model} (arch=conv)" if model in CONV_ARCH else model


def steps_for(sides: Sides, args) -> int:
    """--steps N for every model, else the bench's default steps x --scale (at least 10)."""
    return args.steps or max(10, round(sides.steps * args.scale))


def time_model(model: str, device: torch.device, args) -> tuple[list[dict], dict]:
    """The three variants of one model over the repeats -> (summarised rows, the model's facts)."""
    sides = sides_for(model, device)
    steps = steps_for(sides, args)
    le = max(1, steps // 10)
    g_params, p_params = sides.params
    print(
        f"\n{label(model)}: parameters gennet {g_params:,} / plain {p_params:,}; batch {sides.batch}, "
        f"{steps} steps per run, first {le} untimed",
        flush=True,
    )
    assert g_params == p_params, f"{model}: parameter counts differ"
    variants = {
        # precision=None: no precision setting at all (resolve_config drops None), gennet's default
        DEFAULT: lambda: sides.gennet(steps, le, precision=None),
        FP32: lambda: sides.gennet(steps, le, precision="fp32"),
        PLAIN: lambda: sides.plain(steps, le),
    }
    rows = summarise(label(model), run_case(model, variants, args.repeats), PLAIN)
    return rows, {"batch": sides.batch, "steps": steps, "parameters": g_params}


def _settings(row: dict) -> str:
    """What the default runs trained with: "auto -> bf16" (+ ", channels_last" when on)."""
    precisions = sorted({r["precision"] for r in row["runs"]})
    cl = ", channels_last" if any(r["channels_last"] for r in row["runs"]) else ""
    return " / ".join(precisions) + cl


def summary(rows: list[dict], facts: dict[str, dict]) -> list[dict]:
    """One line per model: the plain, fp32 and default figures side by side."""
    out = []
    for model, f in facts.items():
        by = {r["variant"]: r for r in rows if r["case"] == label(model)}
        d, g = by[DEFAULT], by[FP32]
        out.append(
            {
                "model": label(model),
                "batch": f["batch"],
                "steps": f["steps"],
                "plain_fp32": by[PLAIN]["median_steps_per_s"],
                "gennet_fp32": g["median_steps_per_s"],
                "fp32_ratio": g["ratio_vs_plain_fp32"],
                "fp32_paired": g["paired_ratio_median"],
                "gennet_default": d["median_steps_per_s"],
                "default_settings": _settings(d),
                "default_ratio": d["ratio_vs_plain_fp32"],
                "default_paired": d["paired_ratio_median"],
                "meets_target": d["ratio_vs_plain_fp32"] >= TARGET,
            }
        )
    return out


def print_runs(rows: list[dict]) -> None:
    print("\n| model | variant | median steps/s | min-max | ratio vs plain fp32 | median paired ratio |")
    print("|---|---|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['case']} | {r['variant']} | {r['median_steps_per_s']:.2f} | {r['min_steps_per_s']:.2f}-"
            f"{r['max_steps_per_s']:.2f} | {r['ratio_vs_plain_fp32']:.3f} | {r['paired_ratio_median']:.3f} |"
        )


def print_summary(lines: list[dict], cpu: str, repeats: int) -> None:
    print(f"\n### gennet at its defaults vs a plain fp32 loop, {cpu}, {torch.get_num_threads()} thread(s)\n")
    print(
        "| model | batch | plain fp32 steps/s | gennet fp32 steps/s | fp32 ratio | fp32 paired "
        f"| gennet default steps/s | default precision | default ratio | default paired | >= {TARGET}x |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---|")
    for s in lines:
        print(
            f"| {s['model']} | {s['batch']} | {s['plain_fp32']:.2f} | {s['gennet_fp32']:.2f} | "
            f"{s['fp32_ratio']:.3f} | {s['fp32_paired']:.3f} | {s['gennet_default']:.2f} | "
            f"{s['default_settings']} | {s['default_ratio']:.3f} | {s['default_paired']:.3f} | "
            f"{'yes' if s['meets_target'] else 'NO'} |"
        )
    print("\n" + textwrap.fill(NOTE.format(repeats=repeats, target=TARGET), width=100))
    met = sum(s["meets_target"] for s in lines)
    print(f"\ndefault >= {TARGET}x plain fp32: {met} of {len(lines)} models")


def coverage() -> None:
    """Say which registered models this bench leaves out, and why."""
    for name in model_names():
        if name in LEFT_OUT:
            print(f"not timed: {name} ({LEFT_OUT[name]})")
        elif name not in MODELS:
            print(f"not timed: {name} (registered, but no plain loop of it here yet)")


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--steps", type=int, default=None, help="steps per run for every model (default: each bench's)"
    )
    ap.add_argument("--scale", type=float, default=1.0, help="without --steps: each bench's steps x this")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads(N) first")
    ap.add_argument(
        "--models", nargs="+", default=MODELS, choices=MODELS, metavar="MODEL", help=", ".join(MODELS)
    )
    ap.add_argument("--json", type=Path, default=None, help="write every figure here")
    args = ap.parse_args()
    if args.steps is not None and args.steps < 2:
        ap.error("--steps must be at least 2 (the first tenth of a run is untimed)")
    if args.scale <= 0:
        ap.error("--scale must be positive")
    return args


def main() -> None:
    args = parse_args()
    device, cpu = prepare(args.threads, "cpu")
    coverage()
    load_before = os.getloadavg()[0]
    rows: list[dict] = []
    facts: dict[str, dict] = {}
    for model in dict.fromkeys(args.models):
        model_rows, facts[model] = time_model(model, device, args)
        rows += model_rows
    lines = summary(rows, facts)
    print_runs(rows)
    print_summary(lines, cpu, args.repeats)
    load_after = os.getloadavg()[0]
    print(f"load average before/after: {load_before:.2f} / {load_after:.2f} (1 min)")
    if args.json:
        out = {
            "gennet_version": gennet.__version__,
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "cpu": cpu,
            "loadavg_before_after": [load_before, load_after],
            "repeats": args.repeats,
            "target": TARGET,
            "summary": lines,
            "rows": rows,
        }
        write_json(args.json, out)
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
