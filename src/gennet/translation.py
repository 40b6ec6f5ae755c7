"""The translation verbs (CycleGAN): translate images between a run's two domains, and measure
how well it does.

    out = translate(run, direction="AtoB", n=8)    # {"input", "translated", "cycled"}: uint8 (N, C, H, W)
    res = evaluate_translation(run)                 # FID/KID of translations, cycle L1/PSNR, class kept

Domain A is the run's `x` domain (trainA/testA, or the first domain of a built-in pair), B the other.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .api import Run, _float_images, _load_split, load
from .data import ImageData
from .errors import ConfigError, GennetError
from .eval import pixel_metrics as M
from .viz import save_rows, to_uint8

DIRECTIONS = ("AtoB", "BtoA")


def _as_run(run: Run | str | Path) -> Run:
    return run if isinstance(run, Run) else load(run)


def _check_direction(direction: str) -> str:
    if direction not in DIRECTIONS:
        raise ConfigError(f"direction must be AtoB or BtoA, got {direction!r}")
    return direction


def _domains(run: Run, split: str) -> tuple[ImageData, ImageData]:
    data = _load_split(run.config, split)
    if data.domain_b is None:
        raise GennetError(
            f"the data of {run.path} ({run.config.data!r}) has no second domain; translation needs an "
            "unpaired pair (a built-in pair or a folder with trainA/, trainB/, testA/, testB/)"
        )
    return data, data.domain_b


@torch.no_grad()
def _cycle(run: Run, x: torch.Tensor, direction: str, size: int = 250) -> tuple[torch.Tensor, torch.Tensor]:
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
    run = _as_run(run)
    run.model.require("translate")
    _check_direction(direction)
    if images is None:
        if n < 1:
            raise ConfigError(f"n must be >= 1, got {n}")
        a, b = _domains(run, "test")
        images = (a if direction == "AtoB" else b).images[:n]
    x = _float_images(run, images)
    t, r = _cycle(run, x, direction)
    return {"input": to_uint8(x.cpu()), "translated": to_uint8(t), "cycled": to_uint8(r)}


def read_inputs(run: Run | str | Path, path: str | os.PathLike) -> np.ndarray:
    """Images to translate from a file or folder, uint8 (N, C, H, W) at the run's shape.

    .png/.jpg/.jpeg: one image; a folder: every image in it (resized and centre-cropped to the
    run's size, converted to its channels); .npz: the array "images" (else the only array),
    (N, C, H, W) or (N, H, W) uint8, or float in [0, 1]."""
    from .data.folder import IMAGE_SUFFIXES, _build, list_images

    run = _as_run(run)
    p = Path(path).expanduser()
    spec = run.spec
    if not p.exists():
        raise GennetError(f"input {p} does not exist")
    if p.suffix.lower() == ".npz":
        with np.load(p) as z:
            keys = list(z.keys())
            if "images" not in keys and len(keys) != 1:
                raise GennetError(f"{p} holds arrays {keys}; name the one to translate 'images'")
            arr = np.asarray(z["images" if "images" in keys else keys[0]])
        if arr.ndim == 3:
            arr = arr[:, None]
        if arr.dtype != np.uint8:
            arr = to_uint8(torch.as_tensor(arr).float())
        return arr
    if p.is_dir():
        files = list_images(p)
    elif p.suffix.lower() in IMAGE_SUFFIXES:
        files = [p]
    else:
        raise GennetError(f"cannot read {p}: give a .png/.jpg/.jpeg image, a folder of them, or an .npz")
    if spec.height != spec.width:
        raise GennetError(f"this run's images are {spec.height}x{spec.width}; only square inputs are resized")
    data = _build(p, files, None, None, image_size=spec.height, channels=spec.channels, strict=False)
    return data.images.numpy()


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

    INPUT: a .png/.jpg, a folder of them, or an .npz (see `read_inputs`); none: the first `n`
    held-out images of the source domain. OUT ending in .npz: arrays input/translated/cycled;
    ending in .png: a grid with rows input / translation / cycle reconstruction; anything else:
    a folder with one PNG per translation (named after the input files where there are some)
    and grid.png. Returns what was written."""
    from PIL import Image

    from .viz import save_image_npz

    run = _as_run(run)
    images = None if inputs is None else read_inputs(run, inputs)
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
        Image.fromarray(arr).save(out / f"{name}_{direction}.png")
    save_translation(res, out / "grid.png")
    return out


def _list_inputs(p: Path) -> list[Path]:
    from .data.folder import list_images

    return list_images(p) if p.is_dir() else [p]


# ---- evaluation ---------------------------------------------------------------------------------
def _view(images: np.ndarray, domain: str, pair, fid: bool = False) -> np.ndarray:
    """What the feature network is shown of domain-B images: the pair's `view_b` (inverted digits
    inverted back, thick strokes eroded) for classification, and for FID/KID where the pair says."""
    if pair is None or pair.view_b is None or domain != "B" or (fid and not pair.view_b_for_fid):
        return images
    return pair.view_b(images)


def _class_scores(extractor, pair, out: dict, src: ImageData, trans: np.ndarray, tag: str, dom: str) -> None:
    """class_kept_<tag> (digits: the translation keeps its input's label) or target_class_<tag>."""
    if pair is None or pair.class_rule == "none":
        return
    _, probs = extractor(_view(trans, dom, pair))
    pred = probs.argmax(1)
    if pair.class_rule == "keep" and src.labels is not None:
        out[f"class_kept_{tag}"] = float((pred == src.labels.numpy()).mean())
        if dom == "B" and pair.view_b is not None:
            _, raw = extractor(trans)
            out[f"class_kept_{tag}_raw"] = float((raw.argmax(1) == src.labels.numpy()).mean())
    elif pair.class_rule == "target" and pair.target_class is not None:
        want = pair.target_class[1] if dom == "B" else pair.target_class[0]
        out[f"target_class_{tag}"] = float((pred == want).mean())


def evaluate_translation(
    run: Run | str | Path, n: int | None = None, seed: int = 0, floor: bool = True
) -> dict[str, Any]:
    """Translation metrics on the held-out split, both directions (n images per domain, default all):

    - fid_AtoB / kid_AtoB: translations G(a) against the held-out B images, in the shipped feature
      network's space (fid_BtoA / kid_BtoA likewise against A); "baseline" holds the same for the
      untranslated inputs (how far apart the domains start), "floor" real training images of the
      target domain against the same reference (what real data scores);
    - cycle_l1_A / cycle_psnr_A: |F(G(a)) - a| mean and PSNR (dB) in [0, 1] pixels (B: G(F(b)));
    - class_kept_AtoB / _BtoA (digit pairs): share of translations the feature network classes as
      their input's digit, beside class_acc_real_A / _B, its accuracy on real images of each domain;
      target_class_AtoB / _BtoA (sneakers <-> boots): share classed as the target domain's class.
    """
    from .data.unpaired import pair_info
    from .eval.features import extractor_for
    from .eval.scoring import Scorer

    run = _as_run(run)
    run.model.require("translate")
    if n is not None and n < 2:
        raise ConfigError(f"n must be >= 2 for FID/KID, got {n}")
    test = dict(zip("AB", _domains(run, "test"), strict=True))
    if n is not None:
        test = {k: v.subset(slice(0, min(n, len(v)))) for k, v in test.items()}
    pair = pair_info(run.config.data)
    extractor, reason = extractor_for(pair.features if pair and pair.features else run.config.data)
    torch.manual_seed(seed)
    out: dict[str, Any] = {"model": run.model.name}
    floors: dict[str, float] = {}
    baseline: dict[str, float] = {}
    train = dict(zip("AB", _domains(run, "train"), strict=True)) if floor else None
    for src, dst, tag in (("A", "B", "AtoB"), ("B", "A", "BtoA")):
        x = _float_images(run, test[src].images)
        t, r = _cycle(run, x, tag)
        xc = x.cpu()
        out[f"cycle_l1_{src}"] = float((r - xc).abs().mean())
        out[f"cycle_psnr_{src}"] = M.psnr(r, xc)
        trans = to_uint8(t)
        reference = _view(test[dst].images.numpy(), dst, pair, fid=True)
        train_imgs = _view(train[dst].images.numpy(), dst, pair, fid=True) if train is not None else None
        scorer = Scorer(extractor, reference, train_imgs, seed=seed)
        res = scorer.score(_view(trans, dst, pair, fid=True), ["fid", "kid"])
        out[f"fid_{tag}"], out[f"kid_{tag}"] = res["fid"], res["kid"]
        base = scorer.score(_view(test[src].images.numpy(), dst, pair, fid=True), ["fid", "kid"])
        baseline[f"fid_{tag}"], baseline[f"kid_{tag}"] = base["fid"], base["kid"]
        if floor:
            fl = scorer.floor(len(trans), ["fid", "kid"])
            floors[f"fid_{tag}"], floors[f"kid_{tag}"] = fl["fid"], fl["kid"]
        _class_scores(extractor, pair, out, test[src], trans, tag, dst)
    if pair is not None and pair.class_rule == "keep":
        for dom in "AB":
            _, probs = extractor(_view(test[dom].images.numpy(), dom, pair))
            out[f"class_acc_real_{dom}"] = float((probs.argmax(1) == test[dom].labels.numpy()).mean())
            if dom == "B" and pair.view_b is not None:
                _, raw = extractor(test[dom].images.numpy())
                out["class_acc_real_B_raw"] = float((raw.argmax(1) == test[dom].labels.numpy()).mean())
    out["protocol"] = {
        "dataset": run.config.data,
        "split": "test",
        "images": {k: len(v) for k, v in test.items()},
        "seed": seed,
        **extractor.protocol(),
        "extractor_reason": reason,
        "fid_kid": "translations against the held-out images of the target domain",
        "cycle": "F(G(a)) vs a (A) and G(F(b)) vs b (B); L1 mean and per-image PSNR (dB, capped at 100) "
        "of pixels in [0, 1]",
        "baseline": "the untranslated inputs scored against the target domain",
        **(
            {"floor": "real training images of the target domain, same count, same reference"}
            if floor
            else {}
        ),
        **({"class_rule": pair.class_rule} if pair is not None else {}),
        **(
            {
                "feature_view": f"domain-B images are mapped by {pair.view_b.__name__} before classification"
                + (" and FID/KID" if pair.view_b_for_fid else "")
                + "; class_kept_*_raw classify them as they are"
            }
            if pair is not None and pair.view_b is not None
            else {}
        ),
    }
    out["baseline"] = baseline
    if floor:
        out["floor"] = floors
    return out
