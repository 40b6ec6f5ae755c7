"""Checkpoints: written atomically (temporary file, then rename) and read with
`torch.load(weights_only=True)`, which refuses to execute code from the file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from ..errors import GennetError


def atomic_torch_save(obj: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load_checkpoint(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise GennetError(f"no checkpoint at {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # a truncated or foreign file
        raise GennetError(f"cannot read checkpoint {path}: {e}") from None


def save_weights(state: dict[str, torch.Tensor], path: Path) -> None:
    """Model weights as safetensors (no code, loadable from any language), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    save_file({k: v.detach().contiguous().cpu() for k, v in state.items()}, str(tmp))
    os.replace(tmp, path)


def load_weights(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise GennetError(f"no weights at {path}")
    try:
        return load_file(str(path))
    except Exception as e:  # a truncated or foreign file (safetensors raises its own error type)
        raise GennetError(f"cannot read weights {path}: {e}") from None
