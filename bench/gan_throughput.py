"""GAN training throughput: gennet's generic Trainer vs plain hand-written PyTorch loops.

    python bench/gan_throughput.py [--steps N] [--repeats R] [--threads T] [--device cpu|cuda] [--json OUT]

Cases (embedded MNIST 28x28, batch 64, the same networks on both sides: layer shapes, DCGAN
initialisation, optimizer settings; parameter counts are asserted equal):

- dcgan: gennet `dcgan` vs the loop of pytorch/examples dcgan/main.py (D on real, D on G(z)
  detached, then G through D on the same fake; Adam(2e-4, (0.5, 0.999))).
- wgan-gp: gennet `wgan-gp` (n_critic 5, lambda 10) vs the loop of the reference WGAN-GP PyTorch
  port (5 critic updates on fresh batches with the gradient penalty, then a G update with the
  critic's requires_grad switched off; Adam(1e-4, (0, 0.9))).
- wgan (`--cases wgan`, not run by default): gennet `wgan` (n_critic 5, clip 0.01, batch-norm critic
  without head bias) vs the loop of the reference WGAN code (martinarjovsky/WassersteinGAN: weights
  clamped before each of the 5 critic updates, real and fake scores back-propagated separately, a G
  update with the critic's requires_grad off; RMSprop(5e-5)); the reference's 100 critic updates in
  the first 25 generator steps are left out, as gennet does not do them.
- cgan (`--cases cgan`, not run by default): gennet `cgan` vs the dcgan loop above with the labels
  of each real batch given to G (one-hot appended to z) and to D (projection: <embed(y), pooled
  features> added to the score), as gennet's conditional networks do.

One "step" is one generator update (with its k discriminator updates) on both sides. Runs
alternate (gennet, plain, ..., reversed on the next repeat); the rate is steps after the first
tenth of a run over their wall time, and the ratio is gennet / plain (target >= 1.0).
The timing rules are those of bench/throughput.py (see its docstring).
"""

from __future__ import annotations

import argparse
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
from gennet.config import write_json  # noqa: E402
from gennet.data import load_dataset  # noqa: E402
from gennet.nn.init import init_normal  # noqa: E402

BATCH = 64
NZ = 100
CLASSES = 10
STEPS = {"dcgan": 200, "wgan-gp": 60, "wgan": 100, "cgan": 200}  # default generator steps a run (CPU)


# ---- the plain networks (28x28, base width 64), as a user following the examples writes them ----
def plain_G(nz: int = NZ) -> nn.Module:
    g = nn.Sequential(
        nn.ConvTranspose2d(nz, 128, 7, 1, 0, bias=False),
        nn.BatchNorm2d(128),
        nn.ReLU(True),
        nn.ConvTranspose2d(128, 64, 4, 2, 1, bias=False),
        nn.BatchNorm2d(64),
        nn.ReLU(True),
        nn.ConvTranspose2d(64, 1, 4, 2, 1),
        nn.Tanh(),
    )
    init_normal(g)
    return g


def plain_D(batch_norm: bool = True, head_bias: bool = True) -> nn.Module:
    d = nn.Sequential(
        nn.Conv2d(1, 64, 4, 2, 1),
        nn.LeakyReLU(0.2, True),
        nn.Conv2d(64, 128, 4, 2, 1, bias=not batch_norm),
        nn.BatchNorm2d(128) if batch_norm else nn.Identity(),
        nn.LeakyReLU(0.2, True),
        nn.Conv2d(128, 1, 7, 1, 0, bias=head_bias),
        nn.Flatten(),
    )
    init_normal(d)
    return d


def _batches(x: torch.Tensor, device: torch.device, y: torch.Tensor | None = None):
    """Real batches in [-1, 1]; with labels `y`, (images, labels) pairs."""
    if y is not None:
        loader = DataLoader(TensorDataset(x, y), batch_size=BATCH, shuffle=True, drop_last=True)
        while True:
            for b, labels in loader:
                yield b.to(device, non_blocking=True) * 2 - 1, labels.to(device, non_blocking=True)
    loader = DataLoader(TensorDataset(x), batch_size=BATCH, shuffle=True, drop_last=True)
    while True:
        for (b,) in loader:
            yield b.to(device, non_blocking=True) * 2 - 1


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def plain_dcgan(x: torch.Tensor, steps: int, log_every: int, device: torch.device) -> dict:
    torch.manual_seed(0)
    G, D = plain_G().to(device), plain_D().to(device)
    optG = torch.optim.Adam(G.parameters(), 2e-4, betas=(0.5, 0.999))
    optD = torch.optim.Adam(D.parameters(), 2e-4, betas=(0.5, 0.999))
    bce = nn.BCEWithLogitsLoss()
    marks, batches = [], _batches(x, device)
    for step in range(1, steps + 1):
        real = next(batches)
        ones = torch.ones(BATCH, 1, device=device)
        zeros = torch.zeros(BATCH, 1, device=device)
        D.zero_grad()
        err_real = bce(D(real), ones)
        err_real.backward()
        fake = G(torch.randn(BATCH, NZ, 1, 1, device=device))
        err_fake = bce(D(fake.detach()), zeros)
        err_fake.backward()
        optD.step()
        G.zero_grad()
        err_g = bce(D(fake), ones)
        err_g.backward()
        optG.step()
        (err_real + err_fake).item(), err_g.item()  # the example prints both every step
        if step % log_every == 0 or step == steps:
            _sync(device)
            marks.append((step, time.perf_counter()))
    rate, n, secs = rate_from_marks(marks)
    return {"steps_per_s": rate, "timed_steps": n, "timed_s": secs}


