"""CycleGAN: losses against hand-computed values, the image pool, unpaired data (built-in pairs,
folders, the loader's B batches), the translation verbs, and a short CPU run that must move
translations toward the target domain and lower the cycle error."""

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from gennet import api, losses
from gennet.api import evaluate_translation, read_images, translate, translate_to
from gennet.cli import main
from gennet.data import DataSpec, ImageData, UnpairedData, load_dataset
from gennet.data import mnist as mnist_module
from gennet.errors import ConfigError, DataError, GennetError
from gennet.models.base import Batch, StepContext
from gennet.models.cyclegan import CycleGAN, identity_loss
from gennet.nn.image_to_image import ImagePool, PatchDiscriminator, UnetGenerator, patch_receptive_field
from gennet.train.loader import InMemoryLoader

TINY = {"base_channels": 8, "n_blocks": 1}
PAIR = "synthetic-rgb-pair"


# ---- losses ------------------------------------------------------------------------------------
class _Affine(nn.Module):
    def __init__(self, scale, shift):
        super().__init__()
        self.scale, self.shift = nn.Parameter(torch.tensor(scale)), shift

    def forward(self, x):
        return self.scale * x + self.shift


class _ConstD(nn.Module):
    """A 'discriminator' that answers 0.5 for every patch of a 2x2 map."""

    def __init__(self):
        super().__init__()
        self.c = nn.Parameter(torch.tensor(0.5))

    def forward(self, x):
        return self.c.expand(len(x), 1, 2, 2)


def test_cycle_and_identity_losses_match_hand_computed_values():
    x = torch.tensor([[0.0, 0.5], [1.0, 0.25]]).view(1, 1, 2, 2)  # in [-1, 1]: -1, 0, 1, -0.5
    xm = x * 2 - 1
    assert losses.cycle_loss(0.5 * xm + 0.1, xm).item() == pytest.approx((0.6 + 0.1 + 0.4 + 0.35) / 4)
    assert identity_loss(0.5 * xm, xm).item() == pytest.approx(0.5 * (1 + 0 + 1 + 0.5) / 4)

    model = api.build_model("cyclegan", load_dataset(PAIR).spec, {**TINY, "flip": False})
    model.G, model.F = _Affine(0.5, 0.0), _Affine(1.0, 0.1)  # G(x) = x / 2, F(y) = y + 0.1
    model.D_X, model.D_Y = _ConstD(), _ConstD()
    out = model.generator_loss(Batch(x=x, extra={"b": x.clone()}), StepContext())
    # cycle A: F(G(x)) - x = 0.1 - x/2 -> |0.6|, |0.1|, |-0.4|, |0.35|; cycle B: G(F(y)) - y = 0.05 - y/2
    assert out["cycle_A"].item() == pytest.approx(1.45 / 4)
    assert out["cycle_B"].item() == pytest.approx((0.55 + 0.05 + 0.45 + 0.3) / 4)
    assert out["idt_G"].item() == pytest.approx(0.3125)  # |G(y) - y| = |y| / 2
    assert out["idt_F"].item() == pytest.approx(0.1)  # |F(x) - x| = 0.1
    assert out["gan_G"].item() == pytest.approx(0.125)  # LSGAN 0.5 (D - 1)^2 with D = 0.5
    expected = 0.25 + 10 * (1.45 / 4 + 1.35 / 4) + 10 * 0.5 * (0.3125 + 0.1)
    assert out["loss"].item() == pytest.approx(expected)
    out["loss"].backward()
    assert model.D_X.c.grad is None and model.D_Y.c.grad is None  # G's loss does not train D


