"""Training callbacks: the small interface the trainer calls, and the list that calls them.

    class Accuracy(gennet.Callback):
        def on_train_start(self, info):            # TrainInfo: run_dir, config, model, step, resumed
            self.model = info.model
        def extra_metrics(self, step, row):        # merged into the row before anyone sees it
            return {"probe/accuracy": probe(self.model)}

    gennet.train("vae", out="runs/vae", callbacks=[Accuracy()])

The trainer calls, on the main process only (rank 0 under torchrun), in this order at each event:
`extra_metrics` of every callback (their names and values join the row), then the row is written to
metrics.jsonl, then `on_log` of every callback in list order. Likewise `on_checkpoint` after each
checkpoint is written, `on_image` after each preview grid is written, and `on_train_end` once, however
the run ends (`summary["status"]`: finished, stopped (max_seconds), interrupted, diverged, failed).
`on_evaluation` is called by `gennet.evaluate` for the trackers a run names (see `tracking`).

A callback that raises during training is not called again; the run ends at the end of the next
step as if it were the last (checkpoint and final weights written), then a `CallbackError` names the
callback, the hook and the step. One that raises in `on_train_start` stops the run before any step.

Layer: training support: imports `errors` only (and Pillow to hand callbacks the grid as pixels).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CallbackError


@dataclass(frozen=True)
class TrainInfo:
    """What `on_train_start` gets: where the run writes, its settings and its network."""

    run_dir: Path
    config: Any  # the TrainConfig (model settings in config.model_args)
    model: Any  # the GenerativeModel being trained (a torch.nn.Module)
    step: int  # the step training starts from (0, or the checkpoint's on resume)
    resumed: bool


class Callback:
    """Every hook is optional: subclass and override what you need (or duck-type the same names)."""

    def on_train_start(self, info: TrainInfo) -> None:
        """Before the first step (after config.json is written): open files, start a tracker run."""

    def extra_metrics(self, step: int, row: dict[str, float]) -> dict[str, float] | None:
        """At each log interval, before the row is written: metrics to add to it ("name": number)."""
        return None

    def on_log(self, step: int, row: dict[str, float]) -> None:
        """At each log interval: the row as written to metrics.jsonl ("phase/name" losses, the
        collapse monitor's "monitor/diversity", every extra metric, "steps_per_s", "step", "time")."""

    def on_checkpoint(self, step: int, path: Path) -> None:
        """After checkpoints/last.pt was written for `step`."""

    def on_image(self, step: int, name: str, image: np.ndarray, path: Path) -> None:
        """After a preview grid was written: `image` is its pixels, uint8 (H, W, 3); `name` "samples"."""

    def on_train_end(self, summary: dict[str, Any]) -> None:
        """Once at the end: steps, seconds, steps_per_s, the last row, status (and error if any)."""

    def on_evaluation(self, step: int, results: dict[str, Any]) -> None:
        """A run's evaluation (the dict `gennet.evaluate` returns), at the run's last step."""


def callback_name(cb: Any) -> str:
    return getattr(cb, "name", None) or type(cb).__name__


def read_grid(path: Path) -> np.ndarray:
    """The pixels of a written grid, uint8 (H, W, 3)."""
    from PIL import Image

    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"))


class CallbackList:
    """Calls each callback's hooks in list order and keeps the first failure (see the module doc)."""

    def __init__(self, callbacks=()):
        self.callbacks = list(callbacks)
        self.failure: str | None = None
        self._dead: set[int] = set()
        self._started: list = []

    @property
    def failed(self) -> bool:
        return self.failure is not None

    def _call(self, hook: str, step: int | None, *args, among: list | None = None) -> list:
        out = []
        for cb in self.callbacks if among is None else among:
            fn = getattr(cb, hook, None)
            if id(cb) in self._dead or fn is None:
                continue
            try:
                out.append((cb, fn(*args)))
            except Exception as e:  # a tracker or user bug: recorded, the run ends cleanly
                self._dead.add(id(cb))
                at = f" at step {step}" if step is not None else ""
                why = f"callback {callback_name(cb)!r} raised in {hook}{at}: {type(e).__name__}: {e}"
                warnings.warn(why, RuntimeWarning, stacklevel=3)
                self.failure = self.failure or why
        return out

    def start(self, info: TrainInfo) -> None:
        """`on_train_start` of each in turn; a failure ends the ones already started and raises."""
        for cb in self.callbacks:
            self._call("on_train_start", None, info, among=[cb])
            if self.failed:
                self.end({"status": "failed", "error": self.failure, "steps": info.step})
                raise CallbackError(f"training did not start: {self.failure}")
            self._started.append(cb)

    def extra_metrics(self, step: int, row: dict) -> dict[str, float]:
        extra: dict[str, float] = {}
        for cb, got in self._call("extra_metrics", step, step, dict(row)):
            for k, v in (got or {}).items():
                try:
                    value = float(v)
                except (TypeError, ValueError):
                    value = math.nan
                if not isinstance(k, str) or k in ("step", "time") or not math.isfinite(value):
                    self._dead.add(id(cb))
                    self.failure = self.failure or (
                        f"callback {callback_name(cb)!r} returned a bad metric {k!r}: {v!r} at step {step} "
                        "(extra_metrics must map new names to finite numbers)"
                    )
                    break
                extra[k] = value
        return extra

    def log(self, step: int, row: dict) -> None:
        self._call("on_log", step, step, row)

    def checkpoint(self, step: int, path: Path) -> None:
        self._call("on_checkpoint", step, step, path)

    def image(self, step: int, name: str, path: Path) -> None:
        if self.callbacks:
            self._call("on_image", step, step, name, read_grid(path), path)

    def end(self, summary: dict) -> None:
        """`on_train_end` of every callback started (once each)."""
        started, self._started = self._started, []
        self._call("on_train_end", None, summary, among=started)

    def raise_failure(self, run_dir: Path, step: int, resume_hint: str) -> None:
        if self.failed:
            raise CallbackError(
                f"{self.failure}; training stopped at step {step}, and the checkpoint and weights of that "
                f"step are in {run_dir}. Fix the callback, then continue with: {resume_hint}"
            )
