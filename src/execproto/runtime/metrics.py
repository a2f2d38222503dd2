"""Bounded metrics of tool executions: counts, errors and a latency histogram per operation.

:class:`MetricsCollector` counts calls, errors and a fixed-bucket latency histogram per
operation, and the outcomes of plan steps. Its memory does not depend on how many calls it
has seen, and the number of distinct operation names it keeps is capped (later names share
:data:`OVERFLOW_KEY`), so a stream of hostile names cannot grow it.
:meth:`~MetricsCollector.snapshot` returns plain, JSON-serialisable data
(:class:`MetricsSnapshot`), which :meth:`~MetricsCollector.merge` adds up across processes,
:func:`summarize` turns into percentiles and :func:`format_summary` into a table::

    collector = MetricsCollector()
    collector.record("search.query", 0.012)
    print(format_summary(collector.snapshot()))

:func:`default_metrics` is the process-wide collector that
:func:`~execproto.runtime.monitoring.monitor_execution` records into by default; a
:class:`~execproto.runtime.monitoring.Monitor` records into its own. Nothing here logs and
nothing imports OpenTelemetry.
"""

from __future__ import annotations

import math
import threading
from bisect import bisect_left
from collections.abc import Sequence
from typing import Final

from typing_extensions import TypedDict

from execproto.runtime._validation import check_bounds, check_count

__all__ = [
    "DEFAULT_BUCKETS",
    "OVERFLOW_KEY",
    "MetricsCollector",
    "MetricsSnapshot",
    "OperationSnapshot",
    "OperationSummary",
    "UsageReport",
    "default_metrics",
    "error_type_name",
    "format_summary",
    "outcome_label",
    "summarize",
]

#: Upper bounds, in seconds, of the default latency buckets; one more bucket counts the
#: calls slower than the last bound. Tool calls range from cached lookups (well under a
#: millisecond) to remote jobs (minutes), so the buckets span 100 µs to 5 min.
DEFAULT_BUCKETS: Final[tuple[float, ...]] = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    300.0,
)

#: The key under which a collector counts the operations (and error types) it has no room
#: left for. Angle brackets cannot appear in a ``tool.operation`` spec, so no real
#: operation is ever mistaken for it.
OVERFLOW_KEY: Final = "<other>"

_INF: Final = math.inf

# Distinct outcomes of one operation's steps come from a handful of statuses and error codes;
# the cap only guards the public record_outcome against arbitrary labels.
_MAX_OUTCOMES_PER_OPERATION: Final = 32


class OperationSnapshot(TypedDict):
    """Counters of one operation in a :class:`MetricsSnapshot`; durations are in seconds.

    ``bucket_counts[i]`` counts the calls that took more than ``bucket_bounds[i - 1]`` and at
    most ``bucket_bounds[i]``; its last item counts the calls slower than every bound.
    """

    count: int
    errors: int
    total_seconds: float
    min_seconds: float
    max_seconds: float
    bucket_counts: tuple[int, ...]


class MetricsSnapshot(TypedDict):
    """A copy of everything a :class:`MetricsCollector` holds, as plain data.

    ``operations`` is keyed by operation (sorted); ``error_types`` counts failures by the
    qualified class name of the exception (``"ValueError"``, ``"mypkg.errors.Boom"``);
    ``outcomes`` counts plan steps by operation and outcome (see :func:`outcome_label`), as
    recorded by :meth:`MetricsCollector.record_outcome`.
    """

    bucket_bounds: tuple[float, ...]
    operations: dict[str, OperationSnapshot]
    error_types: dict[str, int]
    outcomes: dict[str, dict[str, int]]


class UsageReport(TypedDict):
    """Usage and error totals, shaped like the seed's ``InterfaceMonitor.get_usage_report``.

    ``errors_by_operation`` lists only the operations that failed at least once, and
    ``error_rate`` is ``0.0`` when nothing was recorded.
    """

    total_usage: int
    total_errors: int
    error_rate: float
    usage_by_operation: dict[str, int]
    errors_by_operation: dict[str, int]
    error_types: dict[str, int]


class OperationSummary(TypedDict):
    """One row of :func:`summarize`: an operation's counts and latency estimates in seconds.

    The percentiles are estimated from the histogram buckets (linear within a bucket and
    clamped to the observed minimum and maximum), so they are as precise as the buckets.
    """

    operation: str
    count: int
    errors: int
    error_rate: float
    mean_seconds: float
    p50_seconds: float
    p95_seconds: float
    p99_seconds: float
    max_seconds: float


