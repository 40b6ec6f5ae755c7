"""Perceptual path length (Karras, Laine & Aila 2019, "A Style-Based Generator Architecture for
Generative Adversarial Networks", section 4.2), measured in gennet's own feature space.

    l_W = E[ ||f(g(lerp(w0, w1; t))) - f(g(lerp(w0, w1; t + eps)))||^2 ] / eps^2     w = mapping(z)
    l_Z = E[ ||f(G(slerp(z0, z1; t))) - f(G(slerp(z0, z1; t + eps)))||^2 ] / eps^2   G = g o mapping

with t ~ U(0, 1) ("full" paths), eps = 1e-4, g the synthesis network and f a feature map. As NVlabs'
`metrics/perceptual_path_length.py`, the expectation is the mean of the per-pair distances that lie
between their 1st ("lower") and 99th ("higher") percentiles, both included, and Z paths run on the unit
sphere (here scaled by sqrt(D), the typical norm of a N(0, I) code, which a mapping network that
normalises its input, as StyleGAN's does, does not see).

The paper's distance is VGG16-LPIPS; here f is any function images -> features (gennet's shipped feature
network in `evaluate`), so the numbers compare models scored with the same network on the same data,
never with the paper's.

Layer: pure (torch, NumPy): callables in, numbers out, no runs; `verbs.style` binds it to a model.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

from ..errors import ConfigError

EPSILON = 1e-4
INTERPOLATION = {"w": "lerp", "z": "slerp"}  # the paper: lerp in W, slerp in Z

Generate = Callable[[Tensor, Tensor | None], Tensor]  # codes (M, D), labels (M,) | None -> images
Features = Callable[[Tensor], Tensor]  # images (M, C, H, W) -> features (M, F)
Draw = Callable[[int, torch.Generator], tuple[Tensor, Tensor, Tensor | None]]  # n -> a, b (n, D), labels


def _unit(v: Tensor) -> Tensor:
    return v / v.norm(dim=-1, keepdim=True).clamp_min(1e-30)


def sphere_slerp(a: Tensor, b: Tensor, t: Tensor) -> Tensor:
    """The reference's slerp: a, b (N, D) taken to the unit sphere, t (N,) -> unit vectors (N, D) at
    angle t * angle(a, b) from a towards b (t may pass 1)."""
    a, b = _unit(a), _unit(b)
    d = (a * b).sum(-1, keepdim=True).clamp(-1.0, 1.0)
    p = t[:, None] * torch.acos(d)
    c = _unit(b - d * a)
    return _unit(a * torch.cos(p) + c * torch.sin(p))


def path_points(
    a: Tensor, b: Tensor, t: Tensor, space: str, epsilon: float = EPSILON
) -> tuple[Tensor, Tensor]:
    """The two ends of each short step: codes at t and at t + eps on the path a -> b (N, D) each.
    W: lerp; Z: slerp on the sphere of radius sqrt(D)."""
    if space not in INTERPOLATION:
        raise ConfigError(f"space must be 'w' or 'z'; got {space!r}")
    t = t.to(a.dtype)
    if space == "w":
        return torch.lerp(a, b, t[:, None]), torch.lerp(a, b, (t + epsilon)[:, None])
    radius = math.sqrt(a.shape[-1])
    return radius * sphere_slerp(a, b, t), radius * sphere_slerp(a, b, t + epsilon)


@torch.no_grad()
def path_distances(
    generate: Generate,
    features: Features,
    a: Tensor,
    b: Tensor,
    t: Tensor,
    space: str,
    labels: Tensor | None = None,
    epsilon: float = EPSILON,
    batch_size: int = 128,
) -> np.ndarray:
    """||f(generate(p(t))) - f(generate(p(t + eps)))||^2 / eps^2 for each pair: float64 (N,).

    a, b: path ends (N, D) in `space`; t: (N,); labels: (N,) or None, handed to `generate` with the
    codes (both ends of a step share their pair's label). Both ends of a step go through `generate` in
    one call, so a generator that fixes its noise per call sees the same noise at both."""
    out = []
    for i in range(0, len(a), batch_size):
        s = slice(i, i + batch_size)
        e0, e1 = path_points(a[s], b[s], t[s], space, epsilon)
        y = None if labels is None else torch.cat([labels[s], labels[s]])
        f = torch.as_tensor(features(generate(torch.cat([e0, e1]), y))).double().flatten(1)
        f0, f1 = f.chunk(2)
        out.append((((f0 - f1) ** 2).sum(-1) / epsilon**2).cpu().numpy())
    return np.concatenate(out)


def filtered_mean(distances: np.ndarray, lo: float = 1.0, hi: float = 99.0) -> float:
    """Mean of the distances within [lo-th percentile ("lower"), hi-th ("higher")], as the reference."""
    d = np.asarray(distances, dtype=np.float64)
    low = np.percentile(d, lo, method="lower")
    high = np.percentile(d, hi, method="higher")
    return float(d[(d >= low) & (d <= high)].mean())


def perceptual_path_length(
    generate: Generate,
    features: Features,
    draw: Draw,
    space: str,
    n: int = 2000,
    *,
    epsilon: float = EPSILON,
    generator: torch.Generator | None = None,
    batch_size: int = 128,
) -> float:
    """PPL over n pairs: `draw(n, generator)` gives the path ends a, b (n, D) in `space` (W: mapped
    codes; Z: prior codes) and their labels (or None); t ~ U(0, 1); the filtered mean distance."""
    if n < 1:
        raise ConfigError(f"path length needs n >= 1 pairs; got {n}")
    generator = generator if generator is not None else torch.Generator().manual_seed(0)
    a, b, labels = draw(n, generator)
    t = torch.rand(n, generator=generator, dtype=torch.float64).to(a.device)
    d = path_distances(generate, features, a, b, t, space, labels, epsilon, batch_size)
    return filtered_mean(d)
