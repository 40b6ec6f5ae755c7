"""The image size of a run on a folder of pictures, when the user gives none.

Real photo folders rarely share one size. When the pictures of a folder differ in size (or share
one the model's networks cannot take), the size is chosen here:

    size = round_for_model(min(declared, median shorter side))

- `declared`: the square side the model is made for (`register_model(image_size=...)`: CycleGAN
  256 and DCGAN 64 from their papers, StyleGAN 256, the MLP models 28);
- the median of the pictures' shorter sides caps it, so at least half of them are only ever
  shrunk (the loader skips those that would be enlarged more than twice);
- `round_for_model`: the largest side at most that which the networks take
  (`GenerativeModel.image_side`: a power of two for StyleGAN, a multiple of 2^n_down for
  CycleGAN's ResNet, 4-7 x 2^k for DCGAN, any side for an MLP).

A folder whose pictures share one size the model takes trains at that size, as before. An
explicit `image_size` (`--set image_size=N`) always wins; a registered dataset is left alone.

Layer: above `config`, `data` and `registry`; `runs` uses it.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from .config import TrainConfig
from .data import Listing, folder_listing
from .registry import model_entry


@dataclass(frozen=True)
class SizeChoice:
    """The chosen square side (None: the pictures' own size) and a sentence saying why."""

    size: int | None
    message: str


def choose_image_size(tcfg: TrainConfig, model_cfg, listing: Listing | None = None) -> SizeChoice | None:
    """The image size for training `tcfg.model` on the folder `tcfg.data`; None when there is
    nothing to choose (an explicit image_size, a registered dataset, no readable picture).
    `listing`: the folder's (`data.folder_listing`) when the caller has one; its headers are read here."""
    if tcfg.image_size is not None:
        return None
    listing = listing if listing is not None else folder_listing(tcfg.data)
    sizes = listing.sizes() if listing is not None else None
    if not sizes:
        return None
    entry = model_entry(tcfg.model)
    cls, declared = entry["cls"], entry["image_size"]
    shorter = sorted(min(s) for s in sizes)
    median = statistics.median_low(shorter)
    if len(set(sizes)) == 1:
        w, h = sizes[0]
        if cls.takes_image_shape(model_cfg, h, w):
            return SizeChoice(
                None, f"the {len(sizes)} pictures in {tcfg.data} are all {w}x{h}: training at that size"
            )
        why = f"the pictures in {tcfg.data} are all {w}x{h}, which {tcfg.model} cannot take as they are"
    else:
        spread = f"shorter sides {shorter[0]}-{shorter[-1]} px, median {median}"
        why = f"the {len(sizes)} pictures in {tcfg.data} differ in size ({spread})"
    size, rule = cls.image_side(model_cfg, max(4, min(declared, median)))
    steps = [f"{tcfg.model} is made for {declared}"]
    if median < declared:
        steps.append(
            f"capped at the median shorter side {median} so that half the pictures or more are only shrunk"
        )
    if rule:
        steps.append(f"{'rounded to' if size <= min(declared, median) else 'raised to'} {rule}")
    message = (
        f"image size {size}x{size}: {why}; {', '.join(steps)}. Pictures are resized (shorter side) and "
        "centre-cropped; give another size with --set image_size=N"
    )
    return SizeChoice(size, message)
