"""Monitoring on and off (issue 9): what metrics and spans add to one tool execution, and
what recording a million calls costs in memory.

No DESIGN target: the overhead row shows the cost of each layer of observability against
the same unmonitored call, measured in the same rounds; the memory rows show that a
``MetricsCollector`` stays the same size however many calls it records.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from benchmarks._anchors import Calculator
from benchmarks._harness import (
    RowResult,
    Subject,
    async_call_timer,
    measure,
    peak_bytes,
    workload_timer,
)
from benchmarks._profiles import Profile
from benchmarks._rows import OptionalSubjects, event_loop, execproto_attr, optional_stack

__all__ = ["row_metrics_memory", "row_monitoring"]

# Ten operation keys and one failure in a thousand: the shape of a busy service's traffic,
# small enough in cardinality for the collector's per-key limits never to matter.
_OPERATIONS = tuple(f"tool{i}.run" for i in range(10))
_ERROR = ValueError("boom")


def row_monitoring(profile: Profile) -> list[RowResult]:
    """Metrics, spans (no-op and SDK) and monitored executors against the unmonitored path."""
    row = RowResult(
        name="monitoring",
        section="monitoring",
        title="monitoring overhead per tool execution",
        anchor="direct await tool.add(**p)",
        target=None,
        note=(
            "spans (no-op) = opentelemetry-api with no SDK installed; spans (SDK) = an SDK "
            "TracerProvider with no span processor, so spans are built but not exported"
        ),
    )
    tool = Calculator()
    params = {"a": 1, "b": 2}
    with event_loop() as loop:
        anchors = [
            Subject(
                "direct await tool.add(**p)", "anchor", async_call_timer(loop, tool.add, **params)
            )
        ]
        optional = OptionalSubjects(row)
        opened: list[Any] = []

        def tracked(monitor: Any) -> Any:
            async def call() -> int:
                with monitor.track("calc", "add"):
                    return await tool.add(**params)

            return call

        def decorated() -> Subject:
            monitor_execution = execproto_attr("runtime.monitoring", "monitor_execution")
            collector = execproto_attr("runtime.metrics", "MetricsCollector")()
            wrapped = monitor_execution(name="calc.add", metrics=collector)(tool.add)
            return Subject(
                "execproto @monitor_execution", "subject", async_call_timer(loop, wrapped, **params)
            )

        def track(name: str, **options: Any) -> Subject:
            monitor = execproto_attr("runtime.monitoring", "Monitor")(**options)
            return Subject(name, "subject", async_call_timer(loop, tracked(monitor)))

        def track_sdk() -> Subject:
            from opentelemetry.sdk.trace import TracerProvider

            return track(
                "execproto Monitor.track, spans (SDK)",
                tracing=True,
                tracer_provider=TracerProvider(),
            )

        optional.add("execproto @monitor_execution", decorated)
        optional.add(
            "execproto Monitor.track, metrics only",
            lambda: track("execproto Monitor.track, metrics only", tracing=False),
        )
        optional.add(
            "execproto Monitor.track, spans (no-op)",
            lambda: track("execproto Monitor.track, spans (no-op)", tracing=True),
        )
        optional.add("execproto Monitor.track, spans (SDK)", track_sdk)
        with optional_stack(row, profile.limit) as stack:
            if stack is not None:
                executor, _ = stack
                optional.add(
                    "execproto ToolExecutor.execute_async, no monitor",
                    lambda: Subject(
                        "execproto ToolExecutor.execute_async, no monitor",
                        "subject",
                        async_call_timer(loop, executor.execute_async, tool, "add", **params),
                    ),
                )
                optional.add(
                    "execproto ToolExecutor.execute_async, monitor",
                    lambda: _monitored_executor(loop, tool, params, opened),
                )
            try:
                row.measurements = measure([*anchors, *optional.subjects], profile.micro)
            finally:
                for executor in opened:
                    executor.close()
    return [row]


def _monitored_executor(
    loop: Any, tool: Calculator, params: dict[str, Any], opened: list[Any]
) -> Subject:
    executor = execproto_attr("runtime.executor", "ToolExecutor")(
        monitor=execproto_attr("runtime.monitoring", "Monitor")(tracing=False)
    )
    opened.append(executor)
    return Subject(
        "execproto ToolExecutor.execute_async, monitor",
        "subject",
        async_call_timer(loop, executor.execute_async, tool, "add", **params),
    )


def _recorder(calls: int) -> Callable[[], object]:
    """Record *calls* calls into a new MetricsCollector; return it (its snapshot is sized)."""
    collector_cls = execproto_attr("runtime.metrics", "MetricsCollector")
    operations = _OPERATIONS

    def record() -> object:
        collector = collector_cls()
        for i in range(calls):
            collector.record(
                operations[i % 10], (i % 1000) * 1e-5, _ERROR if i % 1000 == 999 else None
            )
        return collector

    return record


def _logger(calls: int) -> Callable[[], object]:
    """Append *calls* calls to a list, as a monitor that keeps every call would."""
    operations = _OPERATIONS

    def log() -> object:
        calls_log: list[tuple[str, float, str | None]] = []
        for i in range(calls):
            calls_log.append(
                (operations[i % 10], (i % 1000) * 1e-5, "ValueError" if i % 1000 == 999 else None)
            )
        return calls_log

    return log


def _metrics_memory_row(profile: Profile, calls: int) -> RowResult:
    row = RowResult(
        name=f"monitoring-memory-{calls}",
        section="monitoring",
        title=f"record {calls:,} calls, then snapshot",
        anchor="list.append((operation, duration, error)) (unbounded)",
        target=None,
        note=(
            "10 operations, 1 call in 1 000 failing; peak = tracemalloc peak of one whole "
            "round (the filled collector or list); snapshot = json.dumps of "
            "MetricsCollector.snapshot() (of the list itself for the anchor)"
        ),
    )
    fills: dict[str, Callable[[], object]] = {"list.append (every call kept)": _logger(calls)}
    anchors = [
        Subject(
            "list.append (every call kept)",
            "anchor",
            workload_timer(fills["list.append (every call kept)"]),
            workload=True,
            ops=calls,
        )
    ]
    optional = OptionalSubjects(row)
    name = "execproto MetricsCollector.record"

    def build() -> Subject:
        fills[name] = _recorder(calls)
        return Subject(name, "subject", workload_timer(fills[name]), workload=True, ops=calls)

    def check() -> bool:
        collector: Any = fills[name]()
        counts = [op["count"] for op in collector.snapshot()["operations"].values()]
        return bool(calls == sum(counts))

    optional.add(name, build, check)
    subjects = [*anchors, *optional.subjects]
    row.measurements = measure(subjects, profile.workload_for(calls))
    for measurement, subject in zip(row.measurements, subjects, strict=True):
        measurement.peak_bytes = peak_bytes(subject.run)
        kept: Any = fills[subject.name]()
        if subject.kind == "subject":
            kept = kept.snapshot()
        measurement.snapshot_bytes = len(json.dumps(kept).encode())
    return row


def row_metrics_memory(profile: Profile) -> list[RowResult]:
    """Memory of a MetricsCollector after 1e3 and 1e6 recorded calls, against a list of them."""
    return [_metrics_memory_row(profile, calls) for calls in profile.metrics_calls]
