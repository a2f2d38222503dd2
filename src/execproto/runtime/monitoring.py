"""Observability for the execution layer: bounded metrics, a decorator, OpenTelemetry spans.

Three pieces, from the smallest up:

- :class:`MetricsCollector` counts calls, errors and a fixed-bucket latency histogram per
  operation. Its memory does not depend on how many calls it has seen, and the number of
  distinct operation names it keeps is capped (later names share :data:`OVERFLOW_KEY`), so
  a stream of hostile names cannot grow it. :meth:`~MetricsCollector.snapshot` returns
  plain, JSON-serialisable data.
- :func:`monitor_execution` wraps a sync or async function (or method) and records its
  duration and outcome into a collector; it re-raises whatever the function raised.
- :class:`Monitor` is the hook the executors call around each tool execution::

      monitor = Monitor()
      with monitor.track("search", "query", call_id="call_1"):
          result = tool.query(q="x")

  It records into its collector and, when the ``otel`` extra (``opentelemetry-api``) is
  installed, opens one span per execution following the OpenTelemetry GenAI semantic
  conventions (``execute_tool {gen_ai.tool.name}``). Without the extra, or with
  ``tracing=False``, :mod:`opentelemetry` is never imported.
  :meth:`Monitor.track_plan` is the hook of the operation executor: one ``invoke_workflow``
  span per plan run, the parent of its tool spans, and step counts by outcome.
  The call id (``gen_ai.tool.call.id``) of a tracked execution comes from the current
  :class:`~execproto.context.CallContext` (:func:`execproto.context.tool_call_id`, or the
  operation executor's plan item), so no executor signature has to carry it.

Nothing here logs per call and nothing calls :func:`logging.basicConfig`. Parameters and
results are never recorded unless :class:`Monitor` is built with ``capture_content=True``.
"""

from __future__ import annotations

import functools
import inspect
import itertools
import math
import threading
import time
from bisect import bisect_left
from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Protocol, TypeVar, cast, overload

from typing_extensions import ParamSpec, TypedDict

from execproto.context import CallContext, current_call

if TYPE_CHECKING:
    from opentelemetry.trace import TracerProvider

    from execproto.integrations._otel import SpanHandle, ToolSpans

__all__ = [
    "DEFAULT_BUCKETS",
    "OVERFLOW_KEY",
    "MetricsCollector",
    "MetricsSnapshot",
    "Monitor",
    "OperationSnapshot",
    "OperationSummary",
    "TrackedCall",
    "TrackedPlan",
    "UsageReport",
    "default_metrics",
    "format_summary",
    "monitor_execution",
    "outcome_label",
    "summarize",
]

P = ParamSpec("P")
R = TypeVar("R")

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


def _error_type(cls: type[BaseException]) -> str:
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


def _check_positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(
            f"{name} must be a positive int, got {value!r} of type {type(value).__name__}"
        )
    return value


def _check_buckets(buckets: Sequence[float]) -> tuple[float, ...]:
    message = (
        f"buckets must be a non-empty, strictly increasing sequence of positive finite "
        f"upper bounds in seconds, got {buckets!r} of type {type(buckets).__name__}; "
        f"e.g. (0.001, 0.01, 0.1, 1.0)"
    )
    try:
        bounds = tuple(float(bound) for bound in buckets)
    except (TypeError, ValueError) as err:
        raise ValueError(message) from err
    ordered = all(low < high for low, high in itertools.pairwise(bounds))
    if not bounds or not ordered or not all(0.0 < b < math.inf for b in bounds):
        raise ValueError(message)
    return bounds


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
        ValueError: *buckets* is empty, unsorted, or holds a bound that is not a positive
            finite number; a limit is not a positive int.
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
        self._bounds = _check_buckets(buckets)
        self._max_operations = _check_positive_int("max_operations", max_operations)
        self._max_error_types = _check_positive_int("max_error_types", max_error_types)
        self._max_key_length = _check_positive_int("max_key_length", max_key_length)
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
        error_type = None if error is None else _error_type(type(error))
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


class _Decorator(Protocol):
    def __call__(self, func: Callable[P, R], /) -> Callable[P, R]: ...


@overload
def monitor_execution(func: Callable[P, R], /) -> Callable[P, R]: ...


@overload
def monitor_execution(
    *, name: str | None = None, metrics: MetricsCollector | None = None
) -> _Decorator: ...


def monitor_execution(
    func: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    metrics: MetricsCollector | None = None,
) -> Any:
    """Record the duration and outcome of every call of a sync or async function.

    Use bare (``@monitor_execution``) or with options
    (``@monitor_execution(name="search.query", metrics=collector)``). Calls are recorded under
    *name*, by default the function's ``__qualname__`` (``"SearchTool.query"`` for a method),
    into *metrics*, by default :func:`default_metrics`. The wrapper keeps the function's
    signature for type checkers, is a coroutine function when the function is one, and
    re-raises whatever the function raised. It opens no span: spans are for tool executions
    and come from :meth:`Monitor.track`.

    Raises:
        TypeError: the function is a generator or async generator function, whose work runs
            after the call returns and so cannot be timed by wrapping the call.
    """
    if func is not None:
        return _wrap(func, name, metrics)

    def decorate(function: Callable[P, R], /) -> Callable[P, R]:
        return _wrap(function, name, metrics)

    return decorate


