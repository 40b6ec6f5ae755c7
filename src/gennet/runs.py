"""Runs: resolving a configuration, building a model, training it into a run directory, and
loading a run back for the verbs.

    run_dir = train("vae", out="runs/vae", steps=2000, latent_dim=10)
    run = load(run_dir)          # Run(model, config, spec, path, classes)

Layer: above `train/`, `models/`, `data/` and `config`; the verbs (`verbs/`), the evaluation
protocol (`eval/protocol.py`) and the facade `api` import this module, never the reverse.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import __version__
from .arrays import check_pixels
from .atomic import remove_stale_temps
from .config import TrainConfig, apply_overrides, read_config_file, split_overrides, write_json
from .data import (
    CacheRequest,
    DataSpec,
    ImageData,
    Listing,
    UnpairedData,
    folder_listing,
    load_dataset,
    use_disk_cache,
)
from .errors import ConfigError, GennetError
from .models.base import GenerativeModel
from .registry import model_entry
from .sizing import choose_image_size
from .train import Trainer
from .train import distributed as D
from .train.checkpoint import (
    SavedConfig,
    bad_file,
    load_checkpoint,
    load_state,
    load_weights,
    read_run_config,
)
from .train.precision import resolve_channels_last, resolve_precision
from .train.tracking import tracker_names


# ---- building ---------------------------------------------------------------------------------
def model_config(name: str, overrides: dict[str, Any] | None = None):
    """The resolved Config dataclass of model `name`: class defaults, the name's defaults, then overrides."""
    entry = model_entry(name)
    cls = entry["cls"]
    cfg = apply_overrides(cls.Config(), entry["defaults"], what=f"{name} model")
    return apply_overrides(cfg, overrides or {}, what=f"{name} model")


def build_model(name: str, spec: DataSpec, overrides: dict[str, Any] | None = None) -> GenerativeModel:
    return _build(name, model_config(name, overrides), spec)


def _build(name: str, cfg, spec: DataSpec) -> GenerativeModel:
    """Model `name` of the resolved Config `cfg` (`model_config`) for data of `spec`."""
    model = model_entry(name)["cls"](cfg, spec)
    model.registered_name = name
    return model


def resolve_config(
    model: str | None = None,
    *,
    config_file: str | None = None,
    resume_from: str | Path | SavedConfig | None = None,
    **settings: Any,
) -> tuple[TrainConfig, Any]:
    """TrainConfig + model Config from (a run's saved config | a config file) and flat settings.
    `resume_from`: a run directory, or its config.json as `read_run_config` gave it (not read again)."""
    t, m = split_overrides({k: v for k, v in settings.items() if v is not None})
    if resume_from is not None:
        saved = resume_from if isinstance(resume_from, SavedConfig) else read_run_config(resume_from)
        return _resumed_config(saved, model, t, m)
    train_over, model_over = read_config_file(config_file) if config_file else ({}, {})
    if model is not None:
        t["model"] = model
    train_over.update(t)
    model_over.update(m)
    name = train_over.get("model", TrainConfig.model)
    # the model's own training defaults (StyleGAN's EMA half-life) sit below everything given
    train_over = {**model_entry(name)["train_defaults"], **train_over}
    tcfg = apply_overrides(TrainConfig(), train_over, what="train")
    mcfg = model_config(tcfg.model, model_over)
    return dataclasses.replace(tcfg, model_args=dataclasses.asdict(mcfg)), mcfg


def _resumed_config(
    saved: SavedConfig, model: str | None, t: dict[str, Any], m: dict[str, Any]
) -> tuple[TrainConfig, Any]:
    """`resolve_config` of a resumed run: its saved configs with the train settings `t`; the model
    settings `m` may only repeat what it has, and `model` (when given) must be its model."""
    saved_tcfg, mcfg = saved_configs(saved)  # a config.json that builds no model is refused, naming it
    name = saved_tcfg.model
    if model is not None and model != name:
        raise ConfigError(
            f"{saved.path.parent} holds a {name!r} run, not {model!r}; "
            f"resume it as `gennet train {name} ... --resume`"
        )
    if m and apply_overrides(mcfg, m, what=f"{name} model") != mcfg:
        raise ConfigError(f"cannot change model settings {sorted(m)} when resuming; start a new run instead")
    # the model's own training defaults sit below the saved settings (a config.json of an older version)
    train_over = {**model_entry(name)["train_defaults"], **saved.train, **t}
    tcfg = apply_overrides(TrainConfig(), train_over, what="train")
    return dataclasses.replace(tcfg, model_args=dataclasses.asdict(mcfg)), mcfg


