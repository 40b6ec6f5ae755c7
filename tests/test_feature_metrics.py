"""Sample-quality metrics: known answers, invariances and slow reference implementations."""

import itertools
import math

import numpy as np
import pytest

from gennet.errors import ConfigError, DataError
from gennet.eval.feature_metrics import (
    GaussianStats,
    classifier_score,
    fid,
    frechet_distance,
    gaussian_stats,
    kid,
    mode_coverage,
    precision_recall,
)


def rng(seed=0):
    return np.random.default_rng(seed)


# ---------------------------------------------------------------------------------------- GaussianStats


def test_gaussian_stats_matches_numpy_unbiased():
    x = rng().standard_normal((50, 4))
    s = gaussian_stats(x)
    assert s.n == 50 and s.mu.dtype == np.float64 and s.sigma.shape == (4, 4)
    np.testing.assert_allclose(s.mu, x.mean(0))
    np.testing.assert_allclose(s.sigma, np.cov(x, rowvar=False, ddof=1))
    # 1-D features still give a (1, 1) covariance
    assert gaussian_stats(x[:, :1]).sigma.shape == (1, 1)


def test_gaussian_stats_rejects_bad_input():
    with pytest.raises(ConfigError):
        gaussian_stats(np.zeros((1, 3)))  # covariance needs 2 rows
    with pytest.raises(ConfigError):
        gaussian_stats(np.zeros(5))
    with pytest.raises(ConfigError):
        GaussianStats(mu=np.zeros(3), sigma=np.eye(2), n=4)


def test_gaussian_stats_npz_round_trip(tmp_path):
    s = gaussian_stats(rng().standard_normal((20, 3)))
    path = tmp_path / "ref_stats.npz"
    s.to_npz(path)
    t = GaussianStats.from_npz(path)
    np.testing.assert_array_equal(t.mu, s.mu)
    np.testing.assert_array_equal(t.sigma, s.sigma)
    assert t.n == 20 and isinstance(t.n, int)
    assert frechet_distance(s, t) == 0.0
    # written to exactly the given name, even without a .npz suffix
    other = tmp_path / "stats.bin"
    s.to_npz(other)
    assert other.exists() and GaussianStats.from_npz(other).n == 20


def test_gaussian_stats_from_npz_errors(tmp_path):
    with pytest.raises(DataError):
        GaussianStats.from_npz(tmp_path / "missing.npz")
    bad = tmp_path / "bad.npz"
    np.savez(bad, mu=np.zeros(2))
    with pytest.raises(DataError):
        GaussianStats.from_npz(bad)


# ------------------------------------------------------------------------------------- frechet_distance


def test_frechet_identical_stats_is_zero():
    s = gaussian_stats(rng().standard_normal((200, 6)) @ rng(1).standard_normal((6, 6)))
    assert abs(frechet_distance(s, s)) < 1e-6


def test_frechet_1d_known_answer():
    a = GaussianStats(mu=np.array([0.0]), sigma=np.array([[1.0]]), n=1)
    b = GaussianStats(mu=np.array([3.0]), sigma=np.array([[4.0]]), n=1)
    # 9 + 1 + 4 - 2 * sqrt(1 * 4) = 10
    assert frechet_distance(a, b) == pytest.approx(10.0, abs=1e-12)
    assert frechet_distance(b, a) == pytest.approx(10.0, abs=1e-12)


def test_frechet_diagonal_closed_form():
    m1, m2 = np.array([0.5, -1.0, 2.0]), np.array([1.5, 0.0, -1.0])
    s1, s2 = np.array([1.0, 2.0, 0.5]), np.array([3.0, 0.25, 0.5])  # standard deviations
    a = GaussianStats(mu=m1, sigma=np.diag(s1**2), n=10)
    b = GaussianStats(mu=m2, sigma=np.diag(s2**2), n=10)
    expected = ((m1 - m2) ** 2).sum() + ((s1 - s2) ** 2).sum()
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-10)


def _closed_form_psd(a: GaussianStats, b: GaussianStats) -> float:
    """Reference via symmetric eigendecompositions: Tr sqrt(S1 S2) = Tr sqrt(S1^1/2 S2 S1^1/2)."""
    w, v = np.linalg.eigh(a.sigma)
    half = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    ev = np.linalg.eigvalsh(half @ b.sigma @ half)
    d = a.mu - b.mu
    return float(d @ d + np.trace(a.sigma) + np.trace(b.sigma) - 2 * np.sqrt(np.clip(ev, 0, None)).sum())


