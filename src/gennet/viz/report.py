"""Benchmark report: one self-contained HTML page, a Markdown summary and the raw results as JSON.

``write_report(results, out_dir)`` takes the dict that ``gennet bench`` produces (title, created, command,
protocol, floor, models) and writes ``report.html``, ``results.md`` and ``results.json`` into ``out_dir``.

The HTML page opens offline: inline CSS with the system font stack, every image embedded as a
``data:image/png;base64,...`` URI, no JavaScript and no external resource of any kind. The Markdown file
refers to the PNGs by paths relative to ``out_dir``.
"""

from __future__ import annotations

import base64
import html
import json
import math
import os
import re
from numbers import Integral, Real
from pathlib import Path
from typing import Any

FLOOR_LABEL = "real data (floor)"
MISSING = "—"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

METRIC_ORDER = (
    "fid",
    "kid",
    "precision",
    "recall",
    "classes_covered",
    "class_kl",
    "classifier_score",
    "recon_mse",
    "recon_psnr",
    "elbo_nats",
    "iw_nll_nats",
)
"""Table columns come in this order; metric keys not listed here follow in order of first appearance."""

FOLDED = ("kid_std", "num_classes")
"""Keys shown inside another column (kid as "mean ± std", classes_covered as "covered/num"), never alone."""

# key -> (column header, better direction: "lower", "higher" or None, meaning)
METRIC_INFO: dict[str, tuple[str, str | None, str]] = {
    "fid": (
        "FID",
        "lower",
        "Fréchet distance between Gaussians fitted to the extractor's features of the samples and of the "
        "reference images.",
    ),
    "kid": (
        "KID",
        "lower",
        "kernel distance: unbiased MMD² (cubic polynomial kernel) of the same features, mean ± std over "
        "random subsets; about 0 when the two sets are indistinguishable.",
    ),
    "precision": (
        "precision",
        "higher",
        "share of samples that lie on the real images' k-NN feature manifold (fidelity).",
    ),
    "recall": (
        "recall",
        "higher",
        "share of real images that lie on the samples' k-NN feature manifold (diversity).",
    ),
    "classes_covered": (
        "classes",
        "higher",
        "classes (of all) that the extractor's classifier assigns to at least a quarter of a uniform share "
        "of the samples.",
    ),
    "class_kl": (
        "class KL",
        "lower",
        "KL divergence, in nats, between the predicted-class histograms of the samples and of the reference.",
    ),
    "classifier_score": (
        "classifier score",
        "higher",
        "the Inception Score formula exp(E KL(p(y|x) ‖ p(y))) with the extractor's classifier; at most "
        "the number of classes.",
    ),
    "recon_mse": (
        "recon MSE",
        "lower",
        "mean squared reconstruction error of held-out images, pixels in [0, 1].",
    ),
    "recon_bce": ("recon BCE", "lower", "binary cross-entropy of reconstructions of held-out images."),
    "recon_psnr": ("recon PSNR", "higher", "peak signal-to-noise ratio of reconstructions, in dB."),
    "recon_ssim": ("recon SSIM", "higher", "structural similarity of reconstructions (1 = identical)."),
    "elbo_nats": ("ELBO (nats)", "higher", "evidence lower bound per held-out image, in nats."),
    "iw_nll_nats": (
        "IW NLL (nats)",
        "lower",
        "importance-weighted estimate of the negative log-likelihood per held-out image, in nats.",
    ),
    "iw_k": ("IW k", None, "importance samples per image behind the IW NLL estimate."),
}

ARROWS = {"lower": " ↓", "higher": " ↑", None: ""}

