"""Interleaved timing of a subject against its anchor, and the statistics reported on it.

Why not pyperf's ``Runner`` for the timing itself: it runs each benchmark alone, in its own
worker processes, one after the other. On a shared two-core machine the load changes between
those runs, so a ratio of two separately measured medians mixes the cost of the code with the
load of the moment. Here every round times *every* subject of a row back to back, in a
rotating order, and the ratio is taken per round (the same moment for both) before taking
the median over rounds. pyperf is still used where it fits: its JSON format, so that two
runs can be compared with ``python -m pyperf compare_to`` (see :mod:`benchmarks._report`).
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any, Literal

__all__ = [
    "Measurement",
    "RoundFn",
    "RowResult",
    "Subject",
    "SubjectKind",
    "Timing",
    "async_call_timer",
    "async_workload_timer",
    "call_timer",
    "measure",
    "peak_bytes",
    "sweep_timer",
    "workload_timer",
]

#: Runs a subject ``loops`` times and returns the elapsed wall-clock time in nanoseconds.
RoundFn = Callable[[int], int]

#: ``anchor`` is what the ratio is taken against; ``reference`` is another anchor shown for
#: context; ``subject`` is execproto code, judged against the row's target.
SubjectKind = Literal["anchor", "reference", "subject"]


@dataclass(frozen=True)
class Subject:
    """One thing timed in a row: a name, what kind it is, and how to time one round."""

    name: str
    kind: SubjectKind
    run: RoundFn
    #: ``loops`` is calibrated for a micro-benchmark and fixed at 1 for a workload (which is
    #: already a whole batch of operations; ``ops`` says how many, for a per-operation time).
    workload: bool = False
    ops: int = 1


@dataclass(frozen=True)
class Timing:
    """How a row is timed: rounds, warm-up rounds, and the length of one micro round."""

    rounds: int
    warmup: int
    round_ns: int
    #: ``timeit`` disables the collector during a round; micro rows do the same so that a
    #: collection triggered by one subject's garbage is not billed to the next subject.
    #: Workloads keep it on: collecting is part of running 10 000 operations.
    disable_gc: bool = True


@dataclass
class Measurement:
    """Per-operation times (ns) of one subject over the measured rounds."""

    name: str
    kind: SubjectKind
    ns_per_op: list[float]
    #: Subject time / anchor time of the same round, one per round.
    ratios: list[float]
    ops: int = 1
    peak_bytes: int | None = None
    #: Size (bytes of JSON) of what the subject kept after one round, where that is the
    #: point of the row (the metrics of a million calls against a log of them).
    snapshot_bytes: int | None = None

    @property
    def median(self) -> float:
        """Median time per operation, in nanoseconds."""
        return statistics.median(self.ns_per_op)

    @property
    def ratio(self) -> float:
        """Median of the per-round ratios to the anchor."""
        return statistics.median(self.ratios)

    def to_json(self) -> dict[str, Any]:
        """Return the measurement as plain JSON data."""
        return {
            "name": self.name,
            "kind": self.kind,
            "ops": self.ops,
            "median_ns": self.median,
            "min_ns": min(self.ns_per_op),
            "max_ns": max(self.ns_per_op),
            "ratio": self.ratio,
            "ratio_min": min(self.ratios),
            "ratio_max": max(self.ratios),
            "rounds_ns": self.ns_per_op,
            "peak_bytes": self.peak_bytes,
            "snapshot_bytes": self.snapshot_bytes,
        }


@dataclass
class RowResult:
    """The outcome of one row: its measurements and whether execproto met the target."""

    name: str
    title: str
    anchor: str
    #: The largest acceptable ratio of an execproto subject to the anchor, if the DESIGN sets
    #: one for this row.
    target: float | None
    section: str = "design"
    measurements: list[Measurement] = field(default_factory=list[Measurement])
    #: Subjects that could not be measured, with the reason (not yet written, failed setup).
    unavailable: dict[str, str] = field(default_factory=dict[str, str])
    note: str = ""

    @property
    def verdict(self) -> str:
        """``met``, ``missed``, ``not available``, or ``-`` for a row without a target."""
        if self.target is None:
            return "-"
        subjects = [m for m in self.measurements if m.kind == "subject"]
        if not subjects:
            return "not available"
        return "met" if all(m.ratio <= self.target for m in subjects) else "missed"

    def to_json(self) -> dict[str, Any]:
        """Return the row as plain JSON data."""
        return {
            "name": self.name,
            "section": self.section,
            "title": self.title,
            "anchor": self.anchor,
            "target": self.target,
            "verdict": self.verdict,
            "note": self.note,
            "measurements": [m.to_json() for m in self.measurements],
            "unavailable": self.unavailable,
        }


def call_timer(fn: Callable[..., object], *args: Any, **kwargs: Any) -> RoundFn:
    """Time ``fn(*args, **kwargs)`` called ``loops`` times in a bare loop.

    Anchors and subjects are timed through the same loop, so its (small) cost is in both
    sides of a ratio rather than subtracted by a guess.
    """

    def run(loops: int) -> int:
        start = time.perf_counter_ns()
        for _ in repeat(None, loops):
            fn(*args, **kwargs)
        return time.perf_counter_ns() - start

    return run


def async_call_timer(
    loop: asyncio.AbstractEventLoop, fn: Callable[..., Awaitable[object]], *args: Any, **kwargs: Any
) -> RoundFn:
    """Time ``await fn(*args, **kwargs)`` ``loops`` times inside one coroutine on *loop*.

    The clock runs inside the coroutine, so starting and stopping the loop is not timed.
    """

    async def body(loops: int) -> int:
        start = time.perf_counter_ns()
        for _ in repeat(None, loops):
            await fn(*args, **kwargs)
        return time.perf_counter_ns() - start

    def run(loops: int) -> int:
        return loop.run_until_complete(body(loops))

    return run


def workload_timer(fn: Callable[[], object]) -> RoundFn:
    """Time one call of *fn*, a whole workload (``loops`` is ignored: it is always 1)."""

    def run(loops: int) -> int:
        del loops
        start = time.perf_counter_ns()
        result = fn()
        elapsed = time.perf_counter_ns() - start
        # Freeing the result (a filled cache, 100 000 results) is not part of the workload.
        del result
        return elapsed

    return run


def async_workload_timer(
    loop: asyncio.AbstractEventLoop, fn: Callable[[], Awaitable[object]]
) -> RoundFn:
    """Time one ``await fn()`` on *loop*, a whole workload; the clock runs inside the loop."""

    async def body() -> tuple[int, object]:
        start = time.perf_counter_ns()
        result = await fn()
        return time.perf_counter_ns() - start, result

    def run(loops: int) -> int:
        del loops
        elapsed, _ = loop.run_until_complete(body())
        return elapsed

    return run


def sweep_timer(fn: Callable[[Any], object], items: Sequence[Any]) -> RoundFn:
    """Time ``fn(item)`` for every item, ``loops`` times over (a subject with ``ops=len(items)``)."""

    def run(loops: int) -> int:
        start = time.perf_counter_ns()
        for _ in repeat(None, loops):
            for item in items:
                fn(item)
        return time.perf_counter_ns() - start

    return run


def peak_bytes(run: RoundFn) -> int:
    """Return the peak memory (bytes, tracemalloc) allocated during one round of *run*.

    Measured in a round of its own: tracemalloc slows allocation down several times, so it
    never runs while a round is being timed.
    """
    gc.collect()
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        run(1)
        return tracemalloc.get_traced_memory()[1] - baseline
    finally:
        tracemalloc.stop()


def _calibrate(subject: Subject, round_ns: int) -> int:
    """Return how many loops make one round of *subject* last about *round_ns*."""
    if subject.workload:
        return 1
    loops = 1
    while True:
        elapsed = subject.run(loops)
        if elapsed >= round_ns // 4 or loops >= 1 << 24:
            break
        loops *= 4
    return max(1, int(loops * round_ns / max(elapsed, 1)))


def _timed_round(subject: Subject, loops: int, disable_gc: bool) -> float:
    was_enabled = gc.isenabled()
    if disable_gc:
        gc.disable()
    try:
        elapsed = subject.run(loops)
    finally:
        if was_enabled:
            gc.enable()
    return elapsed / (loops * subject.ops)


def measure(subjects: Sequence[Subject], timing: Timing) -> list[Measurement]:
    """Time every subject in interleaved rounds; the first subject must be the anchor.

    Each round runs every subject once, starting from a different subject each time, so
    no subject always runs first (cold caches) or last (after the others' garbage). Warm-up
    rounds are run the same way and discarded.

    Raises:
        ValueError: *subjects* is empty or does not start with the anchor.
    """
    if not subjects or subjects[0].kind != "anchor":
        kinds = [s.kind for s in subjects]
        raise ValueError(
            f"measure() expects the anchor first, got kinds {kinds!r}; "
            "put the Subject with kind='anchor' at index 0"
        )
    loops = [_calibrate(s, timing.round_ns) for s in subjects]
    times: list[list[float]] = [[] for _ in subjects]
    count = len(subjects)
    for round_index in range(timing.warmup + timing.rounds):
        this_round = [0.0] * count
        for offset in range(count):
            i = (round_index + offset) % count
            this_round[i] = _timed_round(subjects[i], loops[i], timing.disable_gc)
        if round_index >= timing.warmup:
            for i, value in enumerate(this_round):
                times[i].append(value)
    anchor = times[0]
    return [
        Measurement(
            name=s.name,
            kind=s.kind,
            ns_per_op=times[i],
            ratios=[t / a for t, a in zip(times[i], anchor, strict=True)],
            ops=s.ops,
        )
        for i, s in enumerate(subjects)
    ]
