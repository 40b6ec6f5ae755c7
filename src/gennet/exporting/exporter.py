"""`export(run, path, format=...)`: one part of a trained run to an ONNX or TorchScript file.

    export("runs/vae", "vae.onnx")                                  # the decoder: z -> images
    export("runs/vae", "enc.pt", format="torchscript", part="encoder")
    export("runs/stylegan", "g.onnx", truncation=0.7)               # psi fixed, not an input

The run is loaded with its EMA weights where it has them (`runs.load`); the metadata records the
weights file and its SHA-256, so an exported file can be traced back to the run it came from.

Layer: imports `runs`, `io` (output checks), `exporting.parts` and `exporting.files`; the facade
`api` re-exports `export` and `export_metadata`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch

from .. import __version__
from ..errors import ConfigError
from ..io import check_output
from ..runs import Run, as_run
from .files import WRITERS
from .parts import Part, build_part

FORMATS = tuple(WRITERS)  # onnx, torchscript
SUFFIXES = {".onnx": "onnx", ".pt": "torchscript", ".ts": "torchscript", ".torchscript": "torchscript"}


def export_format(format: str | None, path: str | Path) -> str:
    """The format asked for, else the one `path`'s suffix names; a ConfigError when neither says, when
    the format is unknown, or when the suffix names the other format (a .onnx holding TorchScript)."""
    implied = SUFFIXES.get(Path(path).suffix.lower())
    if format is None:
        if implied is None:
            raise ConfigError(
                f"cannot tell the format from {Path(path).name!r}: pass format onnx or torchscript "
                f"(or name the file {', '.join(SUFFIXES)})"
            )
        return implied
    if format not in FORMATS:
        raise ConfigError(f"unknown export format {format!r}; choose one of {', '.join(FORMATS)}")
    if implied is not None and implied != format:
        suffix = next(k for k, v in SUFFIXES.items() if v == format)
        raise ConfigError(
            f"{Path(path).name!r} has the suffix of {implied} files, but the format asked is {format}: "
            f"name it {Path(path).stem}{suffix}"
        )
    return format


def weights_digest(run: Run) -> tuple[str, str]:
    """(weights file name, its SHA-256); for a run built in memory, the digest of its state dict."""
    h = hashlib.sha256()
    if run.weights is not None:
        with open(run.weights, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        return run.weights.name, h.hexdigest()
    for key, value in sorted(run.model.state_dict().items()):
        t = value.detach().cpu().contiguous()
        h.update(f"{key} {t.dtype} {tuple(t.shape)}".encode())
        h.update(t.view(-1).view(dtype=torch.uint8).numpy().tobytes())
    return "(in memory: SHA-256 of the state dict)", h.hexdigest()


def metadata(run: Run, part: Part, fmt: str) -> dict[str, str]:
    """What the file says about itself (all strings; JSON for the structured values)."""
    weights_file, digest = weights_digest(run)
    name = run.model.name
    out = {
        "model": name,
        "part": part.name,
        "format": fmt,
        "gennet_version": __version__,
        "weights_file": weights_file,
        "weights_sha256": digest,
        "inputs": json.dumps([p.to_dict() for p in part.inputs]),
        "outputs": json.dumps([part.output.to_dict()]),
        "settings": json.dumps(part.settings),
        "description": (
            f"gennet {name} {part.name}: "
            + ", ".join(p.name for p in part.inputs)
            + f" -> {part.output.name}; eval mode, batch axis N dynamic"
        ),
    }
    if run.model.can("conditional"):
        out["classes"] = json.dumps(run.classes or [str(i) for i in range(run.model.num_classes)])
    return out


def export(
    run: Run | str | Path,
    path: str | Path,
    format: str | None = None,
    *,
    part: str | None = None,
    truncation: float | None = None,
    truncation_cutoff: int | None = None,
    noise: str = "const",
) -> Path:
    """Write one part of `run` to `path` as ONNX or TorchScript; returns the path.

    format: "onnx" or "torchscript" (None: from the suffix, .onnx or .pt/.ts). part: decoder
    (alias generator), encoder, a2b or b2a, as the model offers (None: its first, the decoder where
    it has one). truncation / truncation_cutoff: style models only: a fixed psi (default: psi is an
    input) on the first K style inputs. noise: style models' noise inputs, const or none."""
    fmt = export_format(format, path)
    out = check_output(path, None)
    run = as_run(run)
    built = build_part(
        run.model, part, truncation=truncation, truncation_cutoff=truncation_cutoff, noise=noise
    )
    return WRITERS[fmt](built, out, metadata(run, built, fmt))
