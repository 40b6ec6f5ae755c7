"""Model families. Importing this package registers every family by name."""

from . import aae, autoencoder, bigan, cyclegan, gan, vae  # noqa: F401
from .base import Batch, GenerativeModel, OptimSpec, Phase

__all__ = ["Batch", "GenerativeModel", "OptimSpec", "Phase"]
