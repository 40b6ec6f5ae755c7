"""A --config file that is not UTF-8 text, or not shaped like a config, is a clear error naming it.

Binary files (a checkpoint passed as --config, an image, random bytes) and text in another encoding
(latin-1, UTF-16) are refused before anything is trained or written, with exit status 2.
"""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from gennet.api import build_model, resolve_config
from gennet.cli import main
from gennet.data import load_dataset


def _png() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def _checkpoint() -> bytes:
    buf = io.BytesIO()
    torch.save({"step": 3, "model": {"w": torch.zeros(4)}}, buf)
    return buf.getvalue()


NOT_TEXT = {
    "random-bytes": bytes(range(128, 256)) * 4,
    "latin-1": "train:\n  data: caf\xe9\n".encode("latin-1"),
    "utf-16": "steps: 5\n".encode("utf-16"),
    "png": _png(),
    "checkpoint": _checkpoint(),
}
BAD_SHAPE = {
    "model_args-a-number": ("model_args: 5\n", "'model_args' must be a mapping"),
    "model-a-list": ("train: {steps: 5}\nmodel: [1, 2]\n", "'model' must be a mapping"),
    "a-list": ("- steps\n- 5\n", "must hold a mapping"),
}


def _refused(capsys, tmp_path, content: bytes, *needles: str) -> None:
    cfg = tmp_path / "my-config.yaml"
    cfg.write_bytes(content)
    out = tmp_path / "run"
    capsys.readouterr()
    rc = main(["train", "vae", "--config", str(cfg), "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert err.startswith("gennet: error:") and "Traceback" not in err, err
    for needle in (str(cfg), *needles):
        assert needle in err, f"{needle!r} not in {err!r}"
    assert not out.exists()


@pytest.mark.parametrize("kind", NOT_TEXT)
def test_a_config_that_is_not_utf8_text_is_refused(capsys, tmp_path, kind):
    _refused(capsys, tmp_path, NOT_TEXT[kind], "not UTF-8 text")


@pytest.mark.parametrize("kind", BAD_SHAPE)
def test_a_config_of_the_wrong_shape_is_refused(capsys, tmp_path, kind):
    text, needle = BAD_SHAPE[kind]
    _refused(capsys, tmp_path, text.encode(), needle)


SHIPPED = sorted((Path(__file__).resolve().parents[1] / "configs").glob("*.yaml"))


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_every_shipped_config_resolves_and_builds_its_model(path):
    """A config in configs/ that names a setting that no longer exists, or a value out of its range,
    would fail a user at the first command of the README: each one resolves and builds its model on
    the data it names, and the file's settings are the ones that take effect."""
    raw = yaml.safe_load(path.read_text())
    tcfg, mcfg = resolve_config(config_file=str(path))
    data = load_dataset(tcfg.data, split="test")
    model = build_model(tcfg.model, data.spec, dataclasses.asdict(mcfg))
    assert model.cfg == mcfg
    for key, value in raw.get("model", {}).items():
        assert getattr(mcfg, key) == (tuple(value) if isinstance(value, list) else value), key
    for key, value in raw.get("train", {}).items():
        assert getattr(tcfg, key) == value, key
