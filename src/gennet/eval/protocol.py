"""The evaluation protocol: every metric a run's model supports, on its held-out split, each
beside the real-vs-real floor (and, for translation, the untranslated baseline).

    evaluate(run)                      # recon / ELBO+NLL / FID, KID, P&R, coverage ... + floor
    evaluate_images(images, "mnist")   # any images (another library's output too) against a dataset
    evaluate_translation(run)          # CycleGAN: both directions

Layer: the top of `eval/`: imports `runs` and `verbs` (to load runs and draw samples), the
pure metric modules beside it and `train.tracking` (to log an evaluation to a run's trackers); only
`api` (and `benchmark`) import it. Nothing else in `eval/` imports it, so `train/` may use the metric
modules without a cycle.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..arrays import as_uint8_images
from ..config import TrainConfig, apply_overrides
from ..data import ImageData
from ..data.unpaired import pair_info
from ..errors import GennetError
from ..runs import Run, as_run, batched, float_images, heldout, load_split
from ..train.tracking import log_evaluation
from ..validation import check_count
from ..verbs.generation import sample
from ..verbs.style import path_length
from ..verbs.translation import cycle_images, domains
from ..viz import to_uint8
from . import pixel_metrics as M
from .features import INPUT_SIZE, extractor_for
from .path_length import EPSILON
from .scoring import Scorer
from .suites import computes, suites_for


@dataclass(frozen=True)
class SuiteContext:
    """What every suite's compute function gets: the run, its held-out images and the caller's options."""

    run: Run
    data: ImageData  # the held-out split, n images (all by default)
    x: torch.Tensor  # data.images as floats in [0, 1] on the run's device
    n: int | None
    k: int
    seed: int
    metrics: Any
    floor: bool
    extractor: Any
    ppl_samples: int = 2000


def evaluate(
    run: Run | str | Path,
    n: int | None = None,
    k: int = 100,
    seed: int = 0,
    metrics=None,
    floor: bool = True,
    extractor=None,
    ppl_samples: int = 2000,
    track: bool = True,
    callbacks=(),
) -> dict[str, Any]:
    """Every registered suite (``eval.suites``) the model's capabilities allow, on the held-out split:

    - reconstruction MSE/BCE/PSNR/SSIM (models that reconstruct);
    - ELBO and the importance-weighted NLL with k samples, nats/image (likelihood models);
    - translation: FID/KID both ways, cycle error, class kept (translators; see evaluate_translation);
    - for models that sample: FID, KID, precision/recall, mode coverage and the classifier score
      of n samples against the held-out images, in the shipped feature network's space, with the
      real-vs-real floor (training images against the same reference, same n) under "floor";
    - style models: the perceptual path length in W and Z (ppl_w, ppl_z) over `ppl_samples` paths,
      distances in the feature network's space (not the paper's VGG numbers).

    `n` defaults to the size of the held-out split; `extractor` overrides the shipped network
    (any callable images -> (features (N, D), probabilities (N, K))). FID depends on n and on the
    reference size: "protocol" records both ("samples", "reference_images").

    With `track`, the results are also logged (as "eval/...", at the run's last step) to the trackers
    the run's config names in `track`, and handed to each callback's `on_evaluation(step, results)`;
    a tracker that fails there is a warning (`train.tracking.log_evaluation`)."""
    run = as_run(run)
    n = None if n is None else check_count("n", n)
    k, ppl_samples = check_count("k", k, maximum=100_000), check_count("ppl_samples", ppl_samples)
    data = heldout(run, n)
    x = float_images(run, data.images)
    torch.manual_seed(seed)
    out: dict[str, Any] = {
        "model": run.model.name,
        "protocol": {"dataset": run.config.data, "split": "test", "heldout_images": len(x), "seed": seed},
    }
    ctx = SuiteContext(run, data, x, n, k, seed, metrics, floor, extractor, ppl_samples)
    for suite in suites_for(run.model.capabilities):
        res = dict(suite.compute(ctx))
        out["protocol"].update(res.pop("protocol", {}))
        out.update(res)
    if track and run.path is not None:
        log_evaluation(run.path, run.config, out, callbacks)
    return out


@computes("reconstruction")
def _reconstruction(ctx: SuiteContext) -> dict[str, Any]:
    rec = batched(ctx.run.model.reconstruct, ctx.x)
    return {
        "recon_mse": M.mse(rec, ctx.x),
        "recon_bce": M.bce(rec, ctx.x),
        "recon_psnr": M.psnr(rec, ctx.x),
        "recon_ssim": M.ssim(rec, ctx.x),
    }


@computes("likelihood")
def _likelihood(ctx: SuiteContext) -> dict[str, Any]:
    model, k = ctx.run.model, ctx.k
    elbo = batched(model.elbo, ctx.x)
    nll = batched(lambda b: -model.log_likelihood(b, k=k), ctx.x, size=100)
    note = (
        "Bernoulli likelihood of grayscale pixel intensities (not binarized)"
        if getattr(model.cfg, "likelihood", "") == "bernoulli"
        else "Gaussian density of pixel intensities in [0, 1]"
    )
    return {
        "elbo_nats": float(elbo.mean()),
        "iw_nll_nats": float(nll.mean()),
        "iw_k": k,
        "protocol": {"nll_note": note},
    }


@computes("translation")
def _translation(ctx: SuiteContext) -> dict[str, Any]:
    res = evaluate_translation(ctx.run, n=ctx.n, seed=ctx.seed, floor=ctx.floor)
    res.pop("model")
    return res


@computes("sample")
def _sample(ctx: SuiteContext) -> dict[str, Any]:
    n_samples = ctx.n or len(ctx.data)
    images = sample(ctx.run, n_samples, seed=ctx.seed)
    return score(ctx.run.config, images, n_samples, ctx.metrics, ctx.floor, ctx.seed, ctx.extractor)


@computes("path_length")
def _path_length(ctx: SuiteContext) -> dict[str, Any]:
    extractor, reason = ctx.extractor, "given by the caller"
    if extractor is None:
        extractor, reason = extractor_for(ctx.run.config.data)
    features = getattr(extractor, "embed", None) or (lambda x: torch.as_tensor(extractor(x)[0]))
    res: dict[str, Any] = {
        f"ppl_{s}": path_length(ctx.run, features, s, ctx.ppl_samples, ctx.seed) for s in ("w", "z")
    }
    res["protocol"] = {
        "ppl_samples": ctx.ppl_samples,
        "ppl_epsilon": EPSILON,
        "ppl_features": getattr(extractor, "name", repr(extractor)),
        "ppl_note": "perceptual path length in the feature network's space, not VGG16-LPIPS: not "
        f"comparable with the StyleGAN paper's numbers; feature network {reason}",
    }
    return res


def score(tcfg: TrainConfig, images, n: int, metrics, floor: bool, seed: int, extractor) -> dict[str, Any]:
    """Score `images` against the held-out split of the run's data (+ the real floor)."""
    reference = load_split(tcfg, "test")
    _warn_if_converted(np.shape(images)[1:], tuple(reference.images.shape[1:]), tcfg.data)
    if extractor is None:
        extractor, reason = extractor_for(tcfg.data)
        proto = {**extractor.protocol(), "extractor_reason": reason}
    else:
        proto = {
            "extractor": getattr(extractor, "name", repr(extractor)),
            "extractor_reason": "given by the caller",
        }
    train_images = load_split(tcfg, "train").images.numpy() if floor else None
    scorer = Scorer(extractor, reference.images.numpy(), train_images, seed=seed)
    proto.update(
        {
            "reference": f"{tcfg.data} test split ({len(reference)} images)",
            "samples": n,
            "reference_images": len(reference),
        }
    )
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


def _warn_if_converted(got: tuple, want: tuple, data: str) -> None:
    """Images of another shape than the reference are converted, not refused: say so."""
    if tuple(got) != tuple(want):
        shape = "x".join
        warnings.warn(
            f"images of {shape(map(str, got))} (C x H x W) are scored against {data}'s "
            f"{shape(map(str, want))} images: the feature network sees both as {INPUT_SIZE}x{INPUT_SIZE} "
            "grey, so colour and detail lost in that conversion are not scored",
            stacklevel=3,
        )


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
    images = as_uint8_images(images, "images")
    res = score(tcfg, images, len(images), metrics, floor, seed, extractor)
    res["protocol"].update({"dataset": data, "seed": seed})
    return {"model": "images", **res}


def _view(images: np.ndarray, domain: str, pair, fid: bool = False) -> np.ndarray:
    """What the feature network is shown of domain-B images: the pair's `view_b` (inverted digits
    inverted back, thick strokes eroded) for classification, and for FID/KID where the pair says."""
    if pair is None or pair.view_b is None or domain != "B" or (fid and not pair.view_b_for_fid):
        return images
    return pair.view_b(images)


def _class_scores(extractor, pair, out: dict, src: ImageData, trans: np.ndarray, tag: str, dom: str) -> None:
    """class_kept_<tag> (digits: the translation keeps its input's label) or target_class_<tag>."""
    if pair is None or pair.class_rule == "none":
        return
    _, probs = extractor(_view(trans, dom, pair))
    pred = probs.argmax(1)
    if pair.class_rule == "keep" and src.labels is not None:
        out[f"class_kept_{tag}"] = float((pred == src.labels.numpy()).mean())
        if dom == "B" and pair.view_b is not None:
            _, raw = extractor(trans)
            out[f"class_kept_{tag}_raw"] = float((raw.argmax(1) == src.labels.numpy()).mean())
    elif pair.class_rule == "target" and pair.target_class is not None:
        want = pair.target_class[1] if dom == "B" else pair.target_class[0]
        out[f"target_class_{tag}"] = float((pred == want).mean())


def evaluate_translation(
    run: Run | str | Path, n: int | None = None, seed: int = 0, floor: bool = True
) -> dict[str, Any]:
    """Translation metrics on the held-out split, both directions (n images per domain, default all):

    - fid_AtoB / kid_AtoB: translations G(a) against the held-out B images, in the shipped feature
      network's space (fid_BtoA / kid_BtoA likewise against A); "baseline" holds the same for the
      untranslated inputs (how far apart the domains start), "floor" real training images of the
      target domain against the same reference (what real data scores);
    - cycle_l1_A / cycle_psnr_A: |F(G(a)) - a| mean and PSNR (dB) in [0, 1] pixels (B: G(F(b)));
    - class_kept_AtoB / _BtoA (digit pairs): share of translations the feature network classes as
      their input's digit, beside class_acc_real_A / _B, its accuracy on real images of each domain;
      target_class_AtoB / _BtoA (sneakers <-> boots): share classed as the target domain's class.

    "protocol" records the FID sample and reference counts of each direction ("samples",
    "reference_images"): FIDs at other counts do not compare.
    """
    run = as_run(run)
    n = None if n is None else check_count("n", n, minimum=2)  # FID and KID need two images
    run.model.require("translate")
    test = dict(zip("AB", domains(run, "test"), strict=True))
    if n is not None:
        test = {k: v.subset(slice(0, min(n, len(v)))) for k, v in test.items()}
    pair = pair_info(run.config.data)
    extractor, reason = extractor_for(pair.features if pair and pair.features else run.config.data)
    torch.manual_seed(seed)
    out: dict[str, Any] = {"model": run.model.name}
    floors: dict[str, float] = {}
    baseline: dict[str, float] = {}
    train = dict(zip("AB", domains(run, "train"), strict=True)) if floor else None
    for src, dst, tag in (("A", "B", "AtoB"), ("B", "A", "BtoA")):
        scored = _one_direction(run, extractor, pair, test, train, (src, dst, tag), seed)
        out.update(scored["metrics"])
        baseline.update(scored["baseline"])
        floors.update(scored["floor"])
    _real_class_accuracy(extractor, pair, test, out)
    out["protocol"] = _translation_protocol(run.config.data, test, seed, extractor, reason, pair, floor)
    out["baseline"] = baseline
    if floor:
        out["floor"] = floors
    return out


def _one_direction(run: Run, extractor, pair, test: dict, train: dict | None, way: tuple, seed: int) -> dict:
    """Cycle error, FID/KID (+ baseline and floor) and class scores of one direction `way` (src, dst, tag)."""
    src, dst, tag = way
    x = float_images(run, test[src].images)
    t, r = cycle_images(run, x, tag)
    xc = x.cpu()
    out = {f"cycle_l1_{src}": float((r - xc).abs().mean()), f"cycle_psnr_{src}": M.psnr(r, xc)}
    trans = to_uint8(t)
    reference = _view(test[dst].images.numpy(), dst, pair, fid=True)
    train_imgs = _view(train[dst].images.numpy(), dst, pair, fid=True) if train is not None else None
    scorer = Scorer(extractor, reference, train_imgs, seed=seed)
    res = scorer.score(_view(trans, dst, pair, fid=True), ["fid", "kid"])
    out[f"fid_{tag}"], out[f"kid_{tag}"] = res["fid"], res["kid"]
    base = scorer.score(_view(test[src].images.numpy(), dst, pair, fid=True), ["fid", "kid"])
    baseline = {f"fid_{tag}": base["fid"], f"kid_{tag}": base["kid"]}
    floors = {}
    if train is not None:
        fl = scorer.floor(len(trans), ["fid", "kid"])
        floors = {f"fid_{tag}": fl["fid"], f"kid_{tag}": fl["kid"]}
    _class_scores(extractor, pair, out, test[src], trans, tag, dst)
    return {"metrics": out, "baseline": baseline, "floor": floors}


def _real_class_accuracy(extractor, pair, test: dict, out: dict) -> None:
    """class_acc_real_A / _B (and _B_raw): the feature network's accuracy on real held-out images."""
    if pair is None or pair.class_rule != "keep":
        return
    for dom in "AB":
        _, probs = extractor(_view(test[dom].images.numpy(), dom, pair))
        out[f"class_acc_real_{dom}"] = float((probs.argmax(1) == test[dom].labels.numpy()).mean())
        if dom == "B" and pair.view_b is not None:
            _, raw = extractor(test[dom].images.numpy())
            out["class_acc_real_B_raw"] = float((raw.argmax(1) == test[dom].labels.numpy()).mean())


def _translation_protocol(
    data: str, test: dict, seed: int, extractor, reason: str, pair, floor: bool
) -> dict:
    proto = {
        "dataset": data,
        "split": "test",
        "images": {k: len(v) for k, v in test.items()},
        "samples": {"AtoB": len(test["A"]), "BtoA": len(test["B"])},
        "reference_images": {"AtoB": len(test["B"]), "BtoA": len(test["A"])},
        "seed": seed,
        **extractor.protocol(),
        "extractor_reason": reason,
        "fid_kid": "translations against the held-out images of the target domain",
        "cycle": "F(G(a)) vs a (A) and G(F(b)) vs b (B); L1 mean and per-image PSNR (dB, capped at 100) "
        "of pixels in [0, 1]",
        "baseline": "the untranslated inputs scored against the target domain",
    }
    if floor:
        proto["floor"] = "real training images of the target domain, same count, same reference"
    if pair is not None:
        proto["class_rule"] = pair.class_rule
    if pair is not None and pair.view_b is not None:
        proto["feature_view"] = (
            f"domain-B images are mapped by {pair.view_b.__name__} before classification"
            + (" and FID/KID" if pair.view_b_for_fid else "")
            + "; class_kept_*_raw classify them as they are"
        )
    return proto
