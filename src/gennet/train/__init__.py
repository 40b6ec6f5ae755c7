"""The generic trainer and what it needs: checkpoints, distributed set-up, in-memory loading.

Layer: imports `models.base` (the contract, never a family), `data`, `viz`, `config`,
`optim` and the pure metric modules of `eval/`; `runs` imports it.
"""

from .trainer import Trainer

__all__ = ["Trainer"]
