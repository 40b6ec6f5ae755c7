"""Shared building blocks."""

from .blocks import MLP, ConvDecoder, ConvEncoder, conv_stages

__all__ = ["MLP", "ConvDecoder", "ConvEncoder", "conv_stages"]
