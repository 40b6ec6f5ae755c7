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
from .eval import pixel_metrics as M
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
    run: Run | str | Path,
    pairs: int = 4,
    steps: int = 10,
    method: str = "both",
    seed: int = 0,
    between: str = "auto",
) -> tuple[list[np.ndarray], list[str]]:
    """Rows of images walking between two codes. between: "random" (codes from the prior), "real"
    (codes of held-out images; needs an encoder) or "auto" (random if the model samples, else real).
    method: linear, spherical or both (a row of each). Conditional models keep one label a row."""
    run = _as_run(run)
    model = run.model
    model.require("interpolate")
    if between not in ("auto", "random", "real"):
        raise ConfigError(f"between must be auto, random or real; got {between!r}")
    if between == "auto":
        between = "random" if model.can("sample") else "real"
    g = torch.Generator().manual_seed(seed)
    if between == "random":
        model.require("sample")
        z = model.latent_prior(2 * pairs, generator=g)
    else:
        model.require("encode")
        data = heldout(run)
        idx = torch.randperm(len(data), generator=g)[: 2 * pairs]
        z = _batched(model.encode, _float_images(run, data.images[idx]))
    conditional = model.can("conditional")
    row_labels = torch.randint(0, run.spec.num_classes or 1, (pairs,), generator=g) if conditional else None
    methods = ["linear", "spherical"] if method == "both" else [method]
    rows, names = [], []
    with torch.no_grad():
        for p in range(pairs):
            for m in methods:
                path = interpolation_path(z[2 * p], z[2 * p + 1], steps, m)
                tag = m[:3] if m == "linear" else "slerp"
                if conditional:
                    out, tag = model.decode(path, labels=row_labels[p]), f"{tag} y={int(row_labels[p])}"
                else:
                    out = model.decode(path)
                rows.append(to_uint8(out.cpu()))
                names.append(tag)
    return rows, names


def _class_index(term, classes: list[str]) -> int:
    """A class given by index ("3") or by name ("sneaker") -> its index."""
    text = str(term).strip()
    if text in classes:
        return classes.index(text)
    if text.lstrip("-").isdigit() and 0 <= int(text) < len(classes):
        return int(text)
    raise GennetError(
        f"unknown class {text!r}; the classes are {', '.join(classes)} (or 0..{len(classes) - 1})"
    )


def _codes_by_class(run: Run, wanted: list[int], search: int, g: torch.Generator, min_prob: float):
    """Latent codes (and their labels) grouped by class: from the encoder on held-out images when the
    model has one, else from a labelled sample search (samples classified by the feature network)."""
    model = run.model
    if model.can("encode"):
        data = heldout(run)
        if data.labels is None:
            raise GennetError("latent arithmetic needs labelled held-out images")
        z = _batched(model.encode, _float_images(run, data.images))
        groups = {c: z[(data.labels == c).to(z.device)] for c in wanted}
        return groups, f"encoder codes of the held-out {run.config.data} images, grouped by their labels"
    from .eval.features import SHIPPED, load_extractor

    if run.config.data not in SHIPPED:
        raise GennetError(
            f"{model.name!r} has no encoder, so codes are found by classifying samples, and no feature "
            f"network was trained on {run.config.data!r} (shipped: {', '.join(SHIPPED)})"
        )
    extractor = load_extractor(run.config.data)
    z = model.latent_prior(search, generator=g)
    labels = None
    if model.can("conditional"):
        labels = torch.randint(0, run.spec.num_classes, (search,), generator=g).to(z.device)
    parts = []
    for i in range(0, search, 500):
        zi = z[i : i + 500]
        parts.append(model.decode(zi) if labels is None else model.decode(zi, labels=labels[i : i + 500]))
    images = torch.cat(parts)
    _, probs = extractor(images.cpu())
    probs_t = torch.as_tensor(probs)
    conf, pred = probs_t.max(1)
    groups = {c: z[((pred == c) & (conf >= min_prob)).to(z.device)] for c in wanted}
    return groups, (
        f"{search} prior samples classified by the shipped {run.config.data} network "
        f"(kept when p >= {min_prob})"
    )


