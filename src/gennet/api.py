"""The public verbs. The CLI is a thin shell over these; everything here works from Python:

    import gennet
    run_dir = gennet.train("vae", out="runs/vae", steps=2000, latent_dim=10)
    run = gennet.load(run_dir)
    images = gennet.sample(run, 64, seed=0)          # uint8 (64, 1, 28, 28)
    print(gennet.evaluate(run))

Images come back as uint8 numpy arrays (N, C, H, W); inputs may be uint8 or float in [0, 1].
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import __version__
from .config import (
    TrainConfig,
    apply_overrides,
    read_config_file,
    split_overrides,
    to_jsonable,
    write_json,
)
from .data import DataSpec, ImageData, dataset_names, load_dataset
from .errors import ConfigError, GennetError
from .eval import metrics as M
from .latent import interpolation_path
from .models.base import GenerativeModel
from .registry import model_descriptions, model_entry
from .train import Trainer
from .train import distributed as D
from .train.checkpoint import load_checkpoint, load_weights
from .viz import to_uint8


# ---- building ---------------------------------------------------------------------------------
def model_config(name: str, overrides: dict[str, Any] | None = None):
    """The resolved Config dataclass of model `name`: class defaults, the name's defaults, then overrides."""
    entry = model_entry(name)
    cls = entry["cls"]
    cfg = apply_overrides(cls.Config(), entry["defaults"], what=f"{name} model")
    return apply_overrides(cfg, overrides or {}, what=f"{name} model")


def build_model(name: str, spec: DataSpec, overrides: dict[str, Any] | None = None) -> GenerativeModel:
    cfg = model_config(name, overrides)
    model = model_entry(name)["cls"](cfg, spec)
    model.registered_name = name
    return model


def resolve_config(
    model: str | None = None,
    *,
    config_file: str | None = None,
    resume_from: Path | None = None,
    **settings: Any,
) -> tuple[TrainConfig, Any]:
    """TrainConfig + model Config from (a run's saved config | a config file) and flat settings."""
    train_over: dict[str, Any] = {}
    model_over: dict[str, Any] = {}
    if resume_from is not None:
        saved = json.loads((resume_from / "config.json").read_text())
        train_over, model_over = dict(saved["train"]), dict(saved["model"])
        train_over.pop("model_args", None)
        if model is not None and model != train_over["model"]:
            raise ConfigError(
                f"{resume_from} holds a {train_over['model']!r} run, not {model!r}; "
                f"resume it as `gennet train {train_over['model']} ... --resume`"
            )
    elif config_file:
        train_over, model_over = read_config_file(config_file)
    t, m = split_overrides({k: v for k, v in settings.items() if v is not None})
    if resume_from is not None and m:
        name = train_over["model"]
        if model_config(name, model_over) != model_config(name, {**model_over, **m}):
            raise ConfigError(
                f"cannot change model settings {sorted(m)} when resuming; start a new run instead"
            )
    if model is not None:
        t["model"] = model
    train_over.update(t)
    model_over.update(m)
    tcfg = apply_overrides(TrainConfig(), train_over, what="train")
    mcfg = model_config(tcfg.model, model_over)
    return dataclasses.replace(tcfg, model_args=dataclasses.asdict(mcfg)), mcfg


def _load_split(tcfg: TrainConfig, split: str) -> ImageData:
    return load_dataset(
        tcfg.data,
        split=split,
        data_dir=tcfg.data_dir,
        image_size=tcfg.image_size,
        channels=tcfg.channels,
        strict=tcfg.strict_data,
        test_fraction=tcfg.test_fraction,
        seed=0,
    )


