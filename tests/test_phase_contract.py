"""The phase contract's step state: a per-step context, shared optimizers, a stage schedule that
is a pure function of the step, an EMA of chosen modules given as a decay or a half-life, and the
shared learning-rate schedule and initialiser."""

import pytest
import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel

from gennet import api
from gennet.config import TrainConfig
from gennet.data import load_dataset
from gennet.errors import ConfigError
from gennet.models.base import GenerativeModel, OptimSpec, Phase, Stage
from gennet.nn.init import init_normal
from gennet.optim import fusable, linear_decay
from gennet.train import Trainer
from gennet.train.checkpoint import load_weights
from gennet.train.ema import EMA
from tests.conftest import tiny_overrides

DATA = load_dataset("synthetic-shapes", split="train")
CPU = torch.device("cpu")


class Staged(GenerativeModel):
    """G and D toys: `D` hands a tensor to `G` through ctx.scratch; `D_reg` shares D's optimizer
    every `reg_every` steps; the schedule doubles the batch and halves the lr from step `boundary`."""

    capabilities = frozenset()
    ema_modules = ("g",)

    def __init__(self, spec, reg_every=2, boundary=3, reset=False):
        super().__init__(None, spec)
        self.d = nn.Linear(spec.channels * spec.height * spec.width, 1)
        self.g = nn.Linear(1, 1)
        self.reg_every, self.boundary, self.reset = reg_every, boundary, reset
        self.log: list[tuple] = []

    def stage(self, step, images_seen):
        if step < self.boundary:
            return Stage(0, batch_size=8, alpha=step / self.boundary)
        return Stage(1, batch_size=16, lr_scale=0.5, reset_optimizers=self.reset)

    def phases(self):
        return [
            Phase("D", list(self.d.parameters()), self._d, OptimSpec("adam", 1e-2)),
            Phase("D_reg", list(self.d.parameters()), self._reg, "D", every=self.reg_every),
            Phase("G", list(self.g.parameters()), self._g, OptimSpec("sgd", 0.1)),
        ]

    def _d(self, batch, ctx):
        assert ctx.scratch == {}  # a fresh scratch every step
        ctx.scratch["from_D"] = ctx.step
        self.log.append(("D", ctx.step, ctx.stage.index, len(batch.x), ctx.images_seen))
        return {"loss": self.d(batch.x.flatten(1)).pow(2).mean()}

    def _reg(self, batch, ctx):
        self.log.append(("D_reg", ctx.step))
        return {"loss": 0.1 * self.d.weight.pow(2).sum()}

    def _g(self, batch, ctx):
        assert ctx.scratch["from_D"] == ctx.step  # what the D phase left this step
        return {"loss": (self.g(torch.ones(1, 1)) - 3).pow(2).sum()}


def _cfg(**kw):
    base = dict(steps=6, batch_size=8, quiet=True, log_every=1, sample_every=1000, checkpoint_every=1000)
    base.update(kw)
    return TrainConfig(**base)


def test_scratch_stages_and_shared_optimizer(tmp_path):
    model = Staged(DATA.spec)
    tr = Trainer(model, DATA, _cfg(), tmp_path, CPU)
    tr.fit()
    assert set(tr.optimizers) == {"D", "G"}  # D_reg has no optimizer of its own
    d_rows = [r for r in model.log if r[0] == "D"]
    assert [r[3] for r in d_rows] == [8, 8, 8, 16, 16, 16]  # the stage's batch size
    assert [r[2] for r in d_rows] == [0, 0, 0, 1, 1, 1]
    assert [r[4] for r in d_rows] == [0, 8, 16, 24, 40, 56]  # images seen before each step
    assert [r[1] for r in model.log if r[0] == "D_reg"] == [0, 2, 4]
    adam = tr.optimizers["D"].state[model.d.weight]
    assert int(adam["step"]) == 6 + 3  # D's Adam took D's and D_reg's updates
    assert tr.optimizers["D"].param_groups[0]["lr"] == pytest.approx(1e-2 * 0.5)  # the stage's scale
    assert tr.optimizers["G"].param_groups[0]["lr"] == pytest.approx(0.1 * 0.5)