def test_frechet_general_matches_eigen_reference():
    a = gaussian_stats(rng(0).standard_normal((300, 8)) @ rng(1).standard_normal((8, 8)))
    b = gaussian_stats(np.exp(rng(2).standard_normal((300, 8))))
    assert frechet_distance(a, b) == pytest.approx(_closed_form_psd(a, b), rel=1e-8)


def test_frechet_singular_covariance_in_subspace():
    # features lying in a 2-D subspace of R^5: both covariances have rank 2
    basis = np.linalg.qr(rng(3).standard_normal((5, 5)))[0][:2]  # orthonormal rows
    z1 = rng(4).standard_normal((300, 2))
    z2 = rng(5).standard_normal((300, 2)) * [2.0, 0.5] + [1.0, -0.5]
    a, b = gaussian_stats(z1 @ basis), gaussian_stats(z2 @ basis)
    assert np.linalg.matrix_rank(a.sigma) == 2
    value = frechet_distance(a, b)
    assert np.isfinite(value) and value >= 0
    # an isometric embedding changes nothing: same as the FID in the 2-D coordinates
    assert value == pytest.approx(fid(z1, z2), abs=1e-3)
    same = frechet_distance(a, a)
    assert np.isfinite(same) and 0 <= same < 1e-4


def test_frechet_singular_product_uses_eps_offset():
    # disjoint supports: S1 S2 = 0 exactly, so sqrtm is singular and the eps * I path is taken
    s1 = np.diag([1.0, 2.0, 0.0, 0.0, 0.0])
    s2 = np.diag([0.0, 0.0, 3.0, 0.5, 0.0])
    mu1, mu2 = np.zeros(5), np.array([1.0, 0, 0, 0, 2.0])
    a, b = GaussianStats(mu1, s1, 10), GaussianStats(mu2, s2, 10)
    expected = 5.0 + 3.0 + 3.5  # ||dmu||^2 + tr S1 + tr S2 (sqrt(S1 S2) = 0)
    value = frechet_distance(a, b)
    assert np.isfinite(value) and value == pytest.approx(expected, abs=1e-2)
    # all-constant features: zero covariance on both sides -> only the mean term survives
    const_a, const_b = np.ones((10, 4)), np.full((10, 4), 3.0)
    assert fid(const_a, const_b) == pytest.approx(16.0, abs=1e-4)
    assert fid(const_a, const_a) == pytest.approx(0.0, abs=1e-6)


def _trace_sqrt_psd_product(s1, s2):
    """Tr sqrt(S1 S2) for S1 positive definite: sum of sqrt eigenvalues of the symmetric S1^1/2 S2 S1^1/2."""
    w, v = np.linalg.eigh(s1)
    r1 = (v * np.sqrt(w)) @ v.T
    return float(np.sqrt(np.clip(np.linalg.eigvalsh(r1 @ s2 @ r1), 0, None)).sum())


def test_frechet_zero_variance_feature_takes_no_offset():
    # one constant feature: S1 S2 is singular (scipy warns) but its root is exact, so no eps * I at all
    a, b = rng(10).standard_normal((400, 6)), 0.8 * rng(11).standard_normal((500, 6)) + 0.1
    a[:, 2], b[:, 2] = 0.5, 0.7
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    keep = [0, 1, 3, 4, 5]  # the constant feature adds nothing to Tr sqrt(S1 S2)
    by_hand = (
        (mu1 - mu2) @ (mu1 - mu2)
        + np.trace(s1)
        + np.trace(s2)
        - 2 * _trace_sqrt_psd_product(s1[np.ix_(keep, keep)], s2[np.ix_(keep, keep)])
    )
    assert fid(a, b) == pytest.approx(by_hand, rel=1e-9)
    small = 0.05 * rng(12).standard_normal((1000, 32)), 0.05 * rng(13).standard_normal((1000, 32)) + 0.002
    for x in small:
        x[:, 0] = 0.0
    k = list(range(1, 32))
    c1, c2 = np.cov(small[0], rowvar=False), np.cov(small[1], rowvar=False)
    d = small[0].mean(0) - small[1].mean(0)
    by_hand = (
        d @ d + np.trace(c1) + np.trace(c2) - 2 * _trace_sqrt_psd_product(c1[np.ix_(k, k)], c2[np.ix_(k, k)])
    )
    assert fid(*small) == pytest.approx(by_hand, rel=1e-9)  # eps * I on both covariances: 3e-4 off


