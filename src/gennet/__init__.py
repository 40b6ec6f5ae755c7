"""gennet: the classic generative networks in one library, trained on real images, measured offline."""

__version__ = "0.1.0"

from .api import (  # noqa: E402
    Run,
    arithmetic,
    build_model,
    denoise,
    encode,
    evaluate,
    evaluate_images,
    evaluate_translation,
    heldout,
    interpolate,
    list_datasets,
    list_models,
    load,
    reconstruct,
    sample,
    train,
    translate,
)
from .errors import CapabilityError, ConfigError, DataError, GennetError, TrainingDiverged  # noqa: E402

__all__ = [
    "CapabilityError",
    "ConfigError",
    "DataError",
    "GennetError",
    "Run",
    "TrainingDiverged",
    "arithmetic",
    "build_model",
    "denoise",
    "encode",
    "evaluate",
    "evaluate_images",
    "evaluate_translation",
    "heldout",
    "interpolate",
    "list_datasets",
    "list_models",
    "load",
    "reconstruct",
    "sample",
    "train",
    "translate",
]
