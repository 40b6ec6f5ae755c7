"""Stopping training cleanly on SIGINT (Ctrl-C) or SIGTERM (a scheduler's notice, `kill`).

    with StopSignals() as stop:
        while training:
            step()
            if stop.signum is not None:   # asked to stop: checkpoint at the end of this step
                ...

The first signal only records itself; the trainer finishes the step, writes a checkpoint and stops.
A second one while that is under way falls back to the default behaviour (Ctrl-C again raises
KeyboardInterrupt): every file is written atomically, so even that leaves no half-written file.
Handlers are installed only in the main thread (Python allows no other) and restored on exit.

Layer: part of `train/`; imports the standard library only.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopSignals:
    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict[int, object] = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is not None:  # the second signal: do what it would have done without us
            self._restore()
            signal.raise_signal(signum)
            return
        self.signum = signum

    def _restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)
        self._previous = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for sig in SIGNALS:
                self._previous[sig] = signal.getsignal(sig)
                signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        self._restore()

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name if self.signum is not None else ""
