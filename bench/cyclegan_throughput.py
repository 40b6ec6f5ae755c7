"""CycleGAN training throughput: gennet's generic Trainer vs a plain hand-written PyTorch loop.

    python bench/cyclegan_throughput.py [--steps N] [--repeats R] [--batch B] [--base C]
                                        [--blocks K] [--threads T] [--json OUT]

Both sides train the same four networks (gennet.nn.image_to_image's ResnetGenerator x2 and
PatchDiscriminator x2, same sizes, same N(0, 0.02) initialisation after torch.manual_seed(0))
at 28x28 on the built-in `mnist-thick` pair, with the same update: LSGAN, cycle (lambda 10) and
identity (0.5 lambda) losses, random horizontal flips, a 50-image history pool per
discriminator, Adam(2e-4, 0.5, 0.999) with the constant-then-linear-decay schedule, the
generator pair then the discriminator pair. The plain side is written the way the reference
CycleGAN code does it (its `optimize_parameters`): two DataLoaders (A and B, shuffled,
drop_last), discriminators' requires_grad switched off for the generator step, a Python-list
image pool, `loss.item()` logged every step.

Timing is bench/throughput.py's rule: runs alternate (gennet, plain, then plain, gennet, ...),
steps are timed in intervals of N/10, the first interval is warm-up and untimed on both sides;
gennet's intervals come from its own metrics.jsonl rows. The ratio gennet / plain is printed
(target >= 1.0). Other processes on the same cores lower both sides' figures and add noise.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import Sides, cpu_model, n_params, rate_from_marks  # noqa: E402
from timing import time_gennet as shared_time_gennet  # noqa: E402

import gennet  # noqa: E402
from gennet.api import build_model  # noqa: E402
from gennet.config import write_json  # noqa: E402
from gennet.data import load_dataset  # noqa: E402
from gennet.nn.image_to_image import PatchDiscriminator, ResnetGenerator  # noqa: E402
from gennet.nn.init import init_normal  # noqa: E402

CPU = torch.device("cpu")
BATCH, BASE, BLOCKS, STEPS = 8, 16, 3, 150  # the defaults of the command line


class PlainPool:
    """The reference code's ImagePool: a Python list of up to `size` images."""

    def __init__(self, size: int):
        self.size, self.images = size, []

    def query(self, images):
        out = []
        for image in images:
            image = image.unsqueeze(0)
            if len(self.images) < self.size:
                self.images.append(image)
                out.append(image)
            elif random.uniform(0, 1) > 0.5:
                i = random.randint(0, self.size - 1)
                out.append(self.images[i].clone())
                self.images[i] = image
            else:
                out.append(image)
        return torch.cat(out, 0)


def flip(x):
    mask = (torch.rand(len(x)) < 0.5).view(-1, 1, 1, 1)
    return torch.where(mask, x.flip(-1), x)


def plain_nets(c: int, base: int, blocks: int) -> tuple[nn.Module, nn.Module, nn.Module, nn.Module]:
    """The four networks, N(0, 0.02): generators A->B and B->A, discriminators of A and of B."""
    G, Fn = ResnetGenerator(c, c, base, blocks), ResnetGenerator(c, c, base, blocks)
    D_X, D_Y = PatchDiscriminator(c, base, 1), PatchDiscriminator(c, base, 1)
    for net in (G, Fn, D_X, D_Y):
        init_normal(net)
    return G, Fn, D_X, D_Y


