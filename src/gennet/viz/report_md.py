"""The report's Markdown summary; images are referred to by paths relative to the output folder."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from gennet.viz.report_format import (
    FLOOR_NOTE,
    MISSING,
    MISSING_NOTE,
    PROTOCOL_LABELS,
    legend_items,
    protocol_value,
    resolve_image,
    sample_count_note,
)


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


def _md_head(results: dict) -> list[str]:
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
            value = protocol_value(key, value)
            text = _md_code(value) if key.endswith("sha256") else _md_escape(value)
            lines.append(f"- {label}: {text}")
        lines.append("")
    return lines


def _md_metrics(results: dict, header: list[str], rows: list[dict], keys: list[str]) -> list[str]:
    lines = ["## Metrics", ""]
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
    n_note = sample_count_note(results, keys)
    if n_note:
        lines += [_md_escape(n_note), ""]
    for label, text in legend_items(keys):
        lines.append(f"- **{_md_escape(label)}**: {_md_escape(text)}")
    return lines + ["", FLOOR_NOTE, "", MISSING_NOTE, ""]


def _md_model(m: dict, base_dir: Path, out_dir: Path) -> list[str]:
    name = _md_escape(m.get("name", "?"))
    lines = [f"## {name}", ""]
    if m.get("error"):
        lines += ["**Failed:**", "", *_md_block(m["error"]), ""]
    for kind, key in (("samples", "grid_png"), ("curves", "curves_png")):
        path = resolve_image(m.get(key), base_dir)
        if path is None:
            lines.append(f"_No {kind} image was recorded._")
        elif not path.is_file():
            lines.append(f"_No {kind} image: {_md_code(m.get(key))} is missing._")
        else:
            rel = Path(os.path.relpath(path.resolve(), out_dir.resolve())).as_posix()
            target = f"<{rel}>" if any(c in rel for c in " ()") else rel
            lines.append(f"![{name} {kind}]({target})")
        lines.append("")
    return lines


def render_md(
    results: dict, header: list[str], rows: list[dict], keys: list[str], base_dir: Path, out_dir: Path
) -> str:
    """The whole summary: title, protocol, metrics table with its legend, one section per model."""
    lines = _md_head(results) + _md_metrics(results, header, rows, keys)
    for m in results.get("models") or []:
        lines += _md_model(m, base_dir, out_dir)
    return "\n".join(lines).rstrip("\n") + "\n"
