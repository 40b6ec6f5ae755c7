"""Run files: the one reader and the one writer of what a run directory holds.

    config.json            read_run_config(run_dir) -> SavedConfig    write_json (gennet.config)
    checkpoints/last.pt    load_checkpoint(path) -> dict              save_checkpoint(state, path)
    model/ema.safetensors  load_weights(path) -> dict of tensors      save_weights(state, path)
    any weights, checked   load_state(module, state, path): keys and shapes first, then loaded

Every reader validates what it reads and raises a `GennetError` that names the file, says what is
wrong with it and what to do (retrain, or point at the right run), never a JSONDecodeError,
KeyError, SafetensorError or a size mismatch from `load_state_dict`. Checkpoints are read with
`torch.load(weights_only=True)`, which refuses to execute code from the file. Every writer goes
through `gennet.atomic`: a full disk or a kill leaves the earlier file whole.

Layer: part of `train/`; imports `atomic`, `config`, `data` (DataSpec) and `errors`.
"""

from __future__ import annotations

import io
import json
import pickle
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save

from ..atomic import write_bytes
from ..config import TrainConfig, apply_overrides
from ..data import DataSpec
from ..errors import GennetError

RETRAIN = "retrain the model (gennet train ... --out NEW_DIR) or point at the right run directory"
CHECKPOINT_KEYS = ("step", "model", "optimizers", "loader")


class RunFileError(GennetError):
    """A file of a run directory is missing, damaged or belongs to something else."""


def bad_file(path: Path, problem: str, fix: str = RETRAIN, *, kind: str | None = None) -> RunFileError:
    """'PATH PROBLEM; FIX', or with `kind` (a file that cannot be read at all):
    'cannot read KIND PATH: it PROBLEM; FIX'."""
    return RunFileError(
        f"cannot read {kind} {path}: it {problem}; {fix}" if kind else f"{path} {problem}; {fix}"
    )


def short_reason(e: BaseException) -> str:
    """The first line of an exception's message, at most 160 characters."""
    text = (str(e).strip().splitlines() or [type(e).__name__])[0]
    return text if len(text) <= 160 else text[:157] + "..."


# ---- config.json ------------------------------------------------------------------------------
@dataclass
class SavedConfig:
    """A run's config.json, validated: the train and model sections, the data spec, the classes."""

    path: Path
    train: dict[str, Any]  # TrainConfig fields (without model_args), as written
    model: dict[str, Any]
    spec: DataSpec
    classes: list[str] | None
    config: TrainConfig  # `train` built and checked, with `model` as its model_args


def read_run_config(run_dir: str | Path) -> SavedConfig:
    """Read and check `run_dir/config.json` (JSON, an object with train, model, data_spec)."""
    path = Path(run_dir) / "config.json"
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise bad_file(
            path, f"cannot be read ({e.strerror or e})", "check the path and its permissions"
        ) from None
    if not raw.strip():
        raise bad_file(path, "is empty (a write was cut short?)", kind="run config")
    try:
        data = json.loads(raw)
    except ValueError as e:  # JSONDecodeError, UnicodeDecodeError
        raise bad_file(
            path, f"is not valid JSON ({short_reason(e)}): damaged or truncated", kind="run config"
        ) from None
    if not isinstance(data, dict):
        raise bad_file(path, f"holds a JSON {type(data).__name__}, not a run config (an object)")
    for key in ("train", "model", "data_spec"):
        if not isinstance(data.get(key), dict):
            problem = "lacks" if key not in data else "has a malformed"
            raise bad_file(path, f"{problem} {key!r} section (not a config gennet wrote, or damaged)")
    train = {k: v for k, v in data["train"].items() if k != "model_args"}
    model = dict(data["model"])
    try:
        config = replace(apply_overrides(TrainConfig(), train, what="train"), model_args=model)
        spec = _spec(data["data_spec"])
    except GennetError as e:
        raise bad_file(path, f"is not a valid run config: {e}") from None
    classes = data.get("classes")
    if classes is not None and not (isinstance(classes, list) and all(isinstance(c, str) for c in classes)):
        raise bad_file(path, f"has malformed 'classes' (want a list of names, got {classes!r})")
    return SavedConfig(path, train, model, spec, classes, config)


