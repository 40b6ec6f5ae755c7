"""The VAE's mathematics against closed forms.

Probabilistic PCA, p(z) = N(0, I), p(x|z) = N(Wz + b, s^2 I), has the exact marginal
p(x) = N(b, W W^T + s^2 I) and the exact posterior q*(z|x) = N(M^-1 W^T (x - b), s^2 M^-1),
M = W^T W + s^2 I. The importance-weighted estimator must reproduce log p(x).
"""

import math

import pytest
import torch

from gennet import losses
from gennet.api import build_model
from gennet.data import DataSpec
from gennet.eval.likelihood import iw_log_likelihood

D_X, D_Z, S = 6, 2, 0.5


def _ppca(seed=0):
    g = torch.Generator().manual_seed(seed)
    # orthogonal columns make W^T W, hence the exact posterior covariance, diagonal
    Q, _ = torch.linalg.qr(torch.randn(D_X, D_Z, generator=g, dtype=torch.float64))
    W = Q * torch.tensor([2.0, 0.7], dtype=torch.float64)
    b = torch.randn(D_X, generator=g, dtype=torch.float64)
    x = (
        torch.randn(20, D_Z, generator=g, dtype=torch.float64) @ W.T
        + b
        + S * torch.randn(20, D_X, generator=g, dtype=torch.float64)
    )
    exact = torch.distributions.MultivariateNormal(b, W @ W.T + S**2 * torch.eye(D_X, dtype=torch.float64))
    M = W.T @ W + S**2 * torch.eye(D_Z, dtype=torch.float64)
    Minv = torch.linalg.inv(M)
    mu = (x - b) @ W @ Minv.T
    cov = S**2 * Minv

    def log_px_given_z(z, xr):
        return torch.distributions.Normal(z @ W.T + b, S).log_prob(xr).sum(-1)

    return x, exact.log_prob(x), mu, cov, log_px_given_z


def test_iw_estimate_is_exact_with_the_true_posterior():
    x, exact, mu, cov, lpz = _ppca()
    assert torch.allclose(cov, torch.diag(torch.diagonal(cov)))
    logvar = torch.log(torch.diagonal(cov)).expand_as(mu)
    for k in (1, 7):  # every importance weight equals p(x): exact even for k = 1
        est = iw_log_likelihood(x, mu, logvar, lpz, k=k)
        assert torch.allclose(est, exact, atol=1e-9), (est - exact).abs().max()


def test_iw_bound_tightens_with_k_toward_the_exact_likelihood():
    x, exact, mu, cov, lpz = _ppca(1)
    logvar = torch.log(4 * torch.diagonal(cov)).expand_as(mu)  # a deliberately poor (too wide) q
    torch.manual_seed(0)
    gaps = [
        float((exact - iw_log_likelihood(x, mu, logvar, lpz, k=k, chunk=2000)).mean()) for k in (1, 10, 5000)
    ]
    assert gaps[0] > gaps[1] > gaps[2] > -0.02  # a lower bound in expectation, tightening
    assert gaps[0] > 0.2 and abs(gaps[2]) < 0.05


def test_kl_closed_form_matches_monte_carlo():
    g = torch.Generator().manual_seed(0)
    mu = torch.randn(3, 4, generator=g, dtype=torch.float64)
    logvar = torch.randn(3, 4, generator=g, dtype=torch.float64)
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    z = q.sample((200_000,))
    mc = (q.log_prob(z) - torch.distributions.Normal(0.0, 1.0).log_prob(z)).sum(-1).mean(0)
    assert torch.allclose(losses.kl_standard_normal(mu, logvar), mc, rtol=0.02)


@pytest.fixture
def tiny_vae():
    torch.manual_seed(0)
    return build_model("vae", DataSpec(1, 4, 4), {"hidden": (8,), "latent_dim": 2})


def test_vae_elbo_and_iw_bound_are_consistent(tiny_vae):
    x = torch.rand(16, 1, 4, 4)
    torch.manual_seed(1)
    elbo = torch.stack([tiny_vae.elbo(x) for _ in range(200)]).mean(0)
    nll1 = -tiny_vae.log_likelihood(x, k=1)
    ll = tiny_vae.log_likelihood(x, k=500)
    assert torch.all(ll >= elbo - 0.05)  # the IW bound with k=500 is above the ELBO
    assert abs(float((nll1.mean() + elbo.mean()).detach())) < 1.0  # k = 1 is an ELBO sample


def test_vae_loss_is_rec_plus_beta_kl(tiny_vae):
    from gennet.models.base import Batch, StepContext

    x = torch.rand(8, 1, 4, 4)
    tiny_vae.cfg.beta = 3.0
    torch.manual_seed(0)
    out = {k: v.detach() for k, v in tiny_vae.elbo_loss(Batch(x), StepContext()).items()}
    assert torch.allclose(out["loss"], out["rec"] + 3.0 * out["kl"])
    assert out["kl"] >= 0 and math.isfinite(float(out["rec"]))


def test_reparameterization_has_the_posterior_moments():
    mu, logvar = torch.tensor([[1.0, -2.0]]), torch.tensor([[0.0, math.log(0.25)]])
    from gennet.models.vae import VAE

    torch.manual_seed(0)
    z = VAE.reparameterize(mu.expand(100_000, 2), logvar.expand(100_000, 2))
    assert torch.allclose(z.mean(0), mu[0], atol=0.01)
    assert torch.allclose(z.std(0), torch.tensor([1.0, 0.5]), atol=0.01)
