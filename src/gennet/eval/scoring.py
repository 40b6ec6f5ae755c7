"""Scoring images against a dataset with the shipped feature network, and the real-vs-real
floor: the same metrics for real training images against the same held-out reference, at the
same sample count, so that every model's figures are read beside what the data itself scores.

features -> statistics -> formula: the formulas live in `feature_metrics`, the features here.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ..errors import ConfigError
from . import feature_metrics as S
from .features import FeatureExtractor

ALL_METRICS = ("fid", "kid", "precision_recall", "coverage", "classifier_score")


def _check(metrics) -> tuple[str, ...]:
    chosen = tuple(metrics or ALL_METRICS)
    bad = [m for m in chosen if m not in ALL_METRICS]
    if bad:
        raise ConfigError(f"unknown metric(s) {bad}; choose from {', '.join(ALL_METRICS)}")
    return chosen


def score_features(
    feats: np.ndarray,
    probs: np.ndarray,
    ref_feats: np.ndarray,
    ref_probs: np.ndarray,
    metrics=None,
    seed: int = 0,
) -> dict[str, Any]:
    """Every chosen metric of one image set (features, softmax) against the reference set's."""
    chosen = _check(metrics)
    out: dict[str, Any] = {}
    if "fid" in chosen:
        out["fid"] = S.fid(feats, ref_feats)
    if "kid" in chosen:
        out["kid"], out["kid_std"] = S.kid(feats, ref_feats, seed=seed)
    if "precision_recall" in chosen:
        out["precision"], out["recall"] = S.precision_recall(ref_feats, feats, k=3)
    if "coverage" in chosen:
        cov = S.mode_coverage(probs, ref_probs)
        out["classes_covered"] = cov["classes_covered"]
        out["num_classes"] = cov["num_classes"]
        out["class_kl"] = cov["kl_fake_real"]
    if "classifier_score" in chosen:
        out["classifier_score"] = S.classifier_score(probs)
    return out


class Scorer:
    """Holds the reference (held-out) features so that several image sets are scored cheaply."""

    def __init__(self, extractor: FeatureExtractor, reference_images, train_images=None, seed: int = 0):
        self.extractor, self.seed = extractor, seed
        self.ref_feats, self.ref_probs = extractor(reference_images)
        self.train_images = train_images

    def score(self, images, metrics=None) -> dict[str, Any]:
        t0 = time.perf_counter()
        feats, probs = self.extractor(images)
        out = score_features(feats, probs, self.ref_feats, self.ref_probs, metrics, self.seed)
        self.last_seconds = round(time.perf_counter() - t0, 3)
        return out

    def floor(self, n: int, metrics=None) -> dict[str, Any]:
        """Real training images (n, a seeded random subset) scored against the reference."""
        if self.train_images is None:
            raise ValueError("no training images were given for the floor")
        rng = np.random.default_rng(self.seed)
        idx = np.sort(rng.choice(len(self.train_images), size=min(n, len(self.train_images)), replace=False))
        return self.score(self.train_images[idx], metrics)
