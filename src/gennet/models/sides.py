"""The image sides a model's networks take: rounding a wished-for square side to one they take,
and whether a given height x width works as it is. `gennet.sizing` asks these when it chooses the
size of a folder of pictures; the networks themselves still check what they are given.

Each family says it with two class methods (`GenerativeModel.image_side`, `takes_image_shape`); the
families that share networks share them through the mixins here.

Layer: a leaf of `models/` (imports `nn.adversarial` for the DCGAN stages); the families use it.
"""

from __future__ import annotations

from ..errors import ConfigError
from ..nn.adversarial import dcgan_stages


def multiple_of(side: int, factor: int) -> int:
    """The largest multiple of `factor` <= side, at least `factor`."""
    return max(factor, side // factor * factor)


def power_of_two_at_most(side: int, least: int = 4) -> int:
    """The largest power of two <= side, at least `least`."""
    return max(least, 1 << (max(side, 1).bit_length() - 1))


def dcgan_side(side: int) -> int:
    """The largest b * 2^k <= side with a base b of 4 to 7 and k >= 1 stride-2 stages (DCGAN's
    generator grows from a 4x4 map, 7x7 for digits): 64, 56, 48, 40, 32, 28, 24, ...; at least 8."""
    best = 8
    for base in (4, 5, 6, 7):
        k = 1
        while base * 2 ** (k + 1) <= side:
            k += 1
        if base * 2**k <= side:
            best = max(best, base * 2**k)
    return best


def takes_dcgan(height: int, width: int) -> bool:
    try:
        dcgan_stages(height, width)
    except ConfigError:
        return False
    return True


class ConvStageSides:
    """MLP or strided-conv encoder/decoder (AE, VAE, AAE): conv sides divide by 2^len(conv_channels)."""

    @classmethod
    def image_side(cls, cfg, side: int) -> tuple[int, str]:
        if cfg.arch == "mlp":
            return side, ""
        f = 2 ** len(cfg.conv_channels)
        return multiple_of(side, f), f"a multiple of {f} ({len(cfg.conv_channels)} stride-2 conv stages)"

    @classmethod
    def takes_image_shape(cls, cfg, height: int, width: int) -> bool:
        f = 2 ** len(cfg.conv_channels)
        return cfg.arch == "mlp" or (height % f == 0 and width % f == 0)


class DCGANSides:
    """MLP or DCGAN networks (the GANs, BiGAN): conv images are square, halving to a 4-7 px base."""

    @classmethod
    def image_side(cls, cfg, side: int) -> tuple[int, str]:
        if cfg.arch == "mlp":
            return side, ""
        return dcgan_side(side), "4 to 7 times a power of two (DCGAN's stride-2 stages)"

    @classmethod
    def takes_image_shape(cls, cfg, height: int, width: int) -> bool:
        return cfg.arch == "mlp" or takes_dcgan(height, width)
