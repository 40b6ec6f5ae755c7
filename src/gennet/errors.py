"""Errors gennet raises on purpose. Every one carries a message meant for the user.

Layer: the bottom: imports nothing; every module may import it.
"""


class GennetError(Exception):
    """Base class: a problem the user can act on (bad input, missing file, wrong verb)."""


class ConfigError(GennetError, ValueError):
    """A configuration value is unknown, of the wrong type or out of range."""


class DataError(GennetError):
    """A dataset is missing, corrupt or not what it claims to be."""


class CapabilityError(GennetError):
    """A verb was asked of a model that cannot do it (e.g. `encode` on a GAN)."""


class TrainingDiverged(GennetError):
    """A loss became NaN or infinite; the last good checkpoint is kept."""


class TrainingInterrupted(GennetError):
    """SIGINT or SIGTERM stopped training at the end of a step, after writing a checkpoint.

    `signum` is the signal; the CLI exits with 128 + signum (130 for Ctrl-C, 143 for SIGTERM)."""

    def __init__(self, message: str, signum: int):
        super().__init__(message)
        self.signum = signum


class CallbackError(GennetError):
    """A training callback (a tracker or the user's) raised; the run's checkpoint is kept."""