@pytest.mark.parametrize("stop", [4, 3])  # inside stage 1; exactly at its first step
def test_resume_across_a_stage_boundary_is_exact(tmp_path, stop):
    def run(out, steps, resume=False):
        torch.manual_seed(0)
        model = Staged(DATA.spec, reset=True)
        tr = Trainer(model, DATA, _cfg(steps=steps, checkpoint_every=stop, ema_kimg=0.05), out, CPU)
        tr.fit(resume=resume)
        return model, tr

    straight, _ = run(tmp_path / "a", 6)
    run(tmp_path / "b", stop)  # resume must re-read the stage's batch size, lr scale and reset
    resumed, tr = run(tmp_path / "b", 6, resume=True)
    assert tr.loader.batch_size == 16 and [r[3] for r in resumed.log if r[0] == "D"] == [16] * (6 - stop)
    for k, v in straight.state_dict().items():
        assert torch.equal(v, resumed.state_dict()[k]), k
    ea, eb = (
        load_weights(tmp_path / "a" / "ema.safetensors"),
        load_weights(tmp_path / "b" / "ema.safetensors"),
    )
    assert all(torch.equal(ea[k], eb[k]) for k in ea)


def test_a_stage_may_reset_the_optimizers(tmp_path):
    model = Staged(DATA.spec, reset=True)
    tr = Trainer(model, DATA, _cfg(), tmp_path, CPU)
    tr.fit()
    adam = tr.optimizers["D"].state[model.d.weight]
    assert int(adam["step"]) == 3 + 1  # cleared entering stage 1 (step 3): steps 3-5 and D_reg at 4


@pytest.mark.parametrize(
    "bad, match",
    [
        ([("A", "B"), ("B", OptimSpec())], "not an earlier owner"),  # shares a later phase's
        ([("A", OptimSpec()), ("B", "C")], "not an earlier owner"),  # an unknown phase's
    ],
)
def test_sharing_an_optimizer_must_name_an_earlier_owner(bad, match):
    class Bad(GenerativeModel):
        def __init__(self):
            super().__init__(None, DATA.spec)
            self.w = nn.Linear(1, 1)

        def phases(self):
            return [Phase(n, list(self.w.parameters()), lambda b, c: {}, opt) for n, opt in bad]

    with pytest.raises(RuntimeError, match=match):
        Bad().training_phases()


def test_ema_averages_only_the_modules_the_model_names(tmp_path):
    model = Staged(DATA.spec)
    tr = Trainer(model, DATA, _cfg(ema=0.5), tmp_path, CPU)
    assert not any(k.startswith("d.") for k in tr.ema.averaged.module.state_dict())  # no copy of D
    tr.fit()
    saved = load_weights(tmp_path / "ema.safetensors")
    assert set(saved) == set(model.state_dict())  # a whole model: the verbs load it as any other
    assert torch.equal(saved["d.weight"], model.d.weight.detach())  # D: the live one
    assert not torch.equal(saved["g.weight"], model.g.weight.detach())  # G: averaged


def test_dcgan_ema_holds_the_generator_alone(tmp_path):
    overrides = tiny_overrides("dcgan")
    model = api.build_model("dcgan", DATA.spec, overrides)
    ema = EMA(model, decay=0.9)
    keys = ema.averaged.module.state_dict().keys()
    assert keys and all(k.startswith("G.") for k in keys)
    assert ema.module.D is model.D and ema.module.G is not model.G


def test_an_ema_of_the_whole_model_from_an_older_checkpoint_loads_into_a_g_only_ema():
    model = api.build_model("dcgan", DATA.spec, tiny_overrides("dcgan"))
    old = AveragedModel(model, use_buffers=True)  # gennet 0.1.0 averaged G and D
    old.update_parameters(model)
    ema = EMA(model, decay=0.9)
    ema.load_state_dict(old.state_dict())
    for k, v in ema.averaged.module.state_dict().items():
        assert torch.equal(v, old.module.state_dict()[k])


