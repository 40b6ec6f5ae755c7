"""StyleGAN training throughput: gennet's generic Trainer vs a plain hand-written PyTorch loop of the
same networks.

    python bench/stylegan_throughput.py [--steps N] [--repeats R] [--threads T] [--device cpu|cuda]

Both sides train gennet's own StyleGAN networks (nn/stylegan.py: the mapping network, synthesis
network and discriminator) at the widths of configs/stylegan-mnist-cpu.yaml, on the embedded MNIST
padded to 32x32, at the final resolution (no growing: the plain loop would have nothing to compare),
batch 64, fp32. Per step both sides do what the authors' loop does: a D update (logistic loss on a
real batch and on fakes from fresh styles with style mixing 0.9, R1 on the reals in the same step),
a G update through D (D's weights not differentiated), w_avg tracking, and an EMA of G (10 kimg
half-life). The ratio is gennet / plain (target >= 1.0); the timing rules are bench/throughput.py's.
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from functools import partial
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import Sides, n_params, prepare, rate_from_marks, run_case, summarise, time_gennet  # noqa: E402

from gennet.api import build_model  # noqa: E402
from gennet.data import load_dataset  # noqa: E402
from gennet.nn.stylegan import MappingNetwork, StyleDiscriminator, SynthesisNetwork  # noqa: E402

BATCH, Z, W, SIDE = 64, 128, 128, 32
WIDTHS = {"fmap_base": 512, "fmap_max": 64}
GAMMA, MIXING, W_AVG_BETA = 0.01, 0.9, 0.995
EMA_BETA = 0.5 ** (BATCH / 10_000)
STEPS = 60  # default steps a run
SETTINGS = {"latent_dim": Z, "w_dim": W, **WIDTHS, "start_resolution": SIDE, "r1_gamma": GAMMA, "r1_every": 1}


def _batches(x: torch.Tensor, device: torch.device):
    loader = DataLoader(TensorDataset(x), batch_size=BATCH, shuffle=True, drop_last=True)
    while True:
        for (b,) in loader:
            yield b.to(device)


def plain_networks() -> tuple[MappingNetwork, SynthesisNetwork, StyleDiscriminator]:
    """The plain loop's networks: gennet's own StyleGAN networks at the widths of SETTINGS."""
    return (
        MappingNetwork(Z, W, num_layers=8, hidden=W, lr_mul=0.01),
        SynthesisNetwork(W, SIDE, 1, **WIDTHS),
        StyleDiscriminator(SIDE, 1, **WIDTHS),
    )


def plain_stylegan(x: torch.Tensor, steps: int, log_every: int, device: torch.device) -> dict:
    """x: (N, 1, 32, 32) float in [-1, 1] (padded digits)."""
    torch.manual_seed(0)
    M, S, D = (net.to(device) for net in plain_networks())
    g_params = [*M.parameters(), *S.parameters()]
    opt_g = torch.optim.Adam(g_params, 1e-3, betas=(0.0, 0.99))
    opt_d = torch.optim.Adam(D.parameters(), 1e-3, betas=(0.0, 0.99))
    ema = copy.deepcopy(nn.ModuleList([M, S])).requires_grad_(False)
    w_avg = torch.zeros(W, device=device)
    idx = torch.arange(S.num_ws, device=device).view(1, -1, 1)

    def styles() -> torch.Tensor:
        w = M(torch.randn(BATCH, Z, device=device))
        with torch.no_grad():
            w_avg.lerp_(w.detach().mean(0), 1 - W_AVG_BETA)
        ws = w[:, None].expand(-1, S.num_ws, -1)
        if float(torch.rand(())) < MIXING:
            cutoff = int(torch.randint(1, S.num_ws, ()))
            ws = torch.where(idx < cutoff, ws, M(torch.randn(BATCH, Z, device=device))[:, None])
        return ws

    marks, batches = [], _batches(x, device)
    for step in range(1, steps + 1):
        real = next(batches).requires_grad_(True)
        with torch.no_grad():
            fake = S(styles())
        s_real, s_fake = D(real), D(fake)
        (grad,) = torch.autograd.grad(s_real.sum(), real, create_graph=True)
        r1 = grad.pow(2).flatten(1).sum(1).mean()
        loss_d = F.softplus(s_fake).mean() + F.softplus(-s_real).mean() + GAMMA / 2 * r1
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        D.requires_grad_(False)
        loss_g = F.softplus(-D(S(styles()))).mean()
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        D.requires_grad_(True)
        with torch.no_grad():
            torch._foreach_lerp_(list(ema.parameters()), g_params, 1 - EMA_BETA)
        loss_d.item(), loss_g.item()
        if step % log_every == 0 or step == steps:
            if device.type == "cuda":
                torch.cuda.synchronize()
            marks.append((step, time.perf_counter()))
    rate, n, secs = rate_from_marks(marks)
    return {"steps_per_s": rate, "timed_steps": n, "timed_s": secs}


def plain_params() -> int:
    return sum(n_params(net) for net in plain_networks())


def stylegan_sides(data, device: torch.device) -> Sides:
    """gennet's `stylegan` at SETTINGS and the plain loop of the same networks, on `data` (MNIST)."""
    x = F.pad(data.images.float().div(255.0) * 2 - 1, (2, 2, 2, 2), value=-1.0)
    return Sides(
        gennet=lambda steps, le, **kw: time_gennet(
            "stylegan", data, steps, le, device, BATCH, **{**SETTINGS, **kw}
        ),
        plain=lambda steps, le: plain_stylegan(x, steps, le, device),
        params=(n_params(build_model("stylegan", data.spec, SETTINGS)), plain_params()),
        batch=BATCH,
        steps=STEPS,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=STEPS)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    device, name = prepare(args.threads, args.device)
    data = load_dataset("mnist", split="train")
    sides = stylegan_sides(data, device)
    print(f"parameters gennet {sides.params[0]:,} / plain {sides.params[1]:,}; {args.steps} steps a run")
    assert sides.params[0] == sides.params[1], "parameter counts differ"
    le = max(1, args.steps // 10)
    variants = {
        "gennet fp32": partial(sides.gennet, args.steps, le),
        "plain fp32": partial(sides.plain, args.steps, le),
    }
    rows = summarise("stylegan", run_case("stylegan", variants, args.repeats), "plain fp32")
    print("\n| variant | median steps/s | min-max | ratio vs plain | median paired ratio |")
    print("|---|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['variant']} | {r['median_steps_per_s']:.2f} | {r['min_steps_per_s']:.2f}-"
            f"{r['max_steps_per_s']:.2f} | {r['ratio_vs_plain_fp32']:.3f} | {r['paired_ratio_median']:.3f} |"
        )
    ratio = rows[0]["ratio_vs_plain_fp32"]
    print(f"stylegan: gennet / plain = {ratio:.3f}; target >= 1.0: {'met' if ratio >= 1.0 else 'NOT met'}")


if __name__ == "__main__":
    main()
