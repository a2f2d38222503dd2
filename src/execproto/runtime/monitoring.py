"""Tracking tool executions: a decorator for any function, and the executors' hook with spans.

Two pieces, both recording into a bounded
:class:`~execproto.runtime.metrics.MetricsCollector`:

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

The metrics themselves, their snapshots and summaries are in :mod:`execproto.runtime.metrics`.
Nothing here logs per call and nothing calls :func:`logging.basicConfig`. Parameters and
results are never recorded unless :class:`Monitor` is built with ``capture_content=True``.
"""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Protocol, TypeVar, cast, overload

from typing_extensions import ParamSpec

from execproto.context import CallContext, current_call
from execproto.runtime._validation import check_bool, check_instance
from execproto.runtime.metrics import (
    MetricsCollector,
    default_metrics,
    error_type_name,
    outcome_label,
)

if TYPE_CHECKING:
    from opentelemetry.trace import TracerProvider

    from execproto.integrations._otel import SpanHandle, ToolSpans

__all__ = [
    "Monitor",
    "TrackedCall",
    "TrackedPlan",
    "monitor_execution",
]

P = ParamSpec("P")
R = TypeVar("R")


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
    into *metrics*, by default :func:`~execproto.runtime.metrics.default_metrics`. The
    wrapper keeps the function's signature for type checkers, is a coroutine function when
    the function is one, and re-raises whatever the function raised. It opens no span:
    spans are for tool executions and come from :meth:`Monitor.track`.

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
                error_type = None if exc is None else error_type_name(type(exc))
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
            error_type = None if exc is None else error_type_name(type(exc))
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
        TypeError: *metrics* is not a :class:`~execproto.runtime.metrics.MetricsCollector`,
            or *tracing* or *capture_content* not a bool.
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
        owner = "Monitor"
        collector = check_instance(
            owner,
            "metrics",
            metrics,
            MetricsCollector,
            optional=True,
            fix="pass a MetricsCollector(), or None for a new one",
        )
        tracing = check_bool(owner, "tracing", tracing, optional=True)
        capture_content = check_bool(owner, "capture_content", capture_content)
        if tracing is False and tracer_provider is not None:
            # A provider says where spans go; with tracing off there are none.
            raise ValueError(
                f"{owner}: tracer_provider must be None when tracing=False, got "
                f"{tracer_provider!r} of type {type(tracer_provider).__name__}; drop "
                f"tracer_provider, or pass tracing=None or True"
            )
        self._metrics = collector if collector is not None else MetricsCollector()
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
