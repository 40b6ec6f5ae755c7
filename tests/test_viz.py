import json

import numpy as np
import pytest
import torch
from PIL import Image

from gennet.errors import ConfigError
from gennet.viz import (
    latent_scatter,
    loss_curves,
    make_grid,
    pca_2d,
    read_loss_series,
    save_grid,
    save_image_npz,
    save_rows,
    to_uint8,
)


def test_to_uint8_rounds_and_clamps():
    x = torch.tensor([0.0, 0.5, 1.0, 1.7, -0.2, 0.998, 0.002, float("nan")]).reshape(1, 1, 2, 4)
    out = to_uint8(x)
    assert out.dtype == np.uint8 and out.shape == (1, 1, 2, 4)
    assert out.ravel().tolist() == [0, 128, 255, 255, 0, 254, 1, 0]
    u = np.arange(12, dtype=np.uint8).reshape(1, 3, 2, 2)
    assert to_uint8(u) is u or np.array_equal(to_uint8(u), u)
    with pytest.raises(ConfigError):
        to_uint8(np.zeros((2, 28, 28), np.float32))


def test_grid_shape_arithmetic():
    imgs = torch.rand(10, 1, 28, 28)
    assert make_grid(imgs, nrow=5, padding=2).shape == (1, 62, 152)
    assert make_grid(imgs).shape == (1, 3 * 30 + 2, 4 * 30 + 2)  # nrow = ceil(sqrt(10)) = 4
    assert make_grid(torch.rand(3, 3, 8, 8), nrow=8, padding=0).shape == (3, 8, 24)  # nrow capped at N


def test_grid_pixel_placement():
    imgs = np.zeros((6, 3, 4, 5), np.uint8)
    imgs[4] = np.arange(60, dtype=np.uint8).reshape(3, 4, 5) + 1
    grid = make_grid(imgs, nrow=3, padding=2, pad_value=200)
    assert grid.shape == (3, 2 * 6 + 2, 3 * 7 + 2)
    # image 4 is row 1, column 1
    top, left = 2 + 1 * (4 + 2), 2 + 1 * (5 + 2)
    assert np.array_equal(grid[:, top : top + 4, left : left + 5], imgs[4])
    assert (grid[:, :2, :] == 200).all() and (grid[:, :, :2] == 200).all()
    assert (grid[:, 2:6, 2:7] == 0).all()


def test_save_grid_png_mode_and_size(tmp_path):
    p = save_grid(torch.rand(10, 1, 28, 28), tmp_path / "a" / "b" / "grey.png", nrow=5, upscale=2)
    with Image.open(p) as im:
        assert im.format == "PNG" and im.mode == "L" and im.size == (152 * 2, 62 * 2)
    p = save_grid(torch.rand(4, 3, 28, 28), tmp_path / "rgb.png", nrow=2)
    with Image.open(p) as im:
        assert im.mode == "RGB" and im.width >= 256
        assert im.width % 62 == 0 and im.height == im.width  # 2x2 grid, integer upscale


def test_save_grid_upscale_is_nearest_neighbour(tmp_path):
    imgs = np.random.default_rng(0).integers(0, 256, (1, 1, 3, 3), dtype=np.uint8)
    p = save_grid(imgs, tmp_path / "g.png", padding=0, upscale=4)
    arr = np.asarray(Image.open(p))
    assert arr.shape == (12, 12)
    assert np.array_equal(arr[::4, ::4], imgs[0, 0])
    with pytest.raises(ConfigError):
        save_grid(imgs, tmp_path / "h.png", upscale=0)


@pytest.mark.parametrize("labels", [None, ["original", "reconstruction"]])
def test_save_rows(tmp_path, labels):
    orig, recon = torch.rand(8, 1, 28, 28), torch.rand(8, 1, 28, 28)
    p = save_rows([orig, recon], tmp_path / "rows.png", labels=labels)
    with Image.open(p) as im:
        scale = im.height // 62
        assert im.height == 62 * scale and scale >= 1
        if labels is None:
            assert im.size == ((8 * 30 + 2) * scale, 62 * scale)
        else:  # a label margin at the left with some dark text in it
            assert im.width > (8 * 30 + 2) * scale
            margin = np.asarray(im)[:, : im.width - (8 * 30 + 2) * scale]
            assert margin.min() < 128


