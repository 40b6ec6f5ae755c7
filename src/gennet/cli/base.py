"""What every subcommand shares: the `Command` shape, common options, and the printers."""

from __future__ import annotations

import argparse
import json
from typing import Any, ClassVar

from ..atomic import write_text

PSI_HELP = "style models: w_avg + PSI (w - w_avg); 1 is off (default), 0.5-0.7 trades variety for quality"


def truncation_options(
    p: argparse.ArgumentParser, default: float | None = 1.0, psi_help: str = PSI_HELP
) -> None:
    """--truncation PSI and --truncation-cutoff K, for the verbs that draw from a style model."""
    p.add_argument("--truncation", type=float, default=default, metavar="PSI", help=psi_help)
    p.add_argument(
        "--truncation-cutoff",
        type=int,
        metavar="K",
        help="truncate only the first K style inputs (the coarse layers); default all",
    )


class Command:
    """One subcommand: its name and help, the options it adds, and what it runs.

    Subclasses set `name` and `help` (and `description` where the help page says more), add
    their options in `add_arguments` and do their work in `run`; the table in `gennet.cli`
    builds the parser and the dispatch from them."""

    name: ClassVar[str]
    help: ClassVar[str]
    description: ClassVar[str | None] = None
    # Output options (argument name -> accepted suffixes, None: any), checked before the command
    # runs, so a bad or unwritable output fails at once and nothing is computed or written.
    outputs: ClassVar[dict[str, tuple[str, ...] | None]] = {}

    @staticmethod
    def add_arguments(p: argparse.ArgumentParser) -> None:
        """Add this command's options to its parser (none by default)."""

    @staticmethod
    def run(a: argparse.Namespace) -> None:
        raise NotImplementedError


def images_out(p: argparse.ArgumentParser, default: str | None = None) -> None:
    p.add_argument(
        "-o",
        "--out",
        required=default is None,
        default=default,
        help="output file: .png (image grid) or .npz (uint8 arrays, shape N,C,H,W)",
    )


def settings_option(p: argparse.ArgumentParser, help: str | None = None) -> None:
    """--set KEY=VALUE ... (repeatable), as the train, bench and config commands take it."""
    kwargs: dict[str, Any] = {} if help is None else {"help": help}
    p.add_argument("--set", nargs="+", action="extend", default=[], metavar="KEY=VALUE", **kwargs)


def print_eval(res: dict, json_path: str | None) -> None:
    """A metric table: value, and where present the real-data floor and the untranslated baseline."""
    cols = [(k, t) for k, t in (("floor", "real floor"), ("baseline", "untranslated")) if res.get(k)]
    print(f"{'metric':22s} {'value':>12s}" + "".join(f" {t:>12s}" for _, t in cols))

    def cell(v) -> str:
        return f" {v:12.5g}" if isinstance(v, float) else f" {v!s:>12}"

    for key, val in res.items():
        if key in ("protocol", "model") or isinstance(val, dict):
            continue
        extra = "".join(cell(res[c][key]) if key in res[c] else f" {'':>12}" for c, _ in cols)
        print(f"{key:22s}{cell(val)}{extra.rstrip()}")
    print("protocol  " + json.dumps(res["protocol"]))
    if json_path:
        write_text(json_path, json.dumps(res, indent=2) + "\n")
        print(f"wrote {json_path}")
