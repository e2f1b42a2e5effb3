"""`HeldInterrupt`: SIGINT held off while a pool cleans up, then delivered.

Used by `Pool.close()`: a Ctrl-C (or a kernel's interrupt) during the cleanup waits until
the workers and threads are stopped, so nothing is left running and the counts are final.
Signals reach the main thread only: from any other thread it holds nothing."""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any


class HeldInterrupt:
    """`with held:` holds SIGINT off (in the main thread); `replay()` then delivers a held
    one to the handler that was in place."""

    def __init__(self) -> None:
        self.frame: FrameType | None = None
        self.held = False
        self._previous: Any = None  # the handler in place: a callable, an int, or None
        self._installed = False

    def _hold(self, signum: int, frame: FrameType | None) -> None:
        self.held, self.frame = True, frame

    def __enter__(self) -> HeldInterrupt:
        if threading.current_thread() is threading.main_thread():
            try:
                self._previous = signal.signal(signal.SIGINT, self._hold)
                self._installed = True
            except ValueError:  # not the main interpreter: signals are not ours to hold
                pass
        return self

    def __exit__(self, *exc: object) -> None:
        if self._installed:
            previous = self._previous
            signal.signal(signal.SIGINT, signal.default_int_handler if previous is None
                          else previous)  # None: set outside Python; Python's default then

    def replay(self) -> None:
        """Deliver a held SIGINT to the handler that was in place (Python's default when
        that was SIG_DFL or set outside Python); nothing if none came."""
        if not self.held:
            return
        self.held = False
        previous = self._previous
        if previous is None or previous == signal.SIG_DFL:
            previous = signal.default_int_handler
        if callable(previous):
            previous(signal.SIGINT, self.frame)
