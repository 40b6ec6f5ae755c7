"""Known-answer tests of the StyleGAN blocks and networks (tiny widths, CPU)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from gennet.errors import ConfigError
from gennet.nn.stylegan import MappingNetwork, StyleDiscriminator, SynthesisNetwork
from gennet.nn.stylegan_layers import (
    AdaIN,
    Blur,
    EqualizedConv2d,
    EqualizedLinear,
    MinibatchStdDev,
    NoiseInjection,
    downsample2d,
    instance_norm,
    mbstd_group,
    nf,
    upsample2d,
)

TINY = dict(fmap_base=64, fmap_max=16)
W = 16


def _g(resolution=32, **kw):
    return SynthesisNetwork(w_dim=W, resolution=resolution, channels=3, **TINY, **kw)


def _d(resolution=32, **kw):
    return StyleDiscriminator(resolution=resolution, channels=3, **TINY, **kw)


def _ws(g, n=2):
    return torch.randn(n, g.num_ws, W)


def _set_noise_weights(g, value=0.5):
    with torch.no_grad():
        for m in g.modules():
            if isinstance(m, NoiseInjection):
                m.weight.fill_(value)


# --- blocks -------------------------------------------------------------------------------------


@pytest.mark.parametrize("lr_mul", [1.0, 0.01])
def test_equalized_linear_runtime_scale_and_init(lr_mul):
    torch.manual_seed(0)
    layer = EqualizedLinear(256, 300, gain=math.sqrt(2), lr_mul=lr_mul, bias_init=1.0)
    assert layer.weight.std().item() == pytest.approx(1 / lr_mul, rel=0.03)
    assert torch.allclose(layer.bias, torch.full((300,), 1.0 / lr_mul))
    x = torch.randn(5, 256)
    want = F.linear(x, layer.weight * math.sqrt(2) / math.sqrt(256) * lr_mul, layer.bias * lr_mul)
    assert torch.allclose(layer(x), want, atol=1e-5)
    # bias_init is the runtime bias
    assert torch.allclose(layer.bias * lr_mul, torch.ones(300))


@pytest.mark.parametrize("lr_mul", [1.0, 0.5])
def test_equalized_conv_runtime_scale_and_init(lr_mul):
    torch.manual_seed(0)
    conv = EqualizedConv2d(32, 64, 3, gain=1.0, lr_mul=lr_mul)
    assert conv.weight.std().item() == pytest.approx(1 / lr_mul, rel=0.03)
    with torch.no_grad():
        conv.bias.normal_()
    x = torch.randn(2, 32, 6, 6)
    w = conv.weight * 1.0 / math.sqrt(32 * 9) * lr_mul
    want = F.conv2d(x, w, conv.bias * lr_mul, padding=1)
    assert torch.allclose(conv(x), want, atol=1e-5)
    with pytest.raises(ConfigError):
        EqualizedConv2d(3, 3, 2)


def test_instance_norm_and_adain_with_zero_affine():
    torch.manual_seed(0)
    x = torch.randn(3, 5, 4, 4) * 3 + 2
    # by hand, as the original: biased variance over H, W, eps under the sqrt
    mu = x.mean(dim=(2, 3), keepdim=True)
    want = (x - mu) / ((x - mu).square().mean(dim=(2, 3), keepdim=True) + 1e-8).sqrt()
    assert torch.allclose(instance_norm(x), want, atol=1e-5)
    xb = x.to(torch.bfloat16)  # in float32 whatever the input's dtype, returned in the input's
    assert instance_norm(xb).dtype == torch.bfloat16
    assert torch.allclose(instance_norm(xb).float(), instance_norm(xb.float()), atol=2e-2)
    adain = AdaIN(W, 5)
    with torch.no_grad():
        adain.style.affine.weight.zero_()
        adain.style.affine.bias.zero_()
    assert torch.allclose(adain(x, torch.randn(3, W)), instance_norm(x))
    # scale 1 + y_s, bias y_b: set the bias part of the affine to (s, b) per channel
    with torch.no_grad():
        adain.style.affine.bias[:5] = 2.0  # y_s = 2 -> scale 3
        adain.style.affine.bias[5:] = -1.0  # y_b = -1
    assert torch.allclose(adain(x, torch.randn(3, W)), instance_norm(x) * 3 - 1, atol=1e-5)


def test_blur_and_resampling():
    x = torch.zeros(1, 2, 5, 5)
    x[0, :, 2, 2] = 16.0
    y = Blur()(x)
    want = torch.tensor([[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]])
    assert torch.allclose(y[0, 1, 1:4, 1:4], want)
    assert y.sum().item() == pytest.approx(32.0)
    z = torch.arange(4.0).view(1, 1, 2, 2)
    up = upsample2d(z)
    assert up[0, 0].tolist() == [[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3], [2, 2, 3, 3]]
    assert torch.equal(downsample2d(up), z)
    assert downsample2d(torch.tensor([[[[1.0, 2.0], [3.0, 6.0]]]])).item() == 3.0


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_upsample_is_the_same_in_either_memory_format(dtype):
    x = torch.randn(2, 3, 4, 5).to(dtype)
    want = x.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)
    for layout in (torch.contiguous_format, torch.channels_last):
        got = upsample2d(x.contiguous(memory_format=layout))
        assert got.shape == (2, 3, 8, 10) and torch.equal(got, want)


def _mbstd_by_hand(x, groups, features):
    """groups: lists of sample indices; returns the (N, features) statistic."""
    n, c = x.shape[:2]
    out = torch.zeros(n, features)
    for members in groups:
        xs = x[members].double()
        for f in range(features):
            sl = xs[:, f * (c // features) : (f + 1) * (c // features)]
            var = ((sl - sl.mean(0)) ** 2).mean(0)
            out[members, f] = (var + 1e-8).sqrt().mean().float()
    return out


@pytest.mark.parametrize(
    "n, group, features, groups",
    [
        (4, 4, 1, [[0, 1, 2, 3]]),
        (8, 4, 2, [[0, 2, 4, 6], [1, 3, 5, 7]]),  # strided groups, as the original
        (6, 4, 1, [[0, 2, 4], [1, 3, 5]]),  # 4 does not divide 6: G = 3
        (2, 4, 1, [[0, 1]]),  # smaller than the group
        (5, 4, 1, [[0], [1], [2], [3], [4]]),  # prime: G = 1 (std = sqrt(1e-8))
    ],
)
def test_minibatch_stddev_by_hand(n, group, features, groups):
    torch.manual_seed(1)
    x = torch.randn(n, 4, 3, 3)
    y = MinibatchStdDev(group, features)(x)
    assert y.shape == (n, 4 + features, 3, 3)
    assert torch.equal(y[:, :4], x)
    want = _mbstd_by_hand(x, groups, features)
    assert torch.allclose(y[:, 4:], want[:, :, None, None].expand(n, features, 3, 3), atol=1e-6)
    assert mbstd_group(n, group) == len(groups[0])


def test_channel_counts_follow_the_paper():
    # 1024x1024 with the defaults: 512 maps from 4x4 to 32x32, then 256 at 64x64, ..., 16 at 1024x1024
    assert [nf(res - 1) for res in range(2, 11)] == [512, 512, 512, 512, 256, 128, 64, 32, 16]
    assert nf(0) == 512 and nf(3, fmap_base=64, fmap_max=16) == 8
    g, d = _g(), _d()
    assert g.const.shape == (1, 16, 4, 4)
    for res in range(2, 6):
        c = nf(res - 1, **TINY)
        assert g.blocks[res - 2].conv1.weight.shape[:2] == (c, c)
        assert g.torgb[res - 2].weight.shape == (3, c, 1, 1)
        assert d.fromrgb[res - 2].weight.shape == (c, 3, 1, 1)
        if res > 2:
            assert d.blocks[res - 3].conv1.weight.shape[:2] == (nf(res - 2, **TINY), c)
    assert d.epilogue.dense0.weight.shape == (nf(0, **TINY), nf(1, **TINY) * 16)


# --- mapping ------------------------------------------------------------------------------------


def test_mapping_is_scale_invariant_in_z():
    torch.manual_seed(0)
    m = MappingNetwork(z_dim=W, w_dim=W, num_layers=3, hidden=W)
    z = torch.randn(4, W)
    w = m(z)
    assert w.shape == (4, W)
    for c in (0.1, 3.7, 100.0):  # (far below 0.1 the 1e-8 under the sqrt starts to show)
        assert torch.allclose(m(c * z), w, atol=1e-5)
    raw = MappingNetwork(z_dim=W, w_dim=W, num_layers=3, hidden=W, normalize_z=False)
    raw.load_state_dict(m.state_dict())
    assert torch.allclose(raw(z / z.square().mean(1, keepdim=True).sqrt()), w, atol=1e-5)
    assert not torch.allclose(raw(3.7 * z), raw(z))


def test_conditional_mapping_and_discriminator_use_labels():
    torch.manual_seed(0)
    m = MappingNetwork(z_dim=W, w_dim=W, num_layers=2, hidden=W, num_classes=3)
    z = torch.randn(2, W)
    a, b = torch.tensor([0, 1]), torch.tensor([2, 2])
    assert not torch.allclose(m(z, a), m(z, b))
    assert torch.allclose(m(z, a)[0], m(z[:1], a[:1])[0], atol=1e-6)
    with pytest.raises(ConfigError):
        m(z)
    with pytest.raises(ConfigError):
        m(z, torch.tensor([0, 3]))
    d = _d(8, num_classes=3)
    x = torch.randn(2, 3, 8, 8)
    sa, sb = d(x, labels=a), d(x, labels=b)
    assert sa.shape == (2,) and not torch.allclose(sa, sb)
    with pytest.raises(ConfigError):
        _d(8)(x, labels=a)


# --- synthesis ----------------------------------------------------------------------------------


def test_noise_modes():
    torch.manual_seed(0)
    g = _g(16)
    ws = _ws(g)
    # fresh layers: noise weights 0, so random noise changes nothing
    assert torch.allclose(g(ws, noise="random"), g(ws, noise="none"))
    _set_noise_weights(g, 0.5)
    assert torch.equal(g(ws, noise="none"), g(ws, noise="none"))
    assert torch.equal(g(ws, noise="const"), g(ws, noise="const"))
    assert not torch.allclose(g(ws, noise="const"), g(ws, noise="none"))
    assert not torch.allclose(g(ws, noise="random"), g(ws, noise="random"))
    with pytest.raises(ConfigError):
        g(ws, noise="fresh")


def test_shapes_at_every_resolution():
    torch.manual_seed(0)
    g, d = _g(32), _d(32)
    assert g.num_ws == 8
    ws = _ws(g, 3)
    for r in (4, 8, 16, 32):
        for alpha in (0.0, 0.5, 1.0):
            img = g(ws, resolution=r, alpha=alpha)
            assert img.shape == (3, 3, r, r)
            assert d(img, resolution=r, alpha=alpha).shape == (3,)
    assert g(ws[:, 0]).shape == (3, 3, 32, 32)  # one w broadcast to every layer
    for bad in (2, 12, 64):
        with pytest.raises(ConfigError):
            g(ws, resolution=bad)
    with pytest.raises(ConfigError):
        d(torch.randn(3, 3, 16, 16))  # full resolution is 32


def _grad_of(module):
    grads = [p.grad for p in module.parameters()]
    return sum(0.0 if gr is None else gr.abs().sum().item() for gr in grads)


def test_fade_in_generator_paths_and_gradients():
    torch.manual_seed(0)
    g = _g(16)
    ws = _ws(g)
    new, old = g.torgb[2], g.torgb[1]
    out1 = g(ws, resolution=16, alpha=1.0, noise="none")
    out1.square().sum().backward()
    assert _grad_of(new) > 0 and _grad_of(old) == 0
    g.zero_grad(set_to_none=True)
    out0 = g(ws, resolution=16, alpha=0.0, noise="none")
    out0.square().sum().backward()
    assert _grad_of(old) > 0 and _grad_of(new) == 0
    with torch.no_grad():
        old.weight.mul_(7.0)  # alpha = 1 does not read the old ToRGB
        assert torch.equal(g(ws, resolution=16, alpha=1.0, noise="none"), out1)
        out0 = g(ws, resolution=16, alpha=0.0, noise="none")
        mid = g(ws, resolution=16, alpha=0.3, noise="none")
    assert torch.allclose(mid, 0.7 * out0 + 0.3 * out1, atol=1e-5)


def test_generator_is_continuous_across_a_stage_boundary():
    torch.manual_seed(0)
    g = _g(32)
    _set_noise_weights(g, 0.3)
    ws = _ws(g)
    for r in (8, 16, 32):
        at_r = g(ws, resolution=r, alpha=0.0, noise="none")
        below = g(ws, resolution=r // 2, alpha=1.0, noise="none")
        assert torch.allclose(at_r, upsample2d(below), atol=1e-6)


# --- discriminator ------------------------------------------------------------------------------


def test_discriminator_is_continuous_across_a_stage_boundary():
    torch.manual_seed(0)
    d = _d(32, mbstd_group=2)
    x = torch.randn(4, 3, 16, 16)
    for r in (8, 16, 32):
        xr = torch.randn(4, 3, r // 2, r // 2)
        at_r = d(upsample2d(xr), resolution=r, alpha=0.0)
        assert torch.allclose(at_r, d(xr, resolution=r // 2, alpha=1.0), atol=1e-5)
    mid = d(upsample2d(x), resolution=32, alpha=0.5)
    assert not torch.allclose(mid, d(x, resolution=16))


def test_fade_in_discriminator_gradients():
    torch.manual_seed(0)
    d = _d(16)
    x = torch.randn(4, 3, 16, 16)
    d(x, resolution=16, alpha=1.0).sum().backward()
    assert _grad_of(d.fromrgb[2]) > 0 and _grad_of(d.fromrgb[1]) == 0
    d.zero_grad(set_to_none=True)
    d(x, resolution=16, alpha=0.0).sum().backward()
    assert _grad_of(d.fromrgb[1]) > 0 and _grad_of(d.fromrgb[2]) == 0 and _grad_of(d.blocks[1]) == 0


def test_discriminator_handles_a_batch_the_group_does_not_divide():
    torch.manual_seed(0)
    d = _d(8)
    assert d(torch.randn(3, 3, 8, 8)).shape == (3,)
    assert _d(8, mbstd_group=0).epilogue.mbstd is None


def test_full_size_parameter_counts_match_the_paper():
    # Karras et al. 2019 report 26.2M parameters for G (mapping + synthesis) and 23.1M for D at 1024^2
    def count(m):
        return sum(p.numel() for p in m.parameters())

    g = count(MappingNetwork()) + count(SynthesisNetwork())
    assert round(g / 1e6, 1) == 26.2
    assert round(count(StyleDiscriminator()) / 1e6, 1) == 23.1
