"""Datasets by name: loaders register with `@register_dataset(name, description=...)`, and
`load_dataset` and `gennet list` find them here (never a hand-kept if/elif chain of names).

Layer: imports only `types` and `errors`. It imports no loader: importing `gennet.data` imports
every loader module (through `gennet.data.load`), which registers its names in import order.

A loader is called as `loader(split=..., data_dir=..., test_fraction=..., seed=...)` and returns
`ImageData` or `UnpairedData` at the set's own size and channels (`load_dataset` adapts them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..errors import DataError
from .types import ImageData, UnpairedData

Loader = Callable[..., ImageData | UnpairedData]


@dataclass(frozen=True)
class DatasetEntry:
    name: str
    description: str
    load: Loader


_DATASETS: dict[str, DatasetEntry] = {}


def register_dataset(name: str, *, description: str = "") -> Callable[[Loader], Loader]:
    """Register `loader(split, data_dir, test_fraction, seed)` under `name`; a name registers once."""

    def wrap(loader: Loader) -> Loader:
        if name in _DATASETS:
            raise RuntimeError(f"dataset {name!r} registered twice")
        _DATASETS[name] = DatasetEntry(name, description, loader)
        return loader

    return wrap


def dataset_names() -> dict[str, str]:
    """Dataset name -> one-line description, in registration order."""
    return {name: entry.description for name, entry in _DATASETS.items()}


def dataset_entry(name: str) -> DatasetEntry | None:
    """The registered dataset `name`, or None."""
    return _DATASETS.get(name)


def unregister_dataset(name: str) -> None:
    """Forget `name` (for tests that register a throwaway set); DataError if it is not registered."""
    if _DATASETS.pop(name, None) is None:
        raise DataError(f"dataset {name!r} is not registered")
