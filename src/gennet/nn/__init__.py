"""Shared building blocks.

Layer: networks only: imports torch and `errors`; the model families import it.
"""

from .blocks import MLP, ConvDecoder, ConvEncoder, conv_stages

__all__ = ["MLP", "ConvDecoder", "ConvEncoder", "conv_stages"]
