"""`gennet` command line: parses arguments, calls `gennet.api`, prints. No logic of its own.

Each subcommand is a `Command` (`cli/base.py`) in `cli/training.py`, `cli/verbs.py` or
`cli/serving.py`; `COMMANDS` below is the one table the parser and the dispatch are built from,
in the order `--help` lists them.

Layer: the top. Imports the facade `gennet.api` and a few public helpers (config.parse_set,
io, viz, registry, models.labels, validation, threads, demo); nothing imports it but `__main__`.
"""

from __future__ import annotations

import argparse
import sys
import warnings

from .. import __version__, threads
from ..errors import GennetError, TrainingInterrupted
from ..io import check_output
from ..validation import check_count
from .base import Command
from .export import Export
from .serving import Demo
from .training import Bench, Config, List, Train
from .verbs import (
    Arithmetic,
    Denoise,
    Encode,
    Evaluate,
    Interpolate,
    Reconstruct,
    Sample,
    StyleMix,
    Translate,
)

COMMANDS: tuple[type[Command], ...] = (
    Train,
    Sample,
    Reconstruct,
    Denoise,
    Encode,
    Interpolate,
    StyleMix,
    Translate,
    Arithmetic,
    Evaluate,
    Export,
    Demo,
    Bench,
    List,
    Config,
)

EPILOG = """examples:
  gennet train vae --steps 5000 --out runs/vae         # the MLP VAE (784-400-20) on embedded MNIST
  gennet train ae --set arch=conv latent_dim=16        # a convolutional autoencoder
  gennet train vae --config configs/vae-pytorch-example.yaml
  gennet train vae --out runs/vae --steps 8000 --resume   # continue a run
  gennet sample runs/vae -n 64 -o samples.png
  gennet evaluate runs/vae --json metrics.json
  gennet demo runs/vae                                 # explore it in the browser (127.0.0.1)
  gennet train dcgan --steps 3000 --out runs/dcgan        # also gan, wgan, wgan-gp, cgan, aae, bigan
  gennet sample runs/cgan -n 20 --labels 3 -o threes.png  # a conditional model draws the class asked
  gennet arithmetic runs/aae --terms 7 1 3 -o arith.png   # mean z(7) - mean z(1) + mean z(3)
  gennet train cyclegan --data mnist-thick --batch-size 8 --set base_channels=16 n_blocks=3
  gennet translate runs/cyclegan -o grid.png               # held-out A: input / translation / cycle
  gennet sample runs/stylegan -n 16 --truncation 0.7 -o s.png  # the truncation trick (style models)
  gennet style-mix runs/stylegan -o mix.png                # coarse / middle / fine styles from B
  gennet export runs/vae -o vae.onnx                       # the decoder for onnxruntime (--part encoder)
  gennet config vae > my.yaml                          # every setting, to edit and pass to --config
  torchrun --nproc_per_node=2 -m gennet train vae      # data parallel (DDP), batch split across processes
  gennet train vae --threads 1                         # CPU threads (default: the cores this process may use)
"""


def build_parser() -> argparse.ArgumentParser:
    """The `gennet` parser: one subparser per entry of COMMANDS, which also carries what it runs."""
    ap = argparse.ArgumentParser(
        prog="gennet",
        description="Classic generative networks: train, use and measure them.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--version", action="version", version=f"gennet {__version__}")
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        p = sub.add_parser(command.name, help=command.help, description=command.description)
        command.add_arguments(p)
        p.add_argument("--threads", type=int, metavar="N", help=threads.HELP)
        p.set_defaults(command_class=command)
    return ap


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A warning as a user reads it: one line, no source location."""
    print(f"gennet: warning: {message}", file=sys.stderr if file is None else file)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    command = args.command_class
    try:
        if args.threads is not None:
            check_count("--threads", args.threads, maximum=4096)
        threads.use_threads(args.threads)
        for option, suffixes in command.outputs.items():
            if getattr(args, option, None):
                check_output(getattr(args, option), suffixes)
        command.run(args)
    except TrainingInterrupted as e:  # SIGINT/SIGTERM: a checkpoint was written; not an error
        print(f"gennet: {e}", file=sys.stderr)
        return 128 + e.signum
    except GennetError as e:
        print(f"gennet: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # the system refused a read or write the checks could not foresee
        print(f"gennet: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # training handles Ctrl-C itself (TrainingInterrupted above); this is any other moment, and
        # every file gennet writes is written whole or not at all
        print("gennet: interrupted; no file was left half-written", file=sys.stderr)
        return 130
    return 0
