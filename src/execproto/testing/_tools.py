"""The tools the contract suites run through an implementation: small, deterministic, and
instrumented so that a suite can see what the implementation did to them.

They count and log their calls under a lock (implementations may run them from threads) and
never sleep on a timer: :class:`Probe` yields to the event loop to let other operations
start, which is enough to expose a missing concurrency limit or results returned in
completion order.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

__all__ = ["Calculator", "ContractToolError", "Probe"]

# How long Probe.meet waits for the other parties, in polls of _MEET_POLL seconds. It bounds
# how long a suite hangs on an implementation that runs "parallel" operations one at a time;
# it is never compared with a measured time.
_MEET_POLLS = 2000
_MEET_POLL = 0.001


class ContractToolError(Exception):
    """The error :meth:`Calculator.fail` raises; a suite checks that it reaches the caller."""


class Calculator:
    """Sync and async operations, a failing one, and members that are *not* operations.

    ``calls`` lists the operations that actually ran, in order. ``label`` (a data attribute),
    ``status`` (a property, counted in ``status_reads``) and ``_secret`` (a private method)
    must never be invoked by an executor.
    """

    label = "calculator"

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.status_reads: int = 0
        self._lock = threading.Lock()

    def _record(self, name: str) -> None:
        with self._lock:
            self.calls.append(name)

    @property
    def status(self) -> str:
        """A property with a visible side effect: reading it increments ``status_reads``."""
        with self._lock:
            self.status_reads += 1
        return "ready"

    def add(self, a: int, b: int) -> int:
        """Return ``a + b`` (synchronous)."""
        self._record("add")
        return a + b

    async def multiply(self, a: int, b: int) -> int:
        """Return ``a * b`` (asynchronous; yields to the loop once)."""
        self._record("multiply")
        await asyncio.sleep(0)
        return a * b

    def echo(self, value: Any) -> Any:
        """Return *value* unchanged (synchronous)."""
        self._record("echo")
        return value

    async def echo_async(self, value: Any) -> Any:
        """Return *value* unchanged (asynchronous)."""
        self._record("echo_async")
        await asyncio.sleep(0)
        return value

    def describe(self, tool: Any, operation_name: Any) -> dict[str, Any]:
        """Return its two arguments, whose names collide with the executor's parameters."""
        self._record("describe")
        return {"tool": tool, "operation_name": operation_name}

    def fail(self, message: str) -> None:
        """Raise :class:`ContractToolError` with *message* (synchronous).

        Raises:
            ContractToolError: always.
        """
        self._record("fail")
        raise ContractToolError(message)

    async def fail_async(self, message: str) -> None:
        """Raise :class:`ContractToolError` with *message* (asynchronous).

        Raises:
            ContractToolError: always.
        """
        self._record("fail_async")
        await asyncio.sleep(0)
        raise ContractToolError(message)

    def _secret(self) -> str:
        self._record("_secret")
        return "secret"


class Probe:
    """Async operations that reveal how an implementation schedules them.

    ``max_in_flight`` is the largest number of :meth:`hold` calls that were running at once;
    ``started`` lists the values of the operations in the order they started, and ``events``
    every start and finish in order, as ``("start", value)`` and ``("finish", value)``.
    """

    def __init__(self) -> None:
        self.in_flight: int = 0
        self.max_in_flight: int = 0
        self.started: list[Any] = []
        self.events: list[tuple[str, Any]] = []
        self.arrived: int = 0
        self._lock = threading.Lock()

    async def hold(self, value: Any, yields: int = 1) -> Any:
        """Return *value* after yielding to the event loop *yields* times.

        Giving earlier operations more yields makes them finish last, so an implementation
        that returns results in completion order is caught.
        """
        with self._lock:
            self.started.append(value)
            self.events.append(("start", value))
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            for _ in range(yields):
                await asyncio.sleep(0)
        finally:
            with self._lock:
                self.in_flight -= 1
                self.events.append(("finish", value))
        return value

    async def meet(self, parties: int) -> bool:
        """Return whether *parties* calls of ``meet`` were running at the same time.

        An implementation that runs operations one after another never gets there; the wait
        is bounded so that it reports ``False`` instead of hanging.
        """
        with self._lock:
            self.arrived += 1
        for _ in range(_MEET_POLLS):
            with self._lock:
                if self.arrived >= parties:
                    return True
            await asyncio.sleep(_MEET_POLL)
        return False