def test_save_rows_mixed_channels_and_errors(tmp_path):
    p = save_rows([torch.rand(3, 1, 8, 8), torch.rand(3, 3, 8, 8)], tmp_path / "mix.png", upscale=1)
    with Image.open(p) as im:
        assert im.mode == "RGB" and im.size == (3 * 10 + 2, 2 * 10 + 2)
    with pytest.raises(ConfigError):
        save_rows([torch.rand(3, 1, 8, 8), torch.rand(4, 1, 8, 8)], tmp_path / "bad.png")
    with pytest.raises(ConfigError):
        save_rows([torch.rand(3, 1, 8, 8)], tmp_path / "bad.png", labels=["a", "b"])


def test_save_image_npz(tmp_path):
    p = save_image_npz(tmp_path / "deep" / "samples.npz", images=torch.ones(2, 1, 4, 4), labels=np.arange(2))
    with np.load(p) as data:
        assert data["images"].shape == (2, 1, 4, 4)
        assert data["labels"].tolist() == [0, 1]


def _blobs(n=300, d=2, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    return rng.standard_normal((n, d)) + labels[:, None], labels


@pytest.mark.parametrize("d", [1, 2, 10])
def test_latent_scatter_writes_png(tmp_path, d):
    z, labels = _blobs(d=d)
    p = latent_scatter(z, labels, tmp_path / f"z{d}" / "scatter.png", title=f"D={d}")
    with Image.open(p) as im:
        assert im.format == "PNG" and im.width > 100
    p2 = latent_scatter(torch.from_numpy(z).float(), None, tmp_path / f"nolabels{d}.png")
    assert p2.exists()


def test_pca_2d_on_a_plane():
    rng = np.random.default_rng(1)
    basis = np.linalg.qr(rng.standard_normal((10, 2)))[0].T  # (2, 10) orthonormal rows
    coeffs = rng.standard_normal((200, 2)) * np.array([3.0, 1.0])
    z = coeffs @ basis + 5.0  # an offset plane in 10-D
    proj, ratio = pca_2d(z)
    assert proj.shape == (200, 2) and ratio.shape == (2,)
    assert ratio.sum() == pytest.approx(1.0, abs=1e-9)
    assert ratio[0] > ratio[1] > 0
    # projection keeps pairwise distances of the plane
    d_proj = np.linalg.norm(proj[:50, None] - proj[None, :50], axis=-1)
    d_orig = np.linalg.norm(z[:50, None] - z[None, :50], axis=-1)
    assert np.allclose(d_proj, d_orig)


def test_loss_curves(tmp_path):
    rows = [
        {"step": 0, "recon/loss": 0.9, "recon/kl": 30.0, "time": 1.0, "steps_per_s": 50},
        {"step": 100, "recon/loss": 0.5, "time": 2.0},
        {"step": 200, "recon/loss": 0.3, "recon/kl": 12.0, "gan/d_loss": 1.2, "gan/g_loss": 0.7},
        {"step": 300, "gan/d_loss": 1.1, "gan/g_loss": float("nan"), "note": "x/y"},
    ]
    path = tmp_path / "metrics.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + '\n{"step": 400, "recon/lo')
    series = read_loss_series(path)
    assert set(series) == {"recon", "gan"}
    assert series["recon"]["recon/kl"] == ([0, 200], [30.0, 12.0])
    assert series["gan"]["gan/g_loss"] == ([200], [0.7])
    out = loss_curves(path, tmp_path / "plots" / "loss.png")
    with Image.open(out) as im:
        assert im.format == "PNG" and im.height > im.width * 0.5  # two stacked subplots


def test_loss_curves_empty_file(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text(json.dumps({"step": 0, "time": 0.1}) + "\n")
    assert loss_curves(path, tmp_path / "loss.png").exists()
