"""precision=auto: bf16 autocast where the device computes bf16 natively, fp32 elsewhere.

Native bf16 means CPUs with AVX512-BF16 or AMX (torch's CPU capability "AVX512_BF16"/"AMX", or the
/proc/cpuinfo flags avx512_bf16 / amx_bf16) and CUDA GPUs where `torch.cuda.is_bf16_supported()`.
Elsewhere bf16 is emulated and slower than fp32, so auto keeps fp32. The trainer resolves the
setting once; `runs.train` writes the resolved value to config.json, so a resumed run (and any
machine that resumes it) uses the same precision.

Layer: a leaf of `train/` (imports torch only).
"""

from __future__ import annotations

from pathlib import Path

import torch

BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")
BF16_CPU_CAPABILITIES = ("AVX512_BF16", "AMX")


def _cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def cpu_has_native_bf16() -> bool:
    capability = str(torch.backends.cpu.get_cpu_capability()).upper()
    if any(c in capability for c in BF16_CPU_CAPABILITIES):
        return True
    return any(f in _cpu_flags() for f in BF16_CPU_FLAGS)


def native_bf16(device: torch.device) -> bool:
    """Whether `device` computes bf16 natively (fast), not by emulation."""
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported(including_emulation=False)
    if device.type == "cpu":
        return cpu_has_native_bf16()
    return False


def resolve_precision(precision: str, device: torch.device) -> str:
    """'auto' -> 'bf16' where `device` does bf16 natively, else 'fp32'; fp32 and bf16 stay."""
    if precision != "auto":
        return precision
    return "bf16" if native_bf16(device) else "fp32"


def resolve_channels_last(channels_last: bool | str, precision: str, device: torch.device) -> bool:
    """'auto' -> on for bf16 on a CPU, off elsewhere; True and False stay. On this project's CPU,
    oneDNN's bf16 convolutions run in channels_last without a layout conversion around each one
    (channels_last + bf16 1.61x the fp32 steps/s of the conv AE, bf16 alone 1.26x; in fp32
    channels_last gains nothing), while on an H200 channels_last + bf16 ran DCGAN at 0.94x fp32."""
    if channels_last != "auto":
        return bool(channels_last)
    return resolve_precision(precision, device) == "bf16" and device.type == "cpu"
