"""Autoencoding verbs: reconstruct, denoise, encode. Images in: uint8 or float in [0, 1]
(N, C, H, W); images out: uint8.

Layer: imports `runs` and the model/eval layers below it; imported by `api`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..corruption import corrupt
from ..eval import pixel_metrics as M
from ..runs import Run, as_run, batched, float_images, heldout
from ..validation import UNIT, check_count, check_number
from ..viz import to_uint8
from .capability import require


def reconstruct(run: Run | str | Path, images=None, n: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """(originals, reconstructions), uint8; held-out images when `images` is None."""
    run = as_run(run)
    n = check_count("n", n)
    run.model.require("reconstruct")
    x = heldout(run, n).images if images is None else images
    x = float_images(run, x)
    return to_uint8(x.cpu()), to_uint8(batched(run.model.reconstruct, x).cpu())


def denoise(
    run: Run | str | Path,
    images=None,
    n: int = 16,
    kind: str | None = None,
    level: float | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Denoise `images`; with none, corrupt held-out images and report PSNR before and after."""
    run = as_run(run)
    n = check_count("n", n)
    if level is not None:
        check_number("level", level, UNIT)
    run.model.require("denoise")
    if images is not None:
        x = float_images(run, images)
        return {"noisy": to_uint8(x.cpu()), "denoised": to_uint8(batched(run.model.denoise, x).cpu())}
    clean = float_images(run, heldout(run, n).images)
    mcfg = run.model.cfg
    kind = kind or (mcfg.corruption if getattr(mcfg, "corruption", "none") != "none" else "gaussian")
    level = level if level is not None else getattr(mcfg, "corruption_level", 0.3)
    noisy = corrupt(clean, kind, level, torch.Generator().manual_seed(seed))
    out = batched(run.model.denoise, noisy)
    return {
        "clean": to_uint8(clean.cpu()),
        "noisy": to_uint8(noisy.cpu()),
        "denoised": to_uint8(out.cpu()),
        "psnr_before": M.psnr(noisy, clean),
        "psnr_after": M.psnr(out, clean),
        "corruption": kind,
        "level": level,
    }


def encode(run: Run | str | Path, images=None) -> tuple[np.ndarray, np.ndarray | None]:
    """Latent codes (N, latent_dim) of `images`, or of the whole held-out split with its labels."""
    run = as_run(run)
    require(run.model, "encode")
    labels = None
    if images is None:
        data = heldout(run)
        images, labels = data.images, (data.labels.numpy() if data.labels is not None else None)
    z = batched(run.model.encode, float_images(run, images))
    return z.cpu().numpy(), labels
