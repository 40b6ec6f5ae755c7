"""Typed configuration: the trainer's `TrainConfig` plus each model's own dataclass.

Both round-trip through JSON (and read YAML), and every value set from the command line
(`--set key=value`) is parsed and checked against the field's type hint, so a typo or a
wrong type is a clear `ConfigError` rather than a crash an hour later.

Layer: a leaf (imports `errors` and `atomic` only); everything above may import it.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar, Literal

import yaml

from .atomic import write_text
from .errors import ConfigError
from .validation import AT_LEAST_1, NON_NEGATIVE, POSITIVE, UNIT_OPEN, Range, check_settings

SEED = Range(0, 2**32 - 1)


@dataclass
class TrainConfig:
    """What the trainer needs; the model's own settings live in `model_args`."""

    model: str = "vae"
    data: str = "mnist"  # a dataset name (`gennet list`) or an image folder
    data_dir: str | None = None  # where full MNIST / Fashion-MNIST files are
    image_size: int | None = None  # resize to this square size (None: native)
    channels: int | None = None  # 1 or 3 (None: native)
    test_fraction: float = 0.1  # held-out share where a set has no standard split
    strict_data: bool = False  # an unreadable image is an error, not a warning
    # an image folder's decoded pictures: in memory, or in a memory-mapped cache on disk read in
    # batches (auto: the disk when they would take more than data_cache_memory of the memory available)
    data_cache: Literal["auto", "memory", "disk"] = "auto"
    data_cache_memory: float = 0.25
    steps: int = 5000
    max_seconds: float | None = None  # stop (and save) once training has run this long
    batch_size: int = 128  # global: split evenly across processes under torchrun
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N | mps
    # bf16 = autocast, weights stay fp32; auto = bf16 where the device does bf16 natively (CPUs with
    # AVX512-BF16 or AMX, CUDA GPUs with bf16), fp32 elsewhere; config.json records what was used
    precision: Literal["auto", "fp32", "bf16"] = "auto"
    # memory format for conv models; auto = channels_last with bf16 on a CPU (where oneDNN's bf16
    # convolutions want it), off elsewhere; config.json records what was used
    channels_last: bool | Literal["auto"] = "auto"
    ema: float = 0.0  # decay of an exponential moving average of the weights (0: off)
    ema_kimg: float = 0.0  # or the EMA as a half-life in thousands of images (0: off; StyleGAN: 10)
    ema_rampup: float = 0.0  # with ema_kimg: half-life at most ema_rampup x images seen (0: off)
    log_every: int = 50
    sample_every: int = 1000
    checkpoint_every: int = 1000
    quiet: bool = False
    # experiment trackers (train/tracking.py): None = TensorBoard when installed; [] = none;
    # or any of tensorboard, mlflow, wandb (a missing package is an error naming its extra)
    track: list[str] | None = None
    model_args: dict[str, Any] = field(default_factory=dict)

    # every numeric field's range (validation.check_ranges, through apply_overrides)
    ranges: ClassVar[dict[str, Range]] = {
        "image_size": Range(4, 4096),
        "channels": Range(1, 3),
        "test_fraction": Range(0, 1, lo_open=True, hi_open=True),
        "data_cache_memory": Range(0, 1, lo_open=True),
        "steps": AT_LEAST_1,
        "max_seconds": POSITIVE,
        "batch_size": AT_LEAST_1,
        "seed": SEED,
        "ema": UNIT_OPEN,
        "ema_kimg": NON_NEGATIVE,
        "ema_rampup": NON_NEGATIVE,
        "log_every": AT_LEAST_1,
        "sample_every": AT_LEAST_1,
        "checkpoint_every": AT_LEAST_1,
    }

    def validate(self) -> None:
        """What one range per field cannot say (ranges are checked before this)."""
        if self.ema > 0 and self.ema_kimg > 0:
            raise ConfigError("give the EMA as a decay (ema) or as a half-life (ema_kimg), not both")
        if self.channels not in (None, 1, 3):
            raise ConfigError(f"channels must be 1 or 3, got {self.channels}")