def error_type_name(cls: type[BaseException]) -> str:
    """Return the name under which failures of *cls* are counted (and spans' ``error.type``).

    ``"ValueError"`` for a builtin, ``"mypkg.errors.Boom"`` for any other class.
    """
    # The OpenTelemetry convention for error.type is the exception's fully qualified class
    # name; builtins stay bare ("ValueError"), as Python users read and write them.
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


class _OperationStats:
    __slots__ = ("bucket_counts", "count", "errors", "max", "min", "total")

    def __init__(self, buckets: int) -> None:
        self.count = 0
        self.errors = 0
        self.total = 0.0
        self.min = math.inf
        self.max = 0.0
        self.bucket_counts = [0] * buckets


class MetricsCollector:
    """Thread-safe, bounded counters of calls, errors and latencies per operation.

    Memory is fixed by the constructor's arguments, never by the number of calls: each
    operation holds a few numbers and one count per bucket. At most *max_operations*
    distinct operation keys are kept (and *max_error_types* exception names); calls under
    further keys, or keys longer than *max_key_length* characters, are counted under
    :data:`OVERFLOW_KEY`. Choose keys of low cardinality (``"tool.operation"``, never ids).

    Besides calls, it counts the *outcomes* of plan steps (:meth:`record_outcome`), under the
    same limit on operation keys and at most 32 outcome labels per operation.

    Raises:
        TypeError: *buckets* is not a sequence of numbers, or a limit is not an int.
        ValueError: *buckets* is empty, unsorted, or holds a bound that is not a positive
            finite number; a limit is below 1.
    """

    __slots__ = (
        "_bounds",
        "_error_types",
        "_lock",
        "_max_error_types",
        "_max_key_length",
        "_max_operations",
        "_operations",
        "_outcomes",
    )

    def __init__(
        self,
        *,
        buckets: Sequence[float] = DEFAULT_BUCKETS,
        max_operations: int = 1000,
        max_error_types: int = 100,
        max_key_length: int = 200,
    ) -> None:
        owner = "MetricsCollector"
        self._bounds = check_bounds(
            owner,
            "buckets",
            buckets,
            fix="pass the upper bounds in seconds, e.g. buckets=(0.001, 0.01, 0.1, 1.0)",
        )
        self._max_operations = check_count(
            owner, "max_operations", max_operations, fix="e.g. max_operations=1000"
        )
        self._max_error_types = check_count(
            owner, "max_error_types", max_error_types, fix="e.g. max_error_types=100"
        )
        self._max_key_length = check_count(
            owner, "max_key_length", max_key_length, fix="e.g. max_key_length=200"
        )
        self._operations: dict[str, _OperationStats] = {}
        self._error_types: dict[str, int] = {}
        self._outcomes: dict[str, dict[str, int]] = {}
        self._lock = threading.Lock()

    @property
    def bucket_bounds(self) -> tuple[float, ...]:
        """The upper bounds of the latency buckets, in seconds."""
        return self._bounds

    def record(self, operation: str, duration: float, error: BaseException | None = None) -> None:
        """Count one call of *operation* that took *duration* seconds and raised *error*.

        ``error=None`` records a success. Any exception counts as a failure, cancellation
        included.

        Raises:
            ValueError: *duration* is negative, infinite or NaN.
        """
        if not 0.0 <= duration < _INF:
            raise ValueError(
                f"duration must be a finite number of seconds >= 0, got {duration!r}; "
                f"measure it with time.perf_counter() differences"
            )
        bucket = bisect_left(self._bounds, duration)
        error_type = None if error is None else error_type_name(type(error))
        with self._lock:
            stats = self._operations.get(operation)
            if stats is None:
                stats = self._new_operation(operation)
            stats.count += 1
            stats.total += duration
            if duration < stats.min:
                stats.min = duration
            if duration > stats.max:
                stats.max = duration
            stats.bucket_counts[bucket] += 1
            if error_type is not None:
                stats.errors += 1
                types = self._error_types
                if error_type not in types and len(types) >= self._max_error_types:
                    error_type = OVERFLOW_KEY
                types[error_type] = types.get(error_type, 0) + 1

    def record_outcome(self, operation: str, outcome: str) -> None:
        """Count one plan step of *operation* that ended as *outcome*.

        *outcome* is a short label, normally :func:`outcome_label` of a step's status and
        error code (``"completed"``, ``"failed E003"``). Unlike :meth:`record`, this also
        counts steps that never reached the tool (a bad reference, a skipped dependant), so
        the two tables together tell calls from steps.
        """
        with self._lock:
            self._add_outcome(operation, outcome, 1)

    def _add_outcome(self, operation: str, outcome: str, count: int) -> None:
        # Called with the lock held.
        outcomes = self._outcomes.get(operation)
        if outcomes is None:
            if len(self._outcomes) >= self._max_operations or len(operation) > self._max_key_length:
                operation = OVERFLOW_KEY
            outcomes = self._outcomes.setdefault(operation, {})
        if outcome not in outcomes and (
            len(outcomes) >= _MAX_OUTCOMES_PER_OPERATION or len(outcome) > self._max_key_length
        ):
            outcome = OVERFLOW_KEY
        outcomes[outcome] = outcomes.get(outcome, 0) + count

    def _new_operation(self, operation: str) -> _OperationStats:
        # Called with the lock held.
        if len(self._operations) >= self._max_operations or len(operation) > self._max_key_length:
            operation = OVERFLOW_KEY
            stats = self._operations.get(operation)
            if stats is not None:
                return stats
        stats = _OperationStats(len(self._bounds) + 1)
        self._operations[operation] = stats
        return stats

    def snapshot(self) -> MetricsSnapshot:
        """Return a consistent copy of every counter as plain, JSON-serialisable data."""
        with self._lock:
            operations = {
                key: OperationSnapshot(
                    count=stats.count,
                    errors=stats.errors,
                    total_seconds=stats.total,
                    min_seconds=stats.min,
                    max_seconds=stats.max,
                    bucket_counts=tuple(stats.bucket_counts),
                )
                for key, stats in sorted(self._operations.items())
            }
            error_types = dict(sorted(self._error_types.items()))
            outcomes = {
                key: dict(sorted(counts.items())) for key, counts in sorted(self._outcomes.items())
            }
        return MetricsSnapshot(
            bucket_bounds=self._bounds,
            operations=operations,
            error_types=error_types,
            outcomes=outcomes,
        )

    def get_usage_report(self) -> UsageReport:
        """Return total usage, total errors, error rate, and usage and errors per operation.

        The shape follows the seed's ``InterfaceMonitor.get_usage_report``, keyed by
        operation instead of interface method.
        """
        snapshot = self.snapshot()
        operations = snapshot["operations"]
        usage = {key: stats["count"] for key, stats in operations.items()}
        errors = {key: stats["errors"] for key, stats in operations.items() if stats["errors"]}
        total_usage = sum(usage.values())
        total_errors = sum(errors.values())
        return UsageReport(
            total_usage=total_usage,
            total_errors=total_errors,
            error_rate=total_errors / total_usage if total_usage else 0.0,
            usage_by_operation=usage,
            errors_by_operation=errors,
            error_types=snapshot["error_types"],
        )

    def merge(self, snapshot: MetricsSnapshot) -> None:
        """Add the counters of *snapshot* (from another collector or process) to this one.

        This is how the metrics of workers (a Dask cluster, a process pool) are combined: each
        worker sends ``snapshot()``, the coordinator merges them. The limits of this
        collector apply to the merged keys as to recorded ones.

        Raises:
            ValueError: *snapshot* was taken with other bucket bounds, so its counts cannot
                be added bucket by bucket.
        """
        bounds = tuple(snapshot["bucket_bounds"])
        if bounds != self._bounds:
            raise ValueError(
                f"cannot merge a snapshot with bucket bounds {bounds!r} into a collector with "
                f"bounds {self._bounds!r}; build both collectors with the same buckets"
            )
        with self._lock:
            for key, other in snapshot["operations"].items():
                if not other["count"]:
                    continue
                stats = self._operations.get(key)
                if stats is None:
                    stats = self._new_operation(key)
                stats.count += other["count"]
                stats.errors += other["errors"]
                stats.total += other["total_seconds"]
                stats.min = min(stats.min, other["min_seconds"])
                stats.max = max(stats.max, other["max_seconds"])
                for index, in_bucket in enumerate(other["bucket_counts"]):
                    stats.bucket_counts[index] += in_bucket
            types = self._error_types
            for error_type, count in snapshot["error_types"].items():
                key = error_type
                if key not in types and len(types) >= self._max_error_types:
                    key = OVERFLOW_KEY
                types[key] = types.get(key, 0) + count
            for key, counts in snapshot["outcomes"].items():
                for outcome, count in counts.items():
                    self._add_outcome(key, outcome, count)

    def reset(self) -> None:
        """Forget every recorded call and outcome."""
        with self._lock:
            self._operations.clear()
            self._error_types.clear()
            self._outcomes.clear()


