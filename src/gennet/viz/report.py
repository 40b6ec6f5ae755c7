"""Benchmark report: one self-contained HTML page, a Markdown summary and the raw results as JSON.

``write_report(results, out_dir)`` takes the dict that ``gennet bench`` produces (title, created, command,
protocol, floor, models) and writes ``report.html``, ``results.md`` and ``results.json`` into ``out_dir``.

The HTML page opens offline (``report_html``); the Markdown file refers to the PNGs by paths relative to
``out_dir`` (``report_md``); both share the table and formatting of ``report_format``, and read each
metric's header, direction and meaning from ``gennet.eval.suites``.
"""

from __future__ import annotations

import json
from pathlib import Path

from gennet.atomic import write_text
from gennet.viz.report_format import FLOOR_LABEL, MISSING, fmt_mean_std, fmt_number, table_rows
from gennet.viz.report_html import render_html
from gennet.viz.report_md import render_md

__all__ = ["FLOOR_LABEL", "MISSING", "fmt_mean_std", "fmt_number", "write_report"]


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
    header, rows, keys = table_rows(results)
    paths = {"html": out_dir / "report.html", "md": out_dir / "results.md", "json": out_dir / "results.json"}
    write_text(paths["html"], render_html(results, header, rows, keys, base))
    write_text(paths["md"], render_md(results, header, rows, keys, base, out_dir))
    write_text(paths["json"], json.dumps(results, indent=2, default=str, ensure_ascii=False) + "\n")
    return paths
