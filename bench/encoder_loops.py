"""Plain fp32 loops for the conv models with an encoder that the other throughput benches leave out:
`vae` and `aae` with arch=conv, and `bigan` with arch=conv. A library for bench/default_speed.py
(no command line of its own); the timing rules are bench/throughput.py's (bench/timing.py).

The same networks as gennet's on both sides (parameter counts returned for the caller to assert):

- vae (conv): the conv AE's layers (throughput.PlainConvAE: conv_channels (32, 64)) with an
  encoder head giving mu and log sigma^2 (latent 20), Bernoulli likelihood (BCE with logits summed
  per image) + KL, mean over the batch; Adam(1e-3), batch 128, through throughput.time_plain (the
  PyTorch examples' loop: DataLoader, forward, loss, zero_grad, backward, step, loss.item()).
- aae (conv): that autoencoder at latent 8 and a latent discriminator MLP 8-256-256-1, in the loop
  of the common PyTorch AAE code (three optimizers on the same batch each step: reconstruction,
  Adam(1e-3) on encoder + decoder; D on prior codes vs encoded codes, Adam(2e-4, (0.5, 0.999));
  the encoder as generator of codes, its own Adam(2e-4, (0.5, 0.999))); batch 128.
- bigan (conv): gan_throughput's DCGAN generator at latent 50, the DCGAN discriminator's conv
  stages + a linear layer as the encoder, and the joint D(x, z) (image branch: those conv stages to
  512; code branch: 50 -> 512; joint MLP 1024-512-1); per step a D update on (x, E(x)) vs (G(z), z)
  with G and E under no_grad, then a G+E update with D's requires_grad off, the labels swapped, on
  the same batch; Adam(2e-4, (0.5, 0.999)) each; batch 64.
"""

from __future__ import annotations

import sys
import time
from functools import partial
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import DataLoader, TensorDataset

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gan_throughput import BATCH as GAN_BATCH  # noqa: E402
from gan_throughput import _batches, _sync, plain_G  # noqa: E402
from throughput import BATCH, PlainConvAE, time_plain  # noqa: E402
from timing import CPU, Sides, n_params, rate_from_marks, time_gennet  # noqa: E402

from gennet.api import build_model  # noqa: E402
from gennet.nn.init import init_normal  # noqa: E402

VAE_LATENT, AAE_LATENT, BIGAN_LATENT = 20, 8, 50
STEPS = {"vae": 300, "aae": 200, "bigan": 200}  # default steps a run (CPU)


# ---- vae (conv) ----------------------------------------------------------------------------------
class PlainConvVAE(nn.Module):
    """The conv AE's encoder (head to 2 x latent: mu, log sigma^2) and decoder (from latent)."""

    def __init__(self, latent: int = VAE_LATENT):
        super().__init__()
        ae = PlainConvAE(2 * latent)
        self.encoder, self.decoder = ae.encoder, ae.decoder
        self.fc = nn.Sequential(nn.Linear(latent, 64 * 7 * 7), nn.ReLU())

    def forward(self, x):
        mu, logvar = self.encoder(x).chunk(2, 1)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return self.decoder(self.fc(z).view(-1, 64, 7, 7)), mu, logvar


def plain_conv_vae_loss(net: PlainConvVAE, x: Tensor) -> Tensor:
    logits, mu, logvar = net(x)
    bce = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return (bce + kld) / x.shape[0]


# ---- aae (conv) ----------------------------------------------------------------------------------
def plain_latent_D(latent: int = AAE_LATENT) -> nn.Module:
    return nn.Sequential(
        nn.Linear(latent, 256), nn.LeakyReLU(0.2), nn.Linear(256, 256), nn.LeakyReLU(0.2), nn.Linear(256, 1)
    )