def _wrap(
    function: Callable[P, R], name: str | None, metrics: MetricsCollector | None
) -> Callable[P, R]:
    if inspect.isgeneratorfunction(function) or inspect.isasyncgenfunction(function):
        raise TypeError(
            f"monitor_execution expected a function that does its work when called, got "
            f"the generator function {function!r}; time the code that consumes it instead"
        )
    key = name if name is not None else function.__qualname__

    if inspect.iscoroutinefunction(function):
        coroutine_function = cast("Callable[P, Awaitable[object]]", function)

        @functools.wraps(function)
        async def async_wrapper(*args: P.args, **kwargs: P.kwargs) -> object:
            collector = metrics if metrics is not None else default_metrics()
            start = time.perf_counter()
            try:
                result = await coroutine_function(*args, **kwargs)
            except BaseException as error:
                collector.record(key, time.perf_counter() - start, error)
                raise
            collector.record(key, time.perf_counter() - start)
            return result

        return cast("Callable[P, R]", async_wrapper)

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        collector = metrics if metrics is not None else default_metrics()
        start = time.perf_counter()
        try:
            result = function(*args, **kwargs)
        except BaseException as error:
            collector.record(key, time.perf_counter() - start, error)
            raise
        collector.record(key, time.perf_counter() - start)
        return result

    return wrapper


_NO_RESULT: Final = object()


def outcome_label(status: str, error_code: str | None) -> str:
    """Return the outcome under which a plan step is counted: ``"completed"``, ``"failed E003"``.

    *status* and *error_code* are the string values of a step result's
    :class:`~execproto.models.TaskStatus` and :class:`~execproto.models.ErrorCode`.
    """
    return status if error_code is None else f"{status} {error_code}"


class TrackedCall:
    """One tracked tool execution: the context manager :meth:`Monitor.track` returns.

    Use it once, with ``with`` (sync or async code) or ``async with``. On exit it records the
    duration and outcome and ends the span; it never suppresses an exception.
    """

    __slots__ = (
        "_arguments",
        "_call_id",
        "_claimed",
        "_handle",
        "_metrics",
        "_operation_name",
        "_result",
        "_spans",
        "_start",
        "_tool_name",
    )

    def __init__(
        self,
        metrics: MetricsCollector,
        spans: ToolSpans | None,
        tool_name: str,
        operation_name: str,
        call_id: str | None,
        arguments: Mapping[str, Any] | None,
    ) -> None:
        self._metrics = metrics
        self._spans = spans
        self._tool_name = tool_name
        self._operation_name = operation_name
        self._call_id = call_id
        self._arguments = arguments
        self._handle: SpanHandle | None = None
        self._claimed: CallContext | None = None
        self._result: object = _NO_RESULT
        self._start = 0.0

    def set_result(self, result: object) -> None:
        """Hand over the call's result; it is put on the span only if content capture is on."""
        self._result = result

    def __enter__(self) -> TrackedCall:
        call = current_call()
        if call is not None and not call.claimed and call.call_id is not None:
            # Claimed, not just read: a tool that runs other tools inside this block must
            # not hand the same id on to them.
            call.claimed = True
            self._claimed = call
            if self._call_id is None:
                self._call_id = call.call_id
        if self._spans is not None:
            self._handle = self._spans.start(
                self._tool_name, self._operation_name, self._call_id, self._arguments
            )
        self._start = time.perf_counter()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        duration = time.perf_counter() - self._start
        try:
            self._metrics.record(f"{self._tool_name}.{self._operation_name}", duration, exc)
            if self._spans is not None and self._handle is not None:
                error_type = None if exc is None else _error_type(type(exc))
                handle, self._handle = self._handle, None
                result = self._result
                has_result = result is not _NO_RESULT
                self._spans.end(handle, exc, error_type, result if has_result else None, has_result)
        finally:
            if self._claimed is not None:
                self._claimed.claimed, self._claimed = False, None

    async def __aenter__(self) -> TrackedCall:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, traceback)


