import math

import numpy as np
import pytest
import torch
from torch.distributions import Independent, Normal

from gennet.eval import (
    PSNR_CAP_DB,
    bce,
    gaussian_kl_standard,
    log_mean_exp,
    log_normal_diag,
    log_normal_standard,
    mse,
    per_image_mse,
    psnr,
    ssim,
)


def test_mse_known_values():
    x = torch.zeros(2, 1, 2, 2)
    y = torch.zeros(2, 1, 2, 2)
    y[0] = 1.0  # image 0 differs by 1 everywhere, image 1 identical
    assert mse(x, y) == pytest.approx(0.5)
    assert torch.allclose(per_image_mse(x, y), torch.tensor([1.0, 0.0]))


def test_bce_known_values():
    p = torch.full((1, 1, 2, 2), 0.5)
    t = torch.tensor([[[[0.0, 1.0], [1.0, 0.0]]]])
    assert bce(p, t) == pytest.approx(math.log(2), rel=1e-6)
    p2 = torch.full((1, 4), 0.8)
    t2 = torch.ones(1, 4)
    assert bce(p2, t2) == pytest.approx(-math.log(0.8), rel=1e-6)
    # clamping keeps certain-but-wrong predictions finite
    assert math.isfinite(bce(torch.zeros(1, 4), torch.ones(1, 4)))


def test_psnr_known_value_and_cap():
    x = torch.zeros(3, 1, 4, 4)
    y = torch.full((3, 1, 4, 4), 0.1)  # mse 0.01 -> 20 dB
    assert psnr(x, y) == pytest.approx(20.0, abs=1e-4)
    assert psnr(x * 255, y * 255, data_range=255.0) == pytest.approx(20.0, abs=1e-4)
    assert psnr(x, x) == PSNR_CAP_DB
    mixed = y.clone()
    mixed[0] = 0.0  # one identical image: (100 + 20 + 20) / 3
    assert psnr(x, mixed) == pytest.approx((PSNR_CAP_DB + 40.0) / 3, abs=1e-4)


def _gauss_window_np(size, sigma=1.5):
    c = np.arange(size) - (size - 1) / 2
    g = np.exp(-(c**2) / (2 * sigma**2))
    g /= g.sum()
    return np.outer(g, g)


def _ssim_reference(x, y, data_range=1.0):
    """Direct loop implementation of SSIM for (C, H, W) numpy arrays: valid windows only."""
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    _, h, w = x.shape
    size = min(11, h, w)
    win = _gauss_window_np(size)
    vals = []
    for ch in range(x.shape[0]):
        for i in range(h - size + 1):
            for j in range(w - size + 1):
                a = x[ch, i : i + size, j : j + size]
                b = y[ch, i : i + size, j : j + size]
                mx, my = (win * a).sum(), (win * b).sum()
                vx = (win * (a - mx) ** 2).sum()
                vy = (win * (b - my) ** 2).sum()
                cov = (win * (a - mx) * (b - my)).sum()
                vals.append(((2 * mx * my + c1) * (2 * cov + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2)))
    return float(np.mean(vals))


def test_ssim_identity_is_one():
    x = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    assert ssim(x, x) == pytest.approx(1.0, abs=1e-6)


def test_ssim_decreases_with_noise():
    g = torch.Generator().manual_seed(1)
    x = torch.rand(4, 1, 28, 28, generator=g)
    scores = [ssim(x, (x + s * torch.randn(x.shape, generator=g)).clamp(0, 1)) for s in (0.05, 0.2, 0.5)]
    assert 1.0 > scores[0] > scores[1] > scores[2]


@pytest.mark.parametrize("shape", [(2, 14, 13), (1, 7, 9)])  # the second is smaller than the window
def test_ssim_matches_loop_reference(shape):
    rng = np.random.default_rng(2)
    x = rng.random(shape)
    y = np.clip(x + 0.15 * rng.standard_normal(shape), 0, 1)
    expected = _ssim_reference(x, y)
    got = ssim(torch.from_numpy(x)[None], torch.from_numpy(y)[None])
    assert got == pytest.approx(expected, abs=1e-9)
    got32 = ssim(torch.from_numpy(x)[None].float(), torch.from_numpy(y)[None].float())
    assert got32 == pytest.approx(expected, abs=1e-4)


def test_kl_closed_form_matches_monte_carlo():
    g = torch.Generator().manual_seed(3)
    mu = torch.tensor([[0.5, -1.0, 0.2], [1.5, 0.0, -0.3]], dtype=torch.float64)
    logvar = torch.tensor([[-0.5, 0.3, 0.0], [0.8, -1.2, 0.1]], dtype=torch.float64)
    kl = gaussian_kl_standard(mu, logvar)
    assert kl.shape == (2,)
    k = 200_000
    eps = torch.randn(k, *mu.shape, generator=g, dtype=torch.float64)
    z = mu + torch.exp(0.5 * logvar) * eps  # (k, N, D)
    mc = (log_normal_diag(z, mu, logvar) - log_normal_standard(z)).mean(0)
    assert torch.all((mc - kl).abs() / kl < 0.02)


def test_kl_zero_for_standard_normal():
    assert torch.allclose(gaussian_kl_standard(torch.zeros(3, 4), torch.zeros(3, 4)), torch.zeros(3))


def test_log_densities_match_torch_distributions():
    g = torch.Generator().manual_seed(4)
    z, mu, logvar = (torch.randn(5, 6, generator=g) for _ in range(3))
    ref_std = Independent(Normal(torch.zeros(6), torch.ones(6)), 1).log_prob(z)
    ref_diag = Independent(Normal(mu, torch.exp(0.5 * logvar)), 1).log_prob(z)
    assert log_normal_standard(z).shape == (5,)
    assert torch.allclose(log_normal_standard(z), ref_std, atol=1e-5)
    assert torch.allclose(log_normal_diag(z, mu, logvar), ref_diag, atol=1e-5)


def test_log_mean_exp_is_stable():
    a = torch.tensor([[-1e4, -1e4 + math.log(3.0)], [1e4, 1e4]])
    out = log_mean_exp(a, dim=1)
    assert torch.isfinite(out).all()
    assert torch.allclose(out, torch.tensor([-1e4 + math.log(2.0), 1e4]), rtol=0, atol=1e-3)
    b = torch.randn(4, 7, generator=torch.Generator().manual_seed(5))
    assert torch.allclose(log_mean_exp(b, 0), b.exp().mean(0).log(), atol=1e-6)
