"""Class labels as users write them: "3", "3,3,4" or class names -> class indices.

The one place that reads a label from text; the CLI (`--labels`, `--terms`) and the verbs
(`api.arithmetic`) use it; `label_tensor` validates the labels a conditional model is given.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..errors import GennetError
from ..nn.tracing import recording


def class_index(term: str | int, classes: Sequence[str]) -> int:
    """A class given by name ("sneaker") or by index ("3", 3) -> its index in `classes`.

    A name wins over an index: with classes ["1", "0"], "0" is index 1."""
    text = str(term).strip()
    if text in classes:
        return list(classes).index(text)
    if text.lstrip("-").isdigit() and 0 <= int(text) < len(classes):
        return int(text)
    raise GennetError(
        f"unknown class {text!r}; the classes are {', '.join(classes)} (or 0..{len(classes) - 1})"
    )


def class_names(names: Sequence[str] | None, num_classes: int) -> list[str]:
    """The names of a model's classes: `names` where the data has them, else "0".."K-1"."""
    return list(names) if names else [str(i) for i in range(int(num_classes))]


def parse_labels(
    text: str | None, n: int, classes: Sequence[str] | None, model: str | None = None
) -> list[int] | None:
    """`--labels` text -> the class index of each of `n` images.

    text: one label ("3", "sneaker"), repeated for every image, or `n` comma-separated labels,
    one per image; each by index or name (see `class_index`).
    classes: the class names of a conditional model; None: the model is not conditional (then
    any text is an error naming `model`).
    text None: None for a model that is not conditional, else 0, 1, ..., K-1, 0, 1, ... so that
    each image still says which class it is."""
    if classes is None:
        if text is not None:
            raise GennetError(f"model {model or '?'!r} is not conditional; it takes no --labels")
        return None
    if text is None:
        return [i % len(classes) for i in range(n)]
    vals = [class_index(v, classes) for v in text.split(",") if v.strip()]
    if len(vals) not in (1, n):
        raise GennetError(f"--labels: give one label or {n} (one per image); got {len(vals)}")
    return vals * n if len(vals) == 1 else vals


def label_tensor(labels, n: int, num_classes: int, model: str, device=None) -> torch.Tensor | None:
    """Labels for n samples of a model with `num_classes` classes (0: not conditional), validated:
    None -> 0, 1, ..., K-1, 0, 1, ... for a conditional model; one label -> repeated; else one each."""
    if not num_classes:
        if labels is not None:
            raise GennetError(f"model {model!r} is not conditional; it takes no labels")
        return None
    if labels is None:
        return torch.arange(n, device=device) % num_classes
    y = torch.as_tensor(labels, dtype=torch.long).flatten().to(device)
    if y.numel() == 1:
        y = y.expand(n)
    if y.numel() != n:
        raise GennetError(f"got {y.numel()} labels for {n} samples; give one label or one per sample")
    if not recording() and (int(y.min()) < 0 or int(y.max()) >= num_classes):  # eager only: see nn/tracing
        raise GennetError(f"labels must be in 0..{num_classes - 1}; got {sorted(set(y.tolist()))}")
    return y
