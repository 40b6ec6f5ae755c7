"""Experiment trackers as training callbacks: TensorBoard, MLflow and Weights & Biases.

The training setting `track` names them (`--track tensorboard,mlflow` or `--set track=[mlflow]`):

    None (default)   TensorBoard when it is installed (as before trackers were callbacks), else none
    []               none: metrics.jsonl only
    [names...]       exactly these; a name whose package is missing is an error naming the extra

Each logs every number of every metrics row (the named losses as "phase/name", the collapse monitor's
"monitor/diversity", extra metrics of user callbacks, steps_per_s), each preview grid as an image,
and the run's evaluation when `gennet.evaluate` scores it (as "eval/..."). Everything stays inside the
run directory and nothing is sent anywhere unless you ask (MLFLOW_TRACKING_URI, WANDB_MODE):

    tensorboard   RUN/tb/ event files                    (tensorboard --logdir RUN/tb)
    mlflow        RUN/mlflow.db + RUN/mlflow-artifacts/  (mlflow ui --backend-store-uri sqlite:///RUN/mlflow.db)
    wandb         RUN/wandb/offline-run-*  (WANDB_MODE=offline unless set; `wandb sync` uploads later)

RUN/tracking.json keeps each tracker's run id, so a resumed run and a later evaluation log into the
same MLflow / W&B run.

Layer: training support: imports `callbacks`, `config` (JSON writing) and `errors`; the tracker
packages are imported only when a tracker opens.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import to_jsonable, write_json
from ..errors import ConfigError, GennetError
from .callbacks import Callback, TrainInfo, callback_name
from .metrics_log import row_step

STATE_FILE = "tracking.json"


@dataclass(frozen=True)
class TrackerEntry:
    cls: type
    modules: tuple[str, ...]  # what must be importable
    extra: str  # the pip extra that installs them


TRACKERS: dict[str, TrackerEntry] = {}


def register_tracker(name: str, modules: tuple[str, ...], extra: str):
    def deco(cls):
        cls.name = name
        TRACKERS[name] = TrackerEntry(cls, modules, extra)
        return cls

    return deco


def _installed(entry: TrackerEntry) -> bool:
    return all(importlib.util.find_spec(m) is not None for m in entry.modules)


def tracker_names(track: list[str] | None) -> list[str]:
    """The trackers `track` selects (see the module doc); raises for an unknown or missing one."""
    if track is None:
        return ["tensorboard"] if _installed(TRACKERS["tensorboard"]) else []
    names = list(dict.fromkeys(n.strip().lower() for n in track if n.strip()))
    for n in names:
        if n not in TRACKERS:
            raise ConfigError(f"unknown tracker {n!r} in track; known: {', '.join(TRACKERS)}")
        entry = TRACKERS[n]
        if not _installed(entry):
            missing = [m for m in entry.modules if importlib.util.find_spec(m) is None]
            raise GennetError(
                f"track names {n!r}, which needs {', '.join(missing)}: pip install 'gennet[{entry.extra}]' "
                f"(or drop {n} from track)"
            )
    return names


def trackers_for(track: list[str] | None) -> list[Tracker]:
    return [TRACKERS[n].cls() for n in tracker_names(track)]


# ---- what gets logged -----------------------------------------------------------------------------
def numbers(row: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """The finite numbers of a (nested) dict as flat "a/b" names; "step" and "time" left out."""
    out: dict[str, float] = {}
    for k, v in row.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(numbers(v, key + "/"))
        elif isinstance(v, (int, float)) and not isinstance(v, bool) and k not in ("step", "time"):
            if math.isfinite(v):
                out[key] = float(v)
    return out


def flat_params(config) -> dict[str, str]:
    """The run's settings as flat strings ("model_args.latent_dim": "20") for a tracker's params."""
    flat: dict[str, str] = {}

    def walk(d: dict, prefix: str) -> None:
        for k, v in d.items():
            if isinstance(v, dict):
                walk(v, f"{prefix}{k}.")
            else:
                flat[f"{prefix}{k}"] = str(v)[:500]

    walk(to_jsonable(config), "")
    return flat


def read_state(run_dir: Path) -> dict:
    try:
        state = json.loads((run_dir / STATE_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def _remember(run_dir: Path, name: str, value: dict) -> None:
    write_json(run_dir / STATE_FILE, {**read_state(run_dir), name: value})


# ---- the trackers -----------------------------------------------------------------------------------
class Tracker(Callback):
    """A callback that opens a store inside the run directory. `open`/`close` also serve
    `log_evaluation`, which reopens the store after training to add the evaluation."""

    name = "tracker"
    STATUS = {"finished": "FINISHED", "stopped": "FINISHED", "interrupted": "KILLED"}

    def open(self, run_dir: Path, step: int, resumed: bool, params: dict[str, str] | None) -> None:
        raise NotImplementedError

    def close(self, status: str | None) -> None:
        """status None: leave the run's status as it was (after an evaluation)."""

    def on_train_start(self, info: TrainInfo) -> None:
        self.open(Path(info.run_dir), info.step, info.resumed, flat_params(info.config))

    def on_train_end(self, summary: dict[str, Any]) -> None:
        self.close(self.STATUS.get(summary.get("status", ""), "FAILED"))


@register_tracker("tensorboard", ("tensorboard",), "tensorboard")
class TensorBoardTracker(Tracker):
    def open(self, run_dir, step, resumed, params):
        from torch.utils.tensorboard import SummaryWriter

        # on resume, TensorBoard hides the killed run's events past the checkpoint (as metrics.jsonl)
        purge = step if resumed and params is not None else None
        self.writer = SummaryWriter(str(run_dir / "tb"), purge_step=purge)

    def on_log(self, step, row):
        for k, v in numbers(row).items():
            self.writer.add_scalar(k, v, step)

    def on_image(self, step, name, image, path):
        self.writer.add_image(name, image, step, dataformats="HWC")

    def on_evaluation(self, step, results):
        for k, v in numbers(results, "eval/").items():
            self.writer.add_scalar(k, v, step)
        self.writer.add_text("eval", "```\n" + json.dumps(results, indent=2, default=str) + "\n```", step)

    def close(self, status):
        self.writer.close()


