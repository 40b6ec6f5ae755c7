"""The generic trainer and what it needs: checkpoints, distributed set-up, in-memory loading."""

from .trainer import Trainer

__all__ = ["Trainer"]
