"""What can be exported from a model: its *parts*, chosen by what the model can do (its
capabilities), never by its name. Each part is one network with named, documented inputs and one
output; images are float32 (N, C, H, W) with pixels in [0, 1], N the (dynamic) batch axis.

    part                 offered by models that       inputs -> output
    decoder (generator)  decode (all that sample,     z (N, latent_dim) [, labels (N,) int64] [, psi ()]
                         and the autoencoders)          -> images
    encoder              encode (autoencoders, VAE,   images -> z (N, latent_dim); the VAE's is the
                         AAE, BiGAN)                    posterior mean mu
    a2b, b2a             translate (CycleGAN)         images -> translated: G: A -> B, F: B -> A

A CycleGAN's two translators are two parts, exported one per file (`--part a2b` / `b2a`): each is a
plain one-input, one-output network, as a user deploying one direction wants it.

Labels are an input of conditional models only; style models (capability `style_mix`: StyleGAN)
take the truncation psi as a 0-d input (1 = off) unless a fixed psi is given at export, and their
noise inputs are fixed: `const` (each layer's stored noise image, the same for every sample: the
authors' `randomize_noise=False`) or `none`. A StyleGAN part synthesises at the resolution and
fade the run was last trained at, as `gennet sample` does.

A part works on a copy of the model on the CPU in eval mode (batch norm with its running
statistics, no dropout, no corruption, no random noise), without the networks its forward does not
run (a GAN's discriminator, CycleGAN's other generator): what is not run is not exported.

Layer: imports `errors`, `verbs.capability` and `verbs.style` (the truncation checks); models are
duck-typed. `exporting.exporter` uses it.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import torch
from torch import Tensor, nn

from ..errors import CapabilityError, ConfigError
from ..verbs.capability import missing_reason
from ..verbs.style import truncation_kwargs

NOISE_MODES = ("const", "none")
ALIASES = {"generator": "decoder"}
PART_HELP = {
    "decoder": "latent codes (and labels) -> images; also called `generator`",
    "encoder": "images -> latent codes",
    "a2b": "translator G: domain A -> domain B",
    "b2a": "translator F: domain B -> domain A",
}


@dataclass(frozen=True)
class Port:
    """One input or output of a part: its name, shape ("N" is the batch axis), dtype, meaning."""

    name: str
    shape: tuple[str | int, ...]
    dtype: str
    description: str

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        return {**d, "shape": list(self.shape)}


@dataclass
class Part:
    """A network ready to export: `module(*example)` runs it on inputs in the order of `inputs`."""

    name: str
    module: nn.Module
    inputs: tuple[Port, ...]
    output: Port
    example: tuple[Tensor, ...]  # a batch of 2, the shapes and dtypes the exporters record
    settings: dict[str, Any] = field(default_factory=dict)


class PartModule(nn.Module):
    """One part as a module: `forward(*inputs)` calls `call(model, **named inputs)`."""

    def __init__(self, model: nn.Module, call: Callable[..., Tensor], names: tuple[str, ...]):
        super().__init__()
        self.model = model
        self.call = call
        self.names = names

    def forward(self, *inputs: Tensor) -> Tensor:
        return self.call(self.model, **dict(zip(self.names, inputs, strict=True)))


def offered(model) -> list[str]:
    """The parts `model` offers, by capability: decoder, encoder, a2b and b2a."""
    out = ["decoder"] if model.can("decode") else []
    out += ["encoder"] if model.can("encode") else []
    return out + (["a2b", "b2a"] if model.can("translate") else [])


def part_name(model, name: str | None) -> str:
    """`name` (None: the model's first part; `generator` means `decoder`), checked against what the
    model offers: a CapabilityError listing those, and why a missing encoder is missing."""
    have = offered(model)
    if not have:
        raise CapabilityError(f"model {model.name!r} has no network gennet can export")
    if name is None:
        return have[0]
    want = ALIASES.get(name, name)
    if want in have:
        return want
    known = f"; the parts are {', '.join(PART_HELP)}" if want not in PART_HELP else ""
    reason = missing_reason(model, "encode") if want == "encoder" else None
    raise CapabilityError(
        f"model {model.name!r} has no part {name!r} to export; it offers: {', '.join(have)}{known}"
        + (f". {reason}" if reason else "")
    )


def _images(spec, what: str) -> Port:
    shape = ("N", spec.channels, spec.height, spec.width)
    return Port(what, shape, "float32", f"images, float32 (N, C, H, W) = {_dims(shape)}, pixels in [0, 1]")


def _dims(shape) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ")"


def _codes(model, name: str = "z", meaning: str = "latent codes") -> Port:
    d = model.latent_dim
    return Port(name, ("N", d), "float32", f"{meaning}, float32 (N, {d})")


def _labels(model) -> Port:
    k = model.num_classes
    return Port("labels", ("N",), "int64", f"class labels, int64 (N,), each in 0..{k - 1}")


def _psi(model, cutoff: int | None) -> Port:
    layers = "every style input" if cutoff is None else f"the first {cutoff} style inputs"
    return Port(
        "psi",
        (),
        "float32",
        f"truncation psi, float32 scalar (): w_avg + psi (w - w_avg) on {layers}; 1 is off, "
        "0.5-0.7 trades variety for quality",
    )


def _decode(model, z: Tensor, labels: Tensor | None = None) -> Tensor:
    return model.decode(z) if labels is None else model.decode(z, labels)


def _style_decode(
    model, z: Tensor, labels: Tensor | None = None, psi: Tensor | None = None, *, fixed, cutoff, noise, stage
) -> Tensor:
    ws = model.truncate(model.mapping_of(z, labels), fixed if psi is None else psi, cutoff)
    return model.synthesize(ws, noise, stage)


def _encode(model, images: Tensor) -> Tensor:
    return model.encode(images)


def _translate(model, images: Tensor, direction: str) -> Tensor:
    return model.translate(images, direction)


def _decoder(model, truncation: float | None, cutoff: int | None, noise: str):
    """(call, inputs, output, settings) of the decoder part."""
    inputs = [_codes(model, meaning="latent codes, drawn from N(0, I) to sample")]
    if model.can("conditional"):
        inputs.append(_labels(model))
    out = _images(model.spec, "images")
    style = model.can("style_mix")
    if style and noise not in NOISE_MODES:
        raise ConfigError(f"noise must be one of {', '.join(NOISE_MODES)}; got {noise!r}")
    if style or truncation is not None or cutoff is not None:
        # psi and cutoff checked; a model without truncation says why it has none
        truncation_kwargs(model, 0.5 if truncation is None else truncation, cutoff)
    if not style:
        return _decode, inputs, out, {}
    if truncation is None:
        inputs.append(_psi(model, cutoff))
    stage = model.trained_stage()
    call = partial(_style_decode, fixed=truncation, cutoff=cutoff, noise=noise, stage=stage)
    settings = {
        "truncation_psi": "input psi" if truncation is None else float(truncation),
        "truncation_cutoff": cutoff,
        "noise": noise if getattr(model.cfg, "noise", True) else "none",
        "resolution": stage[0],
        "fade_alpha": stage[1],
    }
    return call, inputs, out, settings


def _example(port: Port, model, g: torch.Generator) -> Tensor:
    """A batch of 2 for `port`: codes N(0, I), labels 0 and 1, psi 0.7, images uniform in [0, 1]."""
    if port.name == "labels":
        return torch.arange(2) % model.num_classes
    if port.name == "psi":
        return torch.tensor(0.7)
    shape = (2, *port.shape[1:])
    return torch.randn(shape, generator=g) if port.name == "z" else torch.rand(shape, generator=g)


def _prune(model: nn.Module, module: nn.Module, example: tuple[Tensor, ...]) -> None:
    """Drop `model`'s top-level networks that `module`'s forward does not run (a GAN's D)."""
    used: set[str] = set()
    hooks = [
        child.register_forward_pre_hook(lambda *_, name=name: used.add(name))
        for name, child in model.named_children()
    ]
    try:
        with torch.no_grad():
            module(*example)
    finally:
        for h in hooks:
            h.remove()
    for name, _ in list(model.named_children()):
        if name not in used:
            setattr(model, name, None)


def build_part(
    model,
    name: str | None = None,
    *,
    truncation: float | None = None,
    truncation_cutoff: int | None = None,
    noise: str = "const",
) -> Part:
    """The part `name` of `model` (see the module docstring), on a CPU copy in eval mode."""
    name = part_name(model, name)
    if name != "decoder" and (truncation is not None or truncation_cutoff is not None):
        raise ConfigError(f"truncation applies to the decoder part only, not to {name!r}")
    settings: dict[str, Any] = {}
    if name == "decoder":
        call, inputs, output, settings = _decoder(model, truncation, truncation_cutoff, noise)
    elif name == "encoder":
        call, inputs = _encode, [_images(model.spec, "images")]
        output = _codes(model, meaning="latent codes z = encode(x) (a VAE gives the posterior mean mu)")
    else:
        direction = {"a2b": "AtoB", "b2a": "BtoA"}[name]
        call, inputs = partial(_translate, direction=direction), [_images(model.spec, "images")]
        output, settings = _images(model.spec, "translated"), {"direction": direction}
    copied = copy.deepcopy(model).cpu().float().eval().requires_grad_(False)
    module = PartModule(copied, call, tuple(p.name for p in inputs)).eval()
    g = torch.Generator().manual_seed(0)
    example = tuple(_example(p, model, g) for p in inputs)
    _prune(copied, module, example)
    return Part(name, module, tuple(inputs), output, example, settings)