def test_frechet_failed_root_offsets_inside_the_root_only(monkeypatch):
    # a square root that comes back non-finite triggers the fallback: sqrt((S1 + eps I)(S2 + eps I)), while
    # the trace terms keep the unmodified covariances (pytorch-fid)
    import scipy.linalg

    real_sqrtm, calls = scipy.linalg.sqrtm, []

    def flaky_sqrtm(m):
        calls.append(m)
        return np.full_like(m, np.nan) if len(calls) == 1 else real_sqrtm(m)

    monkeypatch.setattr(scipy.linalg, "sqrtm", flaky_sqrtm)
    a = gaussian_stats(rng(14).standard_normal((200, 4)))
    b = gaussian_stats(rng(15).standard_normal((200, 4)) + 0.3)
    value = frechet_distance(a, b, eps=1e-2)
    assert len(calls) == 2 and np.isfinite(value)
    offset = 1e-2 * np.eye(4)
    d = a.mu - b.mu
    root = np.real(real_sqrtm((a.sigma + offset) @ (b.sigma + offset)))
    assert value == pytest.approx(
        d @ d + np.trace(a.sigma) + np.trace(b.sigma) - 2 * np.trace(root), rel=1e-9
    )


def test_frechet_rotation_invariance():
    g = rng(6)
    x = g.standard_normal((400, 6)) @ g.standard_normal((6, 6))
    y = g.standard_normal((400, 6)) * np.linspace(0.5, 2.0, 6) + 0.3
    q = np.linalg.qr(g.standard_normal((6, 6)))[0]
    base = fid(x, y)
    assert base > 1.0
    assert fid(x @ q, y @ q) == pytest.approx(base, rel=1e-6)


def test_frechet_dimension_mismatch():
    with pytest.raises(ConfigError):
        fid(np.zeros((4, 2)), np.zeros((4, 3)))


# ----------------------------------------------------------------------------------------- fid, samples

D_FID, N_FID = 8, 5000


def test_fid_same_gaussian_is_small():
    cov_root = rng(7).standard_normal((D_FID, D_FID)) / math.sqrt(D_FID)
    a = rng(8).standard_normal((N_FID, D_FID)) @ cov_root
    b = rng(9).standard_normal((N_FID, D_FID)) @ cov_root
    # identity-covariance theory: E[FID] ~ 2D/N (means) + D(D+1)/(2N) (covariances) ~ 0.01 here
    bias = 2 * D_FID / N_FID + D_FID * (D_FID + 1) / (2 * N_FID)
    value = fid(a, b)
    assert 0 < value < 4 * bias


def test_fid_shifted_gaussians_close_to_shift_norm():
    shift = np.linspace(-1.0, 1.5, D_FID)
    a = rng(10).standard_normal((N_FID, D_FID))
    b = rng(11).standard_normal((N_FID, D_FID)) + shift
    # the mean term fluctuates with sd ~ 2 |shift| sqrt(2 / N) ~ 0.1
    assert fid(a, b) == pytest.approx(float(shift @ shift), abs=0.4)


# ------------------------------------------------------------------------------------------------- kid


def _mmd2_slow(x, y):
    d = len(x[0])
    k = lambda u, v: (sum(ui * vi for ui, vi in zip(u, v, strict=True)) / d + 1.0) ** 3  # noqa: E731
    m = len(x)
    xx = sum(k(x[i], x[j]) for i, j in itertools.permutations(range(m), 2)) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i, j in itertools.permutations(range(m), 2)) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    return xx + yy - 2 * xy


def test_kid_matches_double_loop_on_tiny_set():
    x = rng(12).standard_normal((6, 3))
    y = rng(13).standard_normal((6, 3)) + 0.5
    mean, std = kid(x, y, n_subsets=1, subset_size=6)
    assert mean == pytest.approx(_mmd2_slow(x.tolist(), y.tolist()), rel=1e-5)
    assert std == 0.0
    # subset_size larger than the sets is clamped to min(len(a), len(b))
    assert kid(x, y, n_subsets=1, subset_size=1000)[0] == pytest.approx(mean, rel=1e-12)


def test_kid_same_distribution_near_zero():
    a = rng(14).standard_normal((600, 8))
    b = rng(15).standard_normal((600, 8))
    mean, std = kid(a, b, n_subsets=20, subset_size=200)
    assert std > 0
    assert abs(mean) < 3 * std