def plain_aae(x: Tensor, steps: int, log_every: int) -> dict:
    """x: (N, 1, 28, 28) float in [0, 1]."""
    torch.manual_seed(0)
    ae, D = PlainConvAE(AAE_LATENT), plain_latent_D()
    opt_rec = torch.optim.Adam(ae.parameters(), 1e-3)
    opt_d = torch.optim.Adam(D.parameters(), 2e-4, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(ae.encoder.parameters(), 2e-4, betas=(0.5, 0.999))
    bce = nn.BCEWithLogitsLoss()
    loader = DataLoader(TensorDataset(x), batch_size=BATCH, shuffle=True, drop_last=True)
    ones, zeros = torch.ones(BATCH, 1), torch.zeros(BATCH, 1)
    step, marks = 0, []
    while step < steps:
        for (real,) in loader:
            opt_rec.zero_grad()
            rec = F.binary_cross_entropy_with_logits(ae(real), real, reduction="sum") / real.shape[0]
            rec.backward()
            opt_rec.step()
            with torch.no_grad():
                q = ae.encoder(real)
            opt_d.zero_grad()
            loss_d = bce(D(torch.randn_like(q)), ones) + bce(D(q), zeros)
            loss_d.backward()
            opt_d.step()
            opt_g.zero_grad()
            loss_g = bce(D(ae.encoder(real)), ones)
            loss_g.backward()
            opt_g.step()
            rec.item(), loss_d.item(), loss_g.item()
            step += 1
            if step % log_every == 0 or step == steps:
                marks.append((step, time.perf_counter()))
            if step == steps:
                break
    rate, n, secs = rate_from_marks(marks)
    return {"steps_per_s": rate, "timed_steps": n, "timed_s": secs}


# ---- bigan (conv) --------------------------------------------------------------------------------
def _conv_stages() -> list[nn.Module]:
    """The DCGAN discriminator's stride-2 stages at 28x28, base 64 (-> 128 x 7 x 7)."""
    return [
        nn.Conv2d(1, 64, 4, 2, 1),
        nn.LeakyReLU(0.2, True),
        nn.Conv2d(64, 128, 4, 2, 1, bias=False),
        nn.BatchNorm2d(128),
        nn.LeakyReLU(0.2, True),
        nn.Flatten(),
    ]


def plain_E(out: int = BIGAN_LATENT) -> nn.Module:
    e = nn.Sequential(*_conv_stages(), nn.Linear(128 * 7 * 7, out))
    init_normal(e)
    return e


class PlainJointD(nn.Module):
    """D(x, z): the image branch (conv stages to 512), the code branch (50 -> 512), a joint MLP."""

    def __init__(self, latent: int = BIGAN_LATENT, width: int = 512):
        super().__init__()
        self.x_branch = nn.Sequential(plain_E(width), nn.LeakyReLU(0.2))
        self.z_branch = nn.Sequential(nn.Linear(latent, width), nn.LeakyReLU(0.2))
        self.joint = nn.Sequential(nn.Linear(2 * width, width), nn.LeakyReLU(0.2), nn.Linear(width, 1))

    def forward(self, x, z):
        return self.joint(torch.cat([self.x_branch(x), self.z_branch(z)], 1))


def plain_bigan(x: Tensor, steps: int, log_every: int, device: torch.device) -> dict:
    """x: (N, 1, 28, 28) float in [0, 1] (mapped to [-1, 1] by the batches)."""
    torch.manual_seed(0)
    G, E, D = plain_G(BIGAN_LATENT).to(device), plain_E().to(device), PlainJointD().to(device)
    opt_d = torch.optim.Adam(D.parameters(), 2e-4, betas=(0.5, 0.999))
    opt_ge = torch.optim.Adam([*G.parameters(), *E.parameters()], 2e-4, betas=(0.5, 0.999))
    bce = nn.BCEWithLogitsLoss()
    ones = torch.ones(GAN_BATCH, 1, device=device)
    zeros = torch.zeros(GAN_BATCH, 1, device=device)
    marks, batches = [], _batches(x, device)
    for step in range(1, steps + 1):
        real = next(batches)
        z = torch.randn(GAN_BATCH, BIGAN_LATENT, device=device)
        with torch.no_grad():
            ex, gz = E(real), G(z[:, :, None, None])
        opt_d.zero_grad()
        loss_d = bce(D(real, ex), ones) + bce(D(gz, z), zeros)
        loss_d.backward()
        opt_d.step()
        D.requires_grad_(False)
        opt_ge.zero_grad()
        loss_ge = bce(D(G(z[:, :, None, None]), z), ones) + bce(D(real, E(real)), zeros)
        loss_ge.backward()
        opt_ge.step()
        D.requires_grad_(True)
        loss_d.item(), loss_ge.item()
        if step % log_every == 0 or step == steps:
            _sync(device)
            marks.append((step, time.perf_counter()))
    rate, n, secs = rate_from_marks(marks)
    return {"steps_per_s": rate, "timed_steps": n, "timed_s": secs}


# ---- the sides -----------------------------------------------------------------------------------
def encoder_sides(model: str, data, device: torch.device = CPU) -> Sides:
    """`model` (vae, aae or bigan), arch=conv, through gennet and in its plain loop, on `data` (MNIST).
    The vae and aae loops run on the CPU only."""
    x = data.images.float().div(255.0)
    conv = {"arch": "conv"}
    if model == "vae":
        plain = partial(time_plain, PlainConvVAE, plain_conv_vae_loss, x)
        plain_params, batch = n_params(PlainConvVAE()), BATCH
    elif model == "aae":
        plain = partial(plain_aae, x)
        plain_params, batch = n_params(PlainConvAE(AAE_LATENT)) + n_params(plain_latent_D()), BATCH
    else:
        plain = partial(plain_bigan, x, device=device)
        plain_params = sum(n_params(m) for m in (plain_G(BIGAN_LATENT), plain_E(), PlainJointD()))
        batch = GAN_BATCH
    return Sides(
        gennet=lambda steps, le, **kw: time_gennet(model, data, steps, le, device, batch, **conv, **kw),
        plain=plain,
        params=(n_params(build_model(model, data.spec, conv)), plain_params),
        batch=batch,
        steps=STEPS[model],
    )
