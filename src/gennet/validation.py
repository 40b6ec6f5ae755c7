"""Ranges of numbers a user gives, declared once and checked in one place.

Settings: every config dataclass (`TrainConfig`, each model's `Config`) declares a table
`ranges = {field: Range}` covering each of its numeric fields (`register_model` refuses a model
whose table misses one); `config.apply_overrides` checks the table whenever a setting is made,
before anything is built or written. Verb arguments (`n`, `pairs`, `k`, ...): `check_count`,
called by the verbs themselves, so the CLI and the Python API give the same message.

    latent_dim: int = 20            ranges = {"latent_dim": AT_LEAST_1, "lr": LEARNING_RATE}

Layer: a leaf (imports `errors` only); `config`, `registry`, the trainer (its advice after a diverged
run, `divergence_advice`), the verbs and the CLI use it.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import os
import types
import typing
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError


@dataclass(frozen=True)
class Range:
    """A closed or open interval of finite numbers; None: unbounded on that side.

    `learning_rate` marks the fields that are learning rates (the trainer's advice names them)."""

    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    learning_rate: bool = False

    def describe(self) -> str:
        if self.hi is None:
            return "a finite number" if self.lo is None else f"{'>' if self.lo_open else '>='} {self.lo:g}"
        if self.lo is None:
            return f"{'<' if self.hi_open else '<='} {self.hi:g}"
        left, right = "(" if self.lo_open else "[", ")" if self.hi_open else "]"
        return f"in {left}{self.lo:g}, {self.hi:g}{right}"

    def contains(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        if self.lo is not None and (value < self.lo or (self.lo_open and value == self.lo)):
            return False
        return not (self.hi is not None and (value > self.hi or (self.hi_open and value == self.hi)))

    def admits(self, value: Any) -> bool:
        """A real number (not a bool) inside the range."""
        return not isinstance(value, bool) and isinstance(value, numbers.Real) and self.contains(float(value))


AT_LEAST_1 = Range(1)
NON_NEGATIVE = Range(0)
POSITIVE = Range(0, lo_open=True)
UNIT = Range(0, 1)  # a share or a probability
UNIT_OPEN = Range(0, 1, hi_open=True)  # a decay or an Adam beta
LEARNING_RATE = Range(0, 1, lo_open=True, learning_rate=True)
WIDTH = Range(1, 65536)  # a layer width, a code size
ANY = Range()  # any finite number (a loss weight that may be negative, ...)


def _numeric(hint: Any) -> bool:
    """Whether a field's type hint holds ints or floats (bools excluded), also inside
    Optional, tuples, lists and dict values."""
    if hint in (int, float):
        return True
    args = typing.get_args(hint)
    origin = typing.get_origin(hint)
    if origin is dict:
        return len(args) == 2 and _numeric(args[1])
    if origin in (tuple, list, typing.Union, types.UnionType):
        return any(_numeric(a) for a in args if a is not Ellipsis)
    return False


def numeric_fields(cls) -> list[str]:
    """The fields of dataclass `cls` that hold numbers (and so need a range)."""
    hints = typing.get_type_hints(cls)
    return [f.name for f in dataclasses.fields(cls) if _numeric(hints[f.name])]


def missing_ranges(cls) -> list[str]:
    """Numeric fields of `cls` without an entry in its `ranges` table."""
    table = getattr(cls, "ranges", {})
    return [name for name in numeric_fields(cls) if name not in table]


def _values(value: Any) -> list[Any]:
    """The numbers inside a setting: itself, a tuple's items or a dict's values (None: none)."""
    if value is None:
        return []
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def check_ranges(obj, what: str) -> None:
    """Raise ConfigError naming the key and its range for any numeric setting of dataclass `obj`
    outside its declared range (NaN and infinities are outside every range)."""
    table = getattr(type(obj), "ranges", {})
    for name, rng in table.items():
        for v in _values(getattr(obj, name)):
            if not rng.admits(v):
                shown = getattr(obj, name)
                raise ConfigError(f"{what} setting {name} must be {rng.describe()}; got {shown!r}")


def check_settings(obj, what: str) -> None:
    """`check_ranges`, then the config's own `validate()` (what one range per field cannot say)."""
    check_ranges(obj, what)
    if hasattr(obj, "validate"):
        obj.validate()


def learning_rate_keys(cls) -> list[str]:
    """The fields of config class `cls` that are learning rates (as its `ranges` table marks them)."""
    return [k for k, rng in getattr(cls, "ranges", {}).items() if rng.learning_rate]


def divergence_advice(model_cfg, precision: str) -> str:
    """What to try after a diverged run, naming this model's own learning-rate keys."""
    keys = learning_rate_keys(type(model_cfg))
    tips = [f"a lower learning rate ({' '.join(f'--set {k}=...' for k in keys)})"] if keys else []
    if precision != "fp32":
        tips.append("fp32 precision (--set precision=fp32)")
    return f"Try {' or '.join(tips)}." if tips else "Try a lower learning rate."


def check_count(name: str, value: Any, *, minimum: int = 1, maximum: int | None = None) -> int:
    """A count a verb is given (`n`, `pairs`, `k`, ...): a whole number in [minimum, maximum].
    Returns it as an int; ConfigError naming `name` otherwise (2.5, True, "3", -1, 0)."""
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if ok and value >= minimum and (maximum is None or value <= maximum):
        return int(value)
    span = f">= {minimum}" if maximum is None else f"from {minimum} to {maximum}"
    raise ConfigError(f"{name} must be a whole number {span}; got {value!r}")


def check_number(name: str, value: Any, rng: Range) -> float:
    """A real-valued verb argument (a budget in seconds, a noise level) inside `rng`."""
    if not rng.admits(value):
        raise ConfigError(f"{name} must be {rng.describe()}; got {value!r}")
    return float(value)


# ---- limits of what one request may ask for -----------------------------------------------------
MAX_GRID_PIXELS = 2**26  # a .png grid of about 67 million pixels (8192 x 8192) at most


def available_memory() -> int:
    """Bytes of memory this machine can give now (MemAvailable; else all physical memory)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 8 * 2**30


def check_fits(name: str, n: int, shape: tuple[int, ...], itemsize: int = 1) -> None:
    """Refuse `n` results of `shape` (uint8 images by default) that would not fit in half of the
    memory available now, with the most that would."""
    each = itemsize * math.prod(shape)
    budget = available_memory() // 2
    if n * each > budget:
        dims = "x".join(map(str, shape))
        raise ConfigError(
            f"{name}={n} asks for {n} images of {dims} ({n * each / 1e9:.1f} GB); this machine can hold "
            f"about {budget // each} now: ask for fewer (several calls with different seeds add up)"
        )


def check_grid(name: str, n: int, height: int, width: int) -> None:
    """Refuse a .png grid of `n` images of height x width above MAX_GRID_PIXELS; an .npz holds more."""
    if n * height * width > MAX_GRID_PIXELS:
        most = MAX_GRID_PIXELS // (height * width)
        raise ConfigError(
            f"{name}={n} images of {height}x{width} make a .png grid too large to view or write "
            f"(at most {most}); ask for fewer, or write an .npz"
        )
