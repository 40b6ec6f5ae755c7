"""The report's self-contained HTML page: inline CSS with the system font stack, every image embedded as a
``data:image/png;base64,...`` URI, no JavaScript and no external resource of any kind."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from gennet.viz.report_format import (
    FLOOR_NOTE,
    MISSING_NOTE,
    PROTOCOL_LABELS,
    fmt_number,
    is_number,
    legend_items,
    png_data_uri,
    protocol_value,
    resolve_image,
    sample_count_note,
)

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
.fid-n { font-size: .85rem; color: #3b4048; margin: .5rem 0 0; }
pre.error { color: #a11; background: #fdf1f1; border: 1px solid #f0c4c4; padding: .5rem;
  white-space: pre-wrap; font-size: .85rem; }
"""


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
    path = resolve_image(recorded, base_dir)
    if path is None:
        return f'<p class="note">No {what} was recorded for this model.</p>'
    uri = png_data_uri(path)
    if uri is None:
        return f'<p class="note">No {what}: {_e(recorded)} is missing or not a PNG file.</p>'
    return (
        f'<figure><img class="{kind}" alt="{_e(name)} {kind}" src="{uri}">'
        f"<figcaption>{_e(what)} — <code>{_e(recorded)}</code></figcaption></figure>"
    )


def _html_head(results: dict) -> list[str]:
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
    return parts


def _html_protocol(protocol: dict) -> list[str]:
    if not protocol:
        return []
    parts = ['<section id="protocol"><h2>Protocol</h2><dl class="protocol">']
    for key, value in protocol.items():
        label = PROTOCOL_LABELS.get(key, key.replace("_", " "))
        text = _e(protocol_value(key, value))
        if key.endswith("sha256"):
            text = f"<code>{text}</code>"
        parts.append(f"<dt>{_e(label)}</dt><dd>{text}</dd>")
    parts.append("</dl></section>")
    return parts


def _html_metrics(results: dict, header: list[str], rows: list[dict], keys: list[str]) -> list[str]:
    parts = ['<section id="results"><h2>Metrics</h2>', _html_table(header, rows)]
    n_note = sample_count_note(results, keys)
    if n_note:
        parts.append(f'<p class="fid-n">{_e(n_note)}</p>')
    parts.append('<div class="legend"><dl>')
    for label, text in legend_items(keys):
        parts.append(f"<dt>{_e(label)}</dt><dd>{_e(text)}</dd>")
    parts.append(f"</dl><p>{_e(FLOOR_NOTE)}</p>")
    parts.append(f"<p>{_e(MISSING_NOTE)}</p>")
    parts.append("</div></section>")
    return parts


def _html_model(m: dict, base_dir: Path) -> list[str]:
    name = str(m.get("name", "?"))
    parts = [f'<section class="model" id="model-{_e(name)}"><h2>{_e(name)}</h2>']
    facts = []
    if m.get("run_dir"):
        facts.append(f"run directory <code>{_e(m['run_dir'])}</code>")
    if m.get("steps") is not None:
        facts.append(f"{_e(fmt_number(m['steps']))} steps")
    if is_number(m.get("train_seconds")):
        facts.append(f"{m['train_seconds']:.1f} s of training")
    if facts:
        parts.append(f"<p>{', '.join(facts)}</p>")
    if m.get("error"):
        parts.append(f'<p><strong>This model failed:</strong></p><pre class="error">{_e(m["error"])}</pre>')
    parts.append('<div class="figures">')
    parts.append(_html_figure("samples", name, m.get("grid_png"), base_dir))
    parts.append(_html_figure("curves", name, m.get("curves_png"), base_dir))
    parts.append("</div></section>")
    return parts


def render_html(results: dict, header: list[str], rows: list[dict], keys: list[str], base_dir: Path) -> str:
    """The whole page: header, protocol, metrics table with its legend, then one section per model."""
    parts = _html_head(results) + _html_protocol(results.get("protocol") or {})
    parts += _html_metrics(results, header, rows, keys)
    for m in results.get("models") or []:
        parts += _html_model(m, base_dir)
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
