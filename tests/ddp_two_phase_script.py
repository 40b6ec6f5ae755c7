"""Run by tests/test_distributed.py, alone or under torchrun: a GAN-shaped two-phase model on the
generic trainer, whose G phase back-propagates through D (as a GAN's does). Writes the final
weights to argv[1]. The latent code is derived from the batch, so the 1- and 2-process runs see
the same global computation."""

import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from torch import nn

from gennet.config import TrainConfig
from gennet.data import load_dataset
from gennet.models.base import GenerativeModel, OptimSpec, Phase
from gennet.train import Trainer
from gennet.train import distributed as D


class ToyGAN(GenerativeModel):
    def __init__(self, spec):
        super().__init__(None, spec)
        n = spec.channels * spec.height * spec.width
        self.G = nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Linear(32, n))
        self.D = nn.Sequential(nn.Linear(n, 32), nn.LeakyReLU(0.2), nn.Linear(32, 1))

    def phases(self):
        return [
            Phase("D", list(self.D.parameters()), self.d_loss, OptimSpec("adam", 1e-3), repeat=2),
            Phase("G", list(self.G.parameters()), self.g_loss, OptimSpec("adam", 1e-3)),
        ]

    def _z(self, batch):
        return batch.x.flatten(1)[:, :64].reshape(-1, 16, 4).mean(1)

    def d_loss(self, batch, ctx):
        with torch.no_grad():
            fake = self.G(self._z(batch))
        real = batch.x.flatten(1)
        return {"loss": F.softplus(-self.D(real)).mean() + F.softplus(self.D(fake)).mean()}

    def g_loss(self, batch, ctx):
        return {"loss": F.softplus(-self.D(self.G(self._z(batch)))).mean()}


if __name__ == "__main__":
    data = load_dataset("synthetic-shapes", split="train")
    device = torch.device("cpu")
    dist = D.init_from_env(device)
    torch.manual_seed(0)
    model = ToyGAN(data.spec)
    cfg = TrainConfig(
        steps=6,
        batch_size=32,
        precision="fp32",  # the comparison is of the gradient averaging, exact in fp32
        quiet=True,
        log_every=3,
        sample_every=10**6,
        checkpoint_every=10**6,
    )
    out = Path(sys.argv[1])
    Trainer(model, data, cfg, out.parent / (out.stem + "-run"), device, dist).fit()
    if dist.is_main:
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(out))
    D.shutdown(dist)
