"""Writing a part to a file, ONNX or TorchScript, with gennet's metadata inside, and reading that
metadata back.

    ONNX         torch.onnx.export (the torch.export-based exporter; needs `onnx` and `onnxscript`:
                 `pip install 'gennet[export]'`), a dynamic batch axis named N, inputs and outputs
                 named and described (their doc_string), the metadata in `metadata_props`
    TorchScript  torch.jit.trace (the batch axis stays dynamic), the metadata as the extra file
                 `gennet.json` (`torch.jit.load(path, _extra_files={"gennet.json": ""})`); torch
                 2.13 marks torch.jit as deprecated, but it is still the format libtorch loads

Metadata, all strings (JSON for the structured ones): model, part, format, gennet_version,
weights_file, weights_sha256, inputs, outputs, settings, classes (conditional models), description.

Layer: imports `atomic`, `errors` and torch (onnx lazily); `exporting.exporter` uses it.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from ..atomic import write_bytes, write_with
from ..errors import GennetError
from .parts import Part

EXTRA_FILE = "gennet.json"
JSON_KEYS = ("inputs", "outputs", "settings", "classes")


def need(module: str, purpose: str = "ONNX export") -> Any:
    """Import an optional dependency, or a GennetError saying how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise GennetError(
            f"{purpose} needs the Python package {module!r}: pip install 'gennet[export]' "
            "(onnx, onnxscript, onnxruntime)"
        ) from None


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The exporters' own notices (deprecations, trace warnings about constants, optional
    torchvision ops) are not the user's business: the tests check what the files compute."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def onnx_bytes(part: Part, metadata: dict[str, str]) -> bytes:
    """The part as a serialised ONNX model, batch axis "N" dynamic, metadata and doc strings set."""
    need("onnx")
    need("onnxscript")
    batch = torch.export.Dim("N")
    shapes = tuple({0: batch} if p.shape[:1] == ("N",) else None for p in part.inputs)
    with _quiet():
        program = torch.onnx.export(
            part.module,
            part.example,
            input_names=[p.name for p in part.inputs],
            output_names=[part.output.name],
            dynamo=True,
            dynamic_shapes=(shapes,),
            verbose=False,
            # onnxscript 0.7.2's graph optimizer drops `+ 1e-8` as if it were `+ 0`, which turns
            # StyleGAN's instance norm of a constant map into 0 * inf = NaN (tested): unoptimised
            optimize=False,
        )
    proto = program.model_proto
    _strip_trace_metadata(proto)
    docs = {p.name: p.description for p in (*part.inputs, part.output)}
    for value in (*proto.graph.input, *proto.graph.output):
        value.doc_string = docs.get(value.name, value.doc_string)
    proto.producer_name, proto.producer_version = "gennet", metadata["gennet_version"]
    proto.doc_string = metadata["description"]
    for key, value in metadata.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    return proto.SerializeToString()


def _strip_trace_metadata(proto) -> None:
    """Drop the exporter's per-node and per-value notes (source stack traces with this machine's
    paths, module names): nine tenths of a small model's file, and nothing a runtime reads."""
    graph = proto.graph
    for item in (*graph.node, *graph.input, *graph.output, *graph.value_info, *graph.initializer):
        del item.metadata_props[:]
    for function in proto.functions:
        for node in function.node:
            del node.metadata_props[:]
    del graph.metadata_props[:]


def write_onnx(part: Part, path: Path, metadata: dict[str, str]) -> Path:
    return write_bytes(path, onnx_bytes(part, metadata))


def write_torchscript(part: Part, path: Path, metadata: dict[str, str]) -> Path:
    """The part traced to TorchScript, the metadata as the extra file gennet.json."""
    with _quiet():
        traced = torch.jit.trace(part.module, part.example, check_trace=False)
        extra = {EXTRA_FILE: json.dumps(metadata, indent=1)}
        return write_with(path, lambda f: torch.jit.save(traced, f, _extra_files=extra))


WRITERS = {"onnx": write_onnx, "torchscript": write_torchscript}


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The gennet metadata of an exported file (ONNX or TorchScript); JSON values decoded."""
    p = Path(path)
    if not p.is_file():
        raise GennetError(f"{p} is not a file")
    if zipfile.is_zipfile(p):  # TorchScript: a zip archive holding ARCHIVE/extra/gennet.json
        with zipfile.ZipFile(p) as z:
            names = [n for n in z.namelist() if n.endswith(f"/extra/{EXTRA_FILE}")]
            if not names:
                raise GennetError(f"{p} is a TorchScript file without gennet metadata")
            raw = json.loads(z.read(names[0]))
    else:
        onnx = need("onnx", "reading an ONNX file")
        try:
            model = onnx.load(str(p), load_external_data=False)
        except Exception as e:  # a protobuf decode error: not an ONNX file
            raise GennetError(f"{p} is neither an ONNX nor a TorchScript file: {e}") from None
        raw = {e.key: e.value for e in model.metadata_props}
        if "gennet_version" not in raw:
            raise GennetError(f"{p} is an ONNX file without gennet metadata")
    return {k: json.loads(v) if k in JSON_KEYS else v for k, v in raw.items()}
