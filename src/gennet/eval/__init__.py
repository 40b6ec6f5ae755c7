"""Offline evaluation: reconstruction metrics and Gaussian log densities."""

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
