"""Training throughput: gennet's generic Trainer vs a plain hand-written PyTorch loop.

    python bench/throughput.py [--steps N] [--repeats R] [--threads T] [--json OUT]

Both sides train the same network (same layer shapes, same default initialisation, same
Adam lr=1e-3, batch 128) on the embedded MNIST train split (9000 images) on the CPU, in one
process, alternately (gennet, plain, ..., then the reverse order on the next repeat), and the
median steps/s of each is reported with the ratio gennet / plain (target >= 1.0).

Timing (the same rule on both sides): steps are timed in intervals of `log_every` steps and the
first interval is dropped as warm-up; the rate is (steps after the first interval) / (their
wall time). For gennet the intervals are the trainer's own `steps_per_s` rows in metrics.jsonl:
each row is written before the trainer's end-of-run preview grid and checkpoint, so set-up,
the final preview, checkpoint and safetensors writes are NOT in the rate (they are reported
separately as "fixed cost"). The trainer's per-interval metrics.jsonl write IS in the rate, as
the plain loop's per-step `loss.item()` (as in the PyTorch examples) is in its rate.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import DataLoader, TensorDataset

import gennet
from gennet.api import build_model, resolve_config
from gennet.data import load_dataset
from gennet.train import Trainer

BATCH = 128
CPU = torch.device("cpu")

NOTE = (
    "Median of {repeats} alternating runs each; 'median paired ratio' is the median over repeats of "
    "(this run / the plain run of the same repeat). Rate = steps after the first tenth of each run / "
    "their wall time (the first tenth is warm-up, untimed, on both sides). gennet's rate comes from the "
    "trainer's own metrics.jsonl steps_per_s rows, which end before the end-of-run preview grid, "
    "checkpoint and safetensors writes; 'fixed cost' is the rest of Trainer(...).fit() (set-up + those "
    "final writes), charged to neither side. The plain loop is DataLoader(TensorDataset(float images), "
    "batch_size=128, shuffle=True, drop_last=True) -> forward -> loss -> zero_grad -> backward -> step "
    "-> loss.item(). The diagnostic row is the same plain loop fed by index ops on one tensor (like "
    "gennet's InMemoryLoader), to separate the loader's share from the trainer's per-step overhead."
)


# ---- the plain networks, written out as a user following the PyTorch examples would ----------
class PlainVAE(nn.Module):
    """pytorch/examples vae/main.py, verbatim in structure."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, 20)
        self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, 784)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std)
        return mu + eps * std

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, 784))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


def plain_vae_loss(net: PlainVAE, x: Tensor) -> Tensor:
    recon_x, mu, logvar = net(x)
    bce = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


class PlainConvAE(nn.Module):
    """The layers of gennet's ConvEncoder/ConvDecoder for conv_channels (32, 64), latent 32."""

    def __init__(self, latent: int = 32):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 32, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(32, 64, 4, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(64),
            nn.LeakyReLU(0.2),
            nn.Flatten(),
            nn.Linear(64 * 7 * 7, latent),
        )
        self.fc = nn.Sequential(nn.Linear(latent, 64 * 7 * 7), nn.ReLU())
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(32),
            nn.ReLU(),
            nn.ConvTranspose2d(32, 1, 4, stride=2, padding=1),
        )

    def forward(self, x):
        return self.decoder(self.fc(self.encoder(x)).view(-1, 64, 7, 7))


def plain_ae_loss(net: PlainConvAE, x: Tensor) -> Tensor:
    # gennet's "bce": per-image sum over pixels, mean over the batch
    return F.binary_cross_entropy_with_logits(net(x), x, reduction="sum") / x.shape[0]


