"""gennet: the classic generative networks in one library, trained on real images, measured offline.

The public API is `gennet.api` (re-exported here): `gennet.train`, `gennet.load`, `gennet.sample`, ...
"""

__version__ = "0.1.0"

from . import api  # noqa: E402
from .api import *  # noqa: E402, F403  (the facade's names, listed in api.__all__)
from .errors import (  # noqa: E402
    CallbackError,
    CapabilityError,
    ConfigError,
    DataError,
    GennetError,
    TrainingDiverged,
)

__all__ = [
    *api.__all__,
    "CallbackError",
    "CapabilityError",
    "ConfigError",
    "DataError",
    "GennetError",
    "TrainingDiverged",
]
