"""What the HTML page and the Markdown summary share: number formatting, the metrics table as rows of plain
text, the legend and the notes. Metric headers, directions and meanings come from their one home,
``gennet.eval.suites``.
"""

from __future__ import annotations

import base64
import json
import math
from numbers import Integral, Real
from pathlib import Path
from typing import Any

from gennet.eval.suites import column_keys, describe, folded_keys

FLOOR_LABEL = "real data (floor)"
MISSING = "—"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

ARROWS = {"lower": " ↓", "higher": " ↑", None: ""}

PROTOCOL_LABELS = {
    "dataset": "dataset",
    "reference": "reference",
    "samples": "samples per model (n)",
    "n": "samples per model (n)",
    "reference_images": "reference images",
    "heldout_images": "held-out images (reconstruction, likelihood)",
    "scoring_seconds": "seconds to score one model's samples",
    "seed": "seed",
    "extractor": "feature extractor",
    "extractor_sha256": "extractor SHA-256",
    "extractor_test_accuracy": "extractor test accuracy",
    "extractor_reason": "why this extractor",
    "budget_seconds": "training budget per model (s)",
}


# ----------------------------------------------------------------------------------------------- numbers


def is_number(x: Any) -> bool:
    return isinstance(x, Real) and not isinstance(x, bool)


def fmt_number(x: Any) -> str:
    """A number in 3-4 significant digits (integers exactly); None -> "—"; anything else -> str(x)."""
    if x is None:
        return MISSING
    if isinstance(x, bool) or not is_number(x):
        return str(x)
    if isinstance(x, Integral):
        return str(int(x))
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    if x == 0:
        return "0"
    a = abs(x)
    if 1000 <= a < 1e6:
        return f"{x:.0f}"
    if a < 1e-4 or a >= 1e6:
        return f"{x:.3g}"
    return f"{x:.4g}"


def fmt_mean_std(mean: Any, std: Any) -> str:
    """Mean ± std as "0.0123 ± 0.0004": both rounded at the std's first significant digit."""
    if not is_number(mean):
        return fmt_number(mean)
    if not is_number(std) or not math.isfinite(float(std)) or float(std) <= 0 or not math.isfinite(mean):
        return fmt_number(mean) if std is None else f"{fmt_number(mean)} ± {fmt_number(std)}"
    std = float(std)
    decimals = -math.floor(math.log10(std))
    if decimals < 0 or decimals > 10:  # very large or very tiny spreads: plain significant digits
        return f"{fmt_number(mean)} ± {fmt_number(std)}"
    return f"{float(mean):.{decimals}f} ± {std:.{decimals}f}"


# ----------------------------------------------------------------------------------------------- the table


def _metric_keys(floor: dict, models: list[dict]) -> list[str]:
    """Union of scalar metric keys in the floor and every model: declared columns first (in the suites'
    order), then undeclared keys in first-seen order."""
    folded, declared = folded_keys(), column_keys()
    seen: list[str] = []
    for metrics in [floor] + [m.get("metrics") or {} for m in models]:
        for key, value in metrics.items():
            if key in folded or key in seen or isinstance(value, dict | list | tuple):
                continue
            seen.append(key)
    return [k for k in declared if k in seen] + [k for k in seen if k not in declared]


def _cell(key: str, metrics: dict) -> str | None:
    """Plain-text value of one table cell, or None when the metric is missing."""
    value = metrics.get(key)
    if value is None:
        return None
    if key == "kid" and "kid_std" in metrics:
        return fmt_mean_std(value, metrics["kid_std"])
    if key == "classes_covered" and metrics.get("num_classes") is not None:
        return f"{fmt_number(value)}/{fmt_number(metrics['num_classes'])}"
    return fmt_number(value)


def _header(key: str) -> str:
    metric = describe(key)
    return key if metric is None else metric.header + ARROWS[metric.direction]


def table_rows(results: dict) -> tuple[list[str], list[dict], list[str]]:
    """Table header, rows (dicts: kind "floor" | "model", name, cells: text or None) and metric keys."""
    floor = results.get("floor") or {}
    models = list(results.get("models") or [])
    keys = _metric_keys(floor, models)
    header = ["model", "steps", "train s"] + [_header(k) for k in keys]
    rows = []
    if floor:
        rows.append(
            {"kind": "floor", "name": FLOOR_LABEL, "cells": [None, None] + [_cell(k, floor) for k in keys]}
        )
    for m in models:
        metrics = m.get("metrics") or {}
        steps, secs = m.get("steps"), m.get("train_seconds")
        cells = [
            None if steps is None else fmt_number(steps),
            None if secs is None else (f"{secs:.1f}" if is_number(secs) else str(secs)),
        ] + [_cell(k, metrics) for k in keys]
        rows.append(
            {"kind": "model", "name": str(m.get("name", "?")), "cells": cells, "error": m.get("error")}
        )
    return header, rows, keys


def legend_items(keys: list[str]) -> list[tuple[str, str]]:
    """(label, sentence) for the steps and time columns and every metric column, from the declarations."""
    items = [
        ("steps", "optimiser steps the model trained for within the budget."),
        ("train s", "wall-clock training time in seconds."),
    ]
    for key in keys:
        metric = describe(key)
        if metric is None:
            items.append((key, "No description available."))
            continue
        better = {"lower": " Lower is better.", "higher": " Higher is better.", None: ""}[metric.direction]
        items.append((metric.header, metric.description[:1].upper() + metric.description[1:] + better))
    return items


def sample_count_note(results: dict, keys: list[str]) -> str | None:
    """The n behind every FID in the table (FID depends on n and on the reference size), or None."""
    if not any(k == "fid" or k.startswith("fid_") for k in keys):
        return None
    protocol = results.get("protocol") or {}
    n = protocol.get("samples", protocol.get("n"))
    ref = protocol.get("reference_images")
    if n is None:
        return "FID: the sample count n was not recorded; FIDs at different n cannot be compared."
    n_text = _count_text(n)
    ref_text = "" if ref is None else f" against {_count_text(ref)} reference images"
    return f"FID at n = {n_text} samples per model{ref_text}; FIDs at other n or references do not compare."


def _count_text(x: Any) -> str:
    if isinstance(x, dict):
        return ", ".join(f"{k}: {fmt_number(v)}" for k, v in x.items())
    return fmt_number(x)


MISSING_NOTE = f"“{MISSING}” marks a metric the model does not have (e.g. no FID for a plain autoencoder)."

FLOOR_NOTE = (
    "The first row, “real data (floor)”, scores real training images against the same reference, with "
    "the same extractor and the same sample count: what a perfect generator would get, so read each "
    "model's numbers against it rather than against zero."
)


def protocol_value(key: str, value: Any) -> str:
    if key.endswith("accuracy") and is_number(value) and 0 <= value <= 1:
        return f"{100 * value:.4g}%"
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, default=str, ensure_ascii=False)
    return fmt_number(value)


# ----------------------------------------------------------------------------------------------- images


def resolve_image(path: Any, base_dir: Path) -> Path | None:
    """The image file for a recorded path (relative paths against base_dir), or None if not recorded."""
    if path is None or path == "":
        return None
    p = Path(path)
    return p if p.is_absolute() else base_dir / p


def png_data_uri(path: Path) -> str | None:
    """data:image/png;base64 URI of a PNG file, or None when the file is missing or not a PNG."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if not data.startswith(PNG_SIGNATURE):
        return None
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")
