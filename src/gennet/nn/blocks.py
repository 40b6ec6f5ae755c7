"""Encoders and decoders shared by the families (MLP and strided-convolution variants)."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from ..errors import ConfigError


class MLP(nn.Sequential):
    """Linear layers sizes[0] -> ... -> sizes[-1] with `act` between them (none after the last).

    Input (N, *) is flattened to (N, sizes[0]); output (N, sizes[-1]).
    """

    def __init__(
        self, sizes: Sequence[int], act: type[nn.Module] = nn.ReLU, out_act: nn.Module | None = None
    ):
        layers: list[nn.Module] = [nn.Flatten()]
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            layers.append(nn.Linear(a, b))
            if i < len(sizes) - 2:
                layers.append(act())
        if out_act is not None:
            layers.append(out_act)
        super().__init__(*layers)


def conv_stages(height: int, width: int, n: int) -> tuple[int, int]:
    """Spatial size after `n` stride-2 stages; raises unless both sides divide by 2**n."""
    f = 2**n
    if height % f or width % f:
        raise ConfigError(
            f"a conv model with {n} stride-2 stages needs image sides divisible by {f}; got "
            f"{height}x{width}. Pass image_size (e.g. {max(f, round(height / f) * f)}) "
            "or fewer conv_channels."
        )
    return height // f, width // f


class ConvEncoder(nn.Module):
    """(N, C, H, W) -> (N, out_features): stride-2 4x4 convs (+BN, LeakyReLU), then a linear layer."""

    def __init__(self, in_channels: int, height: int, width: int, channels: Sequence[int], out_features: int):
        super().__init__()
        h, w = conv_stages(height, width, len(channels))
        layers: list[nn.Module] = []
        prev = in_channels
        for i, c in enumerate(channels):
            layers.append(nn.Conv2d(prev, c, 4, stride=2, padding=1, bias=i == 0))
            if i > 0:
                layers.append(nn.BatchNorm2d(c))
            layers.append(nn.LeakyReLU(0.2))
            prev = c
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(prev * h * w, out_features)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x).flatten(1))


class ConvDecoder(nn.Module):
    """(N, in_features) -> (N, C, H, W) logits: a linear layer, then stride-2 transposed convs."""

    def __init__(self, in_features: int, out_channels: int, height: int, width: int, channels: Sequence[int]):
        super().__init__()
        channels = list(channels)
        self.h, self.w = conv_stages(height, width, len(channels))
        self.c0 = channels[0]
        self.fc = nn.Sequential(nn.Linear(in_features, self.c0 * self.h * self.w), nn.ReLU())
        layers: list[nn.Module] = []
        for a, b in zip(channels, channels[1:] + [None], strict=True):
            if b is None:
                layers.append(nn.ConvTranspose2d(a, out_channels, 4, stride=2, padding=1))
            else:
                layers += [
                    nn.ConvTranspose2d(a, b, 4, stride=2, padding=1, bias=False),
                    nn.BatchNorm2d(b),
                    nn.ReLU(),
                ]
        self.body = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        return self.body(self.fc(z).view(-1, self.c0, self.h, self.w))


def flat_dim(spec) -> int:
    return int(spec.channels * spec.height * spec.width)


def make_encoder(arch: str, spec, hidden: Sequence[int], conv_channels: Sequence[int], out: int) -> nn.Module:
    """Encoder (N, C, H, W) -> (N, out) of the chosen architecture ("mlp" or "conv")."""
    if arch == "mlp":
        return MLP([flat_dim(spec), *hidden, out])
    return ConvEncoder(spec.channels, spec.height, spec.width, conv_channels, out)


class _Unflatten(nn.Module):
    def __init__(self, spec):
        super().__init__()
        self.shape = (spec.channels, spec.height, spec.width)

    def forward(self, x: Tensor) -> Tensor:
        return x.view(-1, *self.shape)


def make_decoder(
    arch: str, spec, hidden: Sequence[int], conv_channels: Sequence[int], latent: int
) -> nn.Module:
    """Decoder (N, latent) -> (N, C, H, W) logits; the MLP mirrors the encoder's hidden sizes."""
    if arch == "mlp":
        return nn.Sequential(MLP([latent, *reversed(list(hidden)), flat_dim(spec)]), _Unflatten(spec))
    return ConvDecoder(latent, spec.channels, spec.height, spec.width, list(reversed(list(conv_channels))))
