"""precision=auto (train/precision.py): bf16 autocast where the device does bf16 natively, fp32
elsewhere; the resolved value is what config.json records, so a resume uses the same."""

import json
import math

import pytest
import torch

from gennet import api
from gennet.train import precision as P
from gennet.train.checkpoint import load_weights
from tests.conftest import tiny_overrides

CPU = torch.device("cpu")
QUICK = {"data": "synthetic-shapes", "batch_size": 16, "quiet": True, "track": [], "sample_every": 1000}


def _cpu(monkeypatch, capability: str, flags: set[str]) -> None:
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: capability)
    monkeypatch.setattr(P, "_cpu_flags", lambda: flags)


@pytest.mark.parametrize(
    "capability, flags", [("AVX512", {"avx512f", "avx512_bf16"}), ("AVX512", {"amx_bf16"}), ("AMX", set())]
)
def test_auto_is_bf16_on_a_cpu_with_native_bf16(monkeypatch, capability, flags):
    _cpu(monkeypatch, capability, flags)
    assert P.resolve_precision("auto", CPU) == "bf16"


@pytest.mark.parametrize("capability", ["AVX2", "AVX512", "DEFAULT"])
def test_auto_is_fp32_without(monkeypatch, capability):
    _cpu(monkeypatch, capability, {"avx2", "avx512f"})
    assert P.resolve_precision("auto", CPU) == "fp32"


def test_auto_is_fp32_on_other_devices():
    assert P.resolve_precision("auto", torch.device("mps")) == "fp32"


def test_explicit_settings_stay(monkeypatch):
    _cpu(monkeypatch, "AMX", {"amx_bf16"})
    assert P.resolve_precision("fp32", CPU) == "fp32"
    _cpu(monkeypatch, "AVX2", set())
    assert P.resolve_precision("bf16", CPU) == "bf16"


def _train(out, name="vae", **kw):
    api.train(name, out, **{**QUICK, **tiny_overrides(name), "log_every": 1, "checkpoint_every": 2, **kw})
    return json.loads((out / "config.json").read_text())["train"]["precision"]


def test_config_json_records_the_resolved_precision_and_resume_keeps_it(monkeypatch, tmp_path):
    _cpu(monkeypatch, "AMX", {"amx_bf16"})
    assert _train(tmp_path / "r", steps=2) == "bf16"
    _cpu(monkeypatch, "AVX2", set())  # resumed on a machine without bf16: still the run's bf16
    assert _train(tmp_path / "r", steps=4, resume=True) == "bf16"
    assert _train(tmp_path / "f", steps=1) == "fp32"


def test_explicit_fp32_stays_fp32_on_a_bf16_cpu(monkeypatch, tmp_path):
    _cpu(monkeypatch, "AMX", {"amx_bf16"})
    assert _train(tmp_path / "r", steps=1, precision="fp32") == "fp32"


@pytest.mark.parametrize(
    "setting, precision, device, expected",
    [
        ("auto", "bf16", CPU, True),
        ("auto", "fp32", CPU, False),
        ("auto", "bf16", torch.device("cuda"), False),  # measured slower on an H200
        (True, "fp32", CPU, True),
        (False, "bf16", CPU, False),
    ],
)
def test_channels_last_auto_is_on_with_bf16_on_a_cpu(setting, precision, device, expected):
    assert P.resolve_channels_last(setting, precision, device) is expected


def test_channels_last_auto_follows_the_resolved_precision(monkeypatch):
    _cpu(monkeypatch, "AMX", {"amx_bf16"})
    assert P.resolve_channels_last("auto", "auto", CPU) is True
    _cpu(monkeypatch, "AVX2", set())
    assert P.resolve_channels_last("auto", "auto", CPU) is False


def test_config_json_records_the_resolved_memory_format(monkeypatch, tmp_path):
    _cpu(monkeypatch, "AMX", {"amx_bf16"})
    _train(tmp_path / "b", "dcgan", steps=1)
    _train(tmp_path / "f", "dcgan", steps=1, precision="fp32")
    _train(tmp_path / "x", "dcgan", steps=1, precision="fp32", channels_last=True)
    read = lambda d: json.loads((tmp_path / d / "config.json").read_text())["train"]["channels_last"]  # noqa: E731
    assert (read("b"), read("f"), read("x")) == (True, False, True)


def _finite_rows(out) -> list[dict]:
    rows = [json.loads(r) for r in (out / "metrics.jsonl").read_text().splitlines()]
    assert rows
    for r in rows:
        assert all(math.isfinite(v) for v in r.values() if isinstance(v, float)), r
    assert all(torch.isfinite(v).all() for v in load_weights(out / "model.safetensors").values())
    return rows


def test_gradient_penalty_is_finite_under_bf16(tmp_path):
    _train(tmp_path / "r", "wgan-gp", steps=3, precision="bf16")
    rows = _finite_rows(tmp_path / "r")
    assert any("gp" in k for r in rows for k in r), rows[0]


def test_stylegan_r1_is_finite_under_bf16(tmp_path):
    _train(tmp_path / "r", "stylegan", steps=3, precision="bf16", r1_every=1, r1_gamma=1.0)
    rows = _finite_rows(tmp_path / "r")
    assert any("r1" in k for r in rows for k in r), rows[0]


def test_exact_resume_under_bf16(tmp_path):
    _train(tmp_path / "a", steps=6, precision="bf16")
    _train(tmp_path / "b", steps=3, precision="bf16")
    _train(tmp_path / "b", steps=6, precision="bf16", resume=True)
    wa, wb = (
        load_weights(tmp_path / "a" / "model.safetensors"),
        load_weights(tmp_path / "b" / "model.safetensors"),
    )
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
