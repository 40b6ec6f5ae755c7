"""What the demo page can ask of a run: its description, samples, walks, and uploads to transform.

    demo = Demo(gennet.load("runs/vae"))
    demo.info()                               # model, controls the page shows, metrics, loss curves
    demo.sample("seed=3&n=16")                # {"image": "data:image/png;base64,...", "caption": ...}
    demo.upload("reconstruct", "", png_bytes) # the uploaded image beside its reconstruction

Each call takes the request's query string (and body), checks every parameter (`demo.params`),
calls the public verbs and returns a JSON-ready dict with images as PNG data URLs. Bad input is a
GennetError (the server answers 400 with its message). Model calls hold one lock: requests run one
at a time, so a seed always gives the same images.

Layer: imports the facade `gennet.api`, `viz`, `models.labels` and the demo's own helpers; the
demo server uses it.
"""

from __future__ import annotations

import base64
import io
import json
import tempfile
import threading
from pathlib import Path
from typing import Any

import numpy as np

from .. import api
from ..errors import ConfigError
from ..models.labels import class_index, class_names
from ..validation import Range
from ..verbs.capability import require
from ..verbs.translation import DIRECTIONS
from ..viz import loss_curves, make_grid
from ..viz.grid import to_pil
from ..viz.report_format import fmt_number, png_data_uri
from .params import MAX_SEED, Query
from .uploads import MAX_UPLOAD_BYTES, read_upload

MAX_N = 64  # images in one sample grid
MAX_STEPS = 16  # images in one walk
TRUNCATION = Range(-1.0, 1.0)  # psi: 1 is off, 0 the average image, below 0 the "anti-face"
UPLOAD_VERBS = ("reconstruct", "denoise", "translate")
METHODS = ("spherical", "linear")


def png_data_url(images: np.ndarray, nrow: int | None = None) -> str:
    """uint8 images (N, C, H, W) -> a grid as a data:image/png;base64 URL."""
    buf = io.BytesIO()
    to_pil(make_grid(images, nrow=nrow)).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def controls(run: api.Run, classes: list[str] | None) -> dict[str, Any]:
    """The controls the page shows: only what this model can do."""
    model = run.model
    walk = None
    if model.can("interpolate"):
        walk = "seeds" if model.can("sample") else "real" if model.can("encode") else None
    return {
        "sample": model.can("sample"),
        "truncation": model.can("sample") and model.can("style_mix"),
        "classes": classes,
        "walk": walk,
        "heldout": len(api.heldout(run)) if walk == "real" else None,
        "upload": [v for v in UPLOAD_VERBS if model.can(v)],
    }


def metric_rows(run_dir: Path) -> dict[str, Any] | None:
    """The run's eval.json (from `gennet evaluate RUN --json RUN/eval.json`) as table rows of text:
    metric, value and, where present, the real-data floor; None when there is no eval.json."""
    path = run_dir / "eval.json"
    if not path.is_file():
        return None
    try:
        res = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        return {"error": f"eval.json cannot be read: {e}"}
    if not isinstance(res, dict):
        return {"error": "eval.json does not hold a table of metrics"}
    floor = res.get("floor") if isinstance(res.get("floor"), dict) else {}
    rows = [
        [str(key), fmt_number(val), fmt_number(floor[key]) if key in floor else ""]
        for key, val in res.items()
        if key not in ("protocol", "model") and not isinstance(val, dict | list)
    ]
    return {"columns": ["metric", "value", "real floor" if floor else ""], "rows": rows}


def curves_data_url(run_dir: Path) -> str | None:
    """The loss curves of the run's metrics.jsonl as a PNG data URL; None when it has none."""
    log = run_dir / "metrics.jsonl"
    if not log.is_file():
        return None
    with tempfile.TemporaryDirectory(prefix="gennet-demo-") as folder:
        return png_data_uri(loss_curves(log, Path(folder) / "curves.png"))


