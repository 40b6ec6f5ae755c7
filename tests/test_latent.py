import pytest
import torch

from gennet.errors import ConfigError
from gennet.latent import interpolation_path, lerp, slerp


def _pair(d=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(d, generator=g), torch.randn(d, generator=g)


@pytest.mark.parametrize("method", ["linear", "spherical"])
def test_endpoints_exact(method):
    z0, z1 = _pair()
    path = interpolation_path(z0, z1, 7, method)
    assert path.shape == (7, 8)
    assert torch.equal(path[0], z0)
    assert torch.equal(path[-1], z1)


def test_lerp_and_slerp_endpoints_from_t():
    z0, z1 = _pair()
    t = torch.tensor([0.0, 1.0])
    for fn in (lerp, slerp):
        out = fn(z0, z1, t)
        assert torch.allclose(out[0], z0, atol=1e-6)
        assert torch.allclose(out[1], z1, atol=1e-6)


def test_lerp_midpoint_is_mean():
    z0, z1 = _pair()
    out = lerp(z0, z1, torch.tensor([0.5]))
    assert out.shape == (1, 8)
    assert torch.allclose(out[0], (z0 + z1) / 2)


def test_slerp_keeps_norm_for_equal_norm_endpoints():
    z0, z1 = _pair(16)
    z0 = z0 / z0.norm() * 3.0
    z1 = z1 / z1.norm() * 3.0
    out = slerp(z0, z1, torch.linspace(0, 1, 11))
    assert torch.allclose(out.norm(dim=-1), torch.full((11,), 3.0), atol=1e-5)
    # and it is not the straight line, whose midpoint is shorter
    assert lerp(z0, z1, torch.tensor([0.5])).norm() < 3.0 - 1e-3


def test_slerp_orthogonal_known_value():
    z0, z1 = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    mid = slerp(z0, z1, torch.tensor([0.5]))[0]
    s = 2**-0.5
    assert torch.allclose(mid, torch.tensor([s, s]), atol=1e-6)


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_slerp_parallel_falls_back_to_lerp(sign):
    z0 = torch.tensor([1.0, 2.0, 3.0])
    z1 = sign * 2.0 * z0
    t = torch.linspace(0, 1, 5)
    out = slerp(z0, z1, t)
    assert torch.isfinite(out).all()
    assert torch.allclose(out, lerp(z0, z1, t))


def test_slerp_zero_vector_falls_back_to_lerp():
    z0, z1 = torch.zeros(4), torch.ones(4)
    t = torch.linspace(0, 1, 3)
    assert torch.allclose(slerp(z0, z1, t), lerp(z0, z1, t))


def test_batched_codes():
    g = torch.Generator().manual_seed(1)
    z0, z1 = torch.randn(3, 5, generator=g), torch.randn(3, 5, generator=g)
    z1[1] = 2 * z0[1]  # one parallel pair in the batch
    t = torch.linspace(0, 1, 4)
    out = slerp(z0, z1, t)
    assert out.shape == (4, 3, 5)
    for b in range(3):
        assert torch.allclose(out[:, b], slerp(z0[b], z1[b], t), atol=1e-6)
    assert torch.allclose(out[:, 1], lerp(z0[1], z1[1], t))
    assert interpolation_path(z0, z1, 6, "spherical").shape == (6, 3, 5)


def test_bad_arguments():
    z0, z1 = _pair()
    with pytest.raises(ConfigError):
        interpolation_path(z0, z1, 5, "cubic")
    with pytest.raises(ConfigError):
        interpolation_path(z0, z1, 1)
    with pytest.raises(ConfigError):
        interpolation_path(z0, z1[:4], 5)