def plain_wgan_gp(x: torch.Tensor, steps: int, log_every: int, device: torch.device) -> dict:
    torch.manual_seed(0)
    G, D = plain_G().to(device), plain_D(batch_norm=False, head_bias=False).to(device)
    optG = torch.optim.Adam(G.parameters(), 1e-4, betas=(0.0, 0.9))
    optD = torch.optim.Adam(D.parameters(), 1e-4, betas=(0.0, 0.9))
    marks, batches = [], _batches(x, device)
    for step in range(1, steps + 1):
        for p in D.parameters():
            p.requires_grad = True
        for _ in range(5):
            real = next(batches)
            D.zero_grad()
            with torch.no_grad():
                fake = G(torch.randn(BATCH, NZ, 1, 1, device=device))
            alpha = torch.rand(BATCH, 1, 1, 1, device=device)
            interp = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
            (grad,) = torch.autograd.grad(D(interp).sum(), interp, create_graph=True)
            gp = (grad.flatten(1).norm(2, dim=1) - 1).pow(2).mean()
            loss_d = D(fake).mean() - D(real).mean() + 10 * gp
            loss_d.backward()
            optD.step()
        for p in D.parameters():
            p.requires_grad = False
        G.zero_grad()
        loss_g = -D(G(torch.randn(BATCH, NZ, 1, 1, device=device))).mean()
        loss_g.backward()
        optG.step()
        loss_d.item(), loss_g.item()
        if step % log_every == 0 or step == steps:
            _sync(device)
            marks.append((step, time.perf_counter()))
    rate, n, secs = rate_from_marks(marks)
    return {"steps_per_s": rate, "timed_steps": n, "timed_s": secs}


class PlainCondG(nn.Module):
    """The dcgan generator fed [z, one_hot(y)] (gennet's conditional DCGANGenerator)."""

    def __init__(self):
        super().__init__()
        self.net = plain_G(NZ + CLASSES)

    def forward(self, z, y):
        return self.net(torch.cat([z, F.one_hot(y, CLASSES).float()], 1)[:, :, None, None])


