"""The public Python API: a facade of re-exports, no logic of its own. The CLI is a thin shell over
these; everything works from Python:

    import gennet
    run_dir = gennet.train("vae", out="runs/vae", steps=2000, latent_dim=10)
    run = gennet.load(run_dir)
    images = gennet.sample(run, 64, seed=0)          # uint8 (64, 1, 28, 28)
    print(gennet.evaluate(run))

Images come back as uint8 numpy arrays (N, C, H, W); inputs may be uint8 or float in [0, 1].

Where things live: `runs` (configuration, build, train, load, held-out data), `verbs/generation`
(sample, interpolate, walk, arithmetic), `verbs/autoencoding` (reconstruct, denoise, encode),
`verbs/translation` (translate), `verbs/style` (style_mix; truncation and paths in W of style models),
`eval/protocol` (evaluate, evaluate_images, evaluate_translation),
`exporting` (export one part of a run to ONNX or TorchScript, export_metadata),
`io` (reading and writing images), `train.callbacks` (Callback, TrainInfo: hooks for `train`).

Layer: above `runs`, `verbs/`, `eval/protocol`, `io`; imported by the CLI, `benchmark` and users.
"""

from __future__ import annotations

from .config import to_jsonable
from .data import dataset_names
from .eval.protocol import evaluate, evaluate_images, evaluate_translation
from .exporting import export
from .exporting import read_metadata as export_metadata
from .io import read_images, write_images, write_rows
from .registry import model_descriptions
from .runs import Run, build_model, heldout, load, model_config, resolve_config, train
from .train.callbacks import Callback, TrainInfo
from .verbs.autoencoding import denoise, encode, reconstruct
from .verbs.generation import arithmetic, interpolate, sample, walk
from .verbs.style import style_mix
from .verbs.translation import save_translation, translate, translate_to


def list_models() -> dict[str, str]:
    """Registered model names -> one-line descriptions."""
    return model_descriptions()


def list_datasets() -> dict[str, str]:
    """Registered dataset names -> one-line descriptions."""
    return dataset_names()


__all__ = [
    "Callback",
    "Run",
    "TrainInfo",
    "arithmetic",
    "build_model",
    "denoise",
    "encode",
    "evaluate",
    "evaluate_images",
    "evaluate_translation",
    "export",
    "export_metadata",
    "heldout",
    "interpolate",
    "list_datasets",
    "list_models",
    "load",
    "model_config",
    "read_images",
    "reconstruct",
    "resolve_config",
    "sample",
    "save_translation",
    "style_mix",
    "to_jsonable",
    "train",
    "translate",
    "translate_to",
    "walk",
    "write_images",
    "write_rows",
]