class TrackedPlan:
    """One tracked plan run: the context manager :meth:`Monitor.track_plan` returns.

    Use it once, with ``with``, around the whole run; call :meth:`record_step` once per step
    result. With tracing on, the plan span is current inside the block, so the tool spans
    of its steps (and of tasks created inside it) become its children. On exit the span
    gets the step totals and ends; an exception is never suppressed.
    """

    __slots__ = ("_completed", "_failed", "_handle", "_metrics", "_mode", "_spans", "_steps")

    def __init__(
        self, metrics: MetricsCollector, spans: ToolSpans | None, mode: str, steps: int
    ) -> None:
        self._metrics = metrics
        self._spans = spans
        self._mode = mode
        self._steps = steps
        self._completed = 0
        self._failed = 0
        self._handle: SpanHandle | None = None

    @property
    def completed(self) -> int:
        """How many recorded steps completed."""
        return self._completed

    @property
    def failed(self) -> int:
        """How many recorded steps did not complete (failed, timed out, cancelled, skipped)."""
        return self._failed

    def record_step(self, operation: str, status: str, error_code: str | None) -> None:
        """Count one finished step of *operation* by its *status* and *error_code* values."""
        self._metrics.record_outcome(operation, outcome_label(status, error_code))
        if status == "completed":
            self._completed += 1
        else:
            self._failed += 1

    def __enter__(self) -> TrackedPlan:
        if self._spans is not None:
            self._handle = self._spans.start_plan(self._mode, self._steps)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._spans is not None and self._handle is not None:
            handle, self._handle = self._handle, None
            error_type = None if exc is None else _error_type(type(exc))
            self._spans.end_plan(handle, exc, error_type, self._completed, self._failed)


class Monitor:
    """The hook executors call around each tool execution: metrics plus, optionally, spans.

    *metrics* is the collector to record into (a new one by default). *tracing* chooses
    OpenTelemetry spans: ``None`` turns them on exactly when ``opentelemetry-api`` is
    importable, ``False`` never imports it, ``True`` requires it. Spans go to
    *tracer_provider*, by default the global one (a no-op until the application installs
    an SDK provider). *capture_content* opts in to putting arguments, results and
    exception messages on spans; they may hold user data, so it is off by default.

    Raises:
        ImportError: ``tracing=True`` and ``opentelemetry-api`` is not installed.
        ValueError: *tracer_provider* is given with ``tracing=False``.
    """

    __slots__ = ("_metrics", "_spans")

    def __init__(
        self,
        metrics: MetricsCollector | None = None,
        *,
        tracing: bool | None = None,
        tracer_provider: TracerProvider | None = None,
        capture_content: bool = False,
    ) -> None:
        if tracing is False and tracer_provider is not None:
            raise ValueError(
                f"tracer_provider={tracer_provider!r} was given with tracing=False; "
                f"drop one of them"
            )
        self._metrics = metrics if metrics is not None else MetricsCollector()
        self._spans: ToolSpans | None = None
        if tracing is False:
            return
        try:
            from execproto.integrations._otel import ToolSpans
        except ImportError as err:
            if tracing:
                raise ImportError(
                    f"tracing=True needs opentelemetry-api, which cannot be imported ({err}); "
                    f"install the extra with: pip install 'execproto[otel]'"
                ) from err
            return
        from execproto._version import __version__

        self._spans = ToolSpans(
            tracer_provider, capture_content=capture_content, version=__version__
        )

    @property
    def metrics(self) -> MetricsCollector:
        """The collector this monitor records into."""
        return self._metrics

    @property
    def tracing(self) -> bool:
        """Whether this monitor opens OpenTelemetry spans."""
        return self._spans is not None

    def track(
        self,
        tool_name: str,
        operation_name: str,
        *,
        call_id: str | None = None,
        arguments: Mapping[str, Any] | None = None,
    ) -> TrackedCall:
        """Return a context manager that tracks one execution of *tool_name*.*operation_name*.

        Metrics are recorded under ``"{tool_name}.{operation_name}"``; the span is named
        ``execute_tool {tool_name}`` and carries *call_id* as ``gen_ai.tool.call.id`` when
        given. *arguments* are only read if content capture is on. The span is made current
        inside the block, so spans opened there become its children.
        """
        return TrackedCall(
            self._metrics, self._spans, tool_name, operation_name, call_id, arguments
        )

    def track_plan(self, mode: str, steps: int) -> TrackedPlan:
        """Return a context manager that tracks one run of a plan of *steps* items.

        *mode* says how the plan runs (``"sequence"``, ``"parallel"``, ``"dag"``,
        ``"batch"``). With tracing on, the run gets one ``invoke_workflow`` span (the GenAI
        conventions' span for a composite operation) that the steps' ``execute_tool`` spans
        nest under; steps are counted into :attr:`metrics` by outcome
        (:meth:`TrackedPlan.record_step`). It opens no ``execute_tool`` span itself: that is
        the tool executor's :meth:`track`.

        The span, kind INTERNAL, carries ``gen_ai.operation.name="invoke_workflow"``,
        ``execproto.plan.mode``, ``execproto.plan.steps`` and, at the end,
        ``execproto.plan.steps.completed`` and ``execproto.plan.steps.failed``. A run with a
        step that did not complete ends with status ERROR; a run that raised (cancelled)
        also gets ``error.type``. A plan has no name, so ``gen_ai.workflow.name`` is left
        out and the span is named after the operation alone.
        """
        return TrackedPlan(self._metrics, self._spans, mode, steps)


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
