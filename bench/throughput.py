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
import os
import platform
import textwrap
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import torch
import torch.nn.functional as F
from timing import BATCH, Sides, cpu_model, n_params, rate_from_marks, run_case, summarise, time_gennet
from torch import Tensor, nn
from torch.utils.data import DataLoader, TensorDataset

import gennet
from gennet.api import build_model
from gennet.config import write_json
from gennet.data import load_dataset

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


# ---- the plain loop -------------------------------------------------------------------------------
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


def vae_sides(data, x_float: Tensor) -> Sides:
    """gennet's `vae` (MLP 784-400-20) and the PyTorch examples' VAE in its plain loop."""
    return Sides(
        gennet=partial(time_gennet, "vae", data),
        plain=partial(time_plain, PlainVAE, plain_vae_loss, x_float),
        params=(n_params(build_model("vae", data.spec)), n_params(PlainVAE())),
        batch=BATCH,
        steps=1000,
    )


def conv_ae_sides(data, x_float: Tensor) -> Sides:
    """gennet's `ae` with arch=conv and the same layers written out by hand in the plain loop."""
    return Sides(
        gennet=partial(time_gennet, "ae", data, arch="conv"),
        plain=partial(time_plain, PlainConvAE, plain_ae_loss, x_float),
        params=(n_params(build_model("ae", data.spec, {"arch": "conv"})), n_params(PlainConvAE())),
        batch=BATCH,
        steps=300,
    )


def _case(case: str, label: str, sides: Sides, args, params: dict, extra: dict) -> list[dict]:
    """One case: gennet fp32, the plain loop, then `extra` gennet variants (name -> settings) and
    the in-memory diagnostic loop, alternating over the repeats."""
    steps = args.steps or sides.steps
    le = max(1, steps // 10)
    params[case] = {"gennet": sides.params[0], "plain": sides.params[1]}
    print(
        f"\n{label}: parameters gennet {sides.params[0]:,} / plain {sides.params[1]:,}; "
        f"{steps} steps per run, first {le} untimed"
    )
    assert sides.params[0] == sides.params[1], "parameter counts differ"
    variants = {
        "gennet fp32": lambda: sides.gennet(steps, le),
        "plain fp32 (DataLoader)": lambda: sides.plain(steps, le),
    }
    for name, settings in extra.items():
        variants[name] = partial(sides.gennet, steps, le, **settings)
    if not args.no_diagnostic:
        variants["plain fp32 (in-memory, diagnostic)"] = lambda: sides.plain(steps, le, in_memory=True)
    return run_case(case, variants, args.repeats)


def _header(threads_wanted: int | None) -> tuple[str, int, float]:
    """Pin the threads, pay torch._dynamo's import, print versions, CPU and load -> (cpu, threads, load)."""
    if threads_wanted:
        torch.set_num_threads(threads_wanted)
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
    return cpu, threads, load_before[0]


def _report(all_rows: list[dict], cpu: str, threads: int, repeats: int, load_before: float) -> float:
    """Print the table, the note and each case's verdict -> the load average after."""
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
    print("\n" + textwrap.fill(NOTE.format(repeats=repeats), width=100))
    load_after = os.getloadavg()[0]
    print(f"\nload average before/after: {load_before:.2f} / {load_after:.2f} (1 min)")
    for case in dict.fromkeys(r["case"] for r in all_rows):
        g = next(r for r in all_rows if r["case"] == case and r["variant"] == "gennet fp32")
        verdict = "met" if g["ratio_vs_plain_fp32"] >= 1.0 else "NOT met"
        print(
            f"{case}: gennet fp32 / plain fp32 = {g['ratio_vs_plain_fp32']:.3f} (ratio of medians; "
            f"median paired ratio {g['paired_ratio_median']:.3f}); target >= 1.0: {verdict}"
        )
    return load_after


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
    cpu, threads, load_before = _header(args.threads)

    data = load_dataset("mnist", split="train")
    x_float = data.images.float().div(255.0)  # what the plain loop trains on, converted once
    print(f"data: embedded MNIST train split, {tuple(data.images.shape)} {data.images.dtype}; batch {BATCH}")

    all_rows: list[dict] = []
    params: dict[str, dict[str, int]] = {}
    if "vae" in cases:
        extra = {"gennet bf16": {"precision": "bf16"}}
        results = _case("vae", "MLP VAE 784-400-20", vae_sides(data, x_float), args, params, extra)
        all_rows += summarise("mlp-vae", results, "plain fp32 (DataLoader)")
    if "conv-ae" in cases:
        extra = {
            "gennet channels_last": {"channels_last": True},
            "gennet bf16": {"precision": "bf16"},
            "gennet channels_last + bf16": {"channels_last": True, "precision": "bf16"},
        }
        sides = conv_ae_sides(data, x_float)
        results = _case("conv-ae", "conv AE (32, 64), latent 32", sides, args, params, extra)
        all_rows += summarise("conv-ae", results, "plain fp32 (DataLoader)")

    load_after = _report(all_rows, cpu, threads, args.repeats, load_before)
    if args.json:
        out = {
            "gennet_version": gennet.__version__,
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "cpu": cpu,
            "loadavg_before_after": [load_before, load_after],
            "batch_size": BATCH,
            "repeats": args.repeats,
            "parameters": params,
            "rows": all_rows,
        }
        write_json(args.json, out)
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