_default_metrics: MetricsCollector | None = None
_default_lock = threading.Lock()


def default_metrics() -> MetricsCollector:
    """Return the process-wide collector that ``@monitor_execution`` records into by default.

    It is created on first use with the default limits.
    """
    global _default_metrics
    if _default_metrics is None:
        with _default_lock:
            if _default_metrics is None:
                _default_metrics = MetricsCollector()
    return _default_metrics


def outcome_label(status: str, error_code: str | None) -> str:
    """Return the outcome under which a plan step is counted: ``"completed"``, ``"failed E003"``.

    *status* and *error_code* are the string values of a step result's
    :class:`~execproto.models.TaskStatus` and :class:`~execproto.models.ErrorCode`.
    """
    return status if error_code is None else f"{status} {error_code}"


def _quantile(stats: OperationSnapshot, bounds: tuple[float, ...], q: float) -> float:
    count = stats["count"]
    if count == 0:
        return 0.0
    low_limit, high_limit = stats["min_seconds"], stats["max_seconds"]
    rank = q * count
    seen = 0
    for index, in_bucket in enumerate(stats["bucket_counts"]):
        if in_bucket and seen + in_bucket >= rank:
            low = bounds[index - 1] if index > 0 else low_limit
            high = bounds[index] if index < len(bounds) else high_limit
            low, high = max(low, low_limit), min(high, high_limit)
            fraction = (rank - seen) / in_bucket
            return low + (high - low) * fraction
        seen += in_bucket
    return high_limit


