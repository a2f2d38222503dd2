"""Monitoring wired through the stack: ToolExecutor, OperationExecutor, ExecutionEngine.

The span trees are read back from the OpenTelemetry SDK's in-memory exporter; the example
plans run through the real registry, tool executor and operation executor.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from examples import tools as example_tools
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from execproto.context import tool_call_id
from execproto.models import TaskStepResult
from execproto.runtime.engine import ExecutionEngine
from execproto.runtime.executor import ToolExecutor
from execproto.runtime.metrics import outcome_label
from execproto.runtime.monitoring import Monitor
from execproto.runtime.operations import OperationExecutor
from execproto.runtime.registry import ToolRegistry

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def provider(exporter: InMemorySpanExporter) -> Iterator[TracerProvider]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider
    provider.shutdown()


@pytest.fixture
def monitor(provider: TracerProvider) -> Monitor:
    return Monitor(tracer_provider=provider)


class Nested:
    """Tools that open spans of their own, or run another tool, inside their execution."""

    def __init__(
        self, provider: trace.TracerProvider, executor: ToolExecutor | None = None
    ) -> None:
        self._tracer = provider.get_tracer("tests")
        self._executor = executor

    def sync_inner(self, n: int) -> int:
        with self._tracer.start_as_current_span("inner work"):
            return n + 1

    async def async_inner(self, n: int) -> int:
        with self._tracer.start_as_current_span("inner work"):
            return n + 1

    def boom(self) -> None:
        raise ValueError("boom")

    async def outer(self, n: int) -> int:
        assert self._executor is not None
        return int(await self._executor.execute_async(self, "sync_inner", n=n))


async def wait_forever(started: asyncio.Event) -> None:
    started.set()
    await asyncio.Event().wait()


class Waiter:
    def __init__(self) -> None:
        self.started = asyncio.Event()

    async def wait(self) -> None:
        await wait_forever(self.started)


def _example_plan(name: str) -> list[dict[str, Any]]:
    plan: dict[str, Any] = json.loads((EXAMPLES / name).read_text(encoding="utf-8"))
    operations: list[dict[str, Any]] = plan["operations"]
    return operations


def _attributes(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def _plan_span(exporter: InMemorySpanExporter) -> ReadableSpan:
    plans = [span for span in exporter.get_finished_spans() if span.name == "invoke_workflow"]
    assert 1 == len(plans)
    return plans[0]


def _tool_spans(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    return [span for span in exporter.get_finished_spans() if span.name.startswith("execute_tool")]


def _parent_id(span: ReadableSpan) -> int | None:
    return None if span.parent is None else span.parent.span_id


def _span_id(span: ReadableSpan) -> int:
    assert span.context is not None
    return int(span.context.span_id)


def _trace_id(span: ReadableSpan) -> int:
    assert span.context is not None
    return int(span.context.trace_id)


def _by_call_id(spans: list[ReadableSpan]) -> dict[str, ReadableSpan]:
    return {str(_attributes(span)["gen_ai.tool.call.id"]): span for span in spans}


def _outcomes(steps: list[TaskStepResult]) -> dict[str, dict[str, int]]:
    counted: dict[str, dict[str, int]] = {}
    for step in steps:
        code = None if step.error_code is None else step.error_code.value
        label = outcome_label(step.status.value, code)
        per_operation = counted.setdefault(step.step, {})
        per_operation[label] = per_operation.get(label, 0) + 1
    return counted


async def _run_example(monitor: Monitor, name: str) -> list[TaskStepResult]:
    registry = ToolRegistry()
    example_tools.register(registry)
    with ToolExecutor(registry, monitor=monitor) as tool_executor:
        operations = OperationExecutor(registry, tool_executor, monitor=monitor)
        return await operations.execute_operations_sequence(_example_plan(name), "u1", "t1")


# --- the example plans ---------------------------------------------------------------------


async def test_the_example_plan_is_one_workflow_span_with_one_tool_span_per_step(
    monitor: Monitor, exporter: InMemorySpanExporter
) -> None:
    steps = await _run_example(monitor, "plan.json")

    assert all(not step.failed for step in steps)
    plan = _plan_span(exporter)
    tools = _by_call_id(_tool_spans(exporter))
    assert SpanKind.INTERNAL == plan.kind
    assert None is plan.parent
    assert StatusCode.UNSET == plan.status.status_code
    assert {
        "gen_ai.operation.name": "invoke_workflow",
        "execproto.plan.mode": "dag",
        "execproto.plan.steps": 6,
        "execproto.plan.steps.completed": 6,
        "execproto.plan.steps.failed": 0,
    } == _attributes(plan)
    # One span per step, even for rates.convert, which failed once and was retried.
    assert {
        "search": "execute_tool web",
        "rates": "execute_tool rates",
        "analyze": "execute_tool text",
        "background": "execute_tool text",
        "summary": "execute_tool text",
        "report": "execute_tool report",
    } == {call_id: span.name for call_id, span in tools.items()}
    assert 6 == len(_tool_spans(exporter))
    assert {_span_id(plan)} == {_parent_id(span) for span in tools.values()}
    assert {_trace_id(plan)} == {_trace_id(span) for span in tools.values()}
    assert {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "rates",
        "gen_ai.tool.type": "function",
        "gen_ai.tool.call.id": "rates",
        "execproto.tool.operation": "convert",
    } == _attributes(tools["rates"])


async def test_the_failing_example_plan_marks_the_failing_tool_span_and_the_plan(
    monitor: Monitor, exporter: InMemorySpanExporter
) -> None:
    steps = await _run_example(monitor, "failing_plan.json")

    plan = _plan_span(exporter)
    tools = _by_call_id(_tool_spans(exporter))
    # "escape" fails its reference before the tool runs and "report" is skipped: no tool
    # executed, so no execute_tool span for them.
    assert {"search", "yen", "analyze"} == set(tools)
    assert {_span_id(plan)} == {_parent_id(span) for span in tools.values()}
    failing = tools["yen"]
    assert StatusCode.ERROR == failing.status.status_code
    assert "KeyError" == _attributes(failing)["error.type"]
    assert "error.type" not in _attributes(tools["search"])
    assert "error.type" not in _attributes(tools["analyze"])
    assert StatusCode.ERROR == plan.status.status_code
    assert "3 of 5 steps did not complete" == plan.status.description
    assert "error.type" not in _attributes(plan)  # the run itself returned normally
    assert (2, 3) == (
        _attributes(plan)["execproto.plan.steps.completed"],
        _attributes(plan)["execproto.plan.steps.failed"],
    )
    assert _outcomes(steps) == monitor.metrics.snapshot()["outcomes"]
    assert {
        "rates.convert": {"failed E003": 1},
        "report.compose": {"cancelled E004": 1},
        "text.analyze": {"completed": 1, "failed E001": 1},
        "web.search": {"completed": 1},
    } == monitor.metrics.snapshot()["outcomes"]


async def test_tool_calls_are_counted_once_and_steps_by_outcome(monitor: Monitor) -> None:
    await _run_example(monitor, "failing_plan.json")

    snapshot = monitor.metrics.snapshot()
    # Calls reach the metrics once per execution (the tool executor's), never per step.
    assert {"rates.convert": 1, "text.analyze": 1, "web.search": 1} == {
        key: stats["count"] for key, stats in snapshot["operations"].items()
    }
    assert 1 == snapshot["operations"]["rates.convert"]["errors"]


# --- nesting and call ids ------------------------------------------------------------------


@pytest.mark.parametrize("operation", ["sync_inner", "async_inner"])
async def test_spans_opened_inside_a_tool_nest_under_its_tool_span(
    operation: str, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    monitor = Monitor(tracer_provider=provider)
    registry = ToolRegistry()
    registry.register("nested", Nested(provider))
    with ToolExecutor(registry, monitor=monitor) as tool_executor:
        operations = OperationExecutor(registry, tool_executor, monitor=monitor)
        await operations.execute_parallel_operations(
            [{"operation": f"nested.{operation}", "params": {"n": i}} for i in range(3)]
        )

    plan = _plan_span(exporter)
    tools = _by_call_id(_tool_spans(exporter))
    inner = [span for span in exporter.get_finished_spans() if span.name == "inner work"]
    assert {"0", "1", "2"} == set(tools)  # no item id: the index is the call id
    assert {_span_id(plan)} == {_parent_id(span) for span in tools.values()}
    assert {_span_id(span) for span in tools.values()} == {_parent_id(span) for span in inner}
    assert 3 == len(inner)


async def test_a_tool_run_inside_a_tool_does_not_inherit_the_plan_items_call_id(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    monitor = Monitor(tracer_provider=provider)
    registry = ToolRegistry()
    with ToolExecutor(registry, monitor=monitor) as tool_executor:
        registry.register("nested", Nested(provider, tool_executor))
        operations = OperationExecutor(registry, tool_executor, monitor=monitor)
        await operations.execute_operations_sequence(
            [{"id": "first", "operation": "nested.outer", "params": {"n": 1}}], "u", "t"
        )

    spans = {_attributes(span)["execproto.tool.operation"]: span for span in _tool_spans(exporter)}
    assert "first" == _attributes(spans["outer"])["gen_ai.tool.call.id"]
    assert "gen_ai.tool.call.id" not in _attributes(spans["sync_inner"])
    assert _span_id(spans["outer"]) == _parent_id(spans["sync_inner"])


async def test_tool_call_id_reaches_the_span_of_a_direct_tool_execution(
    monitor: Monitor, exporter: InMemorySpanExporter
) -> None:
    registry = ToolRegistry()
    registry.register("nested", Nested(trace.NoOpTracerProvider()))
    with ToolExecutor(registry, monitor=monitor) as tool_executor:
        with tool_call_id("call_abc123"):
            await tool_executor.execute_async("nested", "async_inner", n=1)
        await tool_executor.execute_async("nested", "async_inner", n=2)

    first, second = _tool_spans(exporter)
    assert "call_abc123" == _attributes(first)["gen_ai.tool.call.id"]
    assert "gen_ai.tool.call.id" not in _attributes(second)


async def test_without_a_monitor_the_operation_executor_adds_no_span_but_names_the_call(
    monitor: Monitor, exporter: InMemorySpanExporter
) -> None:
    registry = ToolRegistry()
    registry.register("nested", Nested(trace.NoOpTracerProvider()))
    with ToolExecutor(registry, monitor=monitor) as tool_executor:
        operations = OperationExecutor(registry, tool_executor)
        await operations.execute_operations_sequence(
            [{"id": "a", "operation": "nested.async_inner", "params": {"n": 1}}], "u", "t"
        )

    (span,) = exporter.get_finished_spans()
    assert "execute_tool nested" == span.name
    assert None is span.parent
    # The item's id travels in the step's call context, monitored plan or not.
    assert "a" == _attributes(span)["gen_ai.tool.call.id"]
    assert {} == monitor.metrics.snapshot()["outcomes"]


# --- modes ---------------------------------------------------------------------------------


async def test_a_batch_is_one_workflow_span_and_counts_exceptions_as_step_outcomes(
    monitor: Monitor, exporter: InMemorySpanExporter
) -> None:
    registry = ToolRegistry()
    registry.register("nested", Nested(trace.NoOpTracerProvider()))
    with ToolExecutor(registry, monitor=monitor) as tool_executor:
        operations = OperationExecutor(registry, tool_executor, monitor=monitor)
        results = await operations.batch_execute_operations(
            [
                {"operation": "nested.async_inner", "params": {"n": 1}},
                {"operation": "nested.boom"},
                {"operation": "nested.async_inner", "params": {"n": "$result[0]"}},
            ]
        )

    assert 2 == results[0]
    plan = _plan_span(exporter)
    assert "batch" == _attributes(plan)["execproto.plan.mode"]
    assert (1, 2) == (
        _attributes(plan)["execproto.plan.steps.completed"],
        _attributes(plan)["execproto.plan.steps.failed"],
    )
    assert {"0", "1"} == set(_by_call_id(_tool_spans(exporter)))  # item 2 never ran
    assert {
        "nested.async_inner": {"completed": 1, "failed E001": 1},
        "nested.boom": {"failed E003": 1},
    } == monitor.metrics.snapshot()["outcomes"]


async def test_a_single_operation_opens_no_workflow_span(
    monitor: Monitor, exporter: InMemorySpanExporter
) -> None:
    registry = ToolRegistry()
    registry.register("nested", Nested(trace.NoOpTracerProvider()))
    with ToolExecutor(registry, monitor=monitor) as tool_executor:
        operations = OperationExecutor(registry, tool_executor, monitor=monitor)
        assert 2 == await operations.execute_operation("nested.async_inner", {"n": 1})

    assert ["execute_tool nested"] == [span.name for span in exporter.get_finished_spans()]


async def test_a_cancelled_run_ends_its_workflow_span_with_the_cancellation_as_error_type(
    monitor: Monitor, exporter: InMemorySpanExporter
) -> None:
    registry = ToolRegistry()
    waiter = Waiter()
    registry.register("waiter", waiter)
    with ToolExecutor(registry, monitor=monitor) as tool_executor:
        operations = OperationExecutor(registry, tool_executor, monitor=monitor)
        run = asyncio.ensure_future(
            operations.execute_parallel_operations([{"operation": "waiter.wait"}])
        )
        await waiter.started.wait()
        run.cancel()
        with pytest.raises(asyncio.CancelledError):
            await run

    plan = _plan_span(exporter)
    assert "asyncio.exceptions.CancelledError" == _attributes(plan)["error.type"]
    assert StatusCode.ERROR == plan.status.status_code
    assert {"waiter.wait": {"cancelled E004": 1}} == monitor.metrics.snapshot()["outcomes"]
    assert [_span_id(plan)] == [_parent_id(span) for span in _tool_spans(exporter)]


async def test_the_engine_hands_its_monitor_to_the_operation_executors_it_builds(
    monitor: Monitor, exporter: InMemorySpanExporter
) -> None:
    registry = ToolRegistry()
    registry.register("nested", Nested(trace.NoOpTracerProvider()))
    with ToolExecutor(registry, monitor=monitor) as tool_executor:
        async with ExecutionEngine(registry, tool_executor, monitor=monitor) as engine:
            engine.register_executor("second", tool_executor)
            await engine.execute_operations_sequence(
                [{"operation": "nested.async_inner", "params": {"n": 1}}], "u", "t"
            )
            await engine.operations("second").execute_parallel_operations(
                [{"operation": "nested.async_inner", "params": {"n": 2}}]
            )

    modes = [
        _attributes(span)["execproto.plan.mode"]
        for span in exporter.get_finished_spans()
        if span.name == "invoke_workflow"
    ]
    assert ["sequence", "parallel"] == modes
    assert {"nested.async_inner": {"completed": 2}} == monitor.metrics.snapshot()["outcomes"]
