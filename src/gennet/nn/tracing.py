"""Whether a graph is being recorded (`torch.export`, `torch.onnx.export`, `torch.jit.trace`).

A recorded graph cannot branch on the values of its inputs, so checks of values (labels within
0..K-1) run in eager mode only; shape checks still run. An exported file documents the valid range
of each input instead (`gennet.exporting`).

Layer: networks only (imports torch); `nn/` and `models/` use it.
"""

from __future__ import annotations

import torch


def recording() -> bool:
    """True inside torch.export (and so torch.onnx.export) or torch.jit.trace, False in eager mode."""
    return bool(torch.jit.is_tracing() or torch.compiler.is_exporting())
