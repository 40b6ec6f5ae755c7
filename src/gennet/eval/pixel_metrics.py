"""Reconstruction and likelihood metrics: pure functions of tensors.

Images are float tensors of shape (N, C, H, W) with values in [0, data_range] (uint8 tensors are
converted to float as they are, so pass ``data_range=255`` for them). Latent tensors are (N, D).
Scalar metrics return Python floats; per-item ones return tensors of shape (N,).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from gennet.errors import ConfigError

PSNR_CAP_DB = 100.0
"""Per-image PSNR ceiling: identical images (mse 0) score this instead of inf."""

BCE_EPS = 1e-6
_LOG_2PI = math.log(2.0 * math.pi)


def _pair(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Return x, y as floating tensors (at least float32) of equal shape with a batch dim."""
    x, y = torch.as_tensor(x), torch.as_tensor(y)
    if x.shape != y.shape:
        raise ConfigError(f"shapes differ: {tuple(x.shape)} vs {tuple(y.shape)}")
    if x.dim() < 2:
        raise ConfigError(f"expected a batch (N, ...), got shape {tuple(x.shape)}")
    dtype = torch.promote_types(torch.promote_types(x.dtype, y.dtype), torch.float32)
    return x.to(dtype), y.to(dtype)


def per_image_mse(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean squared error of each item. x, y: (N, ...). Returns (N,)."""
    x, y = _pair(x, y)
    return (x - y).pow(2).flatten(1).mean(1)


def mse(x: torch.Tensor, y: torch.Tensor) -> float:
    """Mean squared error over every element. x, y: (N, ...)."""
    x, y = _pair(x, y)
    return float((x - y).pow(2).mean())


def bce(x_prob: torch.Tensor, target: torch.Tensor) -> float:
    """Mean per-element binary cross-entropy (nats); x_prob is clamped to [eps, 1 - eps].

    x_prob: (N, ...) probabilities; target: (N, ...) in [0, 1].
    """
    p, t = _pair(x_prob, target)
    p = p.clamp(BCE_EPS, 1.0 - BCE_EPS)
    return float(-(t * torch.log(p) + (1 - t) * torch.log1p(-p)).mean())


def psnr(x: torch.Tensor, y: torch.Tensor, data_range: float = 1.0) -> float:
    """Mean over images of per-image PSNR in dB, ``10 log10(data_range^2 / mse_i)``.

    x, y: (N, C, H, W). Each image's PSNR is capped at ``PSNR_CAP_DB`` (100 dB), so identical
    images give 100 rather than inf and the mean stays finite.
    """
    m = per_image_mse(x, y)
    ratio = (data_range**2) / m.clamp_min(1e-300 if m.dtype == torch.float64 else 1e-30)
    per = (10.0 * torch.log10(ratio)).clamp(max=PSNR_CAP_DB)
    per = torch.where(m == 0, torch.full_like(per, PSNR_CAP_DB), per)
    return float(per.mean())


def gaussian_window(size: int, sigma: float = 1.5, dtype=torch.float32, device=None) -> torch.Tensor:
    """Normalised 2-D Gaussian window of shape (size, size)."""
    coords = torch.arange(size, dtype=dtype, device=device) - (size - 1) / 2.0
    g = torch.exp(-(coords**2) / (2.0 * sigma**2))
    g = g / g.sum()
    return torch.outer(g, g)


def ssim(x: torch.Tensor, y: torch.Tensor, data_range: float = 1.0) -> float:
    """Structural similarity (Wang et al. 2004), mean over images and channels.

    x, y: (N, C, H, W). An 11x11 Gaussian window (sigma 1.5) is slid over each channel without
    padding ("valid"), K1 = 0.01, K2 = 0.03; images smaller than 11 px use a window of
    min(H, W) px. The SSIM map is averaged per image and channel, then over everything.
    """
    x, y = _pair(x, y)
    if x.dim() != 4:
        raise ConfigError(f"ssim expects (N, C, H, W), got shape {tuple(x.shape)}")
    n, c, h, w = x.shape
    size = min(11, h, w)
    win = gaussian_window(size, 1.5, x.dtype, x.device).expand(c, 1, size, size)

    def filt(a: torch.Tensor) -> torch.Tensor:
        return F.conv2d(a, win, groups=c)

    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mu_x, mu_y = filt(x), filt(y)
    var_x = filt(x * x) - mu_x**2
    var_y = filt(y * y) - mu_y**2
    cov = filt(x * y) - mu_x * mu_y
    num = (2 * mu_x * mu_y + c1) * (2 * cov + c2)
    den = (mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2)
    return float((num / den).mean())


def gaussian_kl_standard(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag exp(logvar)) || N(0, I)) summed over the last dim.

    mu, logvar: (N, D). Returns (N,): ``0.5 * sum(exp(logvar) + mu^2 - 1 - logvar)``.
    """
    return 0.5 * (logvar.exp() + mu.pow(2) - 1.0 - logvar).sum(-1)


def log_normal_standard(z: torch.Tensor) -> torch.Tensor:
    """log N(z; 0, I) summed over the last dim. z: (N, D). Returns (N,)."""
    return -0.5 * (z.pow(2) + _LOG_2PI).sum(-1)


def log_normal_diag(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log N(z; mu, diag exp(logvar)) summed over the last dim. z, mu, logvar: (N, D). Returns (N,)."""
    return -0.5 * (_LOG_2PI + logvar + (z - mu).pow(2) * torch.exp(-logvar)).sum(-1)


def log_mean_exp(a: torch.Tensor, dim: int) -> torch.Tensor:
    """Numerically stable ``log(mean(exp(a), dim))`` = logsumexp(a, dim) - log(k), k = a.shape[dim]."""
    return torch.logsumexp(a, dim=dim) - math.log(a.shape[dim])


def mean_pairwise_distance(x: torch.Tensor) -> float:
    """Mean Euclidean distance over the N(N-1)/2 distinct pairs of x (N, ...) (flattened); 0 if N < 2."""
    flat = x.detach().flatten(1).double()
    n = flat.shape[0]
    if n < 2:
        return 0.0
    d = torch.cdist(flat, flat)
    return float(d.sum() / (n * (n - 1)))