# ---- timing -------------------------------------------------------------------------------------
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
    `settings` are any train or model settings. Shared by the GAN and CycleGAN throughput benches.
    Precision is fp32 unless `settings` names one (the default, auto, is bf16 on a CPU with native bf16)."""
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
    }


def time_plain(
    make_net: Callable[[], nn.Module],
    loss_fn: Callable[[nn.Module, Tensor], Tensor],
    x_float: Tensor,
    steps: int,
    log_every: int,
    in_memory: bool = False,
) -> dict:
    """A plain loop; with in_memory=True batches are index ops on one tensor (diagnostic only)."""
    torch.manual_seed(0)
    net = make_net()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    net.train()

    if in_memory:

        def epochs():
            while True:
                perm = torch.randperm(len(x_float))
                for i in range(len(x_float) // BATCH):
                    yield (x_float[perm[i * BATCH : (i + 1) * BATCH]],)
    else:
        loader = DataLoader(TensorDataset(x_float), batch_size=BATCH, shuffle=True, drop_last=True)

        def epochs():
            while True:
                yield from loader

    step, train_loss, marks = 0, 0.0, []
    t0 = time.perf_counter()
    for (x,) in epochs():
        loss = loss_fn(net, x)
        opt.zero_grad()
        loss.backward()
        opt.step()
        train_loss += loss.item()
        step += 1
        if step % log_every == 0 or step == steps:
            marks.append((step, time.perf_counter()))
        if step == steps:
            break
    rate, n, secs = rate_from_marks(marks)
    return {
        "steps_per_s": rate,
        "timed_steps": n,
        "timed_s": secs,
        "fit_total_s": time.perf_counter() - t0,
        "final_loss": loss.item(),
    }


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=None, help="steps per run (default 1000 VAE, 300 conv AE)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", type=Path, default=None, help="write all figures here")
    ap.add_argument("--cases", default="vae,conv-ae", help="comma list of: vae, conv-ae")
    ap.add_argument(
        "--threads", type=int, default=None, help="torch.set_num_threads(N) first (default: torch's choice)"
    )
    ap.add_argument(
        "--no-diagnostic", action="store_true", help="skip the plain loop with in-memory index batches"
    )
    args = ap.parse_args()
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    if args.threads:
        torch.set_num_threads(args.threads)
    # The first torch.optim.Adam(...) of a process imports torch._dynamo (~2 s); do it here so
    # that no timed run, nor the first run's "fixed cost", pays for it.
    torch.optim.Adam([nn.Parameter(torch.zeros(1))])

    cpu = cpu_model()
    threads = torch.get_num_threads()
    print(f"gennet {gennet.__version__}, torch {torch.__version__}, torch.get_num_threads()={threads}")
    print(f"CPU: {cpu} ({os.cpu_count()} logical CPUs); python {platform.python_version()}")
    load_before = os.getloadavg()
    print(f"load average before: {load_before[0]:.2f} (1 min); other busy processes skew the figures")
    if threads > 1 and load_before[0] > (os.cpu_count() or 1) - threads + 0.5:
        print(
            "warning: other processes are busy on these cores; torch's intra-op threads then contend "
            "with them and single runs slow down many times over (try --threads 1 and more --repeats)"
        )

    data = load_dataset("mnist", split="train")
    x_float = data.images.float().div(255.0)  # what the plain loop trains on, converted once
    print(f"data: embedded MNIST train split, {tuple(data.images.shape)} {data.images.dtype}; batch {BATCH}")

    all_rows: list[dict] = []
    params: dict[str, dict[str, int]] = {}

    if "vae" in cases:
        steps = args.steps or 1000
        le = max(1, steps // 10)
        g = build_model("vae", data.spec)
        params["vae"] = {"gennet": n_params(g), "plain": n_params(PlainVAE())}
        print(
            f"\nMLP VAE 784-400-20: parameters gennet {params['vae']['gennet']:,} / plain "
            f"{params['vae']['plain']:,}; {steps} steps per run, first {le} untimed"
        )
        assert params["vae"]["gennet"] == params["vae"]["plain"], "parameter counts differ"
        variants = {
            "gennet fp32": lambda: time_gennet("vae", data, steps, le),
            "plain fp32 (DataLoader)": lambda: time_plain(PlainVAE, plain_vae_loss, x_float, steps, le),
            "gennet bf16": lambda: time_gennet("vae", data, steps, le, precision="bf16"),
        }
        if not args.no_diagnostic:
            variants["plain fp32 (in-memory, diagnostic)"] = lambda: time_plain(
                PlainVAE, plain_vae_loss, x_float, steps, le, in_memory=True
            )
        all_rows += summarise("mlp-vae", run_case("vae", variants, args.repeats), "plain fp32 (DataLoader)")

    if "conv-ae" in cases:
        steps = args.steps or 300
        le = max(1, steps // 10)
        g = build_model("ae", data.spec, {"arch": "conv"})
        params["conv-ae"] = {"gennet": n_params(g), "plain": n_params(PlainConvAE())}
        print(
            f"\nconv AE (32, 64), latent 32: parameters gennet {params['conv-ae']['gennet']:,} / plain "
            f"{params['conv-ae']['plain']:,}; {steps} steps per run, first {le} untimed"
        )
        assert params["conv-ae"]["gennet"] == params["conv-ae"]["plain"], "parameter counts differ"
        conv = {"arch": "conv"}
        variants = {
            "gennet fp32": lambda: time_gennet("ae", data, steps, le, **conv),
            "plain fp32 (DataLoader)": lambda: time_plain(PlainConvAE, plain_ae_loss, x_float, steps, le),
            "gennet channels_last": lambda: time_gennet("ae", data, steps, le, channels_last=True, **conv),
            "gennet bf16": lambda: time_gennet("ae", data, steps, le, precision="bf16", **conv),
            "gennet channels_last + bf16": lambda: time_gennet(
                "ae", data, steps, le, channels_last=True, precision="bf16", **conv
            ),
        }
        if not args.no_diagnostic:
            variants["plain fp32 (in-memory, diagnostic)"] = lambda: time_plain(
                PlainConvAE, plain_ae_loss, x_float, steps, le, in_memory=True
            )
        results = run_case("conv-ae", variants, args.repeats)
        all_rows += summarise("conv-ae", results, "plain fp32 (DataLoader)")

    print(f"\n### Training throughput, CPU ({cpu}, {threads} threads, torch {torch.__version__})\n")
    print(
        "| case | variant | median steps/s | min-max | ratio vs plain fp32 | median paired ratio "
        "| fixed cost (s) |"
    )
    print("|---|---|---:|---:|---:|---:|---:|")
    for r in all_rows:
        fixed = f"{r['fixed_cost_s']:.2f}" if r["fixed_cost_s"] is not None else "-"
        print(
            f"| {r['case']} | {r['variant']} | {r['median_steps_per_s']:.1f} | "
            f"{r['min_steps_per_s']:.1f}-{r['max_steps_per_s']:.1f} | "
            f"{r['ratio_vs_plain_fp32']:.3f} | {r['paired_ratio_median']:.3f} | {fixed} |"
        )
    print("\n" + textwrap.fill(NOTE.format(repeats=args.repeats), width=100))
    load_after = os.getloadavg()
    print(f"\nload average before/after: {load_before[0]:.2f} / {load_after[0]:.2f} (1 min)")
    for case in dict.fromkeys(r["case"] for r in all_rows):
        g = next(r for r in all_rows if r["case"] == case and r["variant"] == "gennet fp32")
        verdict = "met" if g["ratio_vs_plain_fp32"] >= 1.0 else "NOT met"
        print(
            f"{case}: gennet fp32 / plain fp32 = {g['ratio_vs_plain_fp32']:.3f} (ratio of medians; "
            f"median paired ratio {g['paired_ratio_median']:.3f}); target >= 1.0: {verdict}"
        )
    if args.json:
        out = {
            "gennet_version": gennet.__version__,
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "cpu": cpu,
            "loadavg_before_after": [load_before[0], load_after[0]],
            "batch_size": BATCH,
            "repeats": args.repeats,
            "parameters": params,
            "rows": all_rows,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=2) + "\n")
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