def time_plain(a, b, steps: int, log_every: int, batch: int, base: int, blocks: int) -> dict:
    torch.manual_seed(0)
    G, Fn, D_X, D_Y = plain_nets(a.shape[1], base, blocks)
    opt_g = torch.optim.Adam([*G.parameters(), *Fn.parameters()], lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam([*D_X.parameters(), *D_Y.parameters()], lr=2e-4, betas=(0.5, 0.999))
    n_decay = steps // 2

    def rule(s):
        return 1.0 - max(0, s - (steps - n_decay) + 1) / float(n_decay + 1)

    scheds = [torch.optim.lr_scheduler.LambdaLR(o, rule) for o in (opt_g, opt_d)]
    pool_a, pool_b = PlainPool(50), PlainPool(50)
    la = DataLoader(TensorDataset(a), batch_size=batch, shuffle=True, drop_last=True)
    lb = DataLoader(TensorDataset(b), batch_size=batch, shuffle=True, drop_last=True)

    def forever(loader):
        while True:
            yield from loader

    mse = nn.MSELoss()
    step, marks, t0 = 0, [], time.perf_counter()
    for (ra,), (rb,) in zip(forever(la), forever(lb), strict=False):
        real_a, real_b = flip(ra * 2 - 1), flip(rb * 2 - 1)
        # G and F
        for p in [*D_X.parameters(), *D_Y.parameters()]:
            p.requires_grad_(False)
        opt_g.zero_grad()
        fake_b, fake_a = G(real_a), Fn(real_b)
        pb, pa = D_Y(fake_b), D_X(fake_a)
        loss_g = (
            0.5 * mse(pb, torch.ones_like(pb))
            + 0.5 * mse(pa, torch.ones_like(pa))
            + 10 * (F.l1_loss(Fn(fake_b), real_a) + F.l1_loss(G(fake_a), real_b))
            + 5 * (F.l1_loss(G(real_b), real_b) + F.l1_loss(Fn(real_a), real_a))
        )
        loss_g.backward()
        opt_g.step()
        # D_X and D_Y, on the same real batch (the reference code's way; gennet's trainer draws a
        # fresh batch for each phase, which costs it one more index op and flip per step)
        for p in [*D_X.parameters(), *D_Y.parameters()]:
            p.requires_grad_(True)
        opt_d.zero_grad()
        fb, fa = pool_b.query(fake_b.detach()), pool_a.query(fake_a.detach())
        rY, fY, rX, fX = D_Y(real_b), D_Y(fb), D_X(real_a), D_X(fa)
        loss_d = 0.5 * (mse(rY, torch.ones_like(rY)) + mse(fY, torch.zeros_like(fY)))
        loss_d = loss_d + 0.5 * (mse(rX, torch.ones_like(rX)) + mse(fX, torch.zeros_like(fX)))
        loss_d.backward()
        opt_d.step()
        for s in scheds:
            s.step()
        loss_g.item(), loss_d.item()
        step += 1
        if step % log_every == 0 or step == steps:
            marks.append((step, time.perf_counter()))
        if step == steps:
            break
    rate, n, secs = rate_from_marks(marks)
    return {"steps_per_s": rate, "timed_steps": n, "timed_s": secs, "fit_total_s": time.perf_counter() - t0}


def time_plain_total(a, b, steps: int, **kw) -> None:
    time_plain(a, b, steps=steps, **{**kw, "log_every": 1})


def time_gennet_total(data, steps: int, **kw) -> None:
    time_gennet(data, steps=steps, **{**kw, "log_every": max(1, steps // 2)})


def time_gennet(data, steps: int, log_every: int, batch: int, base: int, blocks: int, **settings) -> dict:
    """Precision fp32 unless `settings` names one (None: gennet's default); see timing.time_gennet."""
    return shared_time_gennet(
        "cyclegan",
        data,
        steps,
        log_every,
        CPU,
        batch,
        data="mnist-thick",
        base_channels=base,
        n_blocks=blocks,
        load_scale=1.0,  # the plain loop flips but does not crop
        **settings,
    )


def cyclegan_sides(data, batch: int = BATCH, base: int = BASE, blocks: int = BLOCKS) -> Sides:
    """gennet's `cyclegan` and the plain loop on `data` (the mnist-thick pair), the same four networks."""
    a, b = data.images.float().div(255), data.b.images.float().div(255)
    kw = {"batch": batch, "base": base, "blocks": blocks}
    net = build_model("cyclegan", data.spec, {"base_channels": base, "n_blocks": blocks})
    return Sides(
        gennet=lambda steps, le, **settings: time_gennet(data, steps, le, **kw, **settings),
        plain=lambda steps, le: time_plain(a, b, steps, le, **kw),
        params=(n_params(net), sum(n_params(m) for m in plain_nets(a.shape[1], base, blocks))),
        batch=batch,
        steps=STEPS,
    )


def cpu_rate(fn, steps: int) -> dict:
    """Steps per CPU-second of this process: (process time of a 2N-step run - that of an N-step run)
    / N, so set-up and end-of-run costs cancel, and other processes' load mostly does too."""
    t = []
    for n in (steps, 2 * steps):
        t0 = time.process_time()
        fn(n)
        t.append(time.process_time() - t0)
    return {"steps_per_s": steps / (t[1] - t[0]), "timed_steps": steps, "timed_s": t[1] - t[0]}


def _variants(args, data, a, b, le: int) -> dict:
    """gennet and plain runs of `args.steps` steps (or, with --cpu-time, their CPU-time rates)."""
    kw = dict(steps=args.steps, log_every=le, batch=args.batch, base=args.base, blocks=args.blocks)
    variants = {"gennet": lambda: time_gennet(data, **kw), "plain": lambda: time_plain(a, b, **kw)}
    if args.cpu_time:
        kw.pop("steps")
        kw["log_every"] = 10**9
        variants = {
            "gennet": lambda: cpu_rate(lambda n: time_gennet_total(data, steps=n, **kw), args.steps),
            "plain": lambda: cpu_rate(lambda n: time_plain_total(a, b, steps=n, **kw), args.steps),
        }
        print("timing: steps per CPU-second of this process (--cpu-time)")
    else:
        # The first run of a process pays one-off costs (allocator growth, lazy initialisation) that
        # would land on whichever side runs first: one short untimed run of each side first.
        wk = {**kw, "steps": 20, "log_every": 5}
        time_gennet(data, **wk), time_plain(a, b, **wk)
    return variants


def _report(results: dict[str, list[dict]], args) -> None:
    med = {k: statistics.median(x["steps_per_s"] for x in v) for k, v in results.items()}
    paired = statistics.median(
        g["steps_per_s"] / p["steps_per_s"] for g, p in zip(results["gennet"], results["plain"], strict=True)
    )
    ratio = med["gennet"] / med["plain"]
    print(f"\nmedian steps/s: gennet {med['gennet']:.2f}, plain {med['plain']:.2f}")
    print(
        f"ratio gennet / plain = {ratio:.3f} (median paired ratio {paired:.3f}); target >= 1.0: "
        f"{'met' if ratio >= 1.0 else 'NOT met'}"
    )
    print(f"load after {os.getloadavg()[0]:.2f} (other processes on these cores skew the figures)")
    if args.json:
        out = {
            "args": vars(args) | {"json": str(args.json)},
            "results": results,
            "ratio": ratio,
            "paired": paired,
        }
        write_json(args.json, out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=STEPS)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch", type=int, default=BATCH)
    ap.add_argument("--base", type=int, default=BASE)
    ap.add_argument("--blocks", type=int, default=BLOCKS)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument(
        "--cpu-time",
        action="store_true",
        help="rate per CPU-second of this process (N- and 2N-step runs differenced), for busy machines",
    )
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.optim.Adam([nn.Parameter(torch.zeros(1))])  # the one-off torch._dynamo import, untimed
    data = load_dataset("mnist-thick", split="train")
    a, b = data.images.float().div(255), data.b.images.float().div(255)
    le = max(1, args.steps // 10)
    net = build_model("cyclegan", data.spec, {"base_channels": args.base, "n_blocks": args.blocks})
    print(f"gennet {gennet.__version__}, torch {torch.__version__}, {torch.get_num_threads()} thread(s)")
    print(f"CPU: {cpu_model()} ({os.cpu_count()} logical); load before {os.getloadavg()[0]:.2f}")
    print(
        f"cyclegan on mnist-thick 28x28 (A {len(a)}, B {len(b)}), batch {args.batch}, base_channels "
        f"{args.base}, n_blocks {args.blocks}, {sum(p.numel() for p in net.parameters()):,} parameters; "
        f"{args.steps} steps per run, first {le} untimed"
    )
    variants = _variants(args, data, a, b, le)
    results: dict[str, list[dict]] = {k: [] for k in variants}
    for r in range(args.repeats):
        for label in list(variants) if r % 2 == 0 else list(variants)[::-1]:
            res = variants[label]()
            results[label].append(res)
            print(f"  repeat {r + 1}/{args.repeats} {label:<7} {res['steps_per_s']:.2f} steps/s", flush=True)
    _report(results, args)


if __name__ == "__main__":
    main()
