"""The adversarial family: losses, gradient penalty, clipping, k D steps, freezing, conditioning,
the collapse monitor, and mode coverage on the 8-Gaussian ring."""

import math
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from gennet import api, losses
from gennet.data import load_dataset
from gennet.data.synthetic import RING_STD, ring_centres, unit_to_ring
from gennet.errors import ConfigError, GennetError
from gennet.eval.feature_metrics import mixture_modes
from gennet.nn.batching import mixes_samples, stacked
from gennet.train import Trainer
from gennet.train.monitor import WARMUP_STEPS, CollapseMonitor, CollapseWarning
from tests.conftest import tiny_overrides

SHAPES = load_dataset("synthetic-shapes", split="train")


def _trainer(name, data, tmp_path, steps, batch_size=32, **over):
    tcfg, _ = api.resolve_config(
        name,
        steps=steps,
        batch_size=batch_size,
        quiet=True,
        sample_every=10**6,
        checkpoint_every=10**6,
        log_every=max(1, steps // 4),
        **over,
    )
    torch.manual_seed(tcfg.seed)
    model = api.build_model(name, data.spec, tcfg.model_args)
    return model, Trainer(model, data, tcfg, tmp_path, torch.device("cpu"))


# ---- losses -------------------------------------------------------------------------------------
def test_adversarial_losses_at_known_points():
    zero, two = torch.zeros(4), torch.full((4,), 2.0)
    log2 = math.log(2)
    assert losses.d_loss("non-saturating", zero, zero).item() == pytest.approx(2 * log2)
    assert losses.d_loss("minimax", zero, zero).item() == pytest.approx(2 * log2)
    assert losses.g_loss("minimax", zero).item() == pytest.approx(-log2)  # log(1 - 1/2)
    assert losses.g_loss("non-saturating", zero).item() == pytest.approx(log2)  # -log(1/2)
    assert losses.d_loss("wasserstein", two, zero).item() == pytest.approx(-2.0)
    assert losses.g_loss("wasserstein", two).item() == pytest.approx(-2.0)
    assert losses.d_loss("hinge", two, -two).item() == pytest.approx(0.0)
    assert losses.d_loss("least-squares", torch.ones(4), zero).item() == pytest.approx(0.0)
    assert losses.g_loss("least-squares", zero).item() == pytest.approx(0.5)
    with pytest.raises(ConfigError, match="unknown adversarial loss"):
        losses.d_loss("nope", zero, zero)


def test_minimax_generator_saturates_where_non_saturating_does_not():
    """The reason for the non-saturating loss: when D confidently rejects fakes (logit -8),
    the minimax generator gradient vanishes and the non-saturating one does not."""
    grads = {}
    for kind in ("minimax", "non-saturating"):
        f = torch.full((1,), -8.0, requires_grad=True)
        losses.g_loss(kind, f).backward()
        grads[kind] = abs(f.grad.item())
    assert grads["minimax"] < 1e-3 < 0.9 < grads["non-saturating"]


def test_gradient_penalty_linear_critic_is_analytic():
    """f(x) = w.x has gradient w everywhere: GP = (||w|| - 1)^2, and dGP/dw = 2 (||w|| - 1) w / ||w||."""
    torch.manual_seed(0)
    w = torch.randn(12, dtype=torch.float64, requires_grad=True)
    real, fake = torch.randn(5, 3, 2, 2, dtype=torch.float64), torch.randn(5, 3, 2, 2, dtype=torch.float64)
    gp = losses.gradient_penalty(lambda x: x.flatten(1) @ w, real, fake)
    norm = w.detach().norm()
    assert gp.item() == pytest.approx(float((norm - 1) ** 2), rel=1e-12)
    gp.backward()
    torch.testing.assert_close(w.grad, 2 * (norm - 1) * w.detach() / norm)


def test_gradient_penalty_quadratic_critic_uses_the_interpolates():
    """f(x) = ||x||^2 / 2 has gradient x: GP = mean_i (||a_i x_i + (1 - a_i) x~_i|| - 1)^2."""
    real = torch.randn(6, 1, 3, 3, dtype=torch.float64)
    fake = torch.randn(6, 1, 3, 3, dtype=torch.float64)
    alpha = torch.linspace(0, 1, 6, dtype=torch.float64)
    gp = losses.gradient_penalty(lambda x: 0.5 * x.flatten(1).pow(2).sum(1), real, fake, alpha=alpha)
    a = alpha.view(6, 1, 1, 1)
    expect = ((a * real + (1 - a) * fake).flatten(1).norm(dim=1) - 1).pow(2).mean()
    assert gp.item() == pytest.approx(expect.item(), rel=1e-12)


# ---- the trainer contract, as the GAN family uses it ----------------------------------------------
def test_weight_clipping_holds_after_every_critic_step(tmp_path):
    model, trainer = _trainer("wgan", SHAPES, tmp_path, steps=3, **{"base_channels": 8, "latent_dim": 4})
    c = model.cfg.clip
    assert model.cfg.d_steps == 5 and c == 0.01
    original, seen = model.clip_weights, []

    def recording_clip():
        original()
        seen.append(max(p.detach().abs().max().item() for p in model.D.parameters()))

    model.clip_weights = recording_clip  # the phase is built after this, by the trainer
    trainer.phases[0].after_step = recording_clip
    before = [p.detach().abs().max().item() for p in model.D.parameters()]
    assert max(before) > c  # the initial critic is not already inside the box
    trainer.fit()
    assert len(seen) == 3 * 5  # after each of the n_critic updates of each step
    assert max(seen) <= c + 1e-12


def test_d_steps_runs_k_discriminator_updates_per_generator_update(tmp_path):
    model, trainer = _trainer("gan", SHAPES, tmp_path, steps=4, d_steps=3, hidden=(16,), latent_dim=4)
    calls = {"D": 0, "G": 0}
    for ph in trainer.phases:
        fn = ph.loss

        def counted(batch, ctx, fn=fn, name=ph.name):
            calls[name] += 1
            return fn(batch, ctx)

        ph.loss = counted
        model._phase_map[ph.name] = ph
    trainer.fit()
    assert calls == {"D": 12, "G": 4}


def test_a_phase_computes_no_gradients_for_parameters_it_does_not_train(tmp_path):
    """While G trains, D is frozen: after the last phase (G) of a step, D holds no gradients, and
    G's loss still reached G through D. Every parameter is trainable again after fit."""
    model, trainer = _trainer("dcgan", SHAPES, tmp_path, steps=2, base_channels=8, latent_dim=4)
    trainer.fit()
    assert all(p.grad is None for p in model.D.parameters())
    assert all(p.grad is not None for p in model.G.parameters())
    assert all(p.requires_grad for p in model.parameters())


def test_gradient_penalty_with_batch_norm_is_refused():
    with pytest.raises(ConfigError, match="batch norm"):
        api.build_model("wgan-gp", SHAPES.spec, {"d_norm": "batch"})


def test_wasserstein_critic_logs_its_distance_estimate(tmp_path):
    _, trainer = _trainer("wgan-gp", SHAPES, tmp_path, steps=2, base_channels=8, latent_dim=4)
    row = trainer.fit()["last"]
    assert {"critic/w_dist", "critic/gp", "G/loss"} <= set(row)
    assert row["critic/w_dist"] == pytest.approx(row["critic/real"] - row["critic/fake"], abs=1e-5)


# ---- conditioning ---------------------------------------------------------------------------------
def test_cgan_labels_are_checked():
    model = api.build_model("cgan", SHAPES.spec, {"base_channels": 8, "latent_dim": 4}).eval()
    assert model.sample(6).shape == (6, 1, 16, 16)
    with pytest.raises(GennetError, match=r"labels must be in 0\.\.3"):
        model.sample(2, labels=torch.tensor([0, 4]))
    with pytest.raises(GennetError, match="one label or one per sample"):
        model.sample(3, labels=torch.tensor([0, 1]))
    gan = api.build_model("gan", SHAPES.spec, {"hidden": (8,), "latent_dim": 4})
    with pytest.raises(GennetError, match="not conditional"):
        gan.sample(2, labels=torch.tensor([0, 1]))
    unlabelled = load_dataset("synthetic-shapes").spec
    unlabelled = type(unlabelled)(1, 16, 16, None)
    with pytest.raises(ConfigError, match="labelled data"):
        api.build_model("cgan", unlabelled, {})


def _shape_classifier(data) -> nn.Module:
    """A small CNN trained here on the real shapes (an easy task) to judge the cGAN's samples."""
    torch.manual_seed(1)
    net = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8 * 64, 4)
    )
    opt = torch.optim.Adam(net.parameters(), 3e-3)
    x, y = data.images.float() / 255, data.labels
    for _ in range(300):
        idx = torch.randint(0, len(x), (64,))
        loss = nn.functional.cross_entropy(net(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return net.eval()


def test_cgan_obeys_its_labels(tmp_path):
    test = load_dataset("synthetic-shapes", split="test")
    judge = _shape_classifier(SHAPES)
    with torch.no_grad():
        real_acc = (judge(test.images.float() / 255).argmax(1) == test.labels).float().mean().item()
    assert real_acc > 0.9  # the judge itself knows the shapes
    over = dict(arch="mlp", hidden=(128, 256), latent_dim=16, lr_g=1e-3, lr_d=1e-3)
    model, trainer = _trainer("cgan", SHAPES, tmp_path, steps=800, batch_size=64, **over)
    trainer.fit()
    model.eval()
    labels = torch.arange(400) % 4
    with torch.no_grad():
        x = model.sample(400, labels=labels, generator=torch.Generator().manual_seed(0))
        agree = (judge(x).argmax(1) == labels).float().mean().item()
    assert agree > 0.5, f"samples match their labels {agree:.0%} of the time (chance: 25%)"


# ---- the live collapse signal ---------------------------------------------------------------------
class _Constant(nn.Module):
    def __init__(self, images):
        super().__init__()
        self.images = images

    def sample(self, n, generator=None):
        return self.images[:n]


def test_collapse_monitor_tells_varied_from_collapsed_samples():
    real = SHAPES.images[:64]
    mon = CollapseMonitor(real, seed=0)
    varied = mon.diversity(_Constant(SHAPES.images[64:128].float() / 255))
    collapsed = mon.diversity(_Constant((SHAPES.images[:1].float() / 255).expand(64, -1, -1, -1)))
    assert 0.8 < varied < 1.25 and collapsed == pytest.approx(0.0, abs=1e-9)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mon.check(collapsed, step=WARMUP_STEPS - 1)  # an untrained generator: no warning yet
    with pytest.warns(CollapseWarning, match="mode collapse"):
        mon.check(collapsed, step=WARMUP_STEPS)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mon.check(collapsed, step=WARMUP_STEPS + 50)  # once per collapse, not every interval
        mon.check(varied, step=WARMUP_STEPS + 100)


def test_training_logs_the_diversity_signal(tmp_path):
    _, trainer = _trainer("gan", SHAPES, tmp_path, steps=4, hidden=(16,), latent_dim=4)
    row = trainer.fit()["last"]
    assert 0.0 <= row["monitor/diversity"] < 10.0


# ---- mode coverage on the 8-Gaussian ring (Metz et al. 2017) ------------------------------------------
RING = load_dataset("synthetic-ring", split="train")
# Short CPU runs that cover the ring (settings found by trying; EMA 0.99 of the weights is sampled).
# WGAN-GP follows the toy settings of the paper's code (lambda 0.1, Adam(., (0.5, 0.9)), 3 hidden
# layers), with the learning rate decayed to 0 over the last 30% of the run.
RING_SETTINGS = {
    "gan": dict(steps=3000, batch_size=512, hidden=(128, 128), latent_dim=16, lr_g=1e-3, lr_d=1e-3),
    "wgan-gp": dict(
        steps=3000, batch_size=256, hidden=(128, 128, 128), latent_dim=8, lr_g=2e-4, lr_d=2e-4,
        betas=(0.5, 0.9), gp=0.1, lr_decay=0.3,
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", ["gan", "wgan-gp"])
def test_ring_modes_are_covered(name, tmp_path):
    """The Unrolled GAN paper's test: 8 modes covered (PacGAN's rule: >= 20 of 2500 samples
    within 3 std of a mode) by 2,500 samples, and the share of high-quality samples reported."""
    model, trainer = _trainer(name, RING, tmp_path, arch="mlp", ema=0.99, **RING_SETTINGS[name])
    trainer.fit()
    ema = trainer.ema.module.eval()
    with torch.no_grad():
        pts = ema.sample(2500, generator=torch.Generator().manual_seed(0)).reshape(-1, 2).numpy()
    res = mixture_modes(unit_to_ring(pts), ring_centres(), RING_STD)
    print(f"{name}: {res['modes_covered']}/8 modes, {res['high_quality']:.1%} high-quality samples")
    assert res["modes_covered"] >= 7, res
    assert res["high_quality"] > 0.25, res


def test_mixture_modes_counts_modes_and_quality():
    c = ring_centres()
    rng = np.random.default_rng(0)
    on_three = c[rng.integers(0, 3, 900)] + rng.normal(0, RING_STD, (900, 2))
    far = np.full((100, 2), 5.0)
    few = c[3] + rng.normal(0, RING_STD, (5, 2))  # 5 of 1005 samples: below PacGAN's 20 of 2500
    res = mixture_modes(np.concatenate([on_three, far, few]), c, RING_STD)
    assert res["modes_covered"] == 3
    assert res["high_quality"] == pytest.approx(905 * 0.997 / 1005, abs=0.01)
    assert mixture_modes(np.concatenate([on_three, few]), c, RING_STD, min_share=0.001)["modes_covered"] == 4


@pytest.mark.parametrize("name", ["wgan-gp", "gan"])
def test_joint_real_fake_forward_gives_the_scores_of_separate_calls(name):
    """Critics without batch norm score real and fake in one forward; that must change nothing."""
    model = api.build_model(name, SHAPES.spec, {"hidden": (16,), "latent_dim": 4, "base_channels": 8})
    assert not mixes_samples(model.D)
    real = SHAPES.images[:8].float() / 255 * 2 - 1
    fake = torch.rand(8, 1, 16, 16) * 2 - 1
    joint = stacked(model.D, real, fake)
    torch.testing.assert_close(joint[0], model.D(real))
    torch.testing.assert_close(joint[1], model.D(fake))
    assert mixes_samples(api.build_model("dcgan", SHAPES.spec, {"base_channels": 8}).D)  # batch norm


@pytest.mark.parametrize("name", ["dcgan", "wgan-gp", "aae"])
def test_resume_reproduces_an_unbroken_adversarial_run(name, tmp_path):
    """Every optimizer, the EMA and the per-step randomness come back: 3 + 3 steps == 6 steps."""
    common = dict(data="synthetic-shapes", batch_size=16, quiet=True, log_every=1, checkpoint_every=3,
                  ema=0.9, **tiny_overrides(name))  # fmt: skip
    api.train(name, tmp_path / "a", steps=6, **common)
    api.train(name, tmp_path / "b", steps=3, **common)
    api.train(name, tmp_path / "b", steps=6, resume=True)
    from gennet.train.checkpoint import load_weights

    for f in ("model.safetensors", "ema.safetensors"):
        wa, wb = load_weights(tmp_path / "a" / f), load_weights(tmp_path / "b" / f)
        assert all(torch.equal(wa[k], wb[k]) for k in wa), f


@pytest.mark.parametrize(
    "shape,stages", [((1, 28, 28), 2), ((3, 32, 32), 3), ((3, 64, 64), 4), ((1, 16, 16), 2)]
)
def test_dcgan_sizes_from_28_to_64_gray_or_rgb(shape, stages):
    """G starts from a 7x7 (28 px) or 4x4 map and doubles `stages` times; D mirrors it."""
    from gennet.data import DataSpec

    model = api.build_model("dcgan", DataSpec(*shape), {"base_channels": 4, "latent_dim": 8}).eval()
    with torch.no_grad():
        x = model.sample(2)
        assert x.shape == (2, *shape) and 0 <= x.min() and x.max() <= 1
        assert model.D(x * 2 - 1).shape == (2,)
    convt = [m for m in model.G.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert len(convt) == stages + 1 and convt[0].kernel_size == ((7, 7) if shape[1] == 28 else (4, 4))
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.D.modules()) == stages - 1  # none on the input


def test_dcgan_refuses_sizes_it_cannot_build():
    from gennet.data import DataSpec

    with pytest.raises(ConfigError, match="square"):
        api.build_model("dcgan", DataSpec(1, 28, 32), {})
    with pytest.raises(ConfigError, match="too small or odd-sided"):
        api.build_model("dcgan", DataSpec(1, 7, 7), {})