@register_tracker("mlflow", ("mlflow", "sqlalchemy", "alembic"), "mlflow")
class MLflowTracker(Tracker):
    """MLflow's client on MLFLOW_TRACKING_URI, or a SQLite store in the run (no server either way);
    experiment MLFLOW_EXPERIMENT_NAME or "gennet"."""

    def open(self, run_dir, step, resumed, params):
        from mlflow import MlflowClient

        run_dir = run_dir.resolve()
        uri = os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{run_dir / 'mlflow.db'}"
        self.client = client = MlflowClient(uri)
        state = read_state(run_dir).get("mlflow", {})
        if resumed and state.get("uri") == uri and state.get("run_id"):
            self.run_id = state["run_id"]
            if params is not None:  # training again
                client.update_run(self.run_id, status="RUNNING")
            return
        name = os.environ.get("MLFLOW_EXPERIMENT_NAME", "gennet")
        exp = client.get_experiment_by_name(name)
        if exp is not None:
            exp_id = exp.experiment_id
        else:
            where = None if "MLFLOW_TRACKING_URI" in os.environ else (run_dir / "mlflow-artifacts").as_uri()
            exp_id = client.create_experiment(name, artifact_location=where)
        self.run_id = client.create_run(exp_id, run_name=run_dir.name).info.run_id
        _remember(run_dir, "mlflow", {"uri": uri, "run_id": self.run_id})
        if params:
            from mlflow.entities import Param

            client.log_batch(self.run_id, params=[Param(k, v) for k, v in params.items()])

    def _metrics(self, values: dict[str, float], step: int) -> None:
        import time

        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        metrics = [Metric(k, v, now, step) for k, v in values.items()]
        self.client.log_batch(self.run_id, metrics=metrics)

    def on_log(self, step, row):
        self._metrics(numbers(row), step)

    def on_image(self, step, name, image, path):
        self.client.log_image(self.run_id, image, artifact_file=f"{name}/step-{step:07d}.png")

    def on_evaluation(self, step, results):
        self._metrics(numbers(results, "eval/"), step)
        self.client.log_dict(self.run_id, to_jsonable(results), f"eval/step-{step:07d}.json")

    def close(self, status):
        if status is not None:
            self.client.set_terminated(self.run_id, status=status)


@register_tracker("wandb", ("wandb",), "wandb")
class WandbTracker(Tracker):
    """A W&B run in RUN/wandb, offline unless WANDB_MODE says otherwise; project WANDB_PROJECT or
    "gennet". Upload later with `wandb sync RUN/wandb/offline-run-*`."""

    def open(self, run_dir, step, resumed, params):
        import wandb

        self.wandb = wandb
        known = read_state(run_dir).get("wandb", {}).get("id") if resumed else None
        self.run = wandb.init(
            dir=str(run_dir),
            project=os.environ.get("WANDB_PROJECT", "gennet"),
            name=run_dir.name,
            id=known,
            resume="allow" if known else None,
            mode=os.environ.get("WANDB_MODE", "offline"),
            config=params,
            reinit="create_new",
            settings=wandb.Settings(silent=True, console="off"),
        )
        _remember(run_dir, "wandb", {"id": self.run.id})

    def on_log(self, step, row):
        self.run.log(numbers(row), step=step)

    def on_image(self, step, name, image, path):
        self.run.log({name: self.wandb.Image(image, caption=f"step {step}")}, step=step)

    def on_evaluation(self, step, results):
        flat = numbers(results, "eval/")
        self.run.log(flat, step=step)
        self.run.summary.update(flat)

    def close(self, status):
        self.run.finish(exit_code=0 if status in (None, "FINISHED") else 1)


# ---- an evaluation, after training --------------------------------------------------------------------
def last_step(run_dir: Path) -> int:
    """The step of the run's last metrics row (0 when it has none)."""
    try:
        lines = (run_dir / "metrics.jsonl").read_bytes().decode("utf-8", "replace").splitlines()
    except OSError:
        return 0
    return max([0, *(s for s in map(row_step, lines) if s != math.inf)])


def log_evaluation(run_dir: Path, config, results: dict, callbacks=()) -> None:
    """Log `results` to the trackers the run's config names explicitly in `track` (not the default's
    implicit TensorBoard) and to `callbacks`, at the run's last step. A tracker that fails is a warning:
    the results are still the caller's."""
    run_dir = Path(run_dir)
    names = [n for n in (config.track or []) if n in TRACKERS]
    if not names and not callbacks:
        return
    step = last_step(run_dir)
    for cb in [TRACKERS[n].cls() for n in names] + list(callbacks):
        try:
            if isinstance(cb, Tracker):
                if not _installed(TRACKERS[cb.name]):
                    raise GennetError(f"not installed: pip install 'gennet[{TRACKERS[cb.name].extra}]'")
                cb.open(run_dir, step, resumed=True, params=None)
                try:
                    cb.on_evaluation(step, results)
                finally:
                    cb.close(None)
            elif hasattr(cb, "on_evaluation"):
                cb.on_evaluation(step, results)
        except Exception as e:
            warnings.warn(
                f"the evaluation was not logged to {callback_name(cb)!r}: {type(e).__name__}: {e}",
                RuntimeWarning,
                stacklevel=2,
            )
