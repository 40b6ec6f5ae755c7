"""The timing helpers every throughput bench shares (throughput.py, gan_throughput.py,
cyclegan_throughput.py, stylegan_throughput.py, default_speed.py).

The rule they implement (see bench/README.md, "How the timing is done"): a run is timed in
intervals of `log_every` steps and its first interval is warm-up, untimed; the rate is (steps after
the first interval) / (their wall time). gennet's intervals are the trainer's own metrics.jsonl
`steps_per_s` rows. The variants of a case run one after another within a repeat, in reverse order
on every other repeat, and are summarised by their median and by the median paired ratio against
the plain loop of the same repeat.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

import gennet
from gennet.api import build_model, resolve_config
from gennet.train import Trainer
from gennet.train.precision import resolve_channels_last, resolve_precision

CPU = torch.device("cpu")
BATCH = 128  # TrainConfig's default batch size


@dataclass
class Sides:
    """One model's two sides in a throughput bench, over the same networks: `gennet(steps, log_every,
    **settings)` trains through the Trainer (time_gennet's result), `plain(steps, log_every)` runs the
    hand-written loop; `params` = their parameter counts (gennet, plain), asserted equal by the
    benches; `batch` and `steps` are the bench's batch size and default steps per run."""

    gennet: Callable[..., dict]
    plain: Callable[..., dict]
    params: tuple[int, int]
    batch: int
    steps: int


def rate_from_marks(marks: list[tuple[int, float]]) -> tuple[float, int, float]:
    """marks: (step, time) at each interval end, the first being the warm-up end -> (rate, steps, s)."""
    (s0, t0), (s1, t1) = marks[0], marks[-1]
    return (s1 - s0) / (t1 - t0), s1 - s0, t1 - t0


def time_gennet(
    model: str,
    train_data,
    steps: int,
    log_every: int,
    device: torch.device = CPU,
    batch_size: int = BATCH,
    **settings,
) -> dict:
    """gennet's Trainer on `train_data` for `steps` steps; the rate comes from its own metrics.jsonl rows.
    `settings` are any train or model settings. Shared by every throughput bench.
    Precision is fp32 unless `settings` names one (the default, auto, is bf16 on a CPU with native bf16);
    `precision=None` leaves it at gennet's default (resolve_config drops settings given as None).
    The result names the precision the trainer used ("auto -> bf16") and whether channels_last was on."""
    settings.setdefault("precision", "fp32")
    tcfg, _ = resolve_config(
        model,
        steps=steps,
        batch_size=batch_size,
        quiet=True,
        device=str(device),
        log_every=log_every,
        sample_every=10**9,
        checkpoint_every=10**9,
        **settings,
    )
    torch.manual_seed(tcfg.seed)
    net = build_model(tcfg.model, train_data.spec, tcfg.model_args)
    with tempfile.TemporaryDirectory(prefix="gennet-bench-") as d:
        t_start = time.perf_counter()
        Trainer(net, train_data, tcfg, run_dir=Path(d), device=device).fit()
        total = time.perf_counter() - t_start
        rows = [json.loads(r) for r in (Path(d) / "metrics.jsonl").read_text().splitlines() if r]
    # Rebuild interval end times from the trainer's per-interval rates (rounded to 0.01 steps/s).
    marks, t, prev = [], 0.0, 0
    for r in rows:
        t += (r["step"] - prev) / r["steps_per_s"]
        prev = r["step"]
        marks.append((r["step"], t))
    rate, n, secs = rate_from_marks(marks)
    return {
        "steps_per_s": rate,
        "timed_steps": n,
        "timed_s": secs,
        "fit_total_s": total,
        # set-up + final preview/checkpoint/weights: whatever of the run is not a step
        "fixed_cost_s": total - t,
        "final_loss": rows[-1].get("recon/loss"),
        "precision": _precision_label(tcfg.precision, device),
        "channels_last": resolve_channels_last(tcfg.channels_last, tcfg.precision, device),
    }


def _precision_label(setting: str, device: torch.device) -> str:
    """The precision setting and, where it is auto, what the trainer resolves it to: "auto -> bf16"."""
    resolved = resolve_precision(setting, device)
    return setting if resolved == setting else f"{setting} -> {resolved}"


def n_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def prepare(threads: int | None, device_name: str) -> tuple[torch.device, str]:
    """What every throughput bench does first: pin the threads, pay torch._dynamo's import outside
    the timings, and print the versions, the device and the load. Returns the device and its name."""
    if threads:
        torch.set_num_threads(threads)
    device = torch.device(device_name)
    torch.optim.Adam([nn.Parameter(torch.zeros(1))])  # pay torch._dynamo's import outside the timings
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_model()
    print(f"gennet {gennet.__version__}, torch {torch.__version__}, threads {torch.get_num_threads()}")
    print(f"device: {device} ({name}); load average {os.getloadavg()[0]:.2f}")
    return device, name


# ---- the cases ------------------------------------------------------------------------------------
def run_case(name: str, variants: dict[str, Callable[[], dict]], repeats: int) -> dict[str, list[dict]]:
    results: dict[str, list[dict]] = {k: [] for k in variants}
    order = list(variants)
    for r in range(repeats):
        for label in order if r % 2 == 0 else order[::-1]:
            res = variants[label]()
            results[label].append(res)
            print(
                f"  [{name}] repeat {r + 1}/{repeats}  {label:<34} {res['steps_per_s']:8.1f} steps/s"
                f"  ({res['timed_steps']} timed steps in {res['timed_s']:.2f} s)",
                flush=True,
            )
    return results


def summarise(case: str, results: dict[str, list[dict]], plain_key: str) -> list[dict]:
    plain = [r["steps_per_s"] for r in results[plain_key]]
    base = statistics.median(plain)
    rows = []
    for label, runs in results.items():
        rates = [r["steps_per_s"] for r in runs]
        med = statistics.median(rates)
        # each repeat's run against the plain run of the same repeat (close in time, so a burst of
        # load from other processes hits both more evenly than it hits the medians)
        paired = statistics.median(a / b for a, b in zip(rates, plain, strict=True))
        fixed = [r["fixed_cost_s"] for r in runs if "fixed_cost_s" in r]
        rows.append(
            {
                "case": case,
                "variant": label,
                "median_steps_per_s": med,
                "min_steps_per_s": min(rates),
                "max_steps_per_s": max(rates),
                "ratio_vs_plain_fp32": med / base,
                "paired_ratio_median": paired,
                "fixed_cost_s": statistics.median(fixed) if fixed else None,
                "runs": runs,
            }
        )
    return rows