def _hints(cls) -> dict[str, Any]:
    """Type hints of the dataclass fields of `cls` (not of class variables such as `ranges`)."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in fields(cls)}


def coerce(name: str, value: Any, hint: Any) -> Any:
    """Convert `value` (often a string from the command line) to the type `hint`, or raise."""
    if isinstance(value, str) and hint is not str:
        try:
            value = yaml.safe_load(value) if value.strip() else value
        except yaml.YAMLError:
            pass
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for a in args:
            if a is type(None):
                continue
            try:
                return coerce(name, value, a)
            except ConfigError as e:
                errors.append(str(e))
        raise ConfigError("; or ".join(errors) if errors else f"{name}: bad value {value!r}")  # each choice
    if origin is Literal:
        if value not in args:
            raise ConfigError(f"{name} must be one of {', '.join(map(str, args))}; got {value!r}")
        return value
    if origin in (tuple, list):
        if isinstance(value, str):
            value = [v for v in value.replace(" ", "").split(",") if v]
        elif isinstance(value, (int, float)):
            value = [value]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{name} must be a list, got {value!r}")
        item = args[0] if args else Any
        out = [coerce(name, v, item) for v in value]
        return tuple(out) if origin is tuple else out
    if origin is dict or hint is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{name} must be a mapping, got {value!r}")
        return dict(value)
    return _coerce_scalar(name, value, hint)


def _coerce_scalar(name: str, value: Any, hint: Any) -> Any:
    """`coerce` for a plain type: bool, int, float, str or Any."""
    if hint is Any:
        return value
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{name} must be true or false, got {value!r}")
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise ConfigError(f"{name} must be an integer, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, str):  # YAML 1.1 reads "1e-3" (no dot) as a string
            try:
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{name} must be a number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            return str(value)
        return value
    return value


def apply_overrides(obj, overrides: dict[str, Any], *, what: str):
    """Return a copy of dataclass `obj` with `overrides` applied: type-checked, each number inside
    the range its class declares (`ranges`), then the class's own `validate()` where it has one."""
    hints = _hints(type(obj))
    names = [f.name for f in fields(obj)]
    changes = {}
    for key, value in overrides.items():
        if key not in hints:
            others = [f.name for f in fields(TrainConfig) if f.name != "model_args"]
            also = "" if isinstance(obj, TrainConfig) else f"; training settings: {', '.join(others)}"
            raise ConfigError(f"unknown {what} setting {key!r}; valid: {', '.join(names)}{also}")
        changes[key] = coerce(key, value, hints[key])
    new = dataclasses.replace(obj, **changes)
    check_settings(new, what)
    return new


def parse_set(items: list[str] | None) -> dict[str, str]:
    """['a=1', 'b=x'] -> {'a': '1', 'b': 'x'}."""
    out: dict[str, str] = {}
    for item in items or []:
        if "=" not in item:
            raise ConfigError(f"--set takes key=value, got {item!r}")
        key, value = item.split("=", 1)
        out[key.strip()] = value
    return out


def split_overrides(flat: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split flat `key=value` settings into (train, model) by name; `model.key` forces model."""
    train_keys = {f.name for f in fields(TrainConfig)}
    train, model = {}, {}
    for key, value in flat.items():
        if key.startswith("model."):
            model[key[len("model.") :]] = value
        elif key in train_keys and key != "model_args":
            train[key] = value
        else:
            model[key] = value
    return train, model


def read_config_file(path: str | Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Read a JSON or YAML config -> (train settings, model settings).

    Accepted shapes: a run's own `config.json` ({"train": {...}, "model": {...}}), or a flat
    mapping of train settings with an optional `model_args` mapping.
    """
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file not found: {p}")
    try:
        data = yaml.safe_load(read_text_file(p, "config file"))  # YAML is a superset of JSON
    except yaml.YAMLError as e:
        raise ConfigError(f"cannot parse config file {p}: {e}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {p} must hold a mapping, got {type(data).__name__}")
    if "train" in data and isinstance(data["train"], dict):
        train = dict(data["train"])
        model = dict(_mapping(p, data, "model"))
        train.pop("model_args", None)
    else:  # flat: train settings by name, everything else is the model's (as with --set)
        flat = dict(data)
        nested = dict(_mapping(p, flat, "model_args"))
        flat.pop("model_args", None)
        train, model = split_overrides({str(k): v for k, v in flat.items()})
        model.update(nested)
    return train, model


def _mapping(p: Path, data: dict, key: str) -> dict:
    value = data.get(key) or {}
    if not isinstance(value, dict):
        raise ConfigError(f"config file {p}: {key!r} must be a mapping of settings, got {value!r}")
    return value


def read_text_file(path: str | Path, what: str) -> str:
    """The UTF-8 text of `path` (a config file, a run's config.json), or a ConfigError naming it."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise ConfigError(f"cannot read {what} {p}: {e.strerror or e}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(
            f"{what} {p} is not UTF-8 text (byte {raw[e.start]:#04x} at offset {e.start}): "
            "it is binary (a checkpoint, an image?) or in another encoding; give a JSON or YAML "
            "file saved as UTF-8"
        ) from None


def to_jsonable(obj) -> Any:
    if dataclasses.is_dataclass(obj):
        return to_jsonable(asdict(obj))
    if isinstance(obj, dict):
        return {k: to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    return obj


def write_json(path: Path, data: Any) -> None:
    """`data` (dataclasses allowed) as indented JSON, atomically (`gennet.atomic`)."""
    write_text(path, json.dumps(to_jsonable(data), indent=2, sort_keys=False) + "\n")
