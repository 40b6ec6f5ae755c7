"""Verbs of style-based generators: truncation at sampling, style mixing (the paper's figure 3),
interpolation in W, encode refused with its reason, and the perceptual path length (known answers).

`TinyStyle` is a stand-in with StyleGAN's verb API (mapping, truncate, synthesize, num_ws,
ws_resolution), linear in the styles, so every expected image can be computed by hand."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from gennet import api
from gennet.config import TrainConfig
from gennet.data import DataSpec
from gennet.errors import CapabilityError, ConfigError, GennetError
from gennet.eval.path_length import filtered_mean, path_distances, perceptual_path_length
from gennet.models.base import GenerativeModel
from gennet.verbs.style import path_length, style_bands
from gennet.viz import to_uint8
from tests.conftest import tiny_overrides
from tests.test_cli import assert_png, run_cli


class TinyStyle(GenerativeModel):
    """z (N, 8) -> w (N, 6) -> ws (N, num_ws, 6) -> a linear image, sigmoid; noise "random" adds N(0, 0.1)."""

    capabilities = frozenset({"sample", "decode", "interpolate", "style_mix"})

    def __init__(self, spec: DataSpec, z_dim: int = 8, w_dim: int = 6):
        super().__init__(SimpleNamespace(latent_dim=z_dim), spec)
        self.w_dim = w_dim
        self.num_ws = 2 * (int(math.log2(spec.height)) - 1)
        self.map = nn.Linear(z_dim, w_dim)
        self.out = nn.Linear(self.num_ws * w_dim, spec.channels * spec.height * spec.width)
        self.register_buffer("w_avg", torch.randn(w_dim))

    def ws_resolution(self, i: int) -> int:
        return 2 ** (i // 2 + 2)

    def mapping(self, z, labels=None):
        return self.map(z)

    def truncate(self, w, psi: float = 1.0, cutoff: int | None = None):
        ws = w[:, None].repeat(1, self.num_ws, 1) if w.dim() == 2 else w.clone()
        k = self.num_ws if cutoff is None else cutoff
        ws[:, :k] = self.w_avg + psi * (ws[:, :k] - self.w_avg)
        return ws

    def synthesize(self, ws, noise: str = "random"):
        x = self.out(ws.flatten(1))
        if noise == "random":
            x = x + 0.1 * torch.randn_like(x)
        return torch.sigmoid(x).view(-1, self.spec.channels, self.spec.height, self.spec.width)

    def decode(self, z, labels=None):
        return self.synthesize(self.truncate(self.mapping(z)))

    def sample(self, n, labels=None, generator=None, truncation=1.0, truncation_cutoff=None):
        w = self.mapping(self.latent_prior(n, generator))
        return self.synthesize(self.truncate(w, truncation, truncation_cutoff))


def close(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal up to one grey level (batches of other sizes may round the last bit differently)."""
    return a.shape == b.shape and np.abs(a.astype(int) - b.astype(int)).max() <= 1


SPEC = DataSpec(1, 16, 16)  # the synthetic shapes' size: 3 resolutions, 4 to 16


def stylegan_overrides() -> dict:
    """Tiny widths, and the full 16x16 from the start (no progressive growing in a few steps)."""
    return tiny_overrides("stylegan", mapping_layers=2, start_resolution=16)


@pytest.fixture(params=["stand-in", "stylegan"])
def run(request) -> api.Run:
    """A style model: the linear stand-in, and the real StyleGAN (untrained)."""
    if request.param == "stand-in":
        model = TinyStyle(SPEC)
    else:
        model = api.build_model("stylegan", SPEC, stylegan_overrides())
    return api.Run(model.eval(), TrainConfig(), SPEC, Path(request.param))


@pytest.fixture
def dcgan() -> api.Run:
    spec = DataSpec(1, 16, 16)
    model = api.build_model("dcgan", spec, tiny_overrides("dcgan")).eval()
    return api.Run(model, TrainConfig(), spec, Path("dcgan"))


# ---- truncation -----------------------------------------------------------------------------------
def test_truncation_one_is_plain_sampling_and_psi_pulls_to_the_mean(run):
    plain = api.sample(run, 6, seed=3)
    assert np.array_equal(api.sample(run, 6, seed=3, truncation=1.0), plain)
    assert np.array_equal(api.sample(run, 6, seed=3, truncation=1.0, truncation_cutoff=None), plain)
    assert not np.array_equal(api.sample(run, 6, seed=3, truncation=0.0), plain)  # all from w_avg
    num_ws = run.model.num_ws
    assert api.sample(run, 2, truncation=0.5, truncation_cutoff=num_ws).shape == (2, 1, 16, 16)
    with pytest.raises(ConfigError, match=f"cutoff must be in 1..{num_ws}"):
        api.sample(run, 2, truncation=0.5, truncation_cutoff=num_ws + 1)


def test_truncation_refused_for_a_model_without_styles(dcgan):
    assert api.sample(dcgan, 2, truncation=1.0).shape == (2, 1, 16, 16)
    with pytest.raises(CapabilityError, match=r"truncation: model 'dcgan' cannot style_mix.*style-based"):
        api.sample(dcgan, 2, truncation=0.7)


