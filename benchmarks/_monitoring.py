"""Monitoring on and off (issue 9): what metrics and spans add to one tool execution.

No DESIGN target: the row shows the cost of each layer of observability against the same
unmonitored call, measured in the same rounds.
"""

from __future__ import annotations

from typing import Any

from benchmarks._anchors import Calculator
from benchmarks._harness import RowResult, Subject, async_call_timer, measure
from benchmarks._profiles import Profile
from benchmarks._rows import OptionalSubjects, event_loop, execproto_attr, optional_stack

__all__ = ["row_monitoring"]


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
            monitor_execution = execproto_attr("monitoring", "monitor_execution")
            collector = execproto_attr("monitoring", "MetricsCollector")()
            wrapped = monitor_execution(name="calc.add", metrics=collector)(tool.add)
            return Subject(
                "execproto @monitor_execution", "subject", async_call_timer(loop, wrapped, **params)
            )

        def track(name: str, **options: Any) -> Subject:
            monitor = execproto_attr("monitoring", "Monitor")(**options)
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
    executor = execproto_attr("executor", "ToolExecutor")(
        monitor=execproto_attr("monitoring", "Monitor")(tracing=False)
    )
    opened.append(executor)
    return Subject(
        "execproto ToolExecutor.execute_async, monitor",
        "subject",
        async_call_timer(loop, executor.execute_async, tool, "add", **params),
    )