def arithmetic(
    run: Run | str | Path,
    terms=None,
    per_class: int = 3,
    seed: int = 0,
    search: int = 5000,
    noise: float = 0.25,
    min_prob: float = 0.9,
) -> dict[str, Any]:
    """Latent vector arithmetic over class-mean codes, the DCGAN paper's demonstration:
    mean z(a) - mean z(b) + mean z(c), decoded, with `per_class` copies perturbed by U(-noise, noise).

    Returns rows (uint8 arrays): per term `per_class` exemplar codes decoded and their class mean
    decoded; then the result and its perturbed copies; plus what the shipped classifier (where
    there is one) makes of the result images."""
    run = _as_run(run)
    model = run.model
    model.require("decode")
    classes = run.classes
    if not classes:
        raise GennetError("latent arithmetic needs labelled data (this run's data has no classes)")
    terms = list(terms) if terms is not None else classes[:3]
    if len(terms) != 3:
        raise GennetError(f"give three classes a, b, c for a - b + c; got {terms}")
    a, b, c = (_class_index(t, classes) for t in terms)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        groups, source = _codes_by_class(run, sorted({a, b, c}), search, g, min_prob)
        for cls, codes in groups.items():
            if len(codes) < 1:
                raise GennetError(
                    f"found no codes of class {classes[cls]!r} ({source}); raise search or lower min_prob"
                )
        means = {cls: codes.mean(0) for cls, codes in groups.items()}
        result = means[a] - means[b] + means[c]
        jitter = (torch.rand(per_class, result.numel(), generator=g) * 2 - 1).to(result.device) * noise
        cond = model.can("conditional")

        def dec(z, cls):
            return model.decode(z, labels=cls) if cond else model.decode(z)

        rows, names = [], []
        for role, cls in zip("abc", (a, b, c), strict=True):
            codes = torch.cat([groups[cls][:per_class], means[cls][None]])
            rows.append(to_uint8(dec(codes, cls).cpu()))
            names.append(f"{role}: {classes[cls]}")
        result_images = dec(torch.cat([result[None], result[None] + jitter]), c)
        rows.append(to_uint8(result_images.cpu()))
        names.append(f"{classes[a]}-{classes[b]}+{classes[c]}")
    out = {
        "rows": rows,
        "names": names,
        "terms": [classes[a], classes[b], classes[c]],
        "source": source,
        "codes_per_class": {classes[k]: len(v) for k, v in groups.items()},
    }
    from .eval.features import SHIPPED, load_extractor

    if run.config.data in SHIPPED:
        _, probs = load_extractor(run.config.data)(result_images.cpu())
        out["result_classified_as"] = [classes[i] for i in probs.argmax(1)]
    return out


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
    if model.can("translate"):  # CycleGAN: both directions, FID/KID, cycle error, class kept
        from .translation import evaluate_translation

        res = evaluate_translation(run, n=n, seed=seed, floor=floor)
        out["protocol"].update(res.pop("protocol"))
        out.update(res)
        return out
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


def translate(
    run: Run | str | Path, images=None, direction: str = "AtoB", n: int = 8
) -> dict[str, np.ndarray]:
    """Translate images between a CycleGAN run's domains: {"input", "translated", "cycled"}, uint8
    (N, C, H, W); with no images, the first n held-out images of the source domain."""
    from .translation import translate as _translate

    return _translate(_as_run(run), images=images, direction=direction, n=n)


def list_models() -> dict[str, str]:
    return model_descriptions()


def list_datasets() -> dict[str, str]:
    return dataset_names()


__all__ = [
    "Run",
    "arithmetic",
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
    "translate",
    "to_jsonable",
]
