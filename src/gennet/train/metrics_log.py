"""The run's `metrics.jsonl`: one JSON row per log interval, appended; on resume, cut back to the
checkpoint's step (rows a kill tore or damaged are dropped).

Layer: training support: imports `atomic` (whole-file rewrites) only.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from ..atomic import write_error, write_text


def append_row(path: Path, row: dict) -> None:
    """Append one row (appended, not rewritten: a torn last line is dropped on resume)."""
    try:
        with open(path, "a") as f:
            f.write(json.dumps(row) + "\n")
    except OSError as e:
        raise write_error(path, e) from None


def row_step(line: str) -> float:
    """The step of a metrics.jsonl row; infinity for a line that is not a row (torn, damaged)."""
    try:
        row = json.loads(line)
        return row["step"] if isinstance(row, dict) and isinstance(row.get("step"), int) else math.inf
    except ValueError:
        return math.inf


def truncate_rows(path: Path, step: int) -> None:
    """Keep the rows up to `step` (the checkpoint's), rewriting the file atomically."""
    if path.is_file():
        rows = [r for r in path.read_bytes().decode("utf-8", "replace").splitlines() if row_step(r) <= step]
        write_text(path, "".join(r + "\n" for r in rows))
