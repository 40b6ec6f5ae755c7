"""StyleGAN the model: the progressive schedule, truncation, style mixing, w_avg, R1, padding and
exact resume mid-fade (the networks' own known answers are in test_stylegan_nets.py)."""

import json

import pytest
import torch

from gennet import api, losses
from gennet.data import DataSpec, load_dataset
from gennet.models.base import Batch, StepContext
from gennet.models.progressive import crop_to, pad_to, power_of_two_side, progressive_stage
from gennet.train.checkpoint import load_weights
from tests.conftest import tiny_overrides

SHAPES = load_dataset("synthetic-shapes", split="train")  # 16x16 gray, 4 classes
TINY_SCHEDULE = {"start_resolution": 4, "stage_kimg": 0.032, "fade_kimg": 0.032}


def _model(spec=SHAPES.spec, **over):
    torch.manual_seed(0)
    return api.build_model("stylegan", spec, tiny_overrides("stylegan", **over))


@pytest.mark.parametrize(
    "kimg, res, alpha, index",
    [
        (0.0, 8, 1.0, 0),
        (0.5, 8, 1.0, 0),  # stable at the start resolution for stage_kimg
        (1.0, 8, 1.0, 0),  # the fade starts just after stage_kimg ...
        (1.001, 16, 0.001, 1),  # ... 16 fading in
        (1.5, 16, 0.5, 1),
        (2.0, 16, 1.0, 2),  # ... and is stable
        (3.25, 32, 0.25, 3),
        (4.0, 32, 1.0, 4),
        (100.0, 32, 1.0, 4),  # the final resolution for ever after
    ],
)
def test_schedule_table(kimg, res, alpha, index):
    s = progressive_stage(round(kimg * 1000), 32, 8, 1.0, 1.0, {16: 64}, {32: 2.0})
    assert (s.resolution, s.index) == (res, index) and s.alpha == pytest.approx(alpha, abs=1e-9)
    assert s.batch_size == (64 if res == 16 else None) and s.lr_scale == (2.0 if res == 32 else 1.0)


def test_digits_are_padded_to_a_power_of_two_and_cropped_back():
    assert power_of_two_side(28, 28) == 32 and power_of_two_side(16, 16) == 16
    x = torch.rand(2, 1, 28, 28)
    padded = pad_to(x, 32, -1.0)
    assert padded.shape == (2, 1, 32, 32) and float(padded[0, 0, 0, 0]) == -1.0
    assert torch.equal(crop_to(padded, 28, 28), x)
    model = _model(DataSpec(1, 28, 28, 10)).eval()
    assert model.side == 32 and model.sample(3).shape == (3, 1, 28, 28)


def test_truncation_psi_one_is_the_identity_and_psi_zero_collapses_to_the_mean():
    model = _model(noise=False).eval()
    model.w_avg.normal_()
    z = torch.randn(4, model.latent_dim)
    w = model.mapping_of(z)
    assert torch.equal(model.truncate(w, 1.0), w.unsqueeze(1).expand(-1, model.num_ws, -1))
    g = torch.Generator().manual_seed(1)
    z = torch.randn(4, model.latent_dim, generator=torch.Generator().manual_seed(1))
    assert torch.equal(model.sample(4, generator=g, truncation=1.0), model.decode(z))
    same = model.sample(4, truncation=0.0)  # every z -> w_avg on all layers
    assert torch.allclose(same, same[:1].expand_as(same))
    cut = model.truncate(w, 0.0, cutoff=2)  # only the first two style inputs truncated
    assert torch.allclose(cut[:, :2], model.w_avg.expand(4, 2, -1))
    assert torch.equal(cut[:, 2:], w.unsqueeze(1).expand(-1, model.num_ws - 2, -1))


def test_style_mixing_takes_w1_below_the_crossover_and_w2_from_it():
    model = _model(style_mixing=1.0).train()
    w1, w2 = torch.randn(3, model.w_dim), torch.randn(3, model.w_dim)
    ws = model.mix_styles(w1, w2, 3)
    assert torch.equal(ws[:, :3], w1.unsqueeze(1).expand(-1, 3, -1))
    assert torch.equal(ws[:, 3:], w2.unsqueeze(1).expand(-1, model.num_ws - 3, -1))
    for seed in range(5):  # in training, p = 1: two styles, crossover uniform over 1..active-1
        torch.manual_seed(seed)
        ws = model._styles(2, None, torch.zeros(2, 1), 16)
        change = [i for i in range(1, model.num_ws) if not torch.equal(ws[:, i], ws[:, i - 1])]
        assert len(change) == 1 and 1 <= change[0] < 2 * 4 - 2


