"""A live mode-collapse signal for models that sample.

    diversity = mean pairwise distance of G's images for a fixed batch of codes
                / mean pairwise distance of a fixed batch of real images

About 1 when samples are as varied as the data; it falls toward 0 as a generator collapses onto
a few outputs. The trainer logs it as `monitor/diversity` at every log interval, shows it in the
progress bar, and warns (`CollapseWarning`) when it falls below `THRESHOLD` (after `WARMUP_STEPS`).
"""

from __future__ import annotations

import warnings

import torch

from ..eval.pixel_metrics import mean_pairwise_distance

THRESHOLD = 0.3
WARMUP_STEPS = 500  # an untrained generator is not collapsed, merely untrained: no warning before this


class CollapseWarning(UserWarning):
    """The generator's samples have become far less varied than the data."""


class CollapseMonitor:
    def __init__(self, real_uint8: torch.Tensor, seed: int, n: int = 64, threshold: float = THRESHOLD):
        real = real_uint8[:n].float() / 255
        self.n, self.seed, self.threshold = min(n, len(real)), seed, threshold
        self.real_spread = max(mean_pairwise_distance(real), 1e-12)
        self.collapsed = False

    @torch.no_grad()
    def diversity(self, net) -> float:
        """Sample spread / real spread, with the same codes every time (a fixed generator)."""
        g = torch.Generator().manual_seed(self.seed + 7919)
        x = net.sample(self.n, generator=g).float().cpu()
        return mean_pairwise_distance(x) / self.real_spread

    def check(self, value: float, step: int) -> None:
        """Warn once each time the signal falls below the threshold (again after it recovers)."""
        low = value < self.threshold and step >= WARMUP_STEPS
        if low and not self.collapsed:
            warnings.warn(
                f"possible mode collapse at step {step}: samples are {value:.2f}x as spread out as real "
                f"images (below {self.threshold}); look at the sample grids, and consider a lower "
                "learning rate, more discriminator steps or a Wasserstein loss",
                CollapseWarning,
                stacklevel=3,
            )
        self.collapsed = low
