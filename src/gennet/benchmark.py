"""`gennet bench`: train a list of models under one time budget, evaluate each with one
protocol, and write a table (Markdown + JSON) and an offline HTML report.

Layer: beside the CLI: imports `api`, `viz` and `registry`; only the CLI imports it.
"""

from __future__ import annotations

import datetime as dt
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from . import api
from .errors import GennetError
from .registry import model_names
from .validation import POSITIVE, check_count, check_number
from .viz import loss_curves, save_grid
from .viz.report import write_report


def _train_one(
    name: str, out: Path, data: str, budget: float, seed: int, settings: dict
) -> tuple[Path, float]:
    run_dir = out / name
    t0 = time.perf_counter()
    api.train(
        name,
        run_dir,
        data=data,
        seed=seed,
        steps=settings.pop("steps", 1_000_000),
        max_seconds=budget,
        quiet=True,
        sample_every=10**9,
        checkpoint_every=10**9,
        **settings,
    )
    return run_dir, time.perf_counter() - t0


def bench(
    models: list[str] | None = None,
    data: str = "mnist",
    budget: float = 60.0,
    out: str | Path = "runs/bench",
    n: int | None = None,
    seed: int = 0,
    settings: dict | None = None,
    command: str | None = None,
) -> dict:
    """Train each model for `budget` seconds, evaluate it, write out/report.html, results.md/.json."""
    models = models or _default_models(data)
    unknown = [m for m in models if m not in model_names()]
    if unknown:
        raise GennetError(f"unknown model(s) {unknown}; choose from {', '.join(model_names())}")
    check_number("budget", budget, POSITIVE)
    n = None if n is None else check_count("n", n)
    for name in models:  # every setting checked for every model before anything is trained or written
        api.resolve_config(name, data=data, seed=seed, **(settings or {}))
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise GennetError(f"{out} is not empty; choose another --out (nothing was changed)")
    out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    floor, protocol = None, {}
    for name in models:
        row: dict[str, Any] = {
            "name": name,
            "run_dir": str(out / name),
            "grid_png": None,
            "curves_png": None,
            "error": None,
        }
        try:
            run_dir, seconds = _train_one(name, out, data, budget, seed, dict(settings or {}))
            run = api.load(run_dir)
            res = api.evaluate(run, n=n, seed=seed, floor=floor is None)  # one floor serves every model
            floor = res.pop("floor", None) or floor
            protocol = {**protocol, **res.pop("protocol")}
            res.pop("model", None)
            protocol["iw_k"] = res.pop("iw_k", None)
            row.update(steps=_steps(run_dir), train_seconds=round(seconds, 1), metrics=res)
            row["grid_png"] = str(_grid(run, run_dir))
            row["curves_png"] = str(loss_curves(run_dir / "metrics.jsonl", run_dir / "bench_curves.png"))
        except GennetError as e:  # one model failing does not lose the others' results
            row["error"] = str(e)
        rows.append(row)
        print(f"bench: {name} done" + (f" (error: {row['error']})" if row["error"] else ""), file=sys.stderr)
    protocol.update({"dataset": data, "budget_seconds": budget, "seed": seed})
    results = {
        "title": f"gennet benchmark — {data}",
        "created": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": command or f"gennet bench --models {' '.join(models)} --data {data} --budget {budget:g}",
        "protocol": protocol,
        "floor": floor or {},
        "models": rows,
    }
    results["paths"] = {k: str(v) for k, v in write_report(results, out).items()}
    return results


def _default_models(data: str) -> list[str]:
    """Every model that fits the data: translation models for an unpaired A/B set, the rest otherwise."""
    from .data.unpaired import PAIRS, is_unpaired_folder
    from .registry import model_entry

    folder = Path(data).expanduser()
    paired = data in PAIRS or (folder.is_dir() and is_unpaired_folder(folder))
    return [m for m in model_names() if ("translate" in model_entry(m)["cls"].capabilities) == paired]


def _steps(run_dir: Path) -> int:
    from .train.checkpoint import load_checkpoint

    return int(load_checkpoint(run_dir / "checkpoints" / "last.pt")["step"])


def _grid(run: api.Run, run_dir: Path) -> Path:
    if run.model.can("translate"):
        from .api import save_translation

        return save_translation(api.translate(run, n=16), run_dir / "bench_samples.png")
    if run.model.can("sample"):
        return save_grid(api.sample(run, 64, seed=0), run_dir / "bench_samples.png")
    x, y = api.reconstruct(run, n=32)
    import numpy as np

    return save_grid(np.concatenate([x[:16], y[:16], x[16:], y[16:]]), run_dir / "bench_samples.png", nrow=16)


def command_line(argv: list[str]) -> str:
    return "gennet " + " ".join(shlex.quote(a) for a in argv)