# ---- train ------------------------------------------------------------------------------------
def train(
    model: str | None = None,
    out: str | Path | None = None,
    *,
    resume: bool = False,
    config_file: str | None = None,
    **settings: Any,
) -> Path:
    """Train `model` and return its run directory. `settings` are TrainConfig fields (steps,
    batch_size, seed, data, ...) or the model's own fields (latent_dim, beta, ...)."""
    run_dir = Path(out) if out is not None else Path("runs") / (model or "run")
    if resume:
        if not (run_dir / "config.json").is_file():
            raise GennetError(f"--resume: {run_dir} holds no run (no config.json)")
        tcfg, mcfg = resolve_config(model if model else None, resume_from=run_dir, **settings)
    else:
        if (run_dir / "checkpoints" / "last.pt").exists():
            raise GennetError(
                f"{run_dir} already holds a trained run; pass --resume to continue it, "
                f"or choose another --out (nothing was changed)"
            )
        tcfg, mcfg = resolve_config(model, config_file=config_file, **settings)
    device = D.resolve_device(tcfg.device, int(os.environ.get("LOCAL_RANK", "0")))
    dist = D.init_from_env(device)
    try:
        data = _load_split(tcfg, "train")
        torch.manual_seed(tcfg.seed)  # the same initial weights on every process
        net = build_model(tcfg.model, data.spec, tcfg.model_args)
        if dist.is_main:
            run_dir.mkdir(parents=True, exist_ok=True)
            write_json(
                run_dir / "config.json",
                {
                    "gennet_version": __version__,
                    "train": tcfg,
                    "model": mcfg,
                    "data_spec": data.spec.to_dict(),
                    "classes": data.classes,
                },
            )
        D.barrier(dist)
        Trainer(net, data, tcfg, run_dir, device, dist).fit(resume=resume)
    finally:
        D.shutdown(dist)
    return run_dir


# ---- loading ----------------------------------------------------------------------------------
@dataclass
class Run:
    """A trained model with its configuration, ready for the verbs."""

    model: GenerativeModel
    config: TrainConfig
    spec: DataSpec
    path: Path
    classes: list[str] | None = None

    @property
    def device(self) -> torch.device:
        return self.model.device


def load(run_dir: str | Path, device: str = "auto", ema: bool = True) -> Run:
    """Load a run directory written by `train` (final weights, else the last checkpoint)."""
    path = Path(run_dir)
    cfg_path = path / "config.json"
    if not cfg_path.is_file():
        raise GennetError(f"{path} is not a gennet run directory (no config.json)")
    saved = json.loads(cfg_path.read_text())
    tcfg = apply_overrides(
        TrainConfig(), {k: v for k, v in saved["train"].items() if k != "model_args"}, what="train"
    )
    tcfg = dataclasses.replace(tcfg, model_args=saved["model"])
    spec = DataSpec.from_dict(saved["data_spec"])
    model = build_model(tcfg.model, spec, saved["model"])
    if ema and (path / "ema.safetensors").is_file():
        state = load_weights(path / "ema.safetensors")
    elif (path / "model.safetensors").is_file():
        state = load_weights(path / "model.safetensors")
    else:
        state = load_checkpoint(path / "checkpoints" / "last.pt")["model"]
    model.load_state_dict(state)
    model.to(D.resolve_device(device)).eval()
    return Run(model, tcfg, spec, path, saved.get("classes"))


def _as_run(run: Run | str | Path) -> Run:
    return run if isinstance(run, Run) else load(run)


def heldout(run: Run | str | Path, n: int | None = None) -> ImageData:
    """The run's held-out (test) split, first `n` images."""
    run = _as_run(run)
    data = _load_split(run.config, "test")
    return data if n is None else data.subset(slice(0, min(n, len(data))))


def _float_images(run: Run, images) -> torch.Tensor:
    """uint8 or float images (N, C, H, W) -> float [0, 1] on the model's device, shape-checked."""
    x = torch.as_tensor(np.asarray(images) if not torch.is_tensor(images) else images)
    x = x.float() / 255.0 if x.dtype == torch.uint8 else x.float()
    want = (run.spec.channels, run.spec.height, run.spec.width)
    if x.dim() != 4 or tuple(x.shape[1:]) != want:
        raise GennetError(
            f"images must have shape (N, {want[0]}, {want[1]}, {want[2]}) for this model; "
            f"got {tuple(x.shape)}"
        )
    return x.to(run.device)


def _batched(fn, x: torch.Tensor, size: int = 500) -> torch.Tensor:
    with torch.no_grad():
        return torch.cat([fn(x[i : i + size]) for i in range(0, len(x), size)])


