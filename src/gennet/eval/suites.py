"""What each evaluation metric means, declared once, grouped into registered suites.

A ``Metric`` is a result key with its short header, its better direction ("lower", "higher" or None) and a
one-line description; a ``Suite`` groups the metrics that one computation produces, says which model
capability it needs ("sample", "reconstruct", "likelihood", "translate", "style_mix") and, once
``eval.protocol`` has bound it with ``@computes(name)``, holds the function that computes it for a run.

    for suite in suites_for(model.capabilities):   # in evaluation order
        out.update(suite.compute(ctx))
    describe("fid").direction                      # "lower": what the report prints beside the column

Layer: pure data, no torch and no I/O; ``viz.report`` reads it, ``eval.protocol`` registers the compute
functions. It imports nothing from gennet, so anything may import it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

DIRECTIONS = ("lower", "higher", None)


@dataclass(frozen=True)
class Metric:
    """One result key: ``header`` for table columns, ``direction`` of better, ``description`` (one line).

    ``column=False`` marks a key shown inside another column (``kid_std`` in "KID: mean ± std",
    ``num_classes`` in "covered/num"), never alone.
    """

    key: str
    header: str
    direction: str | None
    description: str
    column: bool = True

    def __post_init__(self) -> None:
        if self.direction not in DIRECTIONS:
            raise ValueError(f"metric {self.key!r}: direction must be one of {DIRECTIONS}")


@dataclass(frozen=True)
class Suite:
    """Metrics computed together for models with capability ``needs``; ``compute(ctx) -> dict``."""

    name: str
    needs: str
    description: str
    metrics: tuple[Metric, ...]
    compute: Callable[[Any], dict[str, Any]] | None = None

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(m.key for m in self.metrics)


SUITES: dict[str, Suite] = {}
"""Registered suites, in evaluation order (suites that draw random numbers run in a fixed order)."""

COLUMN_ORDER = ("sample", "path_length", "reconstruction", "likelihood", "translation")
"""Report tables show the suites' metrics in this order (sample quality first)."""


def register_suite(name: str, needs: str, description: str, metrics: Iterable[Metric]) -> Suite:
    """Declare a suite; metric keys must be new (each metric is declared exactly once)."""
    metrics = tuple(metrics)
    taken = {m.key for s in SUITES.values() for m in s.metrics}
    clash = sorted(taken & {m.key for m in metrics})
    if name in SUITES or clash:
        raise ValueError(f"suite {name!r}: already registered, or metric keys declared twice: {clash}")
    SUITES[name] = Suite(name, needs, description, metrics)
    return SUITES[name]


def computes(name: str) -> Callable[[Callable], Callable]:
    """Decorator binding a registered suite's compute function: ``@computes("reconstruction")``."""

    def bind(fn: Callable) -> Callable:
        SUITES[name] = dataclasses.replace(SUITES[name], compute=fn)
        return fn

    return bind


def suites_for(capabilities: Iterable[str]) -> list[Suite]:
    """The registered suites a model with these capabilities supports, in evaluation order."""
    have = set(capabilities)
    return [s for s in SUITES.values() if s.needs in have]


def describe(key: str) -> Metric | None:
    """The declaration of result key ``key``, or None for a key no suite declares."""
    for suite in SUITES.values():
        for m in suite.metrics:
            if m.key == key:
                return m
    return None


def column_keys() -> tuple[str, ...]:
    """Every declared key that gets a table column, suites in ``COLUMN_ORDER``."""
    return tuple(m.key for name in COLUMN_ORDER for m in SUITES[name].metrics if m.column)


def folded_keys() -> tuple[str, ...]:
    """Keys shown inside another column, never alone."""
    return tuple(m.key for s in SUITES.values() for m in s.metrics if not m.column)


# ---------------------------------------------------------------------------------------------------------
# The declarations. The formulas live in feature_metrics (fid, kid, precision_recall, mode_coverage,
# classifier_score) and pixel_metrics (mse, bce, psnr, ssim, log densities); eval.protocol computes each
# suite for a run.
# ---------------------------------------------------------------------------------------------------------

FID_N_NOTE = (
    "biased upwards by about d(d+1)/2n for d features and n samples, so only FIDs at the same n against "
    "the same reference set compare."
)

register_suite(
    "reconstruction",
    "reconstruct",
    "held-out images through the model and back, pixels in [0, 1]",
    [
        Metric(
            "recon_mse",
            "recon MSE",
            "lower",
            "mean squared reconstruction error of held-out images, pixels in [0, 1].",
        ),
        Metric(
            "recon_bce", "recon BCE", "lower", "binary cross-entropy of reconstructions of held-out images."
        ),
        Metric("recon_psnr", "recon PSNR", "higher", "peak signal-to-noise ratio of reconstructions, in dB."),
        Metric(
            "recon_ssim", "recon SSIM", "higher", "structural similarity of reconstructions (1 = identical)."
        ),
    ],
)

register_suite(
    "likelihood",
    "likelihood",
    "ELBO and importance-weighted NLL of held-out images, nats per image",
    [
        Metric("elbo_nats", "ELBO (nats)", "higher", "evidence lower bound per held-out image, in nats."),
        Metric(
            "iw_nll_nats",
            "IW NLL (nats)",
            "lower",
            "importance-weighted estimate of the negative log-likelihood per held-out image, in nats.",
        ),
        Metric("iw_k", "IW k", None, "importance samples per image behind the IW NLL estimate."),
    ],
)