@pytest.mark.parametrize("settings", [{}, {"lambda_identity": 0.0}, {"generator": "unet"}])
def test_stacked_passes_give_the_losses_and_gradients_of_one_pass_each(settings):
    """The G and D phases run the networks on stacked batches (five or six generator passes in
    three calls); the losses and gradients must be those of one call per pass, as written out here."""
    torch.manual_seed(0)
    exact = {"flip": False, "load_scale": 1.0}  # no random flips or crops
    model = api.build_model("cyclegan", load_dataset(PAIR).spec, {**TINY, **exact, **settings})
    x, y = torch.rand(3, 3, 16, 16), torch.rand(3, 3, 16, 16)
    G, F, cfg = model.G, model.F, model.cfg
    xm, ym = x * 2 - 1, y * 2 - 1
    fake_y, fake_x = G(xm), F(ym)
    want = {
        "gan_G": losses.g_loss(cfg.gan_loss, model.D_Y(fake_y)),
        "gan_F": losses.g_loss(cfg.gan_loss, model.D_X(fake_x)),
        "cycle_A": losses.cycle_loss(F(fake_y), xm),
        "cycle_B": losses.cycle_loss(G(fake_x), ym),
    }
    if cfg.lambda_identity > 0:
        want |= {"idt_G": identity_loss(G(ym), ym), "idt_F": identity_loss(F(xm), xm)}
    grads = torch.autograd.grad(sum(want.values()), [*G.parameters(), *F.parameters()])

    ctx = StepContext()
    got = model.generator_loss(Batch(x=x, extra={"b": y}), ctx)
    assert set(got) == {*want, "loss"}
    for k, v in want.items():
        torch.testing.assert_close(got[k], v, rtol=1e-5, atol=1e-6, msg=k)
    got_grads = torch.autograd.grad(sum(got[k] for k in want), [*G.parameters(), *F.parameters()])
    for a, b in zip(got_grads, grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(ctx.scratch["fakes"][0], fake_y.detach(), rtol=1e-5, atol=1e-6)

    model.pool_A, model.pool_B = ImagePool(0, (3, 16, 16)), ImagePool(0, (3, 16, 16))  # fakes as they are
    d = model.discriminator_loss(Batch(x=x, extra={"b": y}), ctx)
    d_y = losses.d_loss(cfg.gan_loss, model.D_Y(ym), model.D_Y(fake_y.detach()))
    torch.testing.assert_close(d["D_Y"], d_y, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("generator", ["resnet", "unet"])
def test_no_cyclegan_network_keeps_batch_statistics(generator):
    """What makes stacking exact: each image is normalised on its own. A batch norm anywhere would
    make a stacked call differ from separate ones."""
    model = api.build_model("cyclegan", load_dataset(PAIR).spec, {**TINY, "generator": generator})
    batch_norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    assert not batch_norms and any(isinstance(m, nn.InstanceNorm2d) for m in model.G.modules())


def test_identity_loss_can_be_turned_off_and_lr_decays_linearly():
    spec = load_dataset(PAIR).spec
    model = api.build_model("cyclegan", spec, {**TINY, "lambda_identity": 0.0})
    x = torch.rand(2, 3, 16, 16)
    assert "idt_G" not in model.generator_loss(Batch(x=x, extra={"b": x}), StepContext())
    model.total_steps = 10
    factor = model.phases()[0].lr_lambda
    assert [factor(s) for s in range(5)] == [1.0] * 5  # constant for the first half
    tail = [factor(s) for s in range(4, 10)]
    assert all(a > b for a, b in zip(tail, tail[1:], strict=False)) and 0 < tail[-1] < 0.2


def test_single_domain_data_is_a_clear_error():
    model = api.build_model("cyclegan", load_dataset(PAIR).spec, TINY)
    with pytest.raises(GennetError, match="unpaired two-domain"):
        model.generator_loss(Batch(x=torch.rand(2, 3, 16, 16)), StepContext())
    with pytest.raises(ConfigError, match="divisible by 4"):
        api.build_model("cyclegan", dataclasses.replace(load_dataset(PAIR).spec, height=30, width=30), TINY)


def test_single_domain_data_is_refused_before_anything_is_written(tmp_path, capsys):
    """The trainer asks the model whether it can learn from the set (`check_data`) when it is built:
    one domain is refused with what cyclegan needs, and no run folder, config.json or tracker
    folder is left behind (it used to be found at the first step, after they were written)."""
    with pytest.raises(GennetError, match="unpaired two-domain.*nothing was written"):
        api.train("cyclegan", out=tmp_path / "api", data="synthetic-shapes", steps=2, **TINY)
    rc = main(
        ["train", "cyclegan", "--data", "synthetic-shapes", "--steps", "2", "--out", str(tmp_path / "cli")]
    )
    assert rc == 2 and "trainA/ and trainB/" in capsys.readouterr().err
    assert not (tmp_path / "api").exists() and not (tmp_path / "cli").exists()


def test_a_one_set_model_given_a_pair_says_it_trains_on_domain_a(tmp_path, capsys):
    """dcgan on a two-domain pair learns from domain A; it says so, where it used to be silent.
    cyclegan, which uses both, says nothing of the kind."""
    settings = {"steps": 1, "batch_size": 8, "base_channels": 8, "log_every": 1}
    api.train("dcgan", out=tmp_path / "dcgan", data=PAIR, **settings)
    err = capsys.readouterr().err
    assert f"dcgan learns from one set of images: it trains on domain A of {PAIR}" in err
    assert "domain B is not used" in err
    api.train("cyclegan", out=tmp_path / "cyclegan", data=PAIR, **{**settings, "n_blocks": 1})
    assert "domain B is not used" not in capsys.readouterr().err


@pytest.mark.parametrize(
    "settings",
    [{"n_down": 2}, {"n_down": 3}, {"generator": "unet"}, {"generator": "unet", "unet_depth": 2}],
    ids=["resnet-2", "resnet-3", "unet-auto", "unet-2"],
)
def test_takes_image_shape_is_what_the_generators_build(settings):
    """The size choice (`takes_image_shape`) and the networks (`_generator`) agree on every shape."""
    spec, cfg = load_dataset(PAIR).spec, api.model_config("cyclegan", {**TINY, **settings})
    for h, w in [(16, 16), (24, 16), (12, 12), (30, 30), (8, 12), (7, 7), (32, 48), (6, 10)]:
        try:
            api.build_model("cyclegan", dataclasses.replace(spec, height=h, width=w), {**TINY, **settings})
            built = True
        except ConfigError as e:
            assert "divisible by" in str(e)
            built = False
        assert CycleGAN.takes_image_shape(cfg, h, w) == built, (h, w)


# ---- networks and the pool -----------------------------------------------------------------------
def test_patchgan_receptive_field_and_unet_shapes():
    assert [patch_receptive_field(n) for n in (1, 2, 3)] == [16, 34, 70]  # 70x70 PatchGAN at n=3
    assert PatchDiscriminator(3, 8, 3)(torch.zeros(1, 3, 256, 256)).shape == (1, 1, 30, 30)
    assert UnetGenerator(1, 1, 8, 2)(torch.zeros(2, 1, 28, 28)).shape == (2, 1, 28, 28)
    model = api.build_model("cyclegan", load_dataset(PAIR).spec, {**TINY, "generator": "unet"})
    assert model.translate(torch.rand(2, 3, 16, 16)).shape == (2, 3, 16, 16)


def test_image_pool_fills_then_swaps_half_and_is_deterministic():
    pool = ImagePool(3, (1, 1, 1))
    first = torch.arange(3.0).view(3, 1, 1, 1)
    assert torch.equal(pool.query(first), first)  # not full yet: the inputs come back
    assert len(pool) == 3 and torch.equal(pool.images, first)
    new = torch.arange(10.0, 1010.0).view(1000, 1, 1, 1)
    g = torch.Generator().manual_seed(1)
    out = pool.query(new, generator=g)
    swapped = (out != new).flatten()
    assert 0.43 < swapped.float().mean() < 0.57  # p = 0.5
    seen = set(first.flatten().tolist()) | set(new.flatten().tolist())
    assert set(out.flatten().tolist()) <= seen and len(pool) == 3 and pool.images.shape[0] == 3
    # deterministic under a seed, and resumable from its state_dict
    a, b = ImagePool(3, (1, 1, 1)), ImagePool(3, (1, 1, 1))
    a.query(first)
    b.load_state_dict(a.state_dict())
    ga, gb = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    assert torch.equal(a.query(new, generator=ga), b.query(new, generator=gb))
    assert torch.equal(ImagePool(0, (1, 1, 1)).query(new), new)


# ---- data ------------------------------------------------------------------------------------------
def test_builtin_digit_pairs_are_unpaired_labelled_and_transformed():
    thick = load_dataset("mnist-thick", split="test")
    a, b = thick.a, thick.b
    assert a.images.shape[1:] == b.images.shape[1:] == (1, 28, 28) and a.labels is not None
    assert b.labels is not None and len(a) + len(b) == len(load_dataset("mnist", split="test"))
    # B's strokes are thicker: more ink per image
    assert b.images.float().mean() > 1.5 * a.images.float().mean()
    inv = load_dataset("mnist-inverted", split="test").b
    assert inv.images.float().mean() > 200  # black digits on white
    assert "mnist-thick" in api.list_datasets() and PAIR in api.list_datasets()


def test_fashion_pair_needs_its_files(monkeypatch, tmp_path):
    monkeypatch.setattr(mnist_module, "FASHION_MNIST_SYSTEM_DIR", tmp_path / "none")
    monkeypatch.delenv("GENNET_DATA", raising=False)
    with pytest.raises(DataError, match="Fashion-MNIST not found"):
        load_dataset("fashion-sneaker-boot")


def _png(path, size, mode, value=128):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, value if mode == "L" else (value, 20, 200)).save(path)


def test_unpaired_folder_mixed_files_bad_file_and_layout_errors(tmp_path):
    root = tmp_path / "horse2zebra"
    _png(root / "trainA" / "a1.png", (20, 24), "RGB")
    _png(root / "trainA" / "a2.png", (30, 30), "L")
    _png(root / "trainA" / "a3.jpg", (40, 32), "RGB")
    (root / "trainA" / "broken.png").write_bytes(b"not an image")
    _png(root / "trainB" / "b1.png", (16, 16), "L")
    _png(root / "trainB" / "b2.jpeg", (50, 18), "RGB")
    _png(root / "testA" / "t.png", (16, 16), "RGB")
    _png(root / "testB" / "t.png", (16, 16), "RGB")
    with pytest.warns(UserWarning, match="skipping unreadable image"):
        data = load_dataset(str(root), image_size=16)
    assert data.images.shape == (3, 3, 16, 16) and data.b.images.shape == (2, 3, 16, 16)
    test = load_dataset(str(root), split="test", image_size=16)
    assert len(test) == 1 and len(test.b) == 1
    with pytest.raises(DataError, match="unreadable image"):
        load_dataset(str(root), image_size=16, strict=True)
    with pytest.raises(DataError, match="differ in size"):
        load_dataset(str(root))  # no image size: mixed sizes cannot be stacked
    only_a = tmp_path / "half"
    _png(only_a / "trainA" / "a.png", (8, 8), "L")
    with pytest.raises(DataError, match="no trainB/"):
        load_dataset(str(only_a), image_size=8)
    gray = tmp_path / "gray"  # all grayscale -> 1 channel; no testA/testB -> a held-out share
    for i in range(5):
        _png(gray / "trainA" / f"{i}.png", (8, 8), "L", 10 * i)
        _png(gray / "trainB" / f"{i}.png", (8, 8), "L", 200)
    tr, te = (
        load_dataset(str(gray), test_fraction=0.2),
        load_dataset(str(gray), split="test", test_fraction=0.2),
    )
    assert tr.images.shape == (4, 1, 8, 8) and len(te) == 1 and len(te.b) == 1


def test_loader_b_batches_differ_in_order_and_resume_exactly():
    a = ImageData(
        torch.arange(40, dtype=torch.uint8).view(40, 1, 1, 1).expand(40, 1, 2, 2).contiguous(), None, "a"
    )
    b = ImageData(
        torch.arange(100, 124, dtype=torch.uint8).view(24, 1, 1, 1).expand(24, 1, 2, 2).contiguous(),
        None,
        "b",
    )
    data = UnpairedData(a, b, "pair")
    loader = InMemoryLoader(data, 8, torch.device("cpu"), seed=3)
    batches = [loader.next() for _ in range(20)]
    b_ids = torch.cat([(bt.extra["b"][:, 0, 0, 0] * 255).round() for bt in batches[:3]]).long()
    assert sorted(b_ids.tolist()) == list(range(100, 124))  # one epoch of B covers B once
    a_ids = (batches[0].x[:, 0, 0, 0] * 255).round().long()
    assert not torch.equal(b_ids[:8] - 100, a_ids)  # B has its own permutation
    resumed = InMemoryLoader(data, 8, torch.device("cpu"), seed=3)
    resumed.load_state_dict({"counter": 13})
    for want in batches[13:]:
        got = resumed.next()
        assert torch.equal(got.x, want.x) and torch.equal(got.extra["b"], want.extra["b"])
    with pytest.raises(ConfigError, match="larger than the training set"):
        InMemoryLoader(data, 32, torch.device("cpu"))  # B holds only 24


def _numbered(lo: int, n: int, name: str, labelled: bool = False) -> ImageData:
    images = torch.arange(lo, lo + n, dtype=torch.uint8).view(n, 1, 1, 1).expand(n, 1, 2, 2).contiguous()
    if not labelled:
        return ImageData(images, None, name)
    return ImageData(images, torch.arange(n) % 2, name, ["x", "y"])


def test_unpaired_data_answers_for_domain_a_and_subsets_both_domains():
    data = UnpairedData(_numbered(0, 10, "p", labelled=True), _numbered(100, 6, "p:B"), "p")
    assert len(data) == 10 and data.spec == data.a.spec == DataSpec(1, 2, 2, 2)
    assert data.images is data.a.images and data.labels is data.a.labels and data.classes == ["x", "y"]
    head = data.subset(slice(0, 4))  # a slice takes the first n of each domain
    assert isinstance(head, UnpairedData) and len(head.a) == 4 and len(head.b) == 4 and head.name == "p"
    assert head.b.images[:, 0, 0, 0].tolist() == [100, 101, 102, 103]
    picked = data.subset([7, 2])  # an index into A says nothing about B, which stays whole
    assert picked.a.images[:, 0, 0, 0].tolist() == [7, 2] and picked.b is data.b
    assert data.companions() == {"b": data.b} and data.a.companions() == {}
    big = data.map_images(lambda x: x.repeat(1, 3, 1, 1))
    assert big.a.images.shape == (10, 3, 2, 2) and big.b.images.shape == (6, 3, 2, 2)
    assert data.map_images(lambda x: x) is data
    rgb = load_dataset(PAIR, split="test", channels=1, image_size=8)
    assert isinstance(rgb, UnpairedData) and rgb.a.images.shape[1:] == rgb.b.images.shape[1:] == (1, 8, 8)


def test_loader_draws_domain_b_and_its_labels_into_extra():
    data = UnpairedData(_numbered(0, 8, "p"), _numbered(100, 8, "p:B", labelled=True), "p")
    batch = InMemoryLoader(data, 4, torch.device("cpu")).next()
    assert batch.x.shape == batch.extra["b"].shape == (4, 1, 2, 2) and batch.y is None
    assert ((batch.extra["b"] * 255).round() >= 100).all() and batch.extra["b_y"].shape == (4,)
    single = InMemoryLoader(data.a, 4, torch.device("cpu")).next()
    assert single.extra == {} and torch.equal(single.x, batch.x)  # A's batches do not depend on B


# ---- a short run: translation moves toward B, cycle error falls -----------------------------------
def _blueness(x: torch.Tensor) -> float:
    """Mean of (blue - red) over images (N, 3, H, W) in [0, 1]: < 0 for red blobs, > 0 for blue."""
    return float((x[:, 2] - x[:, 0]).mean())


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("cyclegan") / "run"
    settings = dict(data=PAIR, steps=100, batch_size=8, device="cpu", quiet=True, seed=0, **TINY)
    api.train("cyclegan", out=out, **settings)
    tcfg, _ = api.resolve_config("cyclegan", **settings)
    torch.manual_seed(tcfg.seed)  # the same initial weights as the run started from
    untrained = api.build_model("cyclegan", load_dataset(PAIR).spec, tcfg.model_args).eval()
    return api.load(out, device="cpu"), untrained


def test_short_run_moves_translations_toward_b_and_lowers_cycle_error(trained):
    run, untrained = trained
    test = load_dataset(PAIR, split="test")
    xa, xb = test.images.float() / 255, test.b.images.float() / 255
    target, source = _blueness(xb), _blueness(xa)
    with torch.no_grad():
        t0, r0 = untrained.cycle(xa)
        t1, r1 = run.model.cycle(xa)
    before, after = abs(_blueness(t0) - target), abs(_blueness(t1) - target)
    assert after < 0.5 * before, (before, after)  # G(red blobs) moved toward blue blobs
    assert after < 0.25 * abs(source - target), (source, target, after)  # and most of the way there
    cyc0, cyc1 = (r0 - xa).abs().mean(), (r1 - xa).abs().mean()
    assert cyc1 < 0.6 * cyc0, (cyc0, cyc1)


def test_translate_and_evaluate_translation(trained, tmp_path):
    run, _ = trained
    out = translate(run, n=5)
    assert set(out) == {"input", "translated", "cycled"}
    assert all(v.shape == (5, 3, 16, 16) and v.dtype == np.uint8 for v in out.values())
    back = translate(run, images=out["translated"], direction="BtoA")
    assert back["translated"].shape == (5, 3, 16, 16)
    with pytest.raises(ConfigError, match="AtoB or BtoA"):
        translate(run, direction="sideways")
    with pytest.raises(GennetError, match="must have shape"):
        translate(run, images=np.zeros((2, 1, 16, 16), np.uint8))
    np.savez(tmp_path / "in.npz", images=out["input"])
    assert np.array_equal(read_images(tmp_path / "in.npz", run.spec), out["input"])
    _png(tmp_path / "one.png", (40, 30), "RGB")
    assert read_images(tmp_path / "one.png", run.spec).shape == (1, 3, 16, 16)
    assert translate_to(run, tmp_path / "grid.png", direction="BtoA", n=3).is_file()
    with np.load(translate_to(run, tmp_path / "t.npz", inputs=tmp_path / "in.npz")) as z:
        assert z["translated"].shape == (5, 3, 16, 16) and z["cycled"].dtype == np.uint8
    folder = translate_to(run, tmp_path / "outdir", inputs=tmp_path / "one.png")
    assert (folder / "one_AtoB.png").is_file() and (folder / "grid.png").is_file()
    res = evaluate_translation(run, n=20)
    for key in (
        "fid_AtoB",
        "kid_AtoB",
        "fid_BtoA",
        "cycle_l1_A",
        "cycle_psnr_A",
        "cycle_l1_B",
        "cycle_psnr_B",
    ):
        assert isinstance(res[key], float) and np.isfinite(res[key]), key
    assert res["cycle_psnr_A"] > 10 and res["protocol"]["images"] == {"A": 20, "B": 20}
    assert set(res["floor"]) == {"fid_AtoB", "kid_AtoB", "fid_BtoA", "kid_BtoA"}


def test_resume_is_exact_with_the_pools_and_ema_runs(tmp_path):
    # decay_fraction 0: a constant lr, so that a 2-step run resumed to 4 steps is a 4-step run
    settings = dict(data=PAIR, batch_size=4, device="cpu", quiet=True, seed=1, decay_fraction=0.0, **TINY)
    straight = api.train("cyclegan", out=tmp_path / "straight", steps=4, **settings)
    api.train("cyclegan", out=tmp_path / "split", steps=2, **settings)
    resumed = api.train("cyclegan", out=tmp_path / "split", steps=4, resume=True, **settings)
    a, b = (
        api.load(straight, device="cpu").model.state_dict(),
        api.load(resumed, device="cpu").model.state_dict(),
    )
    assert int(a["pool_A.count"]) == 16  # 4 steps x 4 fakes went into each pool
    for k in a:
        assert torch.equal(a[k], b[k]), k
    ema = api.load(api.train("cyclegan", out=tmp_path / "ema", steps=2, ema=0.9, **settings), device="cpu")
    assert ema.model.translate(torch.rand(1, 3, 16, 16)).shape == (1, 3, 16, 16)


def test_translate_and_evaluate_from_the_command_line(trained, tmp_path, capsys):
    from tests.test_cli import assert_png, run_cli

    run, _ = trained
    rc, out, err = run_cli(capsys, "translate", run.path, "-o", tmp_path / "g.png", "-n", 4)
    assert rc == 0, err
    assert_png(tmp_path / "g.png")
    rc, _, err = run_cli(capsys, "translate", run.path, "-o", tmp_path / "t.npz", "--direction", "BtoA")
    assert rc == 0, err
    with np.load(tmp_path / "t.npz") as z:
        assert z["translated"].shape == (8, 3, 16, 16) and str(z["direction"]) == "BtoA"
    missing, bad_out = tmp_path / "missing.png", tmp_path / "x.png"
    rc, _, err = run_cli(capsys, "translate", run.path, "-i", missing, "-o", bad_out)
    assert rc == 2 and "missing.png" in err and not bad_out.exists()
    rc, out, err = run_cli(capsys, "evaluate", run.path, "--n", 20, "--json", tmp_path / "e.json")
    assert rc == 0, err
    assert "cycle_psnr_A" in out and "real floor" in out and "untranslated" in out
    saved = json.loads((tmp_path / "e.json").read_text())
    assert saved["model"] == "cyclegan" and np.isfinite(saved["fid_AtoB"])


def test_translate_is_refused_for_models_that_cannot(tmp_path, capsys):
    from tests.test_cli import run_cli

    run = api.train("ae", tmp_path / "ae", data="synthetic-shapes", steps=1, batch_size=8, quiet=True,
                    hidden=(8,), latent_dim=2)  # fmt: skip
    rc, _, err = run_cli(capsys, "translate", run, "-o", tmp_path / "x.png")
    assert rc == 2 and "cannot translate" in err


def test_bench_picks_the_models_that_fit_the_data_and_shows_translations(tmp_path):
    from gennet.benchmark import _default_models, bench

    assert _default_models("synthetic-rgb-pair") == ["cyclegan"]
    assert "cyclegan" not in _default_models("mnist") and "dcgan" in _default_models("mnist")
    res = bench(data=PAIR, budget=1.5, out=tmp_path / "b", n=20, settings={"batch_size": 8, **TINY})
    (row,) = res["models"]
    assert row["name"] == "cyclegan" and row["error"] is None, row
    assert np.isfinite(row["metrics"]["cycle_psnr_A"]) and Path(row["grid_png"]).is_file()