# ---- verbs ------------------------------------------------------------------------------------
def sample(run: Run | str | Path, n: int, seed: int = 0, labels=None) -> np.ndarray:
    """n images from the model, uint8 (n, C, H, W); the same seed gives the same images."""
    run = _as_run(run)
    run.model.require("sample")
    if labels is not None:
        run.model.require("conditional")
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    with torch.no_grad():
        out = run.model.sample(n, labels=labels, generator=g)
    return to_uint8(out.cpu())


def reconstruct(run: Run | str | Path, images=None, n: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """(originals, reconstructions), uint8; held-out images when `images` is None."""
    run = _as_run(run)
    run.model.require("reconstruct")
    x = heldout(run, n).images if images is None else images
    x = _float_images(run, x)
    return to_uint8(x.cpu()), to_uint8(_batched(run.model.reconstruct, x).cpu())


def denoise(
    run: Run | str | Path,
    images=None,
    n: int = 16,
    kind: str | None = None,
    level: float | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Denoise `images`; with none, corrupt held-out images and report PSNR before and after."""
    run = _as_run(run)
    run.model.require("denoise")
    if images is not None:
        x = _float_images(run, images)
        return {"noisy": to_uint8(x.cpu()), "denoised": to_uint8(_batched(run.model.denoise, x).cpu())}
    from .corruption import corrupt

    clean = _float_images(run, heldout(run, n).images)
    mcfg = run.model.cfg
    kind = kind or (mcfg.corruption if getattr(mcfg, "corruption", "none") != "none" else "gaussian")
    level = level if level is not None else getattr(mcfg, "corruption_level", 0.3)
    noisy = corrupt(clean, kind, level, torch.Generator().manual_seed(seed))
    out = _batched(run.model.denoise, noisy)
    return {
        "clean": to_uint8(clean.cpu()),
        "noisy": to_uint8(noisy.cpu()),
        "denoised": to_uint8(out.cpu()),
        "psnr_before": M.psnr(noisy, clean),
        "psnr_after": M.psnr(out, clean),
        "corruption": kind,
        "level": level,
    }


def encode(run: Run | str | Path, images=None) -> tuple[np.ndarray, np.ndarray | None]:
    """Latent codes (N, latent_dim) of `images`, or of the whole held-out split with its labels."""
    run = _as_run(run)
    run.model.require("encode")
    labels = None
    if images is None:
        data = heldout(run)
        images, labels = data.images, (data.labels.numpy() if data.labels is not None else None)
    z = _batched(run.model.encode, _float_images(run, images))
    return z.cpu().numpy(), labels


def interpolate(
    run: Run | str | Path, pairs: int = 4, steps: int = 10, method: str = "both", seed: int = 0
) -> tuple[list[np.ndarray], list[str]]:
    """Rows of images walking between two codes: from the prior if the model samples, else
    between the codes of held-out images. method: linear, spherical or both (a row of each)."""
    run = _as_run(run)
    run.model.require("interpolate")
    g = torch.Generator().manual_seed(seed)
    if run.model.can("sample"):
        z = run.model.latent_prior(2 * pairs, generator=g)
    else:
        data = heldout(run)
        idx = torch.randperm(len(data), generator=g)[: 2 * pairs]
        z = _batched(run.model.encode, _float_images(run, data.images[idx]))
    methods = ["linear", "spherical"] if method == "both" else [method]
    rows, names = [], []
    with torch.no_grad():
        for p in range(pairs):
            for m in methods:
                path = interpolation_path(z[2 * p], z[2 * p + 1], steps, m)
                rows.append(to_uint8(run.model.decode(path).cpu()))
                names.append(m[:3] if m == "linear" else "slerp")
    return rows, names


def evaluate(
    run: Run | str | Path,
    n: int | None = None,
    k: int = 100,
    seed: int = 0,
    metrics=None,
    floor: bool = True,
    extractor=None,
) -> dict[str, Any]:
    """Every metric the model supports, on the held-out split:

    - reconstruction MSE/BCE/PSNR/SSIM (models that reconstruct);
    - ELBO and the importance-weighted NLL with k samples, nats/image (likelihood models);
    - for models that sample: FID, KID, precision/recall, mode coverage and the classifier score
      of n samples against the held-out images, in the shipped feature network's space, with the
      real-vs-real floor (training images against the same reference, same n) under "floor".

    `n` defaults to the size of the held-out split; `extractor` overrides the shipped network
    (any callable images -> (features (N, D), probabilities (N, K)))."""
    run = _as_run(run)
    data = heldout(run, n)
    x = _float_images(run, data.images)
    torch.manual_seed(seed)
    out: dict[str, Any] = {
        "model": run.model.name,
        "protocol": {"dataset": run.config.data, "split": "test", "heldout_images": len(x), "seed": seed},
    }
    model = run.model
    if model.can("reconstruct"):
        rec = _batched(model.reconstruct, x)
        out.update(
            {
                "recon_mse": M.mse(rec, x),
                "recon_bce": M.bce(rec, x),
                "recon_psnr": M.psnr(rec, x),
                "recon_ssim": M.ssim(rec, x),
            }
        )
    if model.can("likelihood"):
        elbo = _batched(model.elbo, x)
        nll = _batched(lambda b: -model.log_likelihood(b, k=k), x, size=100)
        out.update({"elbo_nats": float(elbo.mean()), "iw_nll_nats": float(nll.mean()), "iw_k": k})
        out["protocol"]["nll_note"] = (
            "Bernoulli likelihood of grayscale pixel intensities (not binarized)"
            if getattr(model.cfg, "likelihood", "") == "bernoulli"
            else "Gaussian density of pixel intensities in [0, 1]"
        )
    if model.can("sample"):
        n_samples = n or len(data)
        images = sample(run, n_samples, seed=seed)
        scored = _score(run.config, images, n_samples, metrics, floor, seed, extractor)
        out["protocol"].update(scored.pop("protocol"))
        out.update(scored)
    return out


def _score(tcfg: TrainConfig, images, n: int, metrics, floor: bool, seed: int, extractor) -> dict[str, Any]:
    """Score `images` against the held-out split of the run's data (+ the real floor)."""
    from .eval.features import extractor_for
    from .eval.scoring import Scorer

    reference = _load_split(tcfg, "test")
    if extractor is None:
        extractor, reason = extractor_for(tcfg.data)
        proto = {**extractor.protocol(), "extractor_reason": reason}
    else:
        proto = {
            "extractor": getattr(extractor, "name", repr(extractor)),
            "extractor_reason": "given by the caller",
        }
    train_images = _load_split(tcfg, "train").images.numpy() if floor else None
    scorer = Scorer(extractor, reference.images.numpy(), train_images, seed=seed)
    proto.update({"reference": f"{tcfg.data} test split ({len(reference)} images)", "samples": n})
    res = scorer.score(images, metrics)
    proto["scoring_seconds"] = scorer.last_seconds
    if res.get("num_classes"):
        share = 0.25 / res["num_classes"]
        proto["coverage_rule"] = f"a class is covered when it holds >= {share:.4g} of samples"
    if floor:
        res["floor"] = scorer.floor(n, metrics)
        proto["floor"] = f"{min(n, len(train_images))} real training images against the same reference"
    res["protocol"] = proto
    return res


def evaluate_images(
    images,
    data: str = "mnist",
    *,
    data_dir: str | None = None,
    metrics=None,
    floor: bool = True,
    seed: int = 0,
    extractor=None,
) -> dict[str, Any]:
    """Score any images (uint8 or float [0, 1], (N, C, H, W)) — another library's output too —
    against dataset `data`'s held-out split, with the real-vs-real floor at the same count."""
    tcfg = apply_overrides(TrainConfig(), {"data": data, "data_dir": data_dir}, what="train")
    images = np.asarray(images)
    if images.ndim != 4:
        raise GennetError(f"images must be (N, C, H, W); got shape {images.shape}")
    res = _score(tcfg, images, len(images), metrics, floor, seed, extractor)
    res["protocol"].update({"dataset": data, "seed": seed})
    return {"model": "images", **res}


def list_models() -> dict[str, str]:
    return model_descriptions()


def list_datasets() -> dict[str, str]:
    return dataset_names()


__all__ = [
    "Run",
    "evaluate_images",
    "build_model",
    "denoise",
    "encode",
    "evaluate",
    "heldout",
    "interpolate",
    "list_datasets",
    "list_models",
    "load",
    "model_config",
    "reconstruct",
    "resolve_config",
    "sample",
    "train",
    "to_jsonable",
]