def summarize(snapshot: MetricsSnapshot) -> list[OperationSummary]:
    """Return one summary row per operation of *snapshot*, in operation order."""
    bounds = snapshot["bucket_bounds"]
    rows: list[OperationSummary] = []
    for key, stats in snapshot["operations"].items():
        count = stats["count"]
        rows.append(
            OperationSummary(
                operation=key,
                count=count,
                errors=stats["errors"],
                error_rate=stats["errors"] / count if count else 0.0,
                mean_seconds=stats["total_seconds"] / count if count else 0.0,
                p50_seconds=_quantile(stats, bounds, 0.50),
                p95_seconds=_quantile(stats, bounds, 0.95),
                p99_seconds=_quantile(stats, bounds, 0.99),
                max_seconds=stats["max_seconds"] if count else 0.0,
            )
        )
    return rows


def _milliseconds(seconds: float) -> str:
    return f"{seconds * 1000:.3f}"


def _render(lines: list[tuple[str, ...]], text_columns: int = 1) -> list[str]:
    # Text columns are aligned left, numbers right.
    widths = [max(len(line[column]) for line in lines) for column in range(len(lines[0]))]
    return [
        "  ".join(
            cell.ljust(width) if column < text_columns else cell.rjust(width)
            for column, (cell, width) in enumerate(zip(line, widths, strict=True))
        ).rstrip()
        for line in lines
    ]


def format_summary(snapshot: MetricsSnapshot) -> str:
    """Return *snapshot* as a plain-text table, one line per operation, durations in ms.

    Tool calls come first (calls, errors, latencies); when plan steps were recorded, a
    second table follows with one line per operation and step outcome. This is what
    ``execproto run --metrics`` prints after the step table.
    """
    header = ("operation", "calls", "errors", "err%", "mean ms", "p50 ms", "p95 ms", "max ms")
    lines: list[tuple[str, ...]] = [header]
    for row in summarize(snapshot):
        lines.append(
            (
                row["operation"],
                str(row["count"]),
                str(row["errors"]),
                f"{row['error_rate'] * 100:.1f}",
                _milliseconds(row["mean_seconds"]),
                _milliseconds(row["p50_seconds"]),
                _milliseconds(row["p95_seconds"]),
                _milliseconds(row["max_seconds"]),
            )
        )
    rendered = _render(lines)
    outcomes = snapshot["outcomes"]
    if outcomes:
        steps: list[tuple[str, ...]] = [("operation", "step outcome", "steps")]
        for operation, counts in outcomes.items():
            steps.extend((operation, outcome, str(count)) for outcome, count in counts.items())
        rendered += ["", *_render(steps, text_columns=2)]
    return "\n".join(rendered)
