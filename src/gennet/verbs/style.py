"""Verbs of style-based generators (capability `style_mix`: StyleGAN): truncation, style mixing (the
paper's figure 3), paths in W, and the perceptual path length bound to a model.

A style model maps z (N, z_dim) to w (N, w_dim) (`mapping`), broadcasts and truncates w to one style
input per synthesis layer, ws (N, num_ws, w_dim) (`truncate`), and draws images from ws (`synthesize`);
style input i drives the block at resolution `ws_resolution(i)` = 2 ** (i // 2 + 2).

Layer: imports `runs`, `latent`, `eval.path_length` (pure) and `verbs.capability`; imported by
`verbs.generation`, `eval.protocol` and `api`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..errors import ConfigError, GennetError
from ..eval.path_length import EPSILON, perceptual_path_length
from ..latent import interpolation_path
from ..runs import Run, as_run
from ..validation import check_count
from ..viz import to_uint8
from .capability import require

BAND_NAMES = ("coarse", "middle", "fine")
PAPER_BANDS = ((4, 8), (16, 32), (64, math.inf))  # figure 3: 4²-8², 16²-32², 64²-1024²
NOISE = "const"  # the reference's figures: randomize_noise=False, so cells differ only in their styles


def truncation_kwargs(model, psi: float = 1.0, cutoff: int | None = None) -> dict[str, Any]:
    """The model's `sample` keywords for truncation psi on the first `cutoff` style inputs: {} when off
    (psi 1, no cutoff), else checked: it needs a style model and 1 <= cutoff <= num_ws."""
    if psi == 1.0 and cutoff is None:
        return {}
    if not math.isfinite(psi):
        raise ConfigError(f"truncation psi must be a finite number; got {psi}")
    require(model, "style_mix", "truncation")
    if cutoff is not None and not 1 <= cutoff <= model.num_ws:
        raise ConfigError(f"truncation cutoff must be in 1..{model.num_ws} (the style inputs); got {cutoff}")
    return {"truncation": float(psi), "truncation_cutoff": cutoff}


def style_bands(num_ws: int, ws_resolution) -> list[tuple[str, list[int], list[int]]]:
    """(name, style indices, resolutions) of the coarse, middle and fine bands.

    With 64x64 and up, the paper's bands: 4-8, 16-32, 64 and up. Below, the available resolutions
    split into three bands as evenly as possible (coarse first: 32x32 gives 4-8, 16, 32)."""
    res_of = [ws_resolution(i) for i in range(num_ws)]
    resolutions = sorted(set(res_of))
    if len(resolutions) < 3:
        raise GennetError(f"style mixing needs at least 3 resolutions (16x16); this model has {resolutions}")
    if max(resolutions) >= 64:
        groups = [[r for r in resolutions if lo <= r <= hi] for lo, hi in PAPER_BANDS]
    else:
        groups = [list(g) for g in np.array_split(np.array(resolutions), 3)]
    return [
        (name, [i for i, r in enumerate(res_of) if r in group], [int(r) for r in group])
        for name, group in zip(BAND_NAMES, groups, strict=True)
    ]


def _span(resolutions: list[int]) -> str:
    return f"{resolutions[0]}" if len(resolutions) == 1 else f"{resolutions[0]}-{resolutions[-1]}"


def _draw_ws(run: Run, n: int, g: torch.Generator, psi: float, cutoff: int | None) -> Tensor:
    """n style vectors ws (n, num_ws, w_dim) from prior codes (random classes for conditional models)."""
    model = run.model
    z = model.latent_prior(n, generator=g)
    labels = None
    if model.can("conditional"):
        labels = torch.randint(0, run.spec.num_classes, (n,), generator=g).to(z.device)
    return model.truncate(model.mapping(z, labels), psi, cutoff)


def style_mix(
    run: Run | str | Path,
    rows: int = 5,
    cols: int = 5,
    seed: int = 0,
    truncation: float = 1.0,
    truncation_cutoff: int | None = None,
    noise: str = NOISE,
) -> dict[str, Any]:
    """The paper's figure 3: sources A (rows) and B (cols); for each band, each A with that band of
    styles taken from each B. Returns uint8 images and names:

    - "rows": 1 + 3 * rows arrays (cols + 1, C, H, W): a blank cell and the B images, then per band
      (coarse, middle, fine) one row per A: A, then A with B's styles on the band; "names": their labels;
    - "sources_a" (rows, C, H, W), "sources_b" (cols, C, H, W), "mixed": band -> (rows, cols, C, H, W);
    - "bands": band -> {"resolutions": [...], "span": "4-8", "styles": [style input indices]}."""
    run = as_run(run)
    model = run.model
    require(model, "style_mix", "style mixing")
    rows, cols = check_count("rows", rows, maximum=1000), check_count("cols", cols, maximum=1000)
    truncation_kwargs(model, truncation, truncation_cutoff)  # checks psi and cutoff
    bands = style_bands(model.num_ws, model.ws_resolution)
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    with torch.no_grad():
        ws = _draw_ws(run, rows + cols, g, truncation, truncation_cutoff)
        wa, wb = ws[:rows], ws[rows:]
        src_a = to_uint8(model.synthesize(wa, noise=noise).cpu())
        src_b = to_uint8(model.synthesize(wb, noise=noise).cpu())
        blank = np.full_like(src_b[:1], 255)
        out_rows, names = [np.concatenate([blank, src_b])], ["source B"]
        mixed = {}
        for name, idx, res in bands:
            mix = wa[:, None].repeat(1, cols, 1, 1)  # (rows, cols, num_ws, w_dim)
            mix[:, :, idx] = wb[None, :, idx]
            images = to_uint8(model.synthesize(mix.flatten(0, 1), noise=noise).cpu())
            mixed[name] = images.reshape(rows, cols, *images.shape[1:])
            for i in range(rows):
                out_rows.append(np.concatenate([src_a[i : i + 1], mixed[name][i]]))
                names.append(f"{name} {_span(res)} A{i + 1}")
    return {
        "rows": out_rows,
        "names": names,
        "sources_a": src_a,
        "sources_b": src_b,
        "mixed": mixed,
        "bands": {name: {"resolutions": res, "span": _span(res), "styles": idx} for name, idx, res in bands},
    }


def w_path_images(model, z: Tensor, steps: int, labels: Tensor | None = None, noise: str = NOISE) -> Tensor:
    """Images along the straight line between the mapped codes of z[0] and z[1] (z: (2, z_dim)):
    w = mapping(z), lerp in W, synthesized without truncation: (steps, C, H, W) floats."""
    require(model, "style_mix", "interpolation in W")
    w = model.mapping(z, labels)
    path = interpolation_path(w[0], w[1], steps, "linear")
    return model.synthesize(model.truncate(path), noise=noise)


def path_length(
    run: Run | str | Path,
    features,
    space: str = "w",
    n: int = 2000,
    seed: int = 0,
    epsilon: float = EPSILON,
) -> float:
    """The perceptual path length of a style model in `space` ("w": lerp between mapped codes; "z":
    slerp between prior codes), distances in the space of `features` (images -> (N, F)): see
    `eval.path_length`. No truncation; the synthesis noise is fixed (the reference's
    randomize_noise=False). Conditional models keep one random class per path."""
    run = as_run(run)
    model = run.model
    require(model, "style_mix", "perceptual path length")
    classes = run.spec.num_classes if model.can("conditional") else None

    def draw(m: int, g: torch.Generator):
        z = model.latent_prior(2 * m, generator=g)
        y = torch.randint(0, classes, (m,), generator=g).to(z.device) if classes else None
        if space == "w":
            z = model.mapping(z, None if y is None else y.repeat(2))
        return z[:m], z[m:], y

    def generate(codes: Tensor, y: Tensor | None) -> Tensor:
        w = model.mapping(codes, y) if space == "z" else codes
        return model.synthesize(model.truncate(w), noise=NOISE)

    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        return perceptual_path_length(generate, features, draw, space, n, epsilon=epsilon, generator=g)
