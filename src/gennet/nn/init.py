"""The N(0, 0.02) initialisation of DCGAN (Radford et al. 2016), also CycleGAN's reference code's.

Layer: a leaf of `nn/` (imports torch only).
"""

from __future__ import annotations

from torch import nn


def init_normal(module: nn.Module, std: float = 0.02) -> None:
    """Conv, transposed-conv and linear weights N(0, std); batch/group-norm weights N(1, std); biases 0.
    Modules are visited in `module.modules()` order, so the draws depend only on the global seed."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d | nn.GroupNorm):
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)