def saved_configs(saved: SavedConfig) -> tuple[TrainConfig, Any]:
    """The TrainConfig (as `read_run_config` built it) and the model Config a run's config.json
    describes; a RunFileError naming the file where the model's are not valid (an unknown model or
    setting, a value out of range)."""
    try:
        mcfg = model_config(saved.config.model, saved.model)
    except GennetError as e:
        raise bad_file(saved.path, f"is not a valid run config: {e}") from None
    return saved.config, mcfg


def disk_cache_choice(tcfg: TrainConfig, listing: Listing | None = None) -> tuple[bool, str | None]:
    """Whether the run's data is read through its disk cache (`data_cache`), and a sentence why.
    `listing`: the data folder's (`folder_listing`) when the caller has one."""
    share = tcfg.data_cache_memory
    return use_disk_cache(tcfg.data_cache, tcfg.data, tcfg.image_size, tcfg.channels, share, listing)


def load_split(
    tcfg: TrainConfig,
    split: str,
    *,
    disk: bool | None = None,
    build: bool = True,
    listing: Listing | None = None,
) -> ImageData | UnpairedData:
    """One split of the run's data; through the disk cache when `disk` (None: as `data_cache`
    decides), which this process builds if missing when `build` (else waits for another to).
    `listing`: the data folder's (`folder_listing`) when the caller has one (else it is listed here)."""
    if disk is None:
        disk = disk_cache_choice(tcfg, listing)[0]
    return load_dataset(
        tcfg.data,
        split=split,
        data_dir=tcfg.data_dir,
        image_size=tcfg.image_size,
        channels=tcfg.channels,
        strict=tcfg.strict_data,
        test_fraction=tcfg.test_fraction,
        seed=0,
        cache=CacheRequest(build=build) if disk else None,
        listing=listing,
    )


def _load_train_data(
    tcfg: TrainConfig, dist: D.DistInfo, device: torch.device, say: bool, listing: Listing | None
):
    """The training split, in memory or through the disk cache (`data_cache`). Under torchrun every
    process takes the same path (one process's choice of the disk is every one's: the memory each
    sees differs); process 0 builds a missing cache and the others wait until it is complete."""
    disk, why = disk_cache_choice(tcfg, listing)
    if say and why:
        print(f"gennet: {why}", file=sys.stderr)
    disk = D.broadcast_flag(dist, disk, device)
    return load_split(tcfg, "train", disk=disk, build=dist.is_main, listing=listing)


# what a run directory holds, for the clean-up of the temporary files a kill left
RUN_FILES = [
    "config.json",
    "metrics.jsonl",
    "model.safetensors",
    "ema.safetensors",
    "checkpoints/last.pt",
    "samples/step-*.png",
    "tracking.json",
]