def test_kid_shifted_clearly_positive():
    a = rng(16).standard_normal((600, 8))
    b = rng(17).standard_normal((600, 8)) + 0.5
    mean, std = kid(a, b, n_subsets=20, subset_size=200)
    same_mean, _ = kid(a, rng(18).standard_normal((600, 8)), n_subsets=20, subset_size=200)
    # std is the spread of single-subset estimates (not of their mean): 3 of them is already far
    assert mean > 3 * std and mean > 10 * abs(same_mean)


def test_kid_seeded_and_validated():
    a, b = rng(19).standard_normal((50, 4)), rng(20).standard_normal((40, 4))
    assert kid(a, b, n_subsets=5, subset_size=20, seed=3) == kid(a, b, n_subsets=5, subset_size=20, seed=3)
    with pytest.raises(ConfigError):
        kid(a, b, subset_size=1)
    with pytest.raises(ConfigError):
        kid(a, b, n_subsets=0)


# ------------------------------------------------------------------------------------ precision_recall


def _four_clusters(n_per, seed):
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])
    g = rng(seed)
    return np.concatenate([c + g.standard_normal((n_per, 2)) for c in centres])


def test_precision_recall_identical_sets():
    real = _four_clusters(50, 21)
    assert precision_recall(real, real.copy(), k=3) == (1.0, 1.0)


def test_precision_recall_mode_collapse():
    real = _four_clusters(100, 22)
    fake = 0.5 * rng(23).standard_normal((400, 2))  # all near the (0, 0) cluster, tighter than it
    precision, recall = precision_recall(real, fake, k=3)
    assert precision > 0.9
    assert recall < 0.4


def test_precision_recall_far_away():
    real = _four_clusters(30, 24)
    fake = rng(25).standard_normal((100, 2)) + 1000.0
    assert precision_recall(real, fake) == (0.0, 0.0)


def test_precision_recall_hand_checked_1d():
    real = np.array([[0.0], [1.0], [3.0]])
    fake = np.array([[0.0], [0.5], [10.0], [11.0]])
    # k=1 real radii: 0 -> 1, 1 -> 1, 3 -> 2: balls [-1, 1], [0, 2], [1, 5] hold fake 0 and 0.5 -> 2/4
    # fake radii: 0 -> 0.5, 0.5 -> 0.5, 10 -> 1, 11 -> 1: balls hold real 0 and 1 (on the boundary of
    # [0, 1]) but not 3 -> 2/3
    precision, recall = precision_recall(real, fake, k=1)
    assert precision == 0.5
    assert recall == pytest.approx(2 / 3)
    # k=2: real radii 0 -> 3, 1 -> 2, 3 -> 3 (balls cover [-3, 6]) -> fake 0, 0.5 in; 10, 11 out
    assert precision_recall(real, fake, k=2)[0] == 0.5


def test_precision_recall_blocks_do_not_change_result():
    real = _four_clusters(40, 26)
    fake = rng(27).standard_normal((130, 2)) * 4 + 5
    assert precision_recall(real, fake, k=3, batch=7) == precision_recall(real, fake, k=3, batch=2000)


def _large_mean_small_spread():
    # features whose mean (100) is large against their spread (0.1): float32 distances lose the spread
    g = rng(0)
    real = 100 + 0.1 * g.standard_normal((500, 64))
    fake = 100 + 0.1 * g.standard_normal((500, 64)) + 0.02
    return real, fake


def _precision_recall_f64(real, fake, k=3):
    """Plain float64 NumPy reference: pairwise differences, no |x|^2 + |y|^2 - 2 x.y expansion."""

    def d2(x, y):
        return ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)

    rr, ff = d2(real, real), d2(fake, fake)
    np.fill_diagonal(rr, np.inf)
    np.fill_diagonal(ff, np.inf)
    radius_r, radius_f = np.sort(rr, 1)[:, k - 1], np.sort(ff, 1)[:, k - 1]
    precision = (d2(fake, real) <= radius_r[None, :]).any(1).mean()
    recall = (d2(real, fake) <= radius_f[None, :]).any(1).mean()
    return float(precision), float(recall)


def test_precision_recall_large_mean_matches_float64_reference():
    real, fake = _large_mean_small_spread()
    expected = _precision_recall_f64(real, fake)
    assert expected[0] == pytest.approx(0.554)  # float32 distances gave 0.84
    assert precision_recall(real, fake, k=3) == expected


def test_kid_large_mean_matches_float64_reference():
    real, fake = _large_mean_small_spread()
    m, d = len(real), real.shape[1]
    kxx, kyy, kxy = (
        ((real @ real.T) / d + 1) ** 3,
        ((fake @ fake.T) / d + 1) ** 3,
        ((real @ fake.T) / d + 1) ** 3,
    )
    same = kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)
    expected = same / (m * (m - 1)) - 2 * kxy.sum() / (m * m)
    mean, std = kid(real, fake)  # 500 rows each: one estimate on the whole sets
    assert std == 0.0
    assert mean == pytest.approx(expected, rel=1e-9)  # float32 kernels gave 353575 against 356345