def test_ema_half_life_in_images_with_ramp_up():
    model = nn.Linear(2, 2)
    assert EMA(model, decay=0.99).beta_for(64, 10**6) == 0.99
    ema = EMA(model, kimg=10.0)
    assert ema.beta_for(64, 10**6) == pytest.approx(0.5 ** (64 / 10_000))
    ramped = EMA(model, kimg=10.0, rampup=0.05)
    assert ramped.beta_for(64, 1000) == pytest.approx(0.5 ** (64 / 50))  # half-life 0.05 x 1000 images
    assert ramped.beta_for(64, 10**7) == pytest.approx(0.5 ** (64 / 10_000))  # capped at ema_kimg
    half = EMA(model, kimg=0.064)  # one batch of 64 is one half-life: beta = 1/2
    half.update(model, 64, 0)  # the first update copies
    target = [p.detach().clone() for p in model.parameters()]
    with torch.no_grad():
        for p in model.parameters():
            p.add_(2.0)
    half.update(model, 64, 64)
    for avg, old in zip(half.averaged.module.parameters(), target, strict=True):
        assert torch.allclose(avg, old + 1.0)


def test_ema_given_twice_is_a_config_error():
    with pytest.raises(ConfigError, match="not both"):
        TrainConfig(ema=0.9, ema_kimg=10).validate()


def test_linear_decay_is_cyclegans_reference_schedule():
    for total, frac in [(10, 0.5), (7, 0.3), (100, 1.0)]:
        n_decay = round(total * frac)
        n_const = total - n_decay
        ours = linear_decay(total, n_decay + 1)
        for step in range(total):
            ref = 1.0 - max(0, step - n_const + 1) / float(n_decay + 1)  # the CycleGAN repository's
            assert ours(step) == pytest.approx(ref, abs=1e-12)
    with pytest.raises(ConfigError):
        linear_decay(10, 0)


def test_init_normal_is_dcgans():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 64, 3), nn.BatchNorm2d(64), nn.Linear(64, 256))
    init_normal(net)
    conv, bn, lin = (m.requires_grad_(False) for m in net)
    assert abs(float(conv.weight.std()) - 0.02) < 0.002 and float(conv.bias.abs().max()) == 0
    assert abs(float(bn.weight.mean()) - 1.0) < 0.01 and float(bn.bias.abs().max()) == 0
    assert abs(float(lin.weight.std()) - 0.02) < 0.002


def test_adam_takes_the_fused_kernel_where_torch_has_one():
    """Known answers of `fusable`, and the same update as torch's default loop (the fused kernel
    rounds differently: close, not bit-equal)."""
    cpu = [nn.Parameter(torch.randn(3))]
    assert fusable(cpu) and fusable([{"params": cpu}])
    assert not fusable([]) and not fusable([torch.zeros(2, dtype=torch.long)])
    assert not fusable([nn.Parameter(torch.randn(2, device="meta"))])
    assert OptimSpec("adam").build(cpu).param_groups[0]["fused"] is True
    assert OptimSpec("adamw").build(iter(cpu)).param_groups[0]["fused"] is True  # a generator is read once
    assert not OptimSpec("sgd").build(cpu).param_groups[0].get("fused")
    groups = [{"params": iter(cpu)}, {"params": nn.Parameter(torch.randn(2, 2)), "lr": 0.5}]
    built = OptimSpec("adam").build(groups)  # a group's iterable or lone tensor, as torch takes them
    assert [len(g["params"]) for g in built.param_groups] == [1, 1] and built.param_groups[1]["lr"] == 0.5
    assert all(g["fused"] for g in built.param_groups)

    torch.manual_seed(0)
    a, b = nn.Linear(4, 3), nn.Linear(4, 3)
    b.load_state_dict(a.state_dict())
    fused = OptimSpec("adam", 1e-2).build(a.parameters())
    plain = torch.optim.Adam(b.parameters(), lr=1e-2, foreach=False)
    for _ in range(5):
        x = torch.randn(8, 4)
        for net, opt in ((a, fused), (b, plain)):
            opt.zero_grad()
            net(x).square().mean().backward()
            opt.step()
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-6, atol=1e-7)
