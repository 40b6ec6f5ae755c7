"""Image-to-image networks of CycleGAN (Zhu et al. 2017) and pix2pix (Isola et al. 2017).

    ResnetGenerator   c7s1-k, d2k, d4k, R4k x n_blocks, u2k, uk, c7s1-C  (instance norm, tanh out)
    UnetGenerator     skip-connected encoder/decoder, `depth` stride-2 levels (tanh out)
    PatchDiscriminator  C64-C128-C256-C512 (4x4 convs) -> a map of per-patch logits; with
                      n_layers=3 each output sees a 70x70 patch (the paper's PatchGAN at 256x256)
    ImagePool         the history of generated images the discriminators are shown (Shrivastava
                      et al. 2017): 50 images, each query swaps half of the batch with old ones

Images are (N, C, H, W) in [-1, 1] throughout.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..errors import ConfigError


def _norm(channels: int) -> nn.Module:
    # the reference implementation's default: instance norm without affine parameters or running stats
    return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)


class ResnetBlock(nn.Module):
    """x + conv-norm-relu-conv-norm(x), reflection padded; (N, C, H, W) -> same."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            _norm(channels),
            nn.ReLU(True),
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            _norm(channels),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """The CycleGAN generator: (N, C_in, H, W) -> (N, C_out, H, W) in [-1, 1].

    `n_down` stride-2 convolutions (the paper: 2), `n_blocks` residual blocks at the lowest
    resolution (6 for 128x128, 9 for 256x256 in the paper), then as many transposed convs up.
    H and W must divide by 2**n_down (28x28 works with n_down=2: 28 -> 14 -> 7).
    """

    def __init__(self, c_in: int, c_out: int, base: int = 64, n_blocks: int = 9, n_down: int = 2):
        super().__init__()
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(c_in, base, 7),
            _norm(base),
            nn.ReLU(True),
        ]
        ch = base
        for _ in range(n_down):
            layers += [nn.Conv2d(ch, ch * 2, 3, stride=2, padding=1), _norm(ch * 2), nn.ReLU(True)]
            ch *= 2
        layers += [ResnetBlock(ch) for _ in range(n_blocks)]
        for _ in range(n_down):
            layers += [
                nn.ConvTranspose2d(ch, ch // 2, 3, stride=2, padding=1, output_padding=1),
                _norm(ch // 2),
                nn.ReLU(True),
            ]
            ch //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ch, c_out, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class _UnetLevel(nn.Module):
    """down -> inner -> up, with the input concatenated to the output (skip), except outermost."""

    def __init__(
        self, outer: int, inner: int, sub: nn.Module | None, *, c_in: int, outermost: bool, innermost: bool
    ):
        super().__init__()
        self.outermost = outermost
        down = [nn.LeakyReLU(0.2, True), nn.Conv2d(c_in, inner, 4, stride=2, padding=1)]
        up_in = inner if innermost else inner * 2
        up = [nn.ReLU(True), nn.ConvTranspose2d(up_in, outer, 4, stride=2, padding=1)]
        if outermost:
            down = down[1:]
            up.append(nn.Tanh())
        else:
            if not innermost:
                down.append(_norm(inner))
            up.append(_norm(outer))
        self.model = nn.Sequential(*down, *([sub] if sub is not None else []), *up)

    def forward(self, x: Tensor) -> Tensor:
        y = self.model(x)
        return y if self.outermost else torch.cat([x, y], 1)


class UnetGenerator(nn.Module):
    """The pix2pix U-Net: (N, C_in, H, W) -> (N, C_out, H, W) in [-1, 1]; `depth` stride-2 levels
    (8 at 256x256 gives a 1x1 bottleneck); widths base, 2 base, 4 base, then 8 base."""

    def __init__(self, c_in: int, c_out: int, base: int = 64, depth: int = 8):
        super().__init__()
        if depth < 1:
            raise ConfigError(f"unet_depth must be >= 1, got {depth}")
        widths = [base * min(2**i, 8) for i in range(depth)]  # output width of level i's down conv
        block: nn.Module | None = None
        for i in reversed(range(1, depth)):
            block = _UnetLevel(
                widths[i - 1], widths[i], block, c_in=widths[i - 1], outermost=False, innermost=block is None
            )
        self.net = _UnetLevel(c_out, widths[0], block, c_in=c_in, outermost=True, innermost=block is None)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


def patch_receptive_field(n_layers: int) -> int:
    """Receptive field (pixels) of one PatchDiscriminator output: 70 for n_layers=3, 34 for 2, 16 for 1."""
    rf = 1
    strides = [2] * n_layers + [1, 1]
    for s in reversed(strides):  # kernel 4 everywhere
        rf = (rf - 1) * s + 4
    return rf


class PatchDiscriminator(nn.Module):
    """PatchGAN: (N, C, H, W) -> (N, 1, H', W') logits, one per overlapping patch.

    n_layers stride-2 4x4 convs (widths base, 2 base, 4 base, 8 base max), one stride-1 conv
    and a 1-channel output conv; instance norm except on the first layer.
    """

    def __init__(self, c_in: int, base: int = 64, n_layers: int = 3):
        super().__init__()
        if n_layers < 1:
            raise ConfigError(f"a PatchGAN needs n_layers >= 1, got {n_layers}")
        layers: list[nn.Module] = [nn.Conv2d(c_in, base, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
        ch = base
        for i in range(1, n_layers + 1):
            nxt = base * min(2**i, 8)
            stride = 2 if i < n_layers else 1
            layers += [nn.Conv2d(ch, nxt, 4, stride=stride, padding=1), _norm(nxt), nn.LeakyReLU(0.2, True)]
            ch = nxt
        layers.append(nn.Conv2d(ch, 1, 4, stride=1, padding=1))
        self.net = nn.Sequential(*layers)
        self.n_layers = n_layers

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class ImagePool(nn.Module):
    """A history of up to `size` generated images, kept as buffers so checkpoints resume it exactly.

    query(images): while the pool is not full, each image is stored and returned as is; once
    full, each image is, with probability 1/2, swapped for a random stored one (the stored one is
    returned, the new one takes its place), else returned as is. size 0 returns the input.
    Randomness comes from `generator`, or the global RNG (which the trainer reseeds every step).
    """

    def __init__(self, size: int, shape: tuple[int, int, int]):
        super().__init__()
        self.size = int(size)
        self.register_buffer("images", torch.zeros(self.size, *shape))
        # a float count: weight averaging (EMA with buffers) lerps every buffer, which integers refuse
        self.register_buffer("count", torch.zeros(()))

    def __len__(self) -> int:
        return min(int(self.count.round()), self.size)

    @torch.no_grad()
    def query(self, images: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """images (N, C, H, W) -> (N, C, H, W), detached."""
        images = images.detach()
        if self.size == 0:
            return images
        out = images.clone()
        n = len(images)
        coin = torch.rand(n, generator=generator)
        slot = torch.randint(0, self.size, (n,), generator=generator)
        count = min(int(self.count.round()), self.size)
        for i in range(n):
            if count < self.size:
                self.images[count] = images[i]
                count += 1
            elif coin[i] > 0.5:
                j = int(slot[i])
                out[i] = self.images[j]
                self.images[j] = images[i]
        self.count.fill_(count)
        return out
