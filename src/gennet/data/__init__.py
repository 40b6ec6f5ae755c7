"""Image datasets for gennet: embedded MNIST, full MNIST / Fashion-MNIST from IDX files, image folders,
unpaired two-domain sets (CycleGAN) and small synthetic sets. Every loader returns `ImageData` with uint8
images of shape (N, C, H, W)."""

from .datasets import (
    DataSpec,
    ImageData,
    convert_channels,
    dataset_names,
    load_dataset,
    resize_images,
    split_indices,
)
from .folder import load_image_folder
from .idx import read_idx, read_idx_pair, write_idx
from .synthetic import make_synthetic
from .unpaired import PAIRS, load_pair, load_unpaired_folder

__all__ = [
    "PAIRS",
    "DataSpec",
    "ImageData",
    "convert_channels",
    "dataset_names",
    "load_dataset",
    "load_image_folder",
    "load_pair",
    "load_unpaired_folder",
    "make_synthetic",
    "read_idx",
    "read_idx_pair",
    "resize_images",
    "split_indices",
    "write_idx",
]
