"""Generation verbs: sample, interpolate, walk (between two seeds), latent arithmetic. Images come
back uint8 (N, C, H, W).

Layer: imports `runs` (Run, held-out data), the model layer below it and `verbs.style`/`verbs.capability`;
imported by `api` and `eval/protocol.py`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import ConfigError, GennetError
from ..eval.features import SHIPPED, load_extractor
from ..latent import interpolation_path
from ..models.labels import class_index
from ..runs import Run, as_run, batched, float_images, heldout
from ..validation import check_count, check_fits
from ..viz import to_uint8
from .capability import require
from .style import truncation_kwargs, w_path_images

SAMPLE_BATCH = 1000  # images decoded at a time by `sample`


def sample(
    run: Run | str | Path,
    n: int,
    seed: int = 0,
    labels=None,
    truncation: float = 1.0,
    truncation_cutoff: int | None = None,
) -> np.ndarray:
    """n images from the model, uint8 (n, C, H, W); the same seed gives the same images.

    truncation: psi of the truncation trick, w_avg + psi (w - w_avg) on the first `truncation_cutoff`
    style inputs (all when None); 1 (the default) is off. Style models only (capability style_mix)."""
    run = as_run(run)
    n = check_count("n", n)
    run.model.require("sample")
    if labels is not None:
        run.model.require("conditional")
    check_fits("n", n, (run.spec.channels, run.spec.height, run.spec.width))
    kwargs = truncation_kwargs(run.model, truncation, truncation_cutoff)
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    per_image = _one_per_image(labels, n)
    parts = []
    with torch.no_grad():  # in batches: only the uint8 result grows with n
        for i in range(0, n, SAMPLE_BATCH):
            m = min(SAMPLE_BATCH, n - i)
            y = labels[i : i + m] if per_image else labels
            parts.append(to_uint8(run.model.sample(m, labels=y, generator=g, **kwargs).cpu()))
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _one_per_image(labels, n: int) -> bool:
    """Whether `labels` holds one label per image (to be split with the batches)."""
    try:
        return not isinstance(labels, str) and len(labels) == n
    except TypeError:  # None, an int, a 0-d tensor
        return False


def interpolate(
    run: Run | str | Path,
    pairs: int = 4,
    steps: int = 10,
    method: str = "both",
    seed: int = 0,
    between: str = "auto",
    space: str = "z",
) -> tuple[list[np.ndarray], list[str]]:
    """Rows of images walking between two codes. between: "random" (codes from the prior), "real"
    (codes of held-out images; needs an encoder) or "auto" (random if the model samples, else real).
    method: linear, spherical or both (a row of each). Conditional models keep one label a row.

    space "w" (style models): a straight line between the mapped codes w = mapping(z) of random z,
    synthesized without truncation and with fixed noise (the paper's PPL walks W by lerp, Z by slerp);
    one linear row a pair, whatever `method` says unless it asks for spherical alone."""
    run = as_run(run)
    model = run.model
    pairs, steps = (
        check_count("pairs", pairs, maximum=1000),
        check_count("steps", steps, minimum=2, maximum=1000),
    )
    model.require("interpolate")
    between = _check_interpolation(model, between, space, method)
    check_fits("pairs x steps", 2 * pairs * steps, (run.spec.channels, run.spec.height, run.spec.width))
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)  # a generator's own noise (StyleGAN's, in Z) repeats with the seed
    if between == "random":
        model.require("sample")
        z = model.latent_prior(2 * pairs, generator=g)
    else:
        require(model, "encode", "interpolation between real images")
        data = heldout(run)
        idx = torch.randperm(len(data), generator=g)[: 2 * pairs]
        z = batched(model.encode, float_images(run, data.images[idx]))
    conditional = model.can("conditional")
    row_labels = torch.randint(0, run.spec.num_classes or 1, (pairs,), generator=g) if conditional else None
    methods = ["linear"] if space == "w" else ["linear", "spherical"] if method == "both" else [method]
    rows, names = [], []
    with torch.no_grad():
        for p in range(pairs):
            y = None if row_labels is None else row_labels[p].to(z.device)
            for m in methods:
                if space == "w":
                    ends = z[2 * p : 2 * p + 2]
                    out, tag = w_path_images(model, ends, steps, None if y is None else y.repeat(2)), "lerp W"
                else:
                    path = interpolation_path(z[2 * p], z[2 * p + 1], steps, m)
                    tag = m[:3] if m == "linear" else "slerp"
                    out = model.decode(path) if y is None else model.decode(path, labels=y)
                rows.append(to_uint8(out.cpu()))
                names.append(tag if y is None else f"{tag} y={int(y)}")
    return rows, names


def walk(
    run: Run | str | Path,
    seed_a: int,
    seed_b: int,
    steps: int = 8,
    method: str | None = None,
    label: int | None = None,
    between: str = "auto",
) -> np.ndarray:
    """Images on the path between two codes, uint8 (steps, C, H, W), both ends included.

    between "random": the prior codes that `seed_a` and `seed_b` draw; each end is the image
    `sample(run, 1, seed=...)` gives (a style model's noise inputs aside: along the path they follow
    `seed_a`). "real": the codes of held-out images number `seed_a` and `seed_b` (needs an encoder).
    "auto": random when the model samples. method: linear or spherical (default: spherical between
    prior codes, linear between real ones). A conditional model draws the whole path as class
    `label` (class 0 when None, as `sample` draws its first image)."""
    run = as_run(run)
    model = run.model
    steps = check_count("steps", steps, minimum=2, maximum=1000)
    model.require("interpolate")
    between = _check_interpolation(model, between, "z", method or "linear")
    if label is not None:
        require(model, "conditional", "a class label")
    check_fits("steps", steps, (run.spec.channels, run.spec.height, run.spec.width))
    if between == "real":
        ends = _heldout_codes(run, (seed_a, seed_b))
    else:
        model.require("sample")
        ends = torch.cat(
            [model.latent_prior(1, generator=torch.Generator().manual_seed(s)) for s in (seed_a, seed_b)]
        )
    method = method or ("spherical" if between == "random" else "linear")
    path = interpolation_path(ends[0], ends[1], steps, method)
    torch.manual_seed(seed_a)
    with torch.no_grad():
        out = _decode(model, path, label or 0)
    return to_uint8(out.cpu())


def _heldout_codes(run: Run, numbers: tuple[int, ...]) -> torch.Tensor:
    """The encoder's codes of held-out images by their number in the split: (len(numbers), D)."""
    require(run.model, "encode", "a walk between real images")
    data = heldout(run)
    for i in numbers:
        if not 0 <= i < len(data):
            raise ConfigError(
                f"there is no held-out image {i}: the split has {len(data)} (0..{len(data) - 1})"
            )
    return batched(run.model.encode, float_images(run, data.images[list(numbers)]))


def _check_interpolation(model, between: str, space: str, method: str) -> str:
    """Validate interpolate's options; returns `between` with "auto" resolved."""
    if between not in ("auto", "random", "real"):
        raise ConfigError(f"between must be auto, random or real; got {between!r}")
    if space not in ("z", "w"):
        raise ConfigError(f"space must be z or w; got {space!r}")
    if between == "auto":
        between = "random" if model.can("sample") else "real"
    if space == "w":
        require(model, "style_mix", "interpolation in W")
        if between == "real":
            raise ConfigError("interpolation in W starts from random codes (no encoder maps images to W)")
        if method == "spherical":
            raise ConfigError("W is not a Gaussian space: interpolate there linearly (method linear or both)")
    return between


def _codes_by_class(run: Run, wanted: list[int], search: int, g: torch.Generator, min_prob: float):
    """Latent codes (and their labels) grouped by class: from the encoder on held-out images when the
    model has one, else from a labelled sample search (samples classified by the feature network)."""
    model = run.model
    if model.can("encode"):
        data = heldout(run)
        if data.labels is None:
            raise GennetError("latent arithmetic needs labelled held-out images")
        z = batched(model.encode, float_images(run, data.images))
        groups = {c: z[(data.labels == c).to(z.device)] for c in wanted}
        return groups, f"encoder codes of the held-out {run.config.data} images, grouped by their labels"
    if run.config.data not in SHIPPED:
        raise GennetError(
            f"{model.name!r} has no encoder, so codes are found by classifying samples, and no feature "
            f"network was trained on {run.config.data!r} (shipped: {', '.join(SHIPPED)})"
        )
    extractor = load_extractor(run.config.data)
    z = model.latent_prior(search, generator=g)
    labels = None
    if model.can("conditional"):
        labels = torch.randint(0, run.spec.num_classes, (search,), generator=g).to(z.device)
    parts = []
    for i in range(0, search, 500):
        zi = z[i : i + 500]
        parts.append(model.decode(zi) if labels is None else model.decode(zi, labels=labels[i : i + 500]))
    images = torch.cat(parts)
    _, probs = extractor(images.cpu())
    probs_t = torch.as_tensor(probs)
    conf, pred = probs_t.max(1)
    groups = {c: z[((pred == c) & (conf >= min_prob)).to(z.device)] for c in wanted}
    return groups, (
        f"{search} prior samples classified by the shipped {run.config.data} network "
        f"(kept when p >= {min_prob})"
    )


def _class_means(groups: dict, classes: list[str], source: str) -> dict:
    for cls, codes in groups.items():
        if len(codes) < 1:
            raise GennetError(
                f"found no codes of class {classes[cls]!r} ({source}); raise search or lower min_prob"
            )
    return {cls: codes.mean(0) for cls, codes in groups.items()}


def _decode(model, z: torch.Tensor, cls: int) -> torch.Tensor:
    """Decode codes; a conditional model decodes them as class `cls`."""
    return model.decode(z, labels=cls) if model.can("conditional") else model.decode(z)


def arithmetic(
    run: Run | str | Path,
    terms=None,
    per_class: int = 3,
    seed: int = 0,
    search: int = 5000,
    noise: float = 0.25,
    min_prob: float = 0.9,
) -> dict[str, Any]:
    """Latent vector arithmetic over class-mean codes, the DCGAN paper's demonstration:
    mean z(a) - mean z(b) + mean z(c), decoded, with `per_class` copies perturbed by U(-noise, noise).

    Returns rows (uint8 arrays): per term `per_class` exemplar codes decoded and their class mean
    decoded; then the result and its perturbed copies; plus what the shipped classifier (where
    there is one) makes of the result images."""
    run = as_run(run)
    model = run.model
    per_class, search = check_count("per_class", per_class, maximum=1000), check_count("search", search)
    check_fits("search", search, (run.spec.channels, run.spec.height, run.spec.width), itemsize=4)
    model.require("decode")
    classes = run.classes
    if not classes:
        raise GennetError("latent arithmetic needs labelled data (this run's data has no classes)")
    terms = list(terms) if terms is not None else classes[:3]
    if len(terms) != 3:
        raise GennetError(f"give three classes a, b, c for a - b + c; got {terms}")
    a, b, c = (class_index(t, classes) for t in terms)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        groups, source = _codes_by_class(run, sorted({a, b, c}), search, g, min_prob)
        means = _class_means(groups, classes, source)
        result = means[a] - means[b] + means[c]
        jitter = (torch.rand(per_class, result.numel(), generator=g) * 2 - 1).to(result.device) * noise
        rows, names = [], []
        for role, cls in zip("abc", (a, b, c), strict=True):
            codes = torch.cat([groups[cls][:per_class], means[cls][None]])
            rows.append(to_uint8(_decode(model, codes, cls).cpu()))
            names.append(f"{role}: {classes[cls]}")
        result_images = _decode(model, torch.cat([result[None], result[None] + jitter]), c)
        rows.append(to_uint8(result_images.cpu()))
        names.append(f"{classes[a]}-{classes[b]}+{classes[c]}")
    out = {
        "rows": rows,
        "names": names,
        "terms": [classes[a], classes[b], classes[c]],
        "source": source,
        "codes_per_class": {classes[k]: len(v) for k, v in groups.items()},
    }
    if run.config.data in SHIPPED:
        _, probs = load_extractor(run.config.data)(result_images.cpu())
        out["result_classified_as"] = [classes[i] for i in probs.argmax(1)]
    return out