class Demo:
    """One loaded run and the requests the page makes of it."""

    def __init__(self, run: api.Run):
        self.run = run
        self.lock = threading.Lock()
        conditional = run.model.can("conditional")
        self.classes = class_names(run.classes, run.spec.num_classes) if conditional else None
        self.controls = controls(run, self.classes)

    def info(self) -> dict[str, Any]:
        """What the page shows first: the run, its controls and limits, metrics and loss curves."""
        run = self.run
        with self.lock:  # matplotlib draws one figure at a time
            curves = curves_data_url(run.path)
        return {
            "run": str(run.path),
            "model": run.model.name,
            "data": run.config.data,
            "image": [run.spec.channels, run.spec.height, run.spec.width],
            "capabilities": sorted(run.model.capabilities),
            "controls": self.controls,
            "limits": {"n": MAX_N, "steps": MAX_STEPS, "seed": MAX_SEED, "upload_bytes": MAX_UPLOAD_BYTES},
            "metrics": metric_rows(run.path),
            "curves": curves,
        }

    def _label(self, q: Query) -> int | None:
        text = q.text("label")
        if text is None:
            return None
        if self.classes is None:
            raise ConfigError(f"model {self.run.model.name!r} is not conditional; it takes no label")
        return class_index(text, self.classes)

    def sample(self, query: str) -> dict[str, Any]:
        """GET /api/sample?seed=S&n=N[&truncation=PSI][&label=L]: a grid of n samples."""
        q = Query(query, {"seed", "n", "truncation", "label"})
        seed = q.integer("seed", 0, maximum=MAX_SEED)
        n = q.integer("n", 16, minimum=1, maximum=MAX_N)
        psi = q.number("truncation", 1.0, TRUNCATION)
        label = self._label(q)
        with self.lock:
            images = api.sample(self.run, n, seed=seed, labels=label, truncation=psi)
        caption = f"seed {seed}, {n} image{'s' * (n > 1)}"
        caption += "" if psi == 1.0 else f", truncation {psi:g}"
        caption += "" if label is None else f", class {self.classes[label]}"
        return {"image": png_data_url(images), "seed": seed, "caption": caption}

    def walk(self, query: str) -> dict[str, Any]:
        """GET /api/walk?a=A&b=B[&steps=K][&method=M][&label=L]: a row from code A to code B: prior
        codes of seeds A and B, or (a model that encodes but does not sample) held-out images A, B."""
        require(self.run.model, "interpolate")
        q = Query(query, {"a", "b", "steps", "method", "label"})
        real = self.controls["walk"] == "real"
        top = self.controls["heldout"] - 1 if real else MAX_SEED
        a, b = q.integer("a", 0, maximum=top), q.integer("b", 1, maximum=top)
        steps = q.integer("steps", 8, minimum=2, maximum=MAX_STEPS)
        method = q.choice("method", ("linear", "spherical") if real else METHODS)
        label = self._label(q)
        with self.lock:
            images = api.walk(self.run, a, b, steps=steps, method=method, label=label)
        ends = f"held-out images {a} and {b}" if real else f"seeds {a} and {b}"
        return {"image": png_data_url(images, nrow=steps), "caption": f"{method} walk between {ends}"}

    def upload(self, verb: str, query: str, body: bytes) -> dict[str, Any]:
        """POST /api/{reconstruct,denoise,translate}[?direction=AtoB|BtoA], the image as the body:
        the (fitted) upload beside what the model makes of it."""
        if verb not in UPLOAD_VERBS:
            raise ConfigError(f"unknown action {verb!r}; the page uploads for: {', '.join(UPLOAD_VERBS)}")
        require(self.run.model, verb)
        q = Query(query, {"direction"} if verb == "translate" else set())
        images, note = read_upload(body, self.run.spec)
        with self.lock:
            if verb == "reconstruct":
                rows, names = list(api.reconstruct(self.run, images)), ["input", "reconstruction"]
            elif verb == "denoise":
                r = api.denoise(self.run, images)
                rows, names = [r["noisy"], r["denoised"]], ["input", "denoised"]
            else:
                direction = q.choice("direction", DIRECTIONS)
                r = api.translate(self.run, images, direction=direction)
                rows = [r["input"], r["translated"], r["cycled"]]
                names = ["input", f"translated {direction[0]}→{direction[-1]}", "translated back"]
        out = {"image": png_data_url(np.concatenate(rows), nrow=len(rows)), "caption": " | ".join(names)}
        return out | ({"note": note} if note else {})
