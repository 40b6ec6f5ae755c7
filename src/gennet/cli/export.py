"""`gennet export RUN -o FILE [--format onnx|torchscript] [--part PART]`: one network of a trained
run as a file another program can load (onnxruntime, libtorch), with its metadata inside."""

from __future__ import annotations

import argparse
from typing import ClassVar

from .. import api
from ..exporting import FORMATS, PART_HELP
from .base import Command, truncation_options


def _port(p: dict) -> str:
    return f"{p['name']}: {p['description']}"  # the description gives the dtype and shape


class Export(Command):
    name = "export"
    outputs: ClassVar[dict] = {"out": None}
    help = "write a trained network to ONNX or TorchScript"
    description = (
        "Export one part of a run, in eval mode with its EMA weights where it has them, a dynamic batch "
        "axis N, named inputs and outputs (images: float32 (N, C, H, W), pixels in [0, 1]) and metadata "
        "(model, part, gennet version, the weights' SHA-256, the inputs and outputs). Parts: "
        + "; ".join(f"{k}: {v}" for k, v in PART_HELP.items())
        + ". Style models (StyleGAN): psi is an input unless --truncation fixes it; noise inputs are "
        "fixed (--noise const, the default, or none)."
    )

    @staticmethod
    def add_arguments(p: argparse.ArgumentParser) -> None:
        p.add_argument("run", help="run directory")
        p.add_argument("-o", "--out", required=True, help="output file (.onnx, or .pt for TorchScript)")
        p.add_argument(
            "--format", choices=list(FORMATS), help="onnx or torchscript (default: from the suffix of -o)"
        )
        p.add_argument(
            "--part",
            help="decoder (or generator), encoder, a2b, b2a: what the model offers (default: its first, "
            "the decoder where it has one; a2b for a translator)",
        )
        psi = "style models: a fixed truncation psi (default: psi is an input of the exported graph)"
        truncation_options(p, default=None, psi_help=psi)
        p.add_argument(
            "--noise",
            choices=["const", "none"],
            default="const",
            help="style models' noise inputs: each layer's stored noise (const, default) or none",
        )

    @staticmethod
    def run(a: argparse.Namespace) -> None:
        path = api.export(
            a.run,
            a.out,
            a.format,
            part=a.part,
            truncation=a.truncation,
            truncation_cutoff=a.truncation_cutoff,
            noise=a.noise,
        )
        meta = api.export_metadata(path)
        print(f"wrote {path}: the {meta['part']} of {meta['model']!r} as {meta['format']}")
        for p in meta["inputs"]:
            print(f"  input  {_port(p)}")
        for p in meta["outputs"]:
            print(f"  output {_port(p)}")
        print(f"  weights {meta['weights_file']} sha256 {meta['weights_sha256']}")
