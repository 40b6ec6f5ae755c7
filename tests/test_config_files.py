"""A --config file that is not UTF-8 text, or not shaped like a config, is a clear error naming it.

Binary files (a checkpoint passed as --config, an image, random bytes) and text in another encoding
(latin-1, UTF-16) are refused before anything is trained or written, with exit status 2.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from gennet.cli import main


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