PROTOCOL_LABELS = {
    "dataset": "dataset",
    "reference": "reference",
    "samples": "samples per model",
    "heldout_images": "held-out images (reconstruction, likelihood)",
    "scoring_seconds": "seconds to score one model's samples",
    "seed": "seed",
    "extractor": "feature extractor",
    "extractor_sha256": "extractor SHA-256",
    "extractor_test_accuracy": "extractor test accuracy",
    "extractor_reason": "why this extractor",
    "budget_seconds": "training budget per model (s)",
}

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: #1d1f23; background: #fff; margin: 1.5rem auto; max-width: 1280px; padding: 0 1rem;
  line-height: 1.4; font-size: 15px; }
h1 { font-size: 1.6rem; margin: 0 0 .3rem; }
h2 { font-size: 1.2rem; margin: 1.4rem 0 .5rem; border-bottom: 1px solid #d8dce2; padding-bottom: .2rem; }
h3 { font-size: 1.05rem; margin: 1rem 0 .4rem; }
header p { margin: .15rem 0; color: #4a4f57; }
code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: .9em;
  background: #f2f4f7; padding: 0 .25em; border-radius: 3px; overflow-wrap: anywhere; }
dl.protocol { display: grid; grid-template-columns: max-content 1fr; gap: .1rem 1rem; margin: 0;
  font-size: .92rem; }
dl.protocol dt { font-weight: 600; color: #4a4f57; }
dl.protocol dd { margin: 0; }
.table-wrap { overflow-x: auto; }
table#metrics { border-collapse: collapse; font-size: .9rem; font-variant-numeric: tabular-nums; }
#metrics th, #metrics td { padding: .3rem .5rem; border-bottom: 1px solid #e3e6ea; white-space: nowrap; }
#metrics th { text-align: right; vertical-align: bottom; white-space: normal; background: #f6f7f9;
  border-bottom: 2px solid #c9ced6; }
#metrics td { text-align: right; }
#metrics th:first-child, #metrics td:first-child { text-align: left; }
#metrics tr.floor td { background: #eaf2fb; font-style: italic; border-bottom: 2px solid #9db8d9; }
#metrics tr.failed td:first-child { color: #a11; }
#metrics td.missing { color: #9aa0a8; }
.legend { font-size: .85rem; color: #3b4048; margin: .6rem 0 0; }
.legend dl { display: grid; grid-template-columns: max-content 1fr; gap: 0 .8rem; margin: .3rem 0; }
.legend dt { font-weight: 600; }
.legend dd { margin: 0; }
.legend p { margin: .3rem 0; }
section.model { margin-top: 1.2rem; }
.figures { display: flex; flex-wrap: wrap; gap: 1rem; align-items: flex-start; }
.figures figure { margin: 0; }
.figures figcaption { font-size: .85rem; color: #4a4f57; }
img.samples, img.curves { display: block; max-width: min(100%, 560px); height: auto;
  border: 1px solid #d8dce2; image-rendering: pixelated; }
.note { color: #6a707a; font-style: italic; font-size: .9rem; }
pre.error { color: #a11; background: #fdf1f1; border: 1px solid #f0c4c4; padding: .5rem;
  white-space: pre-wrap; font-size: .85rem; }
"""


# ----------------------------------------------------------------------------------------------- formatting


def _is_number(x: Any) -> bool:
    return isinstance(x, Real) and not isinstance(x, bool)


def fmt_number(x: Any) -> str:
    """A number in 3-4 significant digits (integers exactly); None -> "—"; anything else -> str(x)."""
    if x is None:
        return MISSING
    if isinstance(x, bool) or not _is_number(x):
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
    if not _is_number(mean):
        return fmt_number(mean)
    if not _is_number(std) or not math.isfinite(float(std)) or float(std) <= 0 or not math.isfinite(mean):
        return fmt_number(mean) if std is None else f"{fmt_number(mean)} ± {fmt_number(std)}"
    std = float(std)
    decimals = -math.floor(math.log10(std))
    if decimals < 0 or decimals > 10:  # very large or very tiny spreads: plain significant digits
        return f"{fmt_number(mean)} ± {fmt_number(std)}"
    return f"{float(mean):.{decimals}f} ± {std:.{decimals}f}"


def _metric_keys(floor: dict, models: list[dict]) -> list[str]:
    """Union of scalar metric keys in the floor and every model: METRIC_ORDER first, then first-seen order."""
    seen: list[str] = []
    for metrics in [floor] + [m.get("metrics") or {} for m in models]:
        for key, value in metrics.items():
            if key in FOLDED or key in seen or isinstance(value, dict | list | tuple):
                continue
            seen.append(key)
    return [k for k in METRIC_ORDER if k in seen] + [k for k in seen if k not in METRIC_ORDER]


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
    label, direction, _ = METRIC_INFO.get(key, (key, None, ""))
    return label + ARROWS[direction]


def _rows(results: dict) -> tuple[list[str], list[dict], list[str]]:
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
            None if secs is None else (f"{secs:.1f}" if _is_number(secs) else str(secs)),
        ] + [_cell(k, metrics) for k in keys]
        rows.append(
            {"kind": "model", "name": str(m.get("name", "?")), "cells": cells, "error": m.get("error")}
        )
    return header, rows, keys


def _legend_items(keys: list[str]) -> list[tuple[str, str]]:
    items = [
        ("steps", "optimiser steps the model trained for within the budget."),
        ("train s", "wall-clock training time in seconds."),
    ]
    for key in keys:
        label, direction, meaning = METRIC_INFO.get(key, (key, None, "no description available."))
        better = {"lower": " Lower is better.", "higher": " Higher is better.", None: ""}[direction]
        items.append((label, meaning[:1].upper() + meaning[1:] + better))
    return items


MISSING_NOTE = f"“{MISSING}” marks a metric the model does not have (e.g. no FID for a plain autoencoder)."

FLOOR_NOTE = (
    "The first row, “real data (floor)”, scores real training images against the same reference, with "
    "the same extractor and the same sample count: what a perfect generator would get, so read each "
    "model's numbers against it rather than against zero."
)


def _protocol_value(key: str, value: Any) -> str:
    if key.endswith("accuracy") and _is_number(value) and 0 <= value <= 1:
        return f"{100 * value:.4g}%"
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, default=str, ensure_ascii=False)
    return fmt_number(value)


# ----------------------------------------------------------------------------------------------- images


def _resolve(path: Any, base_dir: Path) -> Path | None:
    """The image file for a recorded path (relative paths against base_dir), or None if not recorded."""
    if path is None or path == "":
        return None
    p = Path(path)
    return p if p.is_absolute() else base_dir / p


def _data_uri(path: Path) -> str | None:
    """data:image/png;base64 URI of a PNG file, or None when the file is missing or not a PNG."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if not data.startswith(PNG_SIGNATURE):
        return None
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


# ----------------------------------------------------------------------------------------------- HTML


def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _html_table(header: list[str], rows: list[dict]) -> str:
    out = ['<div class="table-wrap"><table id="metrics">', "<thead><tr>"]
    for h in header:  # keep an arrow on its word's line, "train s" whole; headers may wrap elsewhere
        text = _e(h).replace(" ↓", "&nbsp;↓").replace(" ↑", "&nbsp;↑").replace("train s", "train&nbsp;s")
        out.append(f'<th scope="col">{text}</th>')
    out.append("</tr></thead>")
    out.append("<tbody>")
    for row in rows:
        if row["kind"] == "floor":
            out.append('<tr class="floor" data-row="floor">')
        else:
            cls = ' class="failed"' if row.get("error") else ""
            out.append(f'<tr{cls} data-model="{_e(row["name"])}">')
        name = _e(row["name"])
        if row["kind"] == "model":
            name = f'<a href="#model-{_e(row["name"])}">{name}</a>'
            if row.get("error"):
                name += " (failed)"
        out.append(f"<td>{name}</td>")
        for cell in row["cells"]:
            out.append('<td class="missing">—</td>' if cell is None else f"<td>{_e(cell)}</td>")
        out.append("</tr>")
    out.append("</tbody></table></div>")
    return "\n".join(out)


def _html_figure(kind: str, name: str, recorded: Any, base_dir: Path) -> str:
    what = {"samples": "sample grid", "curves": "loss curves"}[kind]
    path = _resolve(recorded, base_dir)
    if path is None:
        return f'<p class="note">No {what} was recorded for this model.</p>'
    uri = _data_uri(path)
    if uri is None:
        return f'<p class="note">No {what}: {_e(recorded)} is missing or not a PNG file.</p>'
    return (
        f'<figure><img class="{kind}" alt="{_e(name)} {kind}" src="{uri}">'
        f"<figcaption>{_e(what)} — <code>{_e(recorded)}</code></figcaption></figure>"
    )


def _html(results: dict, header: list[str], rows: list[dict], keys: list[str], base_dir: Path) -> str:
    title = results.get("title") or "gennet benchmark"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title>",
        f"<style>{CSS}</style>",
        "</head><body>",
        f"<header><h1>{_e(title)}</h1>",
    ]
    if results.get("created"):
        parts.append(
            f'<p>created <time datetime="{_e(results["created"])}">{_e(results["created"])}</time></p>'
        )
    if results.get("command"):
        parts.append(f"<p>command <code>{_e(results['command'])}</code></p>")
    parts.append("</header>")

    protocol = results.get("protocol") or {}
    if protocol:
        parts.append('<section id="protocol"><h2>Protocol</h2><dl class="protocol">')
        for key, value in protocol.items():
            label = PROTOCOL_LABELS.get(key, key.replace("_", " "))
            text = _e(_protocol_value(key, value))
            if key.endswith("sha256"):
                text = f"<code>{text}</code>"
            parts.append(f"<dt>{_e(label)}</dt><dd>{text}</dd>")
        parts.append("</dl></section>")

    parts.append('<section id="results"><h2>Metrics</h2>')
    parts.append(_html_table(header, rows))
    parts.append('<div class="legend"><dl>')
    for label, text in _legend_items(keys):
        parts.append(f"<dt>{_e(label)}</dt><dd>{_e(text)}</dd>")
    parts.append(f"</dl><p>{_e(FLOOR_NOTE)}</p>")
    parts.append(f"<p>{_e(MISSING_NOTE)}</p>")
    parts.append("</div></section>")

    for m in results.get("models") or []:
        name = str(m.get("name", "?"))
        parts.append(f'<section class="model" id="model-{_e(name)}"><h2>{_e(name)}</h2>')
        facts = []
        if m.get("run_dir"):
            facts.append(f"run directory <code>{_e(m['run_dir'])}</code>")
        if m.get("steps") is not None:
            facts.append(f"{_e(fmt_number(m['steps']))} steps")
        if _is_number(m.get("train_seconds")):
            facts.append(f"{m['train_seconds']:.1f} s of training")
        if facts:
            parts.append(f"<p>{', '.join(facts)}</p>")
        if m.get("error"):
            parts.append(
                f'<p><strong>This model failed:</strong></p><pre class="error">{_e(m["error"])}</pre>'
            )
        parts.append('<div class="figures">')
        parts.append(_html_figure("samples", name, m.get("grid_png"), base_dir))
        parts.append(_html_figure("curves", name, m.get("curves_png"), base_dir))
        parts.append("</div></section>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


# ----------------------------------------------------------------------------------------------- Markdown


def _md_escape(x: Any) -> str:
    """Plain text for one Markdown line or table cell: whitespace collapsed, |, < and > escaped."""
    text = " ".join(str(x).split())
    return text.replace("|", "\\|").replace("<", "\\<").replace(">", "\\>")


def _md_code(x: Any) -> str:
    """An inline code span of x on one line (backticks inside get a longer fence)."""
    text = " ".join(str(x).split())
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def _md_block(x: Any) -> list[str]:
    """A fenced block holding x verbatim (fence longer than any run of tildes inside)."""
    text = str(x)
    runs = [len(r) for r in re.findall("~+", text)]
    fence = "~" * max(3, max(runs, default=0) + 1)
    return [fence, text.rstrip("\n"), fence]


def _md(
    results: dict, header: list[str], rows: list[dict], keys: list[str], base_dir: Path, out_dir: Path
) -> str:
    lines = [f"# {_md_escape(results.get('title') or 'gennet benchmark')}", ""]
    if results.get("created"):
        lines.append(f"- created: {_md_escape(results['created'])}")
    if results.get("command"):
        lines.append(f"- command: {_md_code(results['command'])}")
    lines.append("")
    protocol = results.get("protocol") or {}
    if protocol:
        lines += ["## Protocol", ""]
        for key, value in protocol.items():
            label = PROTOCOL_LABELS.get(key, key.replace("_", " "))
            value = _protocol_value(key, value)
            text = _md_code(value) if key.endswith("sha256") else _md_escape(value)
            lines.append(f"- {label}: {text}")
        lines.append("")

    lines += ["## Metrics", ""]
    lines.append("| " + " | ".join(_md_escape(h) for h in header) + " |")
    lines.append("|" + "|".join([":---"] + ["---:"] * (len(header) - 1)) + "|")
    for row in rows:
        name = _md_escape(row["name"])
        if row["kind"] == "floor":
            name = f"*{name}*"
        elif row.get("error"):
            name += " (failed)"
        cells = [MISSING if c is None else _md_escape(c) for c in row["cells"]]
        lines.append("| " + " | ".join([name] + cells) + " |")
    lines.append("")
    for label, text in _legend_items(keys):
        lines.append(f"- **{_md_escape(label)}**: {_md_escape(text)}")
    lines += ["", FLOOR_NOTE, "", MISSING_NOTE, ""]

    for m in results.get("models") or []:
        name = _md_escape(m.get("name", "?"))
        lines += [f"## {name}", ""]
        if m.get("error"):
            lines += ["**Failed:**", "", *_md_block(m["error"]), ""]
        for kind, key in (("samples", "grid_png"), ("curves", "curves_png")):
            path = _resolve(m.get(key), base_dir)
            if path is None:
                lines.append(f"_No {kind} image was recorded._")
            elif not path.is_file():
                lines.append(f"_No {kind} image: {_md_code(m.get(key))} is missing._")
            else:
                rel = Path(os.path.relpath(path.resolve(), out_dir.resolve())).as_posix()
                target = f"<{rel}>" if any(c in rel for c in " ()") else rel
                lines.append(f"![{name} {kind}]({target})")
            lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


# ----------------------------------------------------------------------------------------------- entry point


def write_report(
    results: dict, out_dir: str | Path, *, base_dir: str | Path | None = None
) -> dict[str, Path]:
    """Write out_dir/report.html, out_dir/results.md and out_dir/results.json; return their paths.

    results follows the ``gennet bench`` schema (title, created, command, protocol, floor, models). Relative
    image paths in it (grid_png, curves_png) are resolved against base_dir, by default the current directory
    (where ``gennet bench`` ran). Returns {"html": ..., "md": ..., "json": ...}.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    base = Path.cwd() if base_dir is None else Path(base_dir)
    header, rows, keys = _rows(results)
    paths = {"html": out_dir / "report.html", "md": out_dir / "results.md", "json": out_dir / "results.json"}
    paths["html"].write_text(_html(results, header, rows, keys, base), encoding="utf-8")
    paths["md"].write_text(_md(results, header, rows, keys, base, out_dir), encoding="utf-8")
    paths["json"].write_text(
        json.dumps(results, indent=2, default=str, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return paths