def _spec(d: dict) -> DataSpec:
    spec = DataSpec.from_dict(d)
    if spec.channels not in (1, 3) or spec.height < 1 or spec.width < 1:
        raise GennetError(f"data_spec describes images of shape {spec.channels}x{spec.height}x{spec.width}")
    if spec.num_classes is not None and spec.num_classes < 1:
        raise GennetError(f"data_spec has num_classes {spec.num_classes}")
    return spec


# ---- checkpoints ------------------------------------------------------------------------------
def save_checkpoint(state: dict[str, Any], path: Path) -> None:
    """`torch.save(state)`, atomically. Serialised in memory first: torch reports a failed write to a
    file object as a RuntimeError, our own write reports it as the OSError it is."""
    buf = io.BytesIO()
    torch.save(state, buf)
    write_bytes(path, buf.getbuffer())


def load_checkpoint(path: Path) -> dict[str, Any]:
    """A checkpoint gennet wrote: a dict with step, model (tensors), optimizers, loader (and ema)."""
    if not path.is_file():
        raise GennetError(f"no checkpoint at {path}")
    state = _torch_load(path)
    what = "a gennet checkpoint"
    if not isinstance(state, dict):
        raise bad_file(path, f"is a torch file holding a {type(state).__name__}, not {what}")
    missing = [k for k in CHECKPOINT_KEYS if k not in state]
    if missing:
        raise bad_file(path, f"is a torch file without {', '.join(map(repr, missing))}, not {what}")
    step = state["step"]
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise bad_file(path, f"holds a bad step {step!r}, not {what}")
    if not _tensors(state["model"]) or not (state.get("ema") is None or _tensors(state["ema"])):
        raise bad_file(path, f"holds model weights that are not a mapping of tensors, not {what}")
    loader = state["loader"]
    if not isinstance(state["optimizers"], dict) or not isinstance(loader, dict) or "counter" not in loader:
        raise bad_file(path, f"has malformed optimizer or loader state, not {what}")
    return state


def _torch_load(path: Path) -> Any:
    if not zipfile.is_zipfile(path):  # what torch.save writes (gennet never wrote the legacy format)
        raise bad_file(
            path, "is not a torch archive (truncated, damaged or another kind of file)", kind="checkpoint"
        )
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise bad_file(
            path,
            "holds objects a safe load refuses (code, classes): not a gennet checkpoint",
            kind="checkpoint",
        ) from None
    except Exception as e:  # a damaged archive
        raise bad_file(path, f"is damaged ({short_reason(e)})", kind="checkpoint") from None


def _tensors(d: Any) -> bool:
    return isinstance(d, dict) and all(isinstance(k, str) and torch.is_tensor(v) for k, v in d.items())


# ---- weights ----------------------------------------------------------------------------------
def save_weights(state: dict[str, torch.Tensor], path: Path) -> None:
    """Model weights as safetensors (no code, loadable from any language), atomically."""
    write_bytes(path, save({k: v.detach().contiguous().cpu() for k, v in state.items()}))


def load_weights(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise GennetError(f"no weights at {path}")
    try:
        return load_file(str(path))
    except Exception as e:  # truncated, empty or foreign (safetensors raises its own error type)
        why = f"is not a safetensors file ({short_reason(e)}): damaged or truncated"
        raise bad_file(path, why, kind="weights") from None


def load_state(module: torch.nn.Module, state: dict[str, torch.Tensor], path: Path) -> None:
    """`module.load_state_dict(state)` once every key and shape is known to fit; else a RunFileError
    naming `path` (weights of another model, or a config.json describing another model)."""
    own = module.state_dict()
    missing = sorted(own.keys() - state.keys())
    extra = sorted(state.keys() - own.keys())
    wrong = [k for k in own if k in state and tuple(own[k].shape) != tuple(state[k].shape)]
    if wrong:
        k = wrong[0]
        detail = f"tensor {k!r} has shape {tuple(state[k].shape)}, the model needs {tuple(own[k].shape)}"
    elif missing or extra:
        detail = f"tensors missing: {missing[:3]}" if missing else f"tensors this model lacks: {extra[:3]}"
    else:
        module.load_state_dict(state)
        return
    raise bad_file(
        path,
        f"holds the weights of another model than the run's config.json describes ({detail})",
        "the weights and config.json do not belong together: " + RETRAIN,
    )
