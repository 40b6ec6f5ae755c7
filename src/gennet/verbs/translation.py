"""Translation verbs (CycleGAN): translate images between a run's two domains.

    out = translate(run, direction="AtoB", n=8)    # {"input", "translated", "cycled"}: uint8 (N, C, H, W)

Domain A is the run's `x` domain (trainA/testA, or the first domain of a built-in pair), B the other.

Layer: imports `runs`, `io` and the layers below; imported by `api` and `eval/protocol.py`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..atomic import write_with
from ..data import ImageData, UnpairedData
from ..data.listing import list_images
from ..errors import ConfigError, GennetError
from ..io import read_images
from ..runs import Run, as_run, float_images, load_split
from ..validation import check_count
from ..viz import save_image_npz, save_rows, to_uint8

DIRECTIONS = ("AtoB", "BtoA")


def _check_direction(direction: str) -> str:
    if direction not in DIRECTIONS:
        raise ConfigError(f"direction must be AtoB or BtoA, got {direction!r}")
    return direction


def domains(run: Run, split: str) -> tuple[ImageData, ImageData]:
    data = load_split(run.config, split)
    if not isinstance(data, UnpairedData):
        raise GennetError(
            f"the data of {run.path} ({run.config.data!r}) has no second domain; translation needs an "
            "unpaired pair (a built-in pair or a folder with trainA/, trainB/, testA/, testB/)"
        )
    return data.a, data.b


@torch.no_grad()
def cycle_images(
    run: Run, x: torch.Tensor, direction: str, size: int = 250
) -> tuple[torch.Tensor, torch.Tensor]:
    """x float [0, 1] on the model's device -> (translations, cycle reconstructions), float on the CPU."""
    run.model.eval()
    ts, rs = [], []
    for i in range(0, len(x), size):
        t, r = run.model.cycle(x[i : i + size], direction)
        ts.append(t.float().cpu())
        rs.append(r.float().cpu())
    return torch.cat(ts), torch.cat(rs)


def translate(
    run: Run | str | Path, images=None, direction: str = "AtoB", n: int = 8
) -> dict[str, np.ndarray]:
    """Translate `images` (uint8 or float [0, 1], (N, C, H, W) of the run's image shape) from the
    source domain of `direction`; with none, the first `n` held-out images of that domain.

    Returns {"input", "translated", "cycled"}: uint8 (N, C, H, W) each; "cycled" is the image
    translated back (F(G(x)) for AtoB), the cycle reconstruction."""
    run = as_run(run)
    run.model.require("translate")
    _check_direction(direction)
    if images is None:
        n = check_count("n", n)
        a, b = domains(run, "test")
        images = (a if direction == "AtoB" else b).images[:n]
    x = float_images(run, images)
    t, r = cycle_images(run, x, direction)
    return {"input": to_uint8(x.cpu()), "translated": to_uint8(t), "cycled": to_uint8(r)}


def save_translation(result: dict[str, np.ndarray], path: str | os.PathLike) -> Path:
    """A grid with the rows input / translation / cycle reconstruction (a PNG)."""
    rows = [result["input"], result["translated"], result["cycled"]]
    return save_rows(rows, path, labels=["input", "translated", "cycled"])


def translate_to(
    run: Run | str | Path,
    out: str | os.PathLike,
    inputs: str | os.PathLike | None = None,
    direction: str = "AtoB",
    n: int = 8,
) -> Path:
    """`gennet translate RUN_DIR [-i INPUT] -o OUT [--direction D]` in one call.

    INPUT: a .png/.jpg, a folder of them, or an .npz (see `gennet.io.read_images`); none: the first `n`
    held-out images of the source domain. OUT ending in .npz: arrays input/translated/cycled;
    ending in .png: a grid with rows input / translation / cycle reconstruction; anything else:
    a folder with one PNG per translation (named after the input files where there are some)
    and grid.png. Returns what was written."""
    run = as_run(run)
    images = None if inputs is None else read_images(inputs, run.spec)
    res = translate(run, images=images, direction=direction, n=n)
    out = Path(out)
    if out.suffix.lower() == ".npz":
        return save_image_npz(out, **res, direction=np.array(direction))
    if out.suffix.lower() == ".png":
        return save_translation(res, out)
    out.mkdir(parents=True, exist_ok=True)
    src = Path(inputs) if inputs is not None else None
    names = [f.stem for f in _list_inputs(src)] if src is not None and src.suffix.lower() != ".npz" else []
    if len(names) != len(res["translated"]):
        names = [f"{i:04d}" for i in range(len(res["translated"]))]
    for name, img in zip(names, res["translated"], strict=True):
        arr = img[0] if img.shape[0] == 1 else img.transpose(1, 2, 0)
        write_with(out / f"{name}_{direction}.png", lambda f, a=arr: Image.fromarray(a).save(f, format="PNG"))
    save_translation(res, out / "grid.png")
    return out


def _list_inputs(p: Path) -> list[Path]:
    return list_images(p) if p.is_dir() else [p]