# ---- style mixing ---------------------------------------------------------------------------------
def test_bands_follow_the_paper_from_64_and_split_evenly_below():
    res = lambda i: 2 ** (i // 2 + 2)  # noqa: E731
    big = {name: (idx, r) for name, idx, r in style_bands(18, res)}  # 1024x1024
    assert big["coarse"] == ([0, 1, 2, 3], [4, 8]) and big["middle"] == ([4, 5, 6, 7], [16, 32])
    assert big["fine"] == (list(range(8, 18)), [64, 128, 256, 512, 1024])
    assert [r for _, _, r in style_bands(8, res)] == [[4, 8], [16], [32]]  # 32x32
    assert [r for _, _, r in style_bands(6, res)] == [[4], [8], [16]]
    with pytest.raises(GennetError, match="at least 3 resolutions"):
        style_bands(4, res)


def test_style_mix_grid_takes_each_band_from_b(run):
    r = api.style_mix(run, rows=2, cols=3, seed=1, noise="none")
    assert len(r["rows"]) == 1 + 3 * 2 and all(row.shape == (4, 1, 16, 16) for row in r["rows"])
    assert r["names"][0] == "source B" and r["names"][1] == "coarse 4 A1" and r["names"][-1] == "fine 16 A2"
    assert r["bands"]["coarse"] == {"resolutions": [4], "span": "4", "styles": [0, 1]}
    assert r["mixed"]["middle"].shape == (2, 3, 1, 16, 16) and r["rows"][0][0].min() == 255  # blank corner
    model = run.model
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        ws = model.truncate(model.mapping(model.latent_prior(5, generator=g)))
        wa, wb = ws[:2], ws[2:]
        assert close(r["sources_b"], to_uint8(model.synthesize(wb, noise="none")))
        assert np.array_equal(r["rows"][0][1:], r["sources_b"])
        for name, band in r["bands"].items():
            styles = band["styles"]
            for i, j in ((0, 0), (0, 2), (1, 1)):
                mix = wa[i : i + 1].clone()
                mix[:, styles] = wb[j, styles]
                want = to_uint8(model.synthesize(mix, noise="none"))[0]
                assert close(r["mixed"][name][i, j], want), (name, i, j)
    assert [b["styles"] for b in r["bands"].values()] == [[0, 1], [2, 3], [4, 5]]
    first_coarse = r["rows"][1]
    assert np.array_equal(first_coarse[0], r["sources_a"][0])
    assert np.array_equal(first_coarse[1:], r["mixed"]["coarse"][0])


def test_style_mix_refused_for_a_model_without_styles(dcgan):
    with pytest.raises(CapabilityError, match="style mixing: model 'dcgan' cannot style_mix"):
        api.style_mix(dcgan)


# ---- interpolation in W ---------------------------------------------------------------------------
def test_interpolation_in_w_ends_at_the_mapped_codes(run):
    rows, names = api.interpolate(run, pairs=2, steps=5, seed=4, space="w")
    assert len(rows) == 2 and names == ["lerp W", "lerp W"] and rows[0].shape == (5, 1, 16, 16)
    model = run.model
    z = model.latent_prior(4, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        ends = to_uint8(model.synthesize(model.truncate(model.mapping(z)), noise="const"))
    for p in range(2):
        assert close(rows[p][0], ends[2 * p]) and close(rows[p][-1], ends[2 * p + 1])
    z_rows, z_names = api.interpolate(run, pairs=2, steps=5, seed=4)  # Z: lin + slerp a pair, as before
    assert z_names == ["lin", "slerp", "lin", "slerp"]
    with pytest.raises(ConfigError, match="not a Gaussian space"):
        api.interpolate(run, space="w", method="spherical")


def test_interpolation_in_w_refused_for_a_model_without_styles(dcgan):
    with pytest.raises(CapabilityError, match="interpolation in W: model 'dcgan' cannot style_mix"):
        api.interpolate(dcgan, space="w")


# ---- encode ---------------------------------------------------------------------------------------
def test_encode_says_a_generator_has_no_encoder(run, dcgan):
    for r in (run, dcgan):
        with pytest.raises(CapabilityError, match="cannot encode.*encoder.*projection"):
            api.encode(r, np.zeros((1, r.spec.channels, r.spec.height, r.spec.width), np.uint8))


def test_a_model_may_declare_why_it_cannot(run):
    run.model.cannot = {"encode": "Invert it with your own projector"}
    with pytest.raises(CapabilityError, match="cannot encode; it can: .*Invert it with your own projector$"):
        api.encode(run)


# ---- perceptual path length -----------------------------------------------------------------------
def _identity(codes, labels):
    return codes[:, None, None, :]  # (M, D) -> images (M, 1, 1, D), linear in the code


def _flat(images):
    return images.flatten(1)


def test_ppl_of_a_linear_generator_is_the_squared_step_in_w():
    direction = torch.tensor([0.3, -1.2, 2.0], dtype=torch.float64)  # ||d||^2 = 5.53

    def draw(n, g):
        a = torch.randn(n, 3, generator=g, dtype=torch.float64)
        return a, a + direction, None

    ppl = perceptual_path_length(_identity, _flat, draw, "w", n=300)
    assert ppl == pytest.approx(float(direction @ direction), rel=1e-6)


def test_ppl_in_z_walks_great_circles_of_radius_sqrt_d():
    def draw(n, g):  # quarter circles: every path turns by pi/2 on the sphere of radius sqrt(2)
        a = torch.tensor([[3.0, 0.0]], dtype=torch.float64).repeat(n, 1)
        return a, torch.tensor([[0.0, 0.5]], dtype=torch.float64).repeat(n, 1), None

    ppl = perceptual_path_length(_identity, _flat, draw, "z", n=200)
    assert ppl == pytest.approx(2 * (math.pi / 2) ** 2, rel=1e-5)


def test_ppl_of_a_constant_generator_is_zero():
    def draw(n, g):
        return torch.randn(n, 4, generator=g), torch.randn(n, 4, generator=g), None

    const = lambda codes, labels: torch.ones(len(codes), 1, 2, 2)  # noqa: E731
    for space in ("w", "z"):
        assert perceptual_path_length(const, _flat, draw, space, n=50) == 0.0


def test_filtered_mean_drops_what_lies_outside_the_1st_and_99th_percentiles():
    d = np.r_[np.full(5, -1e6), np.ones(990), np.full(5, 1e6)]  # 1000 values, 0.5% outliers a side
    assert filtered_mean(d) == 1.0 and filtered_mean(np.full(7, 2.5)) == 2.5
    assert filtered_mean(np.r_[np.ones(98), 50.0, 50.0]) == pytest.approx(1.98)  # 100 values: all kept


def test_path_distances_keep_the_pair_labels_on_both_ends():
    seen = []

    def gen(codes, labels):
        seen.append(labels.clone())
        return _identity(codes, labels)

    a, b = torch.zeros(3, 2), torch.ones(3, 2)
    path_distances(gen, _flat, a, b, torch.rand(3), "w", labels=torch.tensor([0, 1, 2]), batch_size=2)
    assert [s.tolist() for s in seen] == [[0, 1, 0, 1], [2, 2]]


def test_path_length_of_a_style_model_is_finite_and_reproducible(run):
    feats = lambda x: x.flatten(1)  # noqa: E731
    w = path_length(run, feats, "w", n=64, seed=0)
    assert math.isfinite(w) and w > 0 and w == path_length(run, feats, "w", n=64, seed=0)
    assert math.isfinite(path_length(run, feats, "z", n=64, seed=0))


# ---- the command line on a tiny trained StyleGAN --------------------------------------------------
@pytest.fixture(scope="module")
def stylegan_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("stylegan") / "run"
    return api.train("stylegan", out, data="synthetic-shapes", steps=4, batch_size=8, quiet=True,
                     log_every=2, **stylegan_overrides())  # fmt: skip


def test_cli_truncation_style_mix_w_paths_encode_and_ppl(stylegan_dir, tmp_path, capsys):
    def ok(*args) -> str:
        rc, out, err = run_cli(capsys, *args)
        assert rc == 0, err
        return out

    ok("sample", stylegan_dir, "-n", 4, "--truncation", 0.5, "-o", tmp_path / "s.npz")
    assert np.load(tmp_path / "s.npz")["images"].shape == (4, 1, 16, 16)
    out = ok("style-mix", stylegan_dir, "--rows", 2, "--cols", 3, "-o", tmp_path / "m.png")
    assert "coarse 4, middle 8, fine 16" in out and assert_png(tmp_path / "m.png")
    ok("style-mix", stylegan_dir, "--rows", 2, "--cols", 3, "-o", tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz") as z:
        assert z["coarse"].shape == (2, 3, 1, 16, 16) and z["sources_b"].shape == (3, 1, 16, 16)
    ok("interpolate", stylegan_dir, "--space", "w", "--pairs", 2, "-o", tmp_path / "i.npz")
    assert np.load(tmp_path / "i.npz")["images"].shape == (2, 10, 1, 16, 16)
    rc, _, err = run_cli(capsys, "encode", stylegan_dir, "-o", tmp_path / "e.npz")
    assert rc == 2 and "cannot encode" in err and "projection" in err
    json_path = tmp_path / "e.json"
    out = ok("evaluate", stylegan_dir, "--n", 40, "--ppl-samples", 40, "--no-floor", "--json", json_path)
    res = json.loads(json_path.read_text())
    assert math.isfinite(res["ppl_w"]) and math.isfinite(res["ppl_z"])
    assert res["protocol"]["ppl_samples"] == 40 and "not comparable" in res["protocol"]["ppl_note"]
    assert re.search(r"^ppl_w\s+\S+$", out, re.M)


def test_cli_style_mix_needs_a_run(capsys, tmp_path):
    rc, _, err = run_cli(capsys, "style-mix", tmp_path, "-o", tmp_path / "m.png")
    assert rc == 2 and "not a gennet run directory" in err
