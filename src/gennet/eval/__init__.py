"""Offline evaluation: reconstruction metrics and Gaussian log densities.

Layer: `eval/` holds pure metric modules (pixel_metrics, feature_metrics, likelihood,
features, scoring, suites) that import only `errors`, torch, NumPy and SciPy, so `train/` and
`losses` may use them; `protocol.py`, the evaluation protocol, sits above `runs` and the verbs
and is imported only by `api` (this package does not import it).
"""

from gennet.eval.pixel_metrics import (
    PSNR_CAP_DB,
    bce,
    gaussian_kl_standard,
    gaussian_window,
    log_mean_exp,
    log_normal_diag,
    log_normal_standard,
    mse,
    per_image_mse,
    psnr,
    ssim,
)

__all__ = [
    "PSNR_CAP_DB",
    "bce",
    "gaussian_kl_standard",
    "gaussian_window",
    "log_mean_exp",
    "log_normal_diag",
    "log_normal_standard",
    "mse",
    "per_image_mse",
    "psnr",
    "ssim",
]
