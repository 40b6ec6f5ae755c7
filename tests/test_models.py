"""The shared test every registered model passes on a tiny config, on the CPU."""

import dataclasses

import pytest
import torch

from gennet import api
from gennet.data import load_dataset
from gennet.errors import CapabilityError
from gennet.nn.batching import mixes_samples
from gennet.registry import model_entry, model_names
from gennet.train import Trainer
from tests.conftest import tiny_overrides

DATA = load_dataset("synthetic-shapes", split="train")
# Translation models (CycleGAN) train on an unpaired two-domain set: red blobs <-> blue blobs.
PAIR_DATA = load_dataset("synthetic-rgb-pair", split="train")


def _data(name):
    return PAIR_DATA if "translate" in model_entry(name)["cls"].capabilities else DATA


def _variants():
    for name in model_names():
        yield name, "mlp"
        if "arch" in vars(api.model_config(name)):
            yield name, "conv"


VARIANTS = list(_variants())


def _build(name, arch, **extra):
    over = tiny_overrides(name, **extra)
    if "arch" in vars(api.model_config(name)):
        over["arch"] = arch
    return api.build_model(name, _data(name).spec, over)


def _fit(name, arch, tmp_path, steps=2, **train):
    tcfg, _ = api.resolve_config(
        name,
        steps=steps,
        batch_size=16,
        quiet=True,
        **train,
        **tiny_overrides(name, **({"arch": arch} if "arch" in vars(api.model_config(name)) else {})),
    )
    torch.manual_seed(0)
    data = _data(name)
    model = api.build_model(name, data.spec, tcfg.model_args)
    Trainer(model, data, tcfg, tmp_path, torch.device("cpu")).fit()
    return model, tcfg


@pytest.mark.parametrize("name,arch", VARIANTS)
def test_shapes_and_capabilities(name, arch):
    model = _build(name, arch).eval()
    x = _data(name).images[:5].float() / 255
    n, c, h, w = x.shape
    with torch.no_grad():
        if model.can("encode"):
            z = model.encode(x)
            assert z.shape == (5, model.latent_dim)
        if model.can("decode"):
            out = model.decode(torch.randn(5, model.latent_dim))
            assert out.shape == (5, c, h, w) and out.min() >= 0 and out.max() <= 1
        if model.can("reconstruct"):
            assert model.reconstruct(x).shape == x.shape
        if model.can("sample"):
            s = model.sample(3)
            assert s.shape == (3, c, h, w) and s.min() >= 0 and s.max() <= 1
        if model.can("translate"):
            for direction in ("AtoB", "BtoA"):
                t = model.translate(x, direction)
                assert t.shape == x.shape and t.min() >= 0 and t.max() <= 1
    for verb in ("sample", "encode", "decode", "reconstruct", "translate"):
        if not model.can(verb):
            with pytest.raises(CapabilityError, match=f"cannot {verb}"):
                model.require(verb)


@pytest.mark.parametrize("name,arch", VARIANTS)
def test_train_step_changes_every_phase_parameter(name, arch, tmp_path):
    torch.manual_seed(0)
    before = {k: v.clone() for k, v in _build(name, arch).state_dict().items()}
    model, _ = _fit(name, arch, tmp_path, steps=1)
    params = dict(model.named_parameters())
    phase_params = {id(p) for ph in model.training_phases() for p in ph.params}
    assert phase_params, "a model must declare parameters to train"
    idle = model.idle_parameters()  # e.g. StyleGAN's ToRGB layers of other resolutions
    for key, p in params.items():
        if id(p) in phase_params and key not in idle:
            assert not torch.equal(before[key], p.detach()), f"{name}: parameter {key} did not change"


@pytest.mark.parametrize("name,arch", VARIANTS)
def test_eval_step_changes_nothing(name, arch):
    model = _build(name, arch).eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x = _data(name).images[:8].float() / 255
    model.preview(x, 8, generator=torch.Generator().manual_seed(0))
    if model.can("likelihood"):
        model.log_likelihood(x, k=4)
        model.elbo(x)
    for k, v in model.state_dict().items():
        assert torch.equal(before[k], v), f"{name}: {k} changed during evaluation"


