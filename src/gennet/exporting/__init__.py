"""Taking a trained model anywhere: one part of a run (decoder, encoder, translator) as an ONNX or
TorchScript file with its metadata inside. `parts` decides what is exported, `files` writes and
reads the files, `exporter` ties them to a run.

Layer: above `runs`, `verbs`, `io`; the facade `api` re-exports `export` and `export_metadata`.
"""

from .exporter import FORMATS, export, export_format
from .files import read_metadata
from .parts import PART_HELP, build_part, offered

__all__ = ["FORMATS", "PART_HELP", "build_part", "export", "export_format", "offered", "read_metadata"]
