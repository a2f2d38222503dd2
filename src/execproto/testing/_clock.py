"""A clock that moves only when a test moves it, for checking expiry without sleeping."""

from __future__ import annotations

import math
import threading

__all__ = ["ManualClock"]


class ManualClock:
    """A stand-in for :func:`time.monotonic`: call it for the time, :meth:`advance` it.

    Pass it where an implementation takes a clock (``MemoryCacheProvider(clock=clock)``);
    it is safe to read and advance from several threads.

    Raises:
        ValueError: *start* is not a finite number.
    """

    def __init__(self, start: float = 0.0) -> None:
        if not math.isfinite(start):
            raise ValueError(f"start must be a finite number of seconds, got {start!r}")
        self._now = float(start)
        self._lock = threading.Lock()

    def __call__(self) -> float:
        """Return the current time in seconds."""
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock forward by *seconds*.

        Raises:
            ValueError: *seconds* is negative or not finite; a monotonic clock never goes
                back.
        """
        if not (math.isfinite(seconds) and seconds >= 0):
            raise ValueError(
                f"seconds must be a finite number >= 0, got {seconds!r}; a monotonic clock "
                f"never goes back"
            )
        with self._lock:
            self._now += seconds
