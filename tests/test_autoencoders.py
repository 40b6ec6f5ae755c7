"""The autoencoder family: corruptions, sparsity penalties, and that each does its job."""

import pytest
import torch

from gennet import api, losses
from gennet.corruption import corrupt
from gennet.errors import ConfigError
from tests.conftest import tiny_overrides


def test_corruptions_hit_the_stated_share_of_pixels():
    g = torch.Generator().manual_seed(0)
    ones = torch.ones(64, 1, 32, 32)
    masked = corrupt(ones, "mask", 0.3, g)
    assert abs(float((masked == 0).float().mean()) - 0.3) < 0.01
    half = torch.full((64, 1, 32, 32), 0.5)
    sp = corrupt(half, "salt-pepper", 0.2, g)
    assert abs(float((sp == 0).float().mean()) - 0.1) < 0.01
    assert abs(float((sp == 1).float().mean()) - 0.1) < 0.01
    noisy = corrupt(half, "gaussian", 0.1, g)
    assert abs(float((noisy - half).std()) - 0.1) < 0.005 and noisy.min() >= 0 and noisy.max() <= 1
    with pytest.raises(ConfigError, match="unknown corruption"):
        corrupt(half, "blur", 0.1)


def test_kl_sparsity_matches_hand_computation():
    h = torch.tensor([[0.1, 0.5], [0.3, 0.5]])  # unit means 0.2 and 0.5
    rho = 0.2
    expected = 0.2 * torch.log(torch.tensor(0.2 / 0.5)) + 0.8 * torch.log(torch.tensor(0.8 / 0.5))
    assert torch.allclose(losses.kl_sparsity(h, rho), expected)  # the first unit is on target: 0
    assert float(losses.kl_sparsity(torch.full((4, 3), rho), rho)) == pytest.approx(0.0, abs=1e-6)


def _train(name, tmp_path, steps, **over):
    return api.train(
        name,
        tmp_path / name,
        data="synthetic-shapes",
        steps=steps,
        batch_size=32,
        quiet=True,
        sample_every=steps,
        checkpoint_every=steps,
        **tiny_overrides(name, **over),
    )


def test_kl_sparse_ae_drives_mean_activation_toward_rho(tmp_path):
    run = api.load(_train("sparse-ae", tmp_path, 300, latent_dim=16, sparsity_weight=5.0), device="cpu")
    z, _ = api.encode(run)
    assert z.min() >= 0 and z.max() <= 1  # sigmoid codes
    assert abs(float(z.mean()) - 0.05) < 0.05  # from ~0.5 at initialisation


def test_l1_sparse_ae_gives_sparser_codes_than_plain(tmp_path):
    plain = api.load(_train("ae", tmp_path, 200, latent_dim=16), device="cpu")
    sparse = api.load(
        _train("sparse-ae", tmp_path, 200, latent_dim=16, sparsity="l1", sparsity_weight=1.0), device="cpu"
    )
    zp, _ = api.encode(plain)
    zs, _ = api.encode(sparse)
    assert (zs == 0).mean() > 0.5 and abs(zs).mean() < abs(zp).mean()


def test_denoising_ae_restores_corrupted_inputs(tmp_path):
    run = api.load(
        _train(
            "denoising-ae",
            tmp_path,
            400,
            hidden=(64,),
            latent_dim=16,
            corruption="salt-pepper",
            corruption_level=0.2,
        ),
        device="cpu",
    )
    r = api.denoise(run, n=64)
    assert r["corruption"] == "salt-pepper"
    assert r["psnr_after"] > r["psnr_before"] + 2.0, {k: r[k] for k in ("psnr_before", "psnr_after")}
