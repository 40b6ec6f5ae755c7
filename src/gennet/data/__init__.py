"""Image datasets for gennet: embedded MNIST, full MNIST / Fashion-MNIST from IDX files, image folders,
unpaired two-domain sets (CycleGAN) and small synthetic sets. Every loader returns `ImageData` with uint8
images of shape (N, C, H, W), or `UnpairedData` (two `ImageData` domains) for an unpaired set.

Layers, imports pointing down only: `types` (and `idx`, `decode`) at the bottom; `registry`, `cache` (the
disk cache of a folder larger than memory) and `listing` (one walk of a folder, its headers read once)
above them; the loaders `mnist`, `synthetic`, `folder`, `unpaired` above that; `load` (`load_dataset`) on
top.
"""

from .cache import CacheRequest
from .folder import load_image_folder
from .idx import read_idx, read_idx_pair, write_idx
from .listing import Listing
from .load import decoded_bytes, folder_listing, load_dataset, use_disk_cache
from .registry import dataset_names, register_dataset
from .synthetic import make_synthetic
from .types import DataSpec, ImageData, UnpairedData, convert_channels, resize_images, split_indices
from .unpaired import PAIRS, load_pair, load_unpaired_folder

__all__ = [
    "PAIRS",
    "CacheRequest",
    "DataSpec",
    "ImageData",
    "Listing",
    "UnpairedData",
    "convert_channels",
    "dataset_names",
    "decoded_bytes",
    "folder_listing",
    "load_dataset",
    "load_image_folder",
    "load_pair",
    "load_unpaired_folder",
    "make_synthetic",
    "read_idx",
    "read_idx_pair",
    "register_dataset",
    "resize_images",
    "split_indices",
    "use_disk_cache",
    "write_idx",
]
