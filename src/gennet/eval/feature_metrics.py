"""Sample-quality metrics for generative models: pure functions of classifier features and softmax outputs.

Features are NumPy arrays of shape (N, D) (e.g. penultimate-layer activations of a classifier, D ~ 128);
class probabilities are (N, K) softmax outputs. Everything is computed in float64 and scalar results are
returned as Python floats. The pipeline is features -> statistics -> formula, so reference statistics can
be cached (``GaussianStats.to_npz``) and each formula tested on exact inputs.

- ``frechet_distance`` / ``fid``: Frechet distance of Gaussians fitted to two feature sets (Heusel et al.
  2017), here with our classifier's features rather than Inception's.
- ``kid``: unbiased MMD^2 with the cubic polynomial kernel, averaged over random subsets (Binkowski et al.
  2018).
- ``precision_recall``: k-NN manifold precision and recall (Kynkaanniemi et al. 2019).
- ``mode_coverage``: predicted-class histogram of fake vs real samples.
- ``classifier_score``: the Inception Score formula with our classifier's probabilities.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from os import PathLike

import numpy as np
import scipy.linalg
from scipy.special import rel_entr

from gennet.arrays import read_npz
from gennet.atomic import write_with
from gennet.errors import ConfigError, DataError, GennetError

HIST_EPS = 1e-10
"""Smoothing added to predicted-class histograms before the KL divergence (then renormalised)."""

_IMAG_TOL = 1e-3  # relative to the largest |entry| of sqrt(S1 S2)
_SQRTM_RESIDUAL_TOL = 1e-6  # ||X X - A||_F / ||A||_F above this counts as a failed square root


def _features(x: np.ndarray, name: str, min_rows: int = 1) -> np.ndarray:
    """Return ``x`` as a finite float64 (N, D) array with N >= min_rows, or raise ConfigError."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ConfigError(f"{name}: expected features of shape (N, D), got shape {x.shape}")
    if x.shape[0] < min_rows or x.shape[1] < 1:
        raise ConfigError(f"{name}: need at least {min_rows} rows and 1 column, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ConfigError(f"{name}: features contain NaN or inf")
    return x


def _same_dim(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape[1] != b.shape[1]:
        raise ConfigError(f"feature dimensions differ: {a.shape[1]} vs {b.shape[1]}")


# --------------------------------------------------------------------------------------------------------
# Gaussian statistics and the Frechet distance
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class GaussianStats:
    """Mean ``mu`` (D,), covariance ``sigma`` (D, D) and sample count ``n`` of a feature set.

    ``eq=False``: instances compare by identity (array fields make ``==`` ambiguous); compare the fields
    with ``np.allclose`` instead.
    """

    mu: np.ndarray
    sigma: np.ndarray
    n: int

    def __post_init__(self) -> None:
        mu = np.asarray(self.mu, dtype=np.float64)
        sigma = np.asarray(self.sigma, dtype=np.float64)
        if mu.ndim != 1 or sigma.shape != (mu.shape[0], mu.shape[0]):
            raise ConfigError(
                f"GaussianStats: mu must be (D,) and sigma (D, D), got {mu.shape} and {sigma.shape}"
            )
        if not (np.isfinite(mu).all() and np.isfinite(sigma).all()):
            raise ConfigError("GaussianStats: mu or sigma contains NaN or inf")
        object.__setattr__(self, "mu", mu)
        object.__setattr__(self, "sigma", sigma)
        object.__setattr__(self, "n", int(self.n))

    @property
    def dim(self) -> int:
        return int(self.mu.shape[0])

    def to_npz(self, path: str | PathLike) -> None:
        """Write ``mu``, ``sigma`` and ``n`` to ``path`` exactly (no ``.npz`` suffix is appended)."""
        write_with(path, lambda f: np.savez(f, mu=self.mu, sigma=self.sigma, n=np.int64(self.n)))

    @classmethod
    def from_npz(cls, path: str | PathLike) -> GaussianStats:
        """Read statistics written by ``to_npz``; raises DataError if the file is missing or malformed."""
        z = read_npz(path)
        missing = {"mu", "sigma", "n"} - set(z)
        if missing:
            raise DataError(f"{path}: not a GaussianStats file (missing {sorted(missing)})")
        try:
            return cls(mu=z["mu"], sigma=z["sigma"], n=int(z["n"]))
        except (TypeError, ValueError) as e:
            raise DataError(f"{path}: cannot read Gaussian statistics ({e})") from None


def gaussian_stats(features: np.ndarray) -> GaussianStats:
    """Fit a Gaussian to ``features`` (N, D), N >= 2: float64 mean and unbiased covariance (ddof 1)."""
    x = _features(features, "gaussian_stats", min_rows=2)
    sigma = np.atleast_2d(np.cov(x, rowvar=False))
    return GaussianStats(mu=x.mean(axis=0), sigma=sigma, n=x.shape[0])


def _sqrtm(a: np.ndarray) -> np.ndarray | None:
    """Principal square root of ``a``, or None when it is not finite or inaccurate (relative residual).

    scipy's "singular" warning is no failure by itself: one zero-variance feature leaves an exact root."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        root = scipy.linalg.sqrtm(a)
    if not np.isfinite(root).all():
        return None
    norm = np.linalg.norm(a)
    if norm > 0 and np.linalg.norm(root @ root - a) / norm > _SQRTM_RESIDUAL_TOL:
        return None
    return root


def frechet_distance(a: GaussianStats, b: GaussianStats, eps: float = 1e-6) -> float:
    """Frechet distance ``||mu1 - mu2||^2 + Tr(S1 + S2 - 2 sqrt(S1 S2))`` between two Gaussians.

    The root is taken of ``S1 S2`` as it is. Only when that root is not finite, inaccurate (relative
    residual above 1e-6) or has a large imaginary part is it taken of ``(S1 + eps I)(S2 + eps I)`` instead,
    as pytorch-fid does; the trace terms always use the unmodified covariances. A tiny imaginary part of the
    root is dropped; one larger than 1e-3 of the root's largest entry raises GennetError. Tiny negative
    results from rounding are clamped to 0.

    The estimate is biased upwards by roughly ``d (d + 1) / 2n`` for d-dimensional features and n samples
    (more when the reference set is small too): FIDs computed at different sample counts, or against
    reference sets of different sizes, cannot be compared. Report n and the reference count beside it.
    """
    if a.dim != b.dim:
        raise ConfigError(f"feature dimensions differ: {a.dim} vs {b.dim}")
    diff = a.mu - b.mu
    root = _sqrtm(a.sigma @ b.sigma)
    if root is None or _imag_too_large(root):
        offset = eps * np.eye(a.dim)
        root = _sqrtm((a.sigma + offset) @ (b.sigma + offset))
        if root is None:
            raise GennetError("frechet_distance: no usable square root of S1 S2, even with eps * I added")
    if np.iscomplexobj(root):
        if _imag_too_large(root):
            raise GennetError(
                f"frechet_distance: sqrt(S1 S2) has a large imaginary part ({np.abs(root.imag).max():.3g})"
            )
        root = root.real
    value = float(diff @ diff + np.trace(a.sigma) + np.trace(b.sigma) - 2.0 * np.trace(root))
    return max(value, 0.0)


def _imag_too_large(root: np.ndarray) -> bool:
    if not np.iscomplexobj(root):
        return False
    scale = float(np.abs(root).max())
    return float(np.abs(root.imag).max()) > _IMAG_TOL * max(scale, np.finfo(np.float64).tiny)


def fid(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """Frechet distance between Gaussians fitted to ``features_a`` (N, D) and ``features_b`` (M, D).

    Biased upwards by about ``D (D + 1) / 2N``: compare FIDs only at the same N against the same M."""
    a = _features(features_a, "fid: features_a", min_rows=2)
    b = _features(features_b, "fid: features_b", min_rows=2)
    _same_dim(a, b)
    return frechet_distance(gaussian_stats(a), gaussian_stats(b))


# --------------------------------------------------------------------------------------------------------
# Kernel inception distance
# --------------------------------------------------------------------------------------------------------


def _poly_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Cubic polynomial kernel ``(x . y / D + 1)^3`` in float64; x (n, D), y (m, D) -> (n, m).

    float64: the kernel is not translation-invariant, and float32 loses small spreads around large means."""
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def _mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 of two equally sized sets (m, D), m >= 2, with the cubic polynomial kernel."""
    m = x.shape[0]
    kxx, kyy, kxy = _poly_kernel(x, x), _poly_kernel(y, y), _poly_kernel(x, y)
    same = kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)
    return float(same / (m * (m - 1)) - 2.0 * kxy.sum() / (m * m))


def kid(
    features_a: np.ndarray,
    features_b: np.ndarray,
    n_subsets: int = 100,
    subset_size: int = 1000,
    seed: int = 0,
) -> tuple[float, float]:
    """Kernel inception distance: unbiased MMD^2, cubic polynomial kernel, averaged over random subsets.

    features_a: (N, D), features_b: (M, D). Each of ``n_subsets`` rounds draws ``m = min(subset_size, N, M)``
    rows of each set without replacement (``np.random.default_rng(seed)``) and computes the unbiased
    estimate. Returns (mean, std) over rounds (population std, 0 for one round). Unbiased, so it can be
    slightly negative when the two sets come from the same distribution.
    """
    a = _features(features_a, "kid: features_a", min_rows=2)
    b = _features(features_b, "kid: features_b", min_rows=2)
    _same_dim(a, b)
    if n_subsets < 1:
        raise ConfigError(f"kid: n_subsets must be >= 1, got {n_subsets}")
    m = min(int(subset_size), a.shape[0], b.shape[0])
    if m < 2:
        raise ConfigError(f"kid: subset_size must be >= 2, got {subset_size}")
    if m == a.shape[0] == b.shape[0]:  # every "subset" is the whole of both sets: one estimate, no spread
        return _mmd2_unbiased(a, b), 0.0
    rng = np.random.default_rng(seed)
    values = np.empty(n_subsets)
    for i in range(n_subsets):
        xa = a[rng.choice(a.shape[0], m, replace=False)]
        xb = b[rng.choice(b.shape[0], m, replace=False)]
        values[i] = _mmd2_unbiased(xa, xb)
    return float(values.mean()), float(values.std())


# --------------------------------------------------------------------------------------------------------
# Improved precision and recall
# --------------------------------------------------------------------------------------------------------


def _sq_dists(x: np.ndarray, y: np.ndarray, y_sq: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances (n, m), float64, of rows of x to rows of y (``y_sq``: squared norms of y).

    ``|x|^2 + |y|^2 - 2 x.y`` cancels badly when the features' mean is large against their spread; callers
    centre both sets on one mean first (distances are translation-invariant).
    """
    d = (x * x).sum(1)[:, None] + y_sq[None, :] - 2.0 * (x @ y.T)
    return np.maximum(d, 0.0, out=d)


def _knn_radii_sq(x: np.ndarray, k: int, batch: int) -> np.ndarray:
    """Squared distance of each row of x to its k-th nearest other row (itself excluded)."""
    n = x.shape[0]
    x_sq = (x * x).sum(1)
    out = np.empty(n)
    for start in range(0, n, batch):
        stop = min(start + batch, n)
        d = _sq_dists(x[start:stop], x, x_sq)
        rows = np.arange(stop - start)
        d[rows, start + rows] = np.inf  # exclude the point itself
        out[start:stop] = np.partition(d, k - 1, axis=1)[:, k - 1]
    return out


def _coverage(points: np.ndarray, centres: np.ndarray, radii_sq: np.ndarray, batch: int) -> float:
    """Share of ``points`` within distance radius_j of at least one centre j (boundary counts as inside)."""
    c_sq = (centres * centres).sum(1)
    inside = 0
    for start in range(0, points.shape[0], batch):
        d = _sq_dists(points[start : start + batch], centres, c_sq)
        inside += int((d <= radii_sq[None, :]).any(axis=1).sum())
    return inside / points.shape[0]


def precision_recall(
    real: np.ndarray, fake: np.ndarray, k: int = 3, batch: int = 2000
) -> tuple[float, float]:
    """Improved precision and recall (Kynkaanniemi et al. 2019) of ``fake`` (M, D) against ``real`` (N, D).

    Each real point gets a ball whose radius is the distance to its k-th nearest real neighbour (itself
    excluded); precision is the share of fake points inside at least one real ball. Recall is the same with
    the roles swapped (fake balls, real points). Both sets are centred on the real mean and distances are
    computed in float64 blocks of ``batch`` rows, so peak memory is about ``3 * batch * max(N, M) * 8``
    bytes (~0.5 GB for batch 2000 and 10k points).
    """
    r = _features(real, "precision_recall: real")
    f = _features(fake, "precision_recall: fake")
    _same_dim(r, f)
    if k < 1 or k >= min(r.shape[0], f.shape[0]):
        raise ConfigError(
            f"precision_recall: need 1 <= k < number of points in each set, got k={k} "
            f"with {r.shape[0]} real and {f.shape[0]} fake points"
        )
    if batch < 1:
        raise ConfigError(f"precision_recall: batch must be >= 1, got {batch}")
    centre = r.mean(axis=0)
    r, f = r - centre, f - centre
    precision = _coverage(f, r, _knn_radii_sq(r, k, batch), batch)
    recall = _coverage(r, f, _knn_radii_sq(f, k, batch), batch)
    return precision, recall


# --------------------------------------------------------------------------------------------------------
# Classifier-probability metrics
# --------------------------------------------------------------------------------------------------------


def _probs(p: np.ndarray, name: str) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    if p.ndim != 2 or p.shape[0] < 1 or p.shape[1] < 1:
        raise ConfigError(f"{name}: expected probabilities of shape (N, K), got shape {p.shape}")
    if not np.isfinite(p).all():
        raise ConfigError(f"{name}: probabilities contain NaN or inf")
    return p


def _class_histogram(p: np.ndarray) -> np.ndarray:
    return np.bincount(p.argmax(axis=1), minlength=p.shape[1]) / p.shape[0]


def mode_coverage(probs_fake: np.ndarray, probs_real: np.ndarray, min_share: float | None = None) -> dict:
    """Compare predicted-class histograms (argmax) of fake (N, K) and real (M, K) samples.

    A class is covered when its share of fake samples is >= ``min_share``; the default is 0.25 / K, a
    quarter of a uniform share. Returns a dict with ``classes_covered`` (int), ``num_classes`` (K),
    ``min_share`` (the threshold used), ``min_share_rule`` (how it was chosen), ``kl_fake_real``
    (KL(p_fake || p_real) in nats of the histograms after adding 1e-10 and renormalising) and
    ``histogram_fake`` / ``histogram_real`` (lists of K shares).
    """
    pf = _probs(probs_fake, "mode_coverage: probs_fake")
    pr = _probs(probs_real, "mode_coverage: probs_real")
    k = pf.shape[1]
    if pr.shape[1] != k:
        raise ConfigError(f"mode_coverage: class counts differ: {k} vs {pr.shape[1]}")
    if min_share is None:
        threshold, rule = 0.25 / k, "default: 0.25 / num_classes (a quarter of a uniform share)"
    else:
        threshold, rule = float(min_share), "given"
        if not 0.0 <= threshold <= 1.0:
            raise ConfigError(f"mode_coverage: min_share must be in [0, 1], got {min_share}")
    hf, hr = _class_histogram(pf), _class_histogram(pr)
    sf = (hf + HIST_EPS) / (hf + HIST_EPS).sum()
    sr = (hr + HIST_EPS) / (hr + HIST_EPS).sum()
    return {
        "classes_covered": int((hf >= threshold).sum()),
        "num_classes": int(k),
        "min_share": threshold,
        "min_share_rule": rule,
        "kl_fake_real": float(rel_entr(sf, sr).sum()),
        "histogram_fake": hf.tolist(),
        "histogram_real": hr.tolist(),
    }


def classifier_score(probs: np.ndarray, n_splits: int = 1) -> float:
    """Inception Score formula with our classifier: ``exp(E_x KL(p(y|x) || p(y)))``; probs (N, K).

    Rows must be probability vectors (non-negative, summing to 1 within 1e-3). With ``n_splits > 1`` the
    rows are cut into that many nearly equal consecutive parts (``np.array_split``), p(y) is taken per part,
    and the mean of the per-part scores is returned. Ranges from 1 (all predictions equal) to K.
    """
    p = _probs(probs, "classifier_score")
    if (p < 0).any() or not np.allclose(p.sum(axis=1), 1.0, atol=1e-3):
        raise ConfigError("classifier_score: rows of probs must be non-negative and sum to 1")
    if not 1 <= n_splits <= p.shape[0]:
        raise ConfigError(f"classifier_score: n_splits must be in [1, {p.shape[0]}], got {n_splits}")
    scores = []
    for part in np.array_split(p, n_splits):
        py = part.mean(axis=0, keepdims=True)
        scores.append(np.exp(rel_entr(part, py).sum(axis=1).mean()))
    return float(np.mean(scores))


def mixture_modes(
    points: np.ndarray, centres: np.ndarray, std: float, min_share: float | None = None
) -> dict:
    """Mode coverage on a known Gaussian mixture (the Unrolled GAN paper's 2-D ring test).

    points (N, D), centres (K, D), std the modes' standard deviation. A sample is *high quality*
    when it lies within 3 std of its nearest centre (Metz et al. 2017). A mode is *covered* when
    at least ``min_share`` of all samples are high-quality samples of it; the default 0.008 is
    PacGAN's rule (Lin et al. 2018: a mode with fewer than 20 of 2500 samples is lost). Returns
    ``modes_covered``, ``num_modes``, ``high_quality`` (share of samples), ``min_share`` and
    ``per_mode`` (share of all samples that are high-quality samples of each mode).
    """
    x = _features(points, "mixture_modes: points")
    c = _features(centres, "mixture_modes: centres")
    _same_dim(x, c)
    if std <= 0:
        raise ConfigError(f"mixture_modes: std must be positive, got {std}")
    k = c.shape[0]
    threshold = 20 / 2500 if min_share is None else float(min_share)
    d2 = ((x[:, None, :] - c[None, :, :]) ** 2).sum(-1)
    nearest = d2.argmin(1)
    good = np.sqrt(d2[np.arange(len(x)), nearest]) <= 3 * std
    per_mode = np.bincount(nearest[good], minlength=k) / len(x)
    return {
        "modes_covered": int((per_mode >= threshold).sum()),
        "num_modes": int(k),
        "high_quality": float(good.mean()),
        "min_share": threshold,
        "per_mode": per_mode.tolist(),
    }
