"""Model families. Importing this package registers every family by name.

Layer: the families import `models.base`, `nn/`, `losses`, `optim`, `data` (DataSpec),
`registry` and `errors`; never `train/`, `runs`, the verbs or `api`.
"""

from . import aae, autoencoder, bigan, cyclegan, gan, stylegan, vae  # noqa: F401
from .base import Batch, GenerativeModel, OptimSpec, Phase

__all__ = ["Batch", "GenerativeModel", "OptimSpec", "Phase"]
