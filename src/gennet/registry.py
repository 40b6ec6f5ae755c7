"""Name -> class registries. Models register with a decorator; the CLI reads its choices here.

Layer: a leaf (imports `errors`, `validation`); `models/` registers into it, and it imports that package
only to fill itself (a registry importing its plugin package).
"""

from __future__ import annotations

from typing import Any

from .errors import ConfigError
from .validation import missing_ranges

_MODELS: dict[str, dict[str, Any]] = {}


def register_model(
    name: str,
    *,
    description: str = "",
    defaults: dict[str, Any] | None = None,
    train_defaults: dict[str, Any] | None = None,
    image_size: int | None = None,
):
    """Register a model class under `name`.

    `defaults` overrides fields of the class's `Config` for this name, so one class can serve
    several names (e.g. `ae`, `sparse-ae`, `denoising-ae`) without copies; `train_defaults`
    overrides `TrainConfig` defaults for runs of this model (a config file or --set still wins).
    `image_size` (required) is the square side the model is made for (its paper's, e.g. CycleGAN
    256, DCGAN 64, the MLP models 28): what a folder of pictures of different sizes is fitted to,
    unless the pictures are smaller (`gennet.sizing`). The class's `Config` must declare a range
    for each numeric field (`validation.Range`).
    """

    def wrap(cls):
        if name in _MODELS:
            raise RuntimeError(f"model {name!r} registered twice")
        missing = missing_ranges(cls.Config)
        if missing:
            raise RuntimeError(f"model {name!r}: {cls.Config.__name__}.ranges lacks {missing}")
        if not isinstance(image_size, int) or image_size < 4:
            raise RuntimeError(f"model {name!r}: register_model needs the image_size it is made for")
        _MODELS[name] = {
            "cls": cls,
            "description": description,
            "defaults": dict(defaults or {}),
            "train_defaults": dict(train_defaults or {}),
            "image_size": image_size,
        }
        return cls

    return wrap


def _ensure_loaded() -> None:
    from . import models  # noqa: F401  (importing the package registers every family)


def model_names() -> list[str]:
    _ensure_loaded()
    return sorted(_MODELS)


def model_entry(name: str) -> dict[str, Any]:
    _ensure_loaded()
    try:
        return _MODELS[name]
    except KeyError:
        raise ConfigError(f"unknown model {name!r}; choose one of: {', '.join(sorted(_MODELS))}") from None


def model_descriptions() -> dict[str, str]:
    _ensure_loaded()
    return {k: v["description"] for k, v in sorted(_MODELS.items())}
