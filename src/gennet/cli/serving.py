"""Subcommands that serve a run: demo (a web page on 127.0.0.1)."""

from __future__ import annotations

import argparse
import functools

from .. import api
from ..demo import serve
from .base import Command


class Demo(Command):
    name = "demo"
    help = "explore a run in the browser: sample, walk, upload, metrics (127.0.0.1 only)"
    description = (
        "Serve a page on 127.0.0.1 to explore RUN: sample with a seed (truncation for StyleGAN, a class "
        "for conditional models), walk between two seeds, upload an image to reconstruct, denoise or "
        "translate (only what the model can do), and read eval.json and the loss curves. Nothing is "
        "fetched from outside; Ctrl-C stops it."
    )

    @staticmethod
    def add_arguments(d: argparse.ArgumentParser) -> None:
        d.add_argument("run", help="run directory")
        d.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one, printed)")

    @staticmethod
    def run(a: argparse.Namespace) -> None:
        serve(api.load(a.run), port=a.port, announce=functools.partial(print, flush=True))