class PlainProjD(nn.Module):
    """The dcgan discriminator with a projection term <embed(y), sum of the last features>."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 64, 4, 2, 1),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(64, 128, 4, 2, 1, bias=False),
            nn.BatchNorm2d(128),
            nn.LeakyReLU(0.2, True),
        )
        self.head = nn.Conv2d(128, 1, 7, 1, 0)
        self.embed = nn.Embedding(CLASSES, 128)
        init_normal(self)

    def forward(self, x, y):
        h = self.body(x)
        return self.head(h).flatten(1) + (self.embed(y) * h.sum((2, 3))).sum(1, keepdim=True)


def plain_cgan(x: torch.Tensor, y: torch.Tensor, steps: int, log_every: int, device: torch.device) -> dict:
    """plain_dcgan's loop with each real batch's labels given to G and D."""
    torch.manual_seed(0)
    G, D = PlainCondG().to(device), PlainProjD().to(device)
    optG = torch.optim.Adam(G.parameters(), 2e-4, betas=(0.5, 0.999))
    optD = torch.optim.Adam(D.parameters(), 2e-4, betas=(0.5, 0.999))
    bce = nn.BCEWithLogitsLoss()
    marks, batches = [], _batches(x, device, y)
    for step in range(1, steps + 1):
        real, labels = next(batches)
        ones = torch.ones(BATCH, 1, device=device)
        zeros = torch.zeros(BATCH, 1, device=device)
        D.zero_grad()
        err_real = bce(D(real, labels), ones)
        err_real.backward()
        fake = G(torch.randn(BATCH, NZ, device=device), labels)
        err_fake = bce(D(fake.detach(), labels), zeros)
        err_fake.backward()
        optD.step()
        G.zero_grad()
        err_g = bce(D(fake, labels), ones)
        err_g.backward()
        optG.step()
        (err_real + err_fake).item(), err_g.item()
        if step % log_every == 0 or step == steps:
            _sync(device)
            marks.append((step, time.perf_counter()))
    rate, n, secs = rate_from_marks(marks)
    return {"steps_per_s": rate, "timed_steps": n, "timed_s": secs}


def plain_wgan(x: torch.Tensor, steps: int, log_every: int, device: torch.device) -> dict:
    torch.manual_seed(0)
    G, D = plain_G().to(device), plain_D(head_bias=False).to(device)
    optG = torch.optim.RMSprop(G.parameters(), lr=5e-5)
    optD = torch.optim.RMSprop(D.parameters(), lr=5e-5)
    marks, batches = [], _batches(x, device)
    for step in range(1, steps + 1):
        for p in D.parameters():
            p.requires_grad = True
        for _ in range(5):
            with torch.no_grad():
                for p in D.parameters():
                    p.clamp_(-0.01, 0.01)
            real = next(batches)
            D.zero_grad()
            err_real = D(real).mean()
            err_real.neg().backward()
            with torch.no_grad():
                fake = G(torch.randn(BATCH, NZ, 1, 1, device=device))
            err_fake = D(fake).mean()
            err_fake.backward()
            optD.step()
        for p in D.parameters():
            p.requires_grad = False
        G.zero_grad()
        err_g = -D(G(torch.randn(BATCH, NZ, 1, 1, device=device))).mean()
        err_g.backward()
        optG.step()
        (err_fake - err_real).item(), err_g.item()
        if step % log_every == 0 or step == steps:
            _sync(device)
            marks.append((step, time.perf_counter()))
    rate, n, secs = rate_from_marks(marks)
    return {"steps_per_s": rate, "timed_steps": n, "timed_s": secs}


def gan_sides(case: str, data, device: torch.device) -> Sides:
    """`case` (dcgan, wgan-gp, wgan or cgan) through gennet and in its plain loop, on `data` (MNIST)."""
    x = data.images.float().div(255.0)
    if case == "cgan":
        plain = partial(plain_cgan, x, data.labels)
        plain_params = n_params(PlainCondG()) + n_params(PlainProjD())
    else:
        loops = {"dcgan": plain_dcgan, "wgan-gp": plain_wgan_gp, "wgan": plain_wgan}
        plain = partial(loops[case], x)
        batch_norm, head_bias = case != "wgan-gp", case == "dcgan"
        plain_params = n_params(plain_G()) + n_params(plain_D(batch_norm, head_bias))
    return Sides(
        gennet=lambda steps, le, **kw: time_gennet(case, data, steps, le, device, BATCH, **kw),
        plain=lambda steps, le: plain(steps, le, device),
        params=(n_params(build_model(case, data.spec)), plain_params),
        batch=BATCH,
        steps=STEPS[case] * (5 if device.type == "cuda" else 1),
    )


def _report(rows: list[dict], name: str) -> None:
    print(f"\n### GAN training throughput, {name}, batch {BATCH}\n")
    print("| case | variant | median steps/s | min-max | ratio vs plain fp32 | median paired ratio |")
    print("|---|---|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['case']} | {r['variant']} | {r['median_steps_per_s']:.2f} | {r['min_steps_per_s']:.2f}-"
            f"{r['max_steps_per_s']:.2f} | {r['ratio_vs_plain_fp32']:.3f} | {r['paired_ratio_median']:.3f} |"
        )
    for r in rows:
        if r["variant"] == "gennet fp32":
            verdict = "met" if r["ratio_vs_plain_fp32"] >= 1.0 else "NOT met"
            ratio = r["ratio_vs_plain_fp32"]
            print(f"{r['case']}: gennet fp32 / plain fp32 = {ratio:.3f}; target >= 1.0: {verdict}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--steps", type=int, default=None, help="generator steps per run (default 200 / 60 / 100 / 200)"
    )
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--cases", default="dcgan,wgan-gp", help="comma list of: dcgan, wgan-gp, wgan, cgan")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--variants", default="fp32,channels_last,bf16", help="gennet variants besides fp32")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    device, name = prepare(args.threads, args.device)
    data = load_dataset("mnist", split="train")
    extra = [v for v in args.variants.split(",") if v and v != "fp32"]
    rows: list[dict] = []
    for case in [c for c in args.cases.split(",") if c]:
        sides = gan_sides(case, data, device)
        steps = args.steps or sides.steps
        le = max(1, steps // 10)
        g_params, plain_params = sides.params
        print(f"\n{case}: parameters gennet {g_params:,} / plain {plain_params:,}; {steps} steps a run")
        assert g_params == plain_params, "parameter counts differ"
        gennet_run = partial(sides.gennet, steps, le)
        variants = {"gennet fp32": gennet_run, "plain fp32": partial(sides.plain, steps, le)}
        if "channels_last" in extra:
            variants["gennet channels_last"] = partial(gennet_run, channels_last=True)
        if "bf16" in extra:
            variants["gennet channels_last + bf16"] = partial(
                gennet_run, channels_last=True, precision="bf16"
            )
        rows += summarise(case, run_case(case, variants, args.repeats), "plain fp32")
    _report(rows, name)
    if args.json:
        meta = {"device": name, "torch": torch.__version__, "batch": BATCH, "repeats": args.repeats}
        write_json(args.json, {**meta, "rows": rows})
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