# ---- train ------------------------------------------------------------------------------------
def train(
    model: str | None = None,
    out: str | Path | None = None,
    *,
    resume: bool = False,
    config_file: str | None = None,
    callbacks=(),
    **settings: Any,
) -> Path:
    """Train `model` and return its run directory. `settings` are TrainConfig fields (steps,
    batch_size, seed, data, track, ...) or the model's own fields (latent_dim, beta, ...).
    `callbacks`: objects with hooks of `gennet.Callback`, called after the trackers `track` names.

    Nothing in the run directory changes until the new state is known good: with `resume`, its
    config.json and checkpoint are read and checked (and fit the data) before config.json is
    rewritten; the temporary files a killed writer left there are removed before training."""
    run_dir = Path(out) if out is not None else Path("runs") / (model or "run")
    if resume:
        if not (run_dir / "config.json").is_file():
            raise GennetError(f"--resume: {run_dir} holds no run (no config.json)")
        saved = read_run_config(run_dir)  # read once: the settings to resume, then the data to check
        tcfg, mcfg = resolve_config(model if model else None, resume_from=saved, **settings)
    else:
        if (run_dir / "checkpoints" / "last.pt").exists():
            raise GennetError(
                f"{run_dir} already holds a trained run; pass --resume to continue it, "
                f"or choose another --out (nothing was changed)"
            )
        tcfg, mcfg = resolve_config(model, config_file=config_file, **settings)
    tracker_names(tcfg.track)  # a tracker whose package is missing: an error before any data is read
    device = D.resolve_device(tcfg.device, int(os.environ.get("LOCAL_RANK", "0")))
    dist = D.init_from_env(device)
    say = dist.is_main and not tcfg.quiet
    tcfg = _resolve_precision(tcfg, device, say)  # config.json records the precision used
    try:
        listing = folder_listing(tcfg.data)  # an image folder, listed once: size, cache, loader
        if not resume:
            tcfg = _choose_size(tcfg, mcfg, say, listing)
        data = _load_train_data(tcfg, dist, device, say, listing)
        _report_loading(data, say, tcfg)
        if not resume:
            tcfg = _fit_batch(tcfg, data, dist.world_size, say)
        if resume:
            _check_same_data(saved, data.spec, tcfg.data)
        torch.manual_seed(tcfg.seed)  # the same initial weights on every process
        net = _build(tcfg.model, mcfg, data.spec)
        trainer = Trainer(net, data, tcfg, run_dir, device, dist, callbacks)
        if resume:
            trainer.resume()  # read and checked, in memory: nothing on disk has changed yet
        if dist.is_main:
            remove_stale_temps(run_dir, RUN_FILES)
            saved = {"gennet_version": __version__, "train": tcfg, "model": mcfg}
            saved.update(data_spec=data.spec.to_dict(), classes=data.classes)
            write_json(run_dir / "config.json", saved)
        D.barrier(dist)
        trainer.fit()
    finally:
        D.shutdown(dist)
    return run_dir


def _resolve_precision(tcfg: TrainConfig, device: torch.device, say: bool) -> TrainConfig:
    """tcfg with precision=auto made bf16 or fp32 for `device` (said on stderr), and
    channels_last=auto made True or False (on with bf16 on a CPU): config.json records both."""
    cl = resolve_channels_last(tcfg.channels_last, tcfg.precision, device)
    chosen = resolve_precision(tcfg.precision, device)
    if say and tcfg.precision == "auto":
        why = "does bf16 natively" if chosen == "bf16" else "has no native bf16"
        hint = "--set precision=fp32|bf16 to choose"
        print(f"gennet: precision auto -> {chosen} ({device.type} {why}; {hint})", file=sys.stderr)
    return dataclasses.replace(tcfg, precision=chosen, channels_last=cl)


def _choose_size(tcfg: TrainConfig, mcfg, say: bool, listing: Listing | None) -> TrainConfig:
    """tcfg with the image size `sizing` chooses for a folder of pictures (said on stderr)."""
    choice = choose_image_size(tcfg, mcfg, listing)
    if choice is None:
        return tcfg
    if say:
        print(f"gennet: {choice.message}", file=sys.stderr)
    return dataclasses.replace(tcfg, image_size=choice.size)


def _fit_batch(tcfg: TrainConfig, data: ImageData | UnpairedData, world: int, say: bool) -> TrainConfig:
    """A folder of a few dozen pictures with the default batch (128): the batch becomes the set's size
    (a multiple of the processes), said on stderr, instead of an error."""
    n = min(len(p) for p in ((data.a, data.b) if isinstance(data, UnpairedData) else (data,)))
    fit = n - n % world
    if tcfg.batch_size <= n or fit < 1:
        return tcfg  # fits, or too few images for one per process (the loader says so)
    if say:
        print(
            f"gennet: batch_size {tcfg.batch_size} is larger than the {n} training images; using {fit} "
            "(--batch-size N to choose)",
            file=sys.stderr,
        )
    return dataclasses.replace(tcfg, batch_size=fit)


