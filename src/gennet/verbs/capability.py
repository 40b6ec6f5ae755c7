"""Capability checks that say why: `model.require(verb)`, plus a one-line reason where one is known.

    require(run.model, "encode")
    # model 'stylegan' cannot encode; it can: decode, interpolate, sample, style_mix. It is a generator
    # without an encoder: ...

The reason comes from the model's class when it declares one (`cannot = {"encode": "..."}`, a class
attribute mapping a missing verb to a sentence), else from what its capabilities imply (a model that
decodes but does not encode is a generator without an encoder). Never from the model's name.

Layer: imports `errors` only (models are duck-typed); the verbs use it.
"""

from __future__ import annotations

from ..errors import CapabilityError

NO_ENCODER = (
    "It is a generator without an encoder: finding the latent code of a given image needs an "
    "optimisation-based projection (as StyleGAN2's projector), which gennet does not provide"
)
NO_STYLES = (
    "Its generator takes one latent code, not a style input per resolution: truncation in W, style "
    "mixing and interpolation in W need a style-based generator (stylegan)"
)


def missing_reason(model, verb: str) -> str | None:
    """Why `model` cannot do `verb`: its own declaration, else one implied by its capabilities."""
    declared = dict(getattr(model, "cannot", None) or {})
    if verb in declared:
        return declared[verb]
    if verb == "encode" and model.can("decode"):
        return NO_ENCODER
    if verb == "style_mix":
        return NO_STYLES
    return None


def require(model, verb: str, doing: str | None = None) -> None:
    """`model.require(verb)`; its CapabilityError gains `doing` ("truncation: ") and the reason."""
    try:
        model.require(verb)
    except CapabilityError as e:
        reason = missing_reason(model, verb)
        head = f"{doing}: " if doing else ""
        tail = f". {reason}" if reason else ""
        raise CapabilityError(f"{head}{e}{tail}") from None