def _direction_metrics() -> list[Metric]:
    """FID and KID of each direction's translations, then each domain's cycle error."""
    out = []
    for tag, src, dst in (("AtoB", "A", "B"), ("BtoA", "B", "A")):
        fid_text = f"FID of translations of held-out {src} images against held-out {dst} images; "
        out.append(Metric(f"fid_{tag}", f"FID {tag}", "lower", fid_text + FID_N_NOTE))
        kid_text = f"KID of translations of held-out {src} images against held-out {dst} images."
        out.append(Metric(f"kid_{tag}", f"KID {tag}", "lower", kid_text))
    for dom, other in (("A", "B"), ("B", "A")):
        l1_text = f"mean |cycle - input| of held-out {dom} images sent to {other} and back, pixels in [0, 1]."
        out.append(Metric(f"cycle_l1_{dom}", f"cycle L1 {dom}", "lower", l1_text))
        psnr_text = f"PSNR (dB) of held-out {dom} images sent to {other} and back."
        out.append(Metric(f"cycle_psnr_{dom}", f"cycle PSNR {dom}", "higher", psnr_text))
    return out


def _class_metrics() -> list[Metric]:
    """Whether translations keep their class (digits) or take the target's (sneakers <-> boots)."""
    out = []
    for tag, src in (("AtoB", "A"), ("BtoA", "B")):
        kept = (
            f"share of translations of {src} images that the feature network classes as their input's class."
        )
        out.append(Metric(f"class_kept_{tag}", f"class kept {tag}", "higher", kept))
        target = f"share of translations of {src} images classed as the target domain's class."
        out.append(Metric(f"target_class_{tag}", f"target class {tag}", "higher", target))
    raw = "class kept AtoB with the translations classified as they are, without the pair's domain-B view."
    out.append(Metric("class_kept_AtoB_raw", "class kept AtoB (raw)", "higher", raw))
    for dom in "AB":
        acc = f"the feature network's accuracy on real held-out {dom} images (what class kept can reach)."
        out.append(Metric(f"class_acc_real_{dom}", f"class acc real {dom}", "higher", acc))
    raw = "accuracy on real held-out B images classified as they are, without the pair's domain-B view."
    out.append(Metric("class_acc_real_B_raw", "class acc real B (raw)", "higher", raw))
    return out


register_suite(
    "translation",
    "translate",
    "both directions of an unpaired translator on the held-out images of each domain",
    _direction_metrics() + _class_metrics(),
)

register_suite(
    "sample",
    "sample",
    "n samples against the held-out images in the feature network's space, beside the real-data floor",
    [
        Metric(
            "fid",
            "FID",
            "lower",
            "Fréchet distance between Gaussians fitted to the extractor's features of the samples and of the "
            "reference images; " + FID_N_NOTE,
        ),
        Metric(
            "kid",
            "KID",
            "lower",
            "kernel distance: unbiased MMD² (cubic polynomial kernel) of the same features, mean ± std over "
            "random subsets; about 0 when the two sets are indistinguishable.",
        ),
        Metric("kid_std", "KID std", None, "spread of KID over its random subsets.", column=False),
        Metric(
            "precision",
            "precision",
            "higher",
            "share of samples that lie on the real images' k-NN feature manifold (fidelity).",
        ),
        Metric(
            "recall",
            "recall",
            "higher",
            "share of real images that lie on the samples' k-NN feature manifold (diversity).",
        ),
        Metric(
            "classes_covered",
            "classes",
            "higher",
            "classes (of all) that the extractor's classifier assigns to at least a quarter of a uniform "
            "share of the samples.",
        ),
        Metric("num_classes", "num classes", None, "classes the extractor's classifier knows.", column=False),
        Metric(
            "class_kl",
            "class KL",
            "lower",
            "KL divergence, in nats, between the predicted-class histograms of the samples and of the "
            "reference.",
        ),
        Metric(
            "classifier_score",
            "classifier score",
            "higher",
            "the Inception Score formula exp(E KL(p(y|x) ‖ p(y))) with the extractor's classifier; at most "
            "the number of classes.",
        ),
    ],
)

PPL_NOTE = (
    "in gennet's feature space (the shipped feature network, not the paper's VGG16-LPIPS), so it compares "
    "models scored with the same network on the same data, never with the paper's numbers; "
    "||f(g(p(t))) - f(g(p(t + 1e-4)))||² / 1e-8, t ~ U(0, 1), mean between the 1st and 99th percentiles."
)

register_suite(
    "path_length",
    "style_mix",
    "perceptual path length of a style-based generator (StyleGAN), in W and in Z",
    [
        Metric(
            "ppl_w",
            "PPL W",
            "lower",
            "perceptual path length along straight lines between mapped codes w (full paths), " + PPL_NOTE,
        ),
        Metric(
            "ppl_z",
            "PPL Z",
            "lower",
            "perceptual path length along great circles between prior codes z (slerp), " + PPL_NOTE,
        ),
    ],
)
