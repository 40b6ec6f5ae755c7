"""Subcommands that make runs or describe what can be made: train, bench, list, config."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import yaml

from .. import api
from ..benchmark import bench, command_line
from ..config import parse_set
from ..errors import ConfigError
from ..registry import model_names
from .base import Command, settings_option


class Train(Command):
    name = "train"
    help = "train a model; writes a run directory"
    description = (
        "Train MODEL. Settings not given here come from --config, then defaults; "
        "`gennet list` shows models and datasets. Any TrainConfig field or model field can be set "
        "with --set key=value (e.g. --set latent_dim=2 beta=4 precision=bf16)."
    )
    # option -> TrainConfig field, passed on when given
    NAMED = ("data", "data_dir", "steps", "batch_size", "seed", "checkpoint_every", "device")

    @staticmethod
    def add_arguments(t: argparse.ArgumentParser) -> None:
        t.add_argument(
            "model", choices=model_names(), metavar="MODEL", help="one of: " + ", ".join(model_names())
        )
        t.add_argument(
            "--data", help="dataset name (mnist, fashion-mnist, ...) or an image folder (default mnist)"
        )
        t.add_argument(
            "--data-dir", help="folder with full MNIST / Fashion-MNIST IDX files (or set GENNET_DATA)"
        )
        t.add_argument("--steps", type=int, help="training steps (default 5000)")
        t.add_argument("--batch-size", type=int, help="global batch size (default 128)")
        t.add_argument("--seed", type=int, help="random seed (default 0)")
        t.add_argument("--out", help="run directory (default runs/MODEL)")
        t.add_argument("--checkpoint-every", type=int, help="steps between checkpoints (default 1000)")
        t.add_argument("--device", help="auto (default), cpu, cuda, cuda:N or mps")
        t.add_argument("--config", help="JSON/YAML config file (a run's config.json works too)")
        settings_option(t, "override any train or model setting")
        t.add_argument(
            "--resume", action="store_true", help="continue the run in --out from its last checkpoint"
        )
        t.add_argument("--strict", action="store_true", help="an unreadable image in a folder is an error")
        t.add_argument("--quiet", action="store_true", help="no progress bar")
        t.add_argument(
            "--track",
            help="experiment trackers, comma-separated: tensorboard, mlflow, wandb; 'none' for none "
            "(default: tensorboard when installed). Each needs its extra, e.g. pip install 'gennet[mlflow]'",
        )

    @staticmethod
    def run(a: argparse.Namespace) -> None:
        settings: dict = parse_set(a.set)
        settings.update({k: getattr(a, k) for k in Train.NAMED if getattr(a, k) is not None})
        settings.update({k: True for k, on in (("strict_data", a.strict), ("quiet", a.quiet)) if on})
        if a.track is not None:
            settings["track"] = [] if a.track.strip().lower() == "none" else a.track.split(",")
        if a.resume and a.config:
            raise ConfigError("--resume continues a run with its own saved config; drop --config")
        run = api.train(a.model, a.out, resume=a.resume, config_file=a.config, **settings)
        if os.environ.get("RANK", "0") == "0":  # under torchrun, one report
            print(f"run written to {run}")


class Bench(Command):
    name = "bench"
    help = "train several models under one budget; table + HTML report"
    description = (
        "Train each model for --budget seconds on --data, evaluate each with one "
        "protocol, and write OUT/report.html (opens offline), OUT/results.md and OUT/results.json."
    )

    @staticmethod
    def add_arguments(b: argparse.ArgumentParser) -> None:
        b.add_argument(
            "--models", nargs="+", choices=model_names(), metavar="MODEL", help="default: every model"
        )
        b.add_argument("--data", default="mnist")
        b.add_argument("--budget", type=float, default=60.0, help="training seconds per model (default 60)")
        b.add_argument(
            "--n", type=int, help="samples per model for the metrics (default: the held-out split)"
        )
        b.add_argument("--seed", type=int, default=0)
        b.add_argument("--out", default="runs/bench", help="output folder (must be new or empty)")
        settings_option(b, "settings applied to every model's training")

    @staticmethod
    def run(a: argparse.Namespace) -> None:
        res = bench(
            a.models,
            data=a.data,
            budget=a.budget,
            out=a.out,
            n=a.n,
            seed=a.seed,
            settings=parse_set(a.set),
            command=command_line(sys.argv[1:]),
        )
        print((Path(res["paths"]["md"])).read_text())
        print(f"wrote {res['paths']['html']}")


class List(Command):
    name = "list"
    help = "models and datasets"

    @staticmethod
    def run(a: argparse.Namespace) -> None:
        print("models:")
        for k, v in api.list_models().items():
            print(f"  {k:18s} {v}")
        print("datasets:")
        for k, v in api.list_datasets().items():
            print(f"  {k:18s} {v}")
        print(f"  {'DIR':18s} any folder of PNG/JPEG images (subfolders = classes)")
        print(f"  {'DIR':18s} with trainA/ trainB/ (testA/ testB/): unpaired domains for cyclegan")


class Config(Command):
    name = "config"
    help = "print a model's full default configuration (a starting --config file)"

    @staticmethod
    def add_arguments(c: argparse.ArgumentParser) -> None:
        c.add_argument("model", choices=model_names(), metavar="MODEL")
        settings_option(c)

    @staticmethod
    def run(a: argparse.Namespace) -> None:
        tcfg, mcfg = api.resolve_config(a.model, **parse_set(a.set))
        train = {k: v for k, v in api.to_jsonable(tcfg).items() if k != "model_args"}
        print(yaml.safe_dump({"train": train, "model": api.to_jsonable(mcfg)}, sort_keys=False), end="")