def test_precision_recall_validates_k():
    with pytest.raises(ConfigError):
        precision_recall(np.zeros((3, 2)), np.zeros((5, 2)), k=3)


# --------------------------------------------------------------------------------------- mode_coverage


def _one_hot(labels, k):
    return np.eye(k)[np.asarray(labels)]


def test_mode_coverage_single_class():
    k = 10
    real = _one_hot(np.arange(1000) % k, k)
    fake = _one_hot(np.full(500, 3), k)
    out = mode_coverage(fake, real)
    assert out["classes_covered"] == 1 and out["num_classes"] == k
    assert out["min_share"] == pytest.approx(0.025)
    assert "0.25" in out["min_share_rule"]
    # KL(one-hot at class 3 || uniform) = log K (smoothing changes it only by ~1e-8)
    assert out["kl_fake_real"] == pytest.approx(math.log(k), abs=1e-6)
    assert out["histogram_fake"][3] == 1.0 and sum(out["histogram_fake"]) == 1.0
    assert out["histogram_real"] == pytest.approx([0.1] * k)


def test_mode_coverage_matching_distribution():
    k = 5
    labels = rng(28).integers(0, k, 400)
    soft = 0.6 * _one_hot(labels, k) + 0.4 / k  # still argmax = label
    out = mode_coverage(soft, _one_hot(rng(29).permutation(labels), k))
    assert out["classes_covered"] == k
    assert abs(out["kl_fake_real"]) < 1e-12
    assert out["histogram_fake"] == out["histogram_real"]


def test_mode_coverage_threshold_boundaries():
    k = 4  # default min_share = 0.0625
    # shares 0.0625 (exactly at the threshold: covered), 0.05 (below), 0.4375, 0.45
    counts = [50, 40, 350, 360]
    fake = _one_hot(np.repeat(np.arange(k), counts), k)
    real = _one_hot(np.arange(800) % k, k)
    out = mode_coverage(fake, real)
    assert out["histogram_fake"] == pytest.approx([0.0625, 0.05, 0.4375, 0.45])
    assert out["classes_covered"] == 3
    assert mode_coverage(fake, real, min_share=0.05)["classes_covered"] == 4
    assert mode_coverage(fake, real, min_share=0.4375)["classes_covered"] == 2
    assert mode_coverage(fake, real, min_share=0.45 + 1e-9)["classes_covered"] == 0
    assert mode_coverage(fake, real, min_share=0.45)["min_share_rule"] == "given"
    with pytest.raises(ConfigError):
        mode_coverage(fake, real, min_share=1.5)
    with pytest.raises(ConfigError):
        mode_coverage(fake, np.eye(3), min_share=0.1)


# ------------------------------------------------------------------------------------ classifier_score


def test_classifier_score_uniform_confident_is_k():
    k = 7
    probs = _one_hot(np.arange(70) % k, k)
    assert classifier_score(probs) == pytest.approx(k, abs=1e-6)
    # every split still holds each class equally often
    assert classifier_score(probs, n_splits=10) == pytest.approx(k, abs=1e-6)


def test_classifier_score_identical_predictions_is_one():
    probs = np.tile([0.2, 0.5, 0.3], (25, 1))
    assert classifier_score(probs) == pytest.approx(1.0, abs=1e-12)
    assert classifier_score(_one_hot(np.zeros(9, int), 4)) == pytest.approx(1.0, abs=1e-12)


def test_classifier_score_hand_made_two_class():
    probs = np.array([[1.0, 0.0], [0.5, 0.5]])
    # p(y) = (0.75, 0.25); KL_1 = log(4/3); KL_2 = 0.5 log(2/3) + 0.5 log 2 = 0.5 log(4/3)
    assert classifier_score(probs) == pytest.approx((4 / 3) ** 0.75, rel=1e-12)
    # two splits of one row each: each score is exp(0) = 1
    assert classifier_score(probs, n_splits=2) == pytest.approx(1.0, rel=1e-12)


def test_classifier_score_validation():
    with pytest.raises(ConfigError):
        classifier_score(np.array([[0.5, 0.6]]))
    with pytest.raises(ConfigError):
        classifier_score(np.eye(3), n_splits=4)
