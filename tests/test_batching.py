"""nn/batching.py: several batches through one network in one call, only where that gives the values
of separate calls. Known answers here; tests/test_models.py checks every registered model's networks."""

import pytest
import torch
from torch import nn

from gennet.nn.batching import mixes_samples, stacked
from gennet.nn.stylegan_layers import MinibatchStdDev


class _Counting(nn.Module):
    """Adds y (when given) and counts its calls."""

    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner, self.calls = inner, 0

    def forward(self, x, y=None):
        self.calls += 1
        out = self.inner(x)
        return out if y is None else out + y.view(-1, *[1] * (out.dim() - 1))


def test_a_per_sample_network_takes_one_call_with_the_values_of_separate_calls():
    net = _Counting(nn.Sequential(nn.Conv2d(1, 4, 3), nn.InstanceNorm2d(4), nn.ReLU()))
    a, b, c = torch.randn(2, 1, 8, 8), torch.randn(3, 1, 8, 8), torch.randn(1, 1, 8, 8)
    out = stacked(net, a, b, c)
    assert net.calls == 1 and [len(o) for o in out] == [2, 3, 1]
    for got, x in zip(out, (a, b, c), strict=True):
        torch.testing.assert_close(got, net.inner(x))
    ya, yb = torch.randn(2), torch.randn(3)
    with_labels = stacked(net, (a, ya), (b, yb))
    torch.testing.assert_close(with_labels[1], net(b, yb))
    none_labels = stacked(net, (a, None), (b, None))  # an argument None in every call stays None
    torch.testing.assert_close(none_labels[0], net(a))


@pytest.mark.parametrize(
    "inner,mixes",
    [
        (nn.BatchNorm2d(1), True),  # training mode: the batch's statistics
        (nn.BatchNorm2d(1, track_running_stats=False).eval(), True),  # no running statistics: the batch's
        (nn.BatchNorm2d(1).eval(), False),  # running statistics: each sample on its own
        (MinibatchStdDev(2), True),  # says so: mixes_samples = True
        (nn.Sequential(nn.GroupNorm(1, 1), nn.LayerNorm(8)), False),
    ],
    ids=["bn-train", "bn-no-running-stats", "bn-eval", "minibatch-std", "group-and-layer-norm"],
)
def test_a_network_that_mixes_samples_is_called_once_per_batch(inner, mixes):
    net = _Counting(inner)
    assert mixes_samples(net) is mixes
    a, b = torch.randn(2, 1, 8, 8), torch.randn(2, 1, 8, 8) + 3
    out = stacked(net, a, b)
    assert net.calls == (2 if mixes else 1)
    torch.testing.assert_close(out[1], net(b))  # separate calls where stacking would change the values