@pytest.mark.parametrize("name,arch", VARIANTS)
def test_save_load_is_exact(name, arch, tmp_path):
    model, tcfg = _fit(name, arch, tmp_path, steps=2)
    from gennet.config import write_json

    write_json(
        tmp_path / "config.json",
        {"train": tcfg, "model": tcfg.model_args, "data_spec": _data(name).spec.to_dict()},
    )
    run = api.load(tmp_path, device="cpu", ema=False)  # the live weights (StyleGAN keeps an EMA by default)
    a, b = model.state_dict(), run.model.state_dict()
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    model.eval()
    x = _data(name).images[:4].float() / 255
    with torch.no_grad():
        if model.can("reconstruct"):
            assert torch.equal(model.reconstruct(x), run.model.reconstruct(x))
        if model.can("translate"):
            for direction in ("AtoB", "BtoA"):
                assert torch.equal(model.translate(x, direction), run.model.translate(x, direction))
        if model.can("sample"):
            g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
            assert torch.equal(model.sample(4, generator=g1), run.model.sample(4, generator=g2))


def test_registry_defaults_distinguish_the_autoencoders():
    assert api.model_config("sparse-ae").sparsity == "kl"
    assert api.model_config("denoising-ae").corruption != "none"
    assert api.model_config("ae").sparsity == "none" and api.model_config("ae").corruption == "none"
    cfg = api.model_config("vae")
    assert (cfg.hidden, cfg.latent_dim, cfg.arch) == ((400,), 20, "mlp")  # the PyTorch example's VAE
    assert dataclasses.is_dataclass(cfg)


def _tensors(out) -> list:
    """A network's output as a list of tensors (a tensor, or a tuple such as a VAE encoder's)."""
    out = out if isinstance(out, tuple | list) else (out,)
    return [t for t in out if isinstance(t, torch.Tensor)]


def _halves(v):
    """The first half of every batch-shaped tensor in a call's arguments (others as they are)."""
    if isinstance(v, torch.Tensor) and v.dim() > 0 and len(v) > 1:
        return v.detach()[: len(v) // 2]
    if isinstance(v, tuple | list):
        return type(v)(_halves(u) for u in v)
    if isinstance(v, dict):
        return {k: _halves(u) for k, u in v.items()}
    return v


@pytest.mark.parametrize("name,arch", VARIANTS)
def test_networks_said_to_treat_samples_alone_do(name, arch, tmp_path):
    """`nn.batching.stacked` calls a network once on several batches where `mixes_samples` says it
    treats each sample on its own. For every network of every model, as a training step calls it:
    where that is said, its output for the first half of the batch alone must be the first half of
    its output (a layer that mixes samples without saying so would fail here)."""
    calls = {}

    def record(key):
        def hook(module, args, kwargs, output):
            calls.setdefault(key, (module, args, kwargs))

        return hook

    torch.manual_seed(0)
    tcfg, _ = api.resolve_config(
        name, steps=1, batch_size=8, quiet=True, precision="fp32", **_arch(name, arch)
    )
    model = api.build_model(name, _data(name).spec, tcfg.model_args)
    for key, child in model.named_children():
        child.register_forward_hook(record(key), with_kwargs=True)
    Trainer(model, _data(name), tcfg, tmp_path, torch.device("cpu")).fit()
    checked, mixing = [], [key for key, (module, _, _) in calls.items() if mixes_samples(module)]
    with torch.no_grad():  # with the weights after the step: each network's full batch, twice, then half
        for key, (module, args, kwargs) in calls.items():
            full = _tensors(module(*args, **kwargs))
            if key in mixing or not full or len(full[0]) < 2:
                continue
            again = _tensors(module(*args, **kwargs))
            if not all(torch.equal(a, b) for a, b in zip(again, full, strict=True)):
                continue  # random inside (noise inputs, dropout): not comparable call to call
            half = _tensors(module(*_halves(args), **_halves(kwargs)))
            for h, f in zip(half, full, strict=True):
                torch.testing.assert_close(h, f[: len(h)], rtol=1e-5, atol=1e-5, msg=f"{name}.{key}")
            checked.append(key)
    assert checked or mixing, f"{name}: every network was skipped as random: {list(calls)}"


def _arch(name, arch):
    return tiny_overrides(name, **({"arch": arch} if "arch" in vars(api.model_config(name)) else {}))