def _report_loading(data: ImageData | UnpairedData, say: bool, tcfg: TrainConfig) -> None:
    """Say on stderr what loading a folder did: images kept, resized, skipped and why; the disk cache;
    and that a model of one set of images given a two-domain pair trains on domain A alone."""
    for part in (data.a, data.b) if isinstance(data, UnpairedData) else (data,):
        if say and part.report is not None:
            print(f"gennet: {part.report.summary()}", file=sys.stderr)
            if part.report.cache_note:
                print(f"gennet: {part.report.cache_note}", file=sys.stderr)
    if (
        say
        and isinstance(data, UnpairedData)
        and "translate" not in model_entry(tcfg.model)["cls"].capabilities
    ):
        print(
            f"gennet: {tcfg.model} learns from one set of images: it trains on domain A of {tcfg.data} "
            f"({len(data.a)} images); domain B is not used",
            file=sys.stderr,
        )


def _check_same_data(saved: SavedConfig, spec: DataSpec, data: str) -> None:
    if saved.spec != spec:
        s, d = saved.spec, spec
        raise bad_file(
            saved.path,
            f"describes data of shape {s.channels}x{s.height}x{s.width} with {s.num_classes} classes, but "
            f"the data {data!r} is {d.channels}x{d.height}x{d.width} with {d.num_classes} classes",
            "resume with the run's own data settings, or start a new run (--out NEW_DIR)",
        )


# ---- loading ----------------------------------------------------------------------------------
@dataclass
class Run:
    """A trained model with its configuration, ready for the verbs."""

    model: GenerativeModel
    config: TrainConfig
    spec: DataSpec
    path: Path
    classes: list[str] | None = None
    weights: Path | None = None  # the file the weights were read from (None: built in memory)

    @property
    def device(self) -> torch.device:
        return self.model.device


def load(run_dir: str | Path, device: str = "auto", ema: bool = True) -> Run:
    """Load a run directory written by `train` (final weights, else the last checkpoint)."""
    path = Path(run_dir)
    if not (path / "config.json").is_file():
        raise GennetError(f"{path} is not a gennet run directory (no config.json)")
    saved = read_run_config(path)
    tcfg, mcfg = saved_configs(saved)
    try:
        model = _build(tcfg.model, mcfg, saved.spec)
    except GennetError as e:
        raise bad_file(saved.path, f"describes a model that cannot be built: {e}") from None
    if ema and (path / "ema.safetensors").is_file():
        source = path / "ema.safetensors"
    elif (path / "model.safetensors").is_file():
        source = path / "model.safetensors"
    else:
        source = path / "checkpoints" / "last.pt"
    state = load_weights(source) if source.suffix == ".safetensors" else load_checkpoint(source)["model"]
    load_state(model, state, source)
    model.to(D.resolve_device(device)).eval()
    return Run(model, tcfg, saved.spec, path, saved.classes, weights=source)


def as_run(run: Run | str | Path) -> Run:
    return run if isinstance(run, Run) else load(run)


def heldout(run: Run | str | Path, n: int | None = None) -> ImageData:
    """The run's held-out (test) split, first `n` images."""
    run = as_run(run)
    data = load_split(run.config, "test")
    return data if n is None else data.subset(slice(0, min(n, len(data))))


def float_images(run: Run, images) -> torch.Tensor:
    """uint8 or float images (N, C, H, W) -> float [0, 1] on the model's device, shape- and
    value-checked (`arrays.check_pixels`: other integers within 0..255, floats finite in [0, 1])."""
    if torch.is_tensor(images):
        x = images
        if x.dtype != torch.uint8:
            values = x.detach().float() if x.is_floating_point() else x.detach()
            check_pixels(values.cpu().numpy(), "images")
    else:
        arr = np.asarray(images)
        check_pixels(arr, "images")
        x = torch.as_tensor(arr)
    x = x.float() if x.is_floating_point() else x.float() / 255.0
    want = (run.spec.channels, run.spec.height, run.spec.width)
    if x.dim() != 4 or tuple(x.shape[1:]) != want:
        raise GennetError(
            f"images must have shape (N, {want[0]}, {want[1]}, {want[2]}) for this model; "
            f"got {tuple(x.shape)}"
        )
    return x.to(run.device)


def batched(fn, x: torch.Tensor, size: int = 500) -> torch.Tensor:
    with torch.no_grad():
        return torch.cat([fn(x[i : i + size]) for i in range(0, len(x), size)])
