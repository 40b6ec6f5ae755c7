"""Matplotlib plots (Agg canvas, no display, no pyplot global state): latent scatter, loss curves."""

from __future__ import annotations

import json
import math
import os
from collections import defaultdict
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from gennet.atomic import write_with
from gennet.errors import ConfigError

MAX_LEGEND_CLASSES = 20
"""latent_scatter draws a legend up to this many classes, a colour bar beyond."""


def _save(fig: Figure, path: str | os.PathLike) -> Path:
    FigureCanvasAgg(fig)
    return write_with(path, lambda f: fig.savefig(f, format="png", dpi=100))


def _as_numpy(a) -> np.ndarray:
    if hasattr(a, "detach"):
        a = a.detach().cpu().numpy()
    return np.asarray(a)


def pca_2d(z) -> tuple[np.ndarray, np.ndarray]:
    """Project z (N, D) on its first two principal axes (centred, via numpy SVD).

    Returns proj (N, 2) and explained_ratio (2,): the share of total variance of each axis. With
    D < 2 (or fewer points than axes) the missing columns are zeros and their share is 0.
    """
    z = _as_numpy(z).astype(np.float64)
    if z.ndim != 2 or z.shape[0] == 0:
        raise ConfigError(f"z must have shape (N, D) with N >= 1, got {z.shape}")
    zc = z - z.mean(axis=0, keepdims=True)
    _, s, vt = np.linalg.svd(zc, full_matrices=False)
    k = min(2, vt.shape[0])
    proj = np.zeros((z.shape[0], 2))
    proj[:, :k] = zc @ vt[:k].T
    var = s**2
    total = var.sum()
    ratio = np.zeros(2)
    if total > 0:
        ratio[:k] = var[:k] / total
    return proj, ratio


def _project(z: np.ndarray) -> tuple[np.ndarray, str, str]:
    """(N, D) -> points (N, 2) and the two axis labels."""
    d = z.shape[1]
    if d == 1:
        jitter = np.random.default_rng(0).uniform(-0.05, 0.05, size=z.shape[0])
        return np.stack([z[:, 0], jitter], axis=1), "z[0]", "jitter"
    if d == 2:
        return z, "z[0]", "z[1]"
    proj, ratio = pca_2d(z)
    return proj, f"PCA 1 ({ratio[0]:.1%} of variance)", f"PCA 2 ({ratio[1]:.1%} of variance)"


def _scatter_labelled(ax, pts: np.ndarray, labels: np.ndarray, fig: Figure) -> None:
    classes = np.unique(labels)
    if len(classes) > MAX_LEGEND_CLASSES:
        sc = ax.scatter(pts[:, 0], pts[:, 1], c=labels, cmap="viridis", s=6, alpha=0.7)
        fig.colorbar(sc, ax=ax, label="label")
        return
    cmap = matplotlib.colormaps["tab10"]
    for i, cls in enumerate(classes):
        sel = labels == cls
        ax.scatter(pts[sel, 0], pts[sel, 1], s=6, alpha=0.7, color=cmap(i % 10), label=str(cls))
    ax.legend(title="class", markerscale=3, fontsize="small", loc="best")


def latent_scatter(z, labels, path, title: str | None = None) -> Path:
    """Scatter plot of latent codes z (N, D), coloured by labels (N,) if given; writes a PNG.

    D == 2 is plotted as is; D > 2 is projected on its first two principal axes (the axis labels
    say "PCA" and give each axis' share of variance); D == 1 is plotted against a small jitter.
    Returns the path.
    """
    z = _as_numpy(z).astype(np.float64)
    if z.ndim != 2 or z.shape[0] == 0 or z.shape[1] == 0:
        raise ConfigError(f"z must have shape (N, D) with N, D >= 1, got {z.shape}")
    pts, xlabel, ylabel = _project(z)
    fig = Figure(figsize=(6.5, 5.5))
    ax = fig.add_subplot()
    if labels is None:
        ax.scatter(pts[:, 0], pts[:, 1], s=6, alpha=0.7)
    else:
        labels = _as_numpy(labels).reshape(-1)
        if labels.shape[0] != z.shape[0]:
            raise ConfigError(f"got {labels.shape[0]} labels for {z.shape[0]} latent codes")
        _scatter_labelled(ax, pts, labels, fig)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return _save(fig, path)


def read_loss_series(metrics_jsonl_path) -> dict[str, dict[str, tuple[list[float], list[float]]]]:
    """Read a metrics JSON-lines file into {phase: {key: (steps, values)}}.

    Only keys holding a "/" with finite numeric values count (phase = text before the first "/");
    rows without a numeric "step", blank lines and unparsable lines (e.g. a truncated last line)
    are skipped.
    """
    series: dict[str, dict[str, tuple[list[float], list[float]]]] = defaultdict(dict)
    with open(metrics_jsonl_path, encoding="utf-8") as fh:
        for line in fh:
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if not isinstance(row, dict) or not _is_number(row.get("step")):
                continue
            for key, value in row.items():
                if "/" in key and _is_number(value) and math.isfinite(value):
                    steps, values = series[key.split("/", 1)[0]].setdefault(key, ([], []))
                    steps.append(row["step"])
                    values.append(float(value))
    return dict(series)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _plot_phase(ax, phase: str, curves: dict[str, tuple[list[float], list[float]]]) -> None:
    for key, (steps, values) in sorted(curves.items()):
        ax.plot(steps, values, label=key.split("/", 1)[1], linewidth=1.2)
    values = np.concatenate([np.asarray(v) for _, v in curves.values()])
    if values.min() > 0 and values.max() / values.min() > 100:
        ax.set_yscale("log")  # e.g. a KL of 1e2 next to a reconstruction loss of 1e-1
    ax.set_title(phase)
    ax.set_xlabel("step")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="best")


def loss_curves(metrics_jsonl_path, out_png) -> Path:
    """Plot every loss series of a metrics JSON-lines file vs step; writes a PNG and returns its path.

    Rows look like {"step": 100, "recon/loss": 0.3, "recon/kl": 12.0, "time": ...}; keys with a "/"
    are losses, one subplot per phase prefix. Rows may lack some keys. A file without any loss
    gives a figure that says so.
    """
    series = read_loss_series(metrics_jsonl_path)
    n = max(1, len(series))
    fig = Figure(figsize=(7.0, 2.8 * n + 0.4))
    if not series:
        ax = fig.add_subplot()
        ax.text(0.5, 0.5, "no loss values logged yet", ha="center", va="center")
        ax.set_axis_off()
    for i, phase in enumerate(sorted(series)):
        _plot_phase(fig.add_subplot(n, 1, i + 1), phase, series[phase])
    fig.tight_layout()
    return _save(fig, out_png)