def test_w_avg_moves_only_in_training():
    model = _model()
    ctx = StepContext(stage=model.stage(0, 0))
    batch = Batch(x=SHAPES.images[:8].float() / 255)
    model.eval()
    model.sample(8)
    assert float(model.w_avg.abs().sum()) == 0.0
    model.train()
    model.g_loss(batch, ctx)
    moved = model.w_avg.clone()
    assert float(moved.abs().sum()) > 0
    model.eval()
    model.sample(8)
    assert torch.equal(model.w_avg, moved)


def test_r1_against_autograd_on_a_tiny_case():
    a = torch.tensor([0.5, -2.0, 3.0])
    x = torch.randn(4, 3, requires_grad=True)
    scores = (a * x.pow(2)).sum(1)  # grad_x = 2 a x
    expected = (2 * a * x.detach()).pow(2).sum(1).mean()
    assert torch.allclose(losses.r1_penalty(scores, x), expected)


def test_lazy_r1_is_its_own_phase_sharing_ds_optimizer():
    names = [p.name for p in _model(r1_every=4).phases()]
    assert names == ["D", "D_reg", "G"] and _model(r1_every=4).phases()[1].optimizer == "D"
    assert [p.name for p in _model().phases()] == ["D", "G"]  # r1 in the D step, as the authors


def test_g_and_d_have_their_own_learning_rates():
    model = _model(lr_g=0.0003, lr_d=0.005)
    lrs = {p.name: p.optimizer.lr for p in model.phases()}
    assert lrs == {"D": 0.005, "G": 0.0003}
    assert {k: p.optimizer.lr for k, p in zip("DG", _model().phases(), strict=True)} == {"D": 1e-3, "G": 1e-3}


def _train(out, steps, resume=False):
    return api.train(
        "stylegan",
        out,
        data="synthetic-shapes",
        steps=steps,
        batch_size=8,
        quiet=True,
        log_every=1,
        sample_every=1000,
        checkpoint_every=5,
        resume=resume,
        ema_kimg=0.01,
        **tiny_overrides("stylegan", **TINY_SCHEDULE, r1_every=2),
    )


def test_a_run_stopped_mid_fade_resumes_exactly(tmp_path):
    # 8 images a step, 32 per stable part and per fade: steps 4-7 fade 8x8 in (a stop at 5 is
    # mid-fade), steps 8-11 are 8x8 stable
    _train(tmp_path / "a", 12)
    _train(tmp_path / "b", 5)
    _train(tmp_path / "b", 12, resume=True)
    rows = [[json.loads(r) for r in (tmp_path / r / "metrics.jsonl").read_text().splitlines()] for r in "ab"]
    assert [r["D/loss"] for r in rows[0]] == [r["D/loss"] for r in rows[1]]
    for f in ("model.safetensors", "ema.safetensors"):
        wa, wb = (load_weights(tmp_path / r / f) for r in "ab")
        assert all(torch.equal(wa[k], wb[k]) for k in wa), f
    run = api.load(tmp_path / "a")
    assert int(run.model.stage_resolution) == 8 and api.sample(run, 2).shape == (2, 1, 16, 16)


def test_conditional_stylegan_draws_the_labels_asked():
    model = _model(conditional=True).eval()
    assert model.can("conditional")
    z = torch.randn(2, model.latent_dim)
    assert not torch.equal(model.mapping_of(z, [0, 0]), model.mapping_of(z, [1, 1]))


@pytest.mark.parametrize("name", ["cgan", "stylegan"])
def test_conditional_models_need_labelled_data_and_labelled_batches(name):
    from gennet.errors import ConfigError, GennetError

    unlabelled = DataSpec(1, 16, 16, None)
    with pytest.raises(ConfigError, match="needs labelled data"):
        api.build_model(name, unlabelled, tiny_overrides(name, conditional=True))
    model = api.build_model(name, SHAPES.spec, tiny_overrides(name, conditional=True))
    with pytest.raises(GennetError, match="batch without labels"):
        model.batch_labels(Batch(x=torch.rand(2, 1, 16, 16)))
    assert model.num_classes == 4 and model.can("conditional")


@pytest.mark.parametrize("bad", [{"start_resolution": 3}, {"start_resolution": 12}, {"stage_kimg": 0}])
def test_a_bad_schedule_is_refused_when_the_model_is_built(bad):
    from gennet.errors import ConfigError

    with pytest.raises(ConfigError, match="start_resolution|stage_kimg"):
        _model(**bad)
