"""Tests for execproto.runtime.monitoring: monitor_execution, Monitor and its spans."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from execproto.context import tool_call_id
from execproto.runtime.metrics import MetricsCollector, default_metrics
from execproto.runtime.monitoring import Monitor, monitor_execution


class ToolFailure(Exception):
    """A failure raised by a test tool; its module-qualified name shows in error.type."""


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


def _only_span(exporter: InMemorySpanExporter) -> ReadableSpan:
    spans = exporter.get_finished_spans()
    assert 1 == len(spans)
    return spans[0]


def _attributes(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


# --- concurrency --------------------------------------------------------------------------


def test_recording_from_eight_threads_gives_exact_counts() -> None:
    monitor = Monitor(tracing=False)
    threads_count, calls = 8, 2_000
    barrier = threading.Barrier(threads_count)

    def work() -> None:
        barrier.wait()
        for index in range(calls):
            try:
                with monitor.track("tool", "op"):
                    if index % 4 == 0:
                        raise ToolFailure
            except ToolFailure:
                pass

    threads = [threading.Thread(target=work) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    stats = monitor.metrics.snapshot()["operations"]["tool.op"]
    assert (threads_count * calls, threads_count * calls // 4) == (stats["count"], stats["errors"])
    assert threads_count * calls == sum(stats["bucket_counts"])


async def test_recording_from_many_coroutines_gives_exact_counts() -> None:
    monitor = Monitor(tracing=False)
    collector = MetricsCollector()

    @monitor_execution(name="decorated", metrics=collector)
    async def decorated(index: int) -> int:
        await asyncio.sleep(0)
        if index % 3 == 0:
            raise ToolFailure
        return index

    async def work(index: int) -> None:
        for _ in range(10):
            async with monitor.track("tool", "op"):
                await asyncio.sleep(0)
        with contextlib.suppress(ToolFailure):
            await decorated(index)

    await asyncio.gather(*(work(index) for index in range(300)))

    assert 3_000 == monitor.metrics.snapshot()["operations"]["tool.op"]["count"]
    stats = collector.snapshot()["operations"]["decorated"]
    assert (300, 100) == (stats["count"], stats["errors"])


# --- monitor_execution --------------------------------------------------------------------


def test_decorated_function_returns_its_result_and_records_under_its_qualname() -> None:
    collector = MetricsCollector()

    @monitor_execution(metrics=collector)
    def add(a: int, b: int = 1) -> int:
        """Add two numbers."""
        return a + b

    assert 5 == add(2, b=3)
    assert {add.__qualname__: 1} == collector.get_usage_report()["usage_by_operation"]
    assert "Add two numbers." == add.__doc__
    assert "(a: 'int', b: 'int' = 1) -> 'int'" == str(inspect.signature(add))


def test_decorated_function_reraises_the_original_exception_and_records_it() -> None:
    collector = MetricsCollector()
    error = ToolFailure("boom")

    @monitor_execution(name="failing", metrics=collector)
    def failing() -> None:
        raise error

    with pytest.raises(ToolFailure) as raised:
        failing()

    assert error is raised.value
    assert {"failing": 1} == collector.get_usage_report()["errors_by_operation"]


async def test_decorated_coroutine_function_stays_a_coroutine_function() -> None:
    collector = MetricsCollector()

    @monitor_execution(name="fetch", metrics=collector)
    async def fetch(url: str) -> str:
        await asyncio.sleep(0)
        return url.upper()

    assert inspect.iscoroutinefunction(fetch)
    assert "HTTP://X" == await fetch("http://x")
    assert {"fetch": 1} == collector.get_usage_report()["usage_by_operation"]


async def test_decorated_coroutine_function_records_cancellation_as_an_error() -> None:
    collector = MetricsCollector()
    started = asyncio.Event()

    @monitor_execution(name="slow", metrics=collector)
    async def slow() -> None:
        started.set()
        await asyncio.Event().wait()

    task = asyncio.ensure_future(slow())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert {"asyncio.exceptions.CancelledError": 1} == collector.snapshot()["error_types"]


async def test_decorated_methods_receive_self_and_record_under_class_and_method() -> None:
    collector = MetricsCollector()

    class Tool:
        def __init__(self) -> None:
            self.factor = 10

        @monitor_execution(metrics=collector)
        def scale(self, value: int) -> int:
            return value * self.factor

        @monitor_execution(metrics=collector)
        async def scale_async(self, value: int) -> int:
            return value * self.factor

    tool = Tool()

    assert 20 == tool.scale(2)
    assert 30 == await tool.scale_async(3)
    usage = collector.get_usage_report()["usage_by_operation"]
    assert {f"{Tool.__qualname__}.scale", f"{Tool.__qualname__}.scale_async"} == set(usage)


def test_bare_decorator_records_into_the_default_collector() -> None:
    @monitor_execution
    def bare_decorated_function() -> str:
        return "ok"

    key = bare_decorated_function.__qualname__
    before = default_metrics().get_usage_report()["usage_by_operation"].get(key, 0)

    assert "ok" == bare_decorated_function()
    assert before + 1 == default_metrics().get_usage_report()["usage_by_operation"][key]


def test_decorating_a_generator_function_is_rejected() -> None:
    def numbers() -> Iterator[int]:
        yield 1

    with pytest.raises(TypeError, match="generator function"):
        monitor_execution(numbers)


# --- Monitor and OpenTelemetry spans ------------------------------------------------------


def test_track_opens_one_genai_execute_tool_span(
    monitor: Monitor, exporter: InMemorySpanExporter
) -> None:
    with monitor.track("search", "query", call_id="call_42", arguments={"q": "secret"}) as call:
        call.set_result({"hits": ["secret result"]})

    span = _only_span(exporter)
    assert "execute_tool search" == span.name
    assert SpanKind.INTERNAL == span.kind
    assert {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "search",
        "gen_ai.tool.type": "function",
        "gen_ai.tool.call.id": "call_42",
        "execproto.tool.operation": "query",
    } == _attributes(span)
    assert StatusCode.UNSET == span.status.status_code
    assert {"search.query": 1} == monitor.metrics.get_usage_report()["usage_by_operation"]


def test_span_has_no_call_id_attribute_when_none_is_known(
    monitor: Monitor, exporter: InMemorySpanExporter
) -> None:
    with monitor.track("search", "query"):
        pass

    assert "gen_ai.tool.call.id" not in _attributes(_only_span(exporter))


def test_tool_call_id_gives_the_next_tracked_call_its_id_and_only_that_one(
    monitor: Monitor, exporter: InMemorySpanExporter
) -> None:
    with tool_call_id("call_7"), monitor.track("search", "query"), monitor.track("search", "fetch"):
        pass

    inner, outer = exporter.get_finished_spans()
    assert "call_7" == _attributes(outer)["gen_ai.tool.call.id"]
    assert "gen_ai.tool.call.id" not in _attributes(inner)


def test_an_explicit_call_id_wins_over_the_contexts(
    monitor: Monitor, exporter: InMemorySpanExporter
) -> None:
    with tool_call_id("from_context"), monitor.track("search", "query", call_id="explicit"):
        pass

    assert "explicit" == _attributes(_only_span(exporter))["gen_ai.tool.call.id"]


def test_the_context_call_id_is_restored_after_the_tracked_call(
    monitor: Monitor, exporter: InMemorySpanExporter
) -> None:
    with tool_call_id("call_1"):
        with monitor.track("search", "query"):
            pass
        with monitor.track("search", "query"):
            pass

    assert ["call_1", "call_1"] == [
        _attributes(span)["gen_ai.tool.call.id"] for span in exporter.get_finished_spans()
    ]


@pytest.mark.parametrize("bad", ["", 42, None])
def test_tool_call_id_rejects_what_is_not_a_non_empty_str(bad: Any) -> None:
    with pytest.raises(TypeError, match="non-empty str"), tool_call_id(bad):
        pass


def test_track_plan_opens_one_invoke_workflow_span_with_the_step_totals(
    monitor: Monitor, exporter: InMemorySpanExporter
) -> None:
    with monitor.track_plan("dag", 3) as plan:
        with monitor.track("search", "query"):
            pass
        plan.record_step("search.query", "completed", None)
        plan.record_step("text.analyze", "failed", "E001")
        plan.record_step("report.compose", "cancelled", "E004")

    tool, workflow = exporter.get_finished_spans()
    assert "invoke_workflow" == workflow.name
    assert SpanKind.INTERNAL == workflow.kind
    assert {
        "gen_ai.operation.name": "invoke_workflow",
        "execproto.plan.mode": "dag",
        "execproto.plan.steps": 3,
        "execproto.plan.steps.completed": 1,
        "execproto.plan.steps.failed": 2,
    } == _attributes(workflow)
    assert StatusCode.ERROR == workflow.status.status_code
    assert "2 of 3 steps did not complete" == workflow.status.description
    assert workflow.context is not None
    assert tool.parent is not None
    assert workflow.context.span_id == tool.parent.span_id
    assert (1, 2) == (plan.completed, plan.failed)


def test_a_plan_that_raises_gets_error_type(
    monitor: Monitor, exporter: InMemorySpanExporter
) -> None:
    with pytest.raises(ToolFailure), monitor.track_plan("sequence", 1):
        raise ToolFailure()

    span = _only_span(exporter)
    assert f"{__name__}.ToolFailure" == _attributes(span)["error.type"]
    assert StatusCode.ERROR == span.status.status_code


def test_track_plan_without_tracing_still_counts_outcomes() -> None:
    monitor = Monitor(tracing=False)
    with monitor.track_plan("batch", 1) as plan:
        plan.record_step("a.x", "completed", None)

    assert {"a.x": {"completed": 1}} == monitor.metrics.snapshot()["outcomes"]


def test_failure_sets_error_type_and_error_status_without_the_message(
    monitor: Monitor, exporter: InMemorySpanExporter
) -> None:
    with pytest.raises(ToolFailure), monitor.track("search", "query"):
        raise ToolFailure("user secret in message")

    span = _only_span(exporter)
    expected_type = f"{__name__}.ToolFailure"
    assert expected_type == _attributes(span)["error.type"]
    assert StatusCode.ERROR == span.status.status_code
    assert expected_type == span.status.description
    assert () == tuple(span.events)
    assert {"search.query": 1} == monitor.metrics.get_usage_report()["errors_by_operation"]


def test_content_capture_records_arguments_result_and_exception_message(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    monitor = Monitor(tracer_provider=provider, capture_content=True)

    with monitor.track("calc", "add", arguments={"a": 1, "b": 2}) as call:
        call.set_result(3)
    with pytest.raises(ToolFailure), monitor.track("calc", "div", arguments={"a": 1}):
        raise ToolFailure("division by zero")

    ok, failed = exporter.get_finished_spans()
    assert '{"a": 1, "b": 2}' == _attributes(ok)["gen_ai.tool.call.arguments"]
    assert "3" == _attributes(ok)["gen_ai.tool.call.result"]
    assert "division by zero" in (failed.status.description or "")
    assert ["exception"] == [event.name for event in failed.events]


def test_spans_opened_inside_a_tracked_call_are_its_children(
    monitor: Monitor, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    tracer = provider.get_tracer("test")
    with (
        tracer.start_as_current_span("run plan"),
        monitor.track("outer", "op"),
        monitor.track("inner", "op"),
    ):
        pass

    spans = {span.name: span for span in exporter.get_finished_spans()}
    plan, outer, inner = (
        spans["run plan"],
        spans["execute_tool outer"],
        spans["execute_tool inner"],
    )
    assert plan.context is not None
    assert outer.context is not None
    assert outer.parent is not None
    assert inner.parent is not None
    assert plan.context.span_id == outer.parent.span_id
    assert outer.context.span_id == inner.parent.span_id
    assert {plan.context.trace_id} == {
        span.context.trace_id for span in spans.values() if span.context
    }


async def test_concurrent_coroutines_each_get_a_span_under_their_own_parent(
    monitor: Monitor, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    tracer = provider.get_tracer("test")

    async def step(index: int) -> None:
        with tracer.start_as_current_span(f"step {index}"):
            async with monitor.track(f"tool{index}", "op"):
                await asyncio.sleep(0)

    await asyncio.gather(*(step(index) for index in range(50)))

    spans = exporter.get_finished_spans()
    by_id = {span.context.span_id: span for span in spans if span.context}
    tool_spans = [span for span in spans if span.name.startswith("execute_tool ")]
    assert 50 == len(tool_spans)
    for span in tool_spans:
        assert span.parent is not None
        index = span.name.removeprefix("execute_tool tool")
        assert f"step {index}" == by_id[span.parent.span_id].name


def test_monitor_without_tracing_opens_no_span_and_still_records(
    exporter: InMemorySpanExporter,
) -> None:
    monitor = Monitor(tracing=False)

    with monitor.track("tool", "op"):
        pass

    assert not monitor.tracing
    assert () == tuple(exporter.get_finished_spans())
    assert {"tool.op": 1} == monitor.metrics.get_usage_report()["usage_by_operation"]


def test_monitor_rejects_a_tracer_provider_with_tracing_off(provider: TracerProvider) -> None:
    with pytest.raises(ValueError, match="tracing=False") as caught:
        Monitor(tracing=False, tracer_provider=provider)

    message = str(caught.value)
    assert message.startswith("Monitor: tracer_provider must be None when tracing=False, got ")
    assert "of type TracerProvider; drop tracer_provider" in message


@pytest.mark.parametrize(
    ("argument", "value", "expected"),
    [
        (
            "metrics",
            {},
            "metrics must be an instance of execproto.runtime.metrics.MetricsCollector or None",
        ),
        ("tracing", "off", "tracing must be True or False or None, got 'off' of type str"),
        ("tracing", 0, "tracing must be True or False or None, got 0 of type int"),
        ("capture_content", None, "capture_content must be True or False, got None"),
    ],
)
def test_monitor_refuses_an_argument_of_the_wrong_type_with_a_type_error(
    argument: str, value: object, expected: str
) -> None:
    with pytest.raises(TypeError) as caught:
        Monitor(**{argument: value})

    assert str(caught.value).startswith(f"Monitor: {expected}")


def test_monitor_records_into_the_collector_it_is_given() -> None:
    collector = MetricsCollector()
    monitor = Monitor(collector, tracing=False)

    with monitor.track("tool", "op"):
        pass

    assert collector is monitor.metrics
    assert 1 == collector.get_usage_report()["total_usage"]


def test_tracked_calls_log_nothing(monitor: Monitor, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    with monitor.track("tool", "op", arguments={"password": "hunter2"}):
        pass
    with pytest.raises(ToolFailure), monitor.track("tool", "op"):
        raise ToolFailure

    assert [] == caplog.records


def _run_isolated(code: str) -> str:
    completed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert 0 == completed.returncode, completed.stderr
    return completed.stdout.strip()


def test_tracing_off_never_imports_opentelemetry() -> None:
    output = _run_isolated(
        """
        import sys
        import execproto
        from execproto.runtime.monitoring import Monitor, monitor_execution

        monitor = Monitor(tracing=False)
        with monitor.track("tool", "op"):
            pass
        monitor_execution(lambda: None)()
        print(sorted(name for name in sys.modules if name.startswith("opentelemetry")))
        """
    )

    assert "[]" == output


def test_without_the_extra_tracing_turns_itself_off_and_costs_no_import() -> None:
    output = _run_isolated(
        """
        import sys
        sys.modules["opentelemetry"] = None  # as if opentelemetry-api were not installed
        from execproto.runtime.monitoring import Monitor

        monitor = Monitor()
        with monitor.track("tool", "op"):
            pass
        try:
            Monitor(tracing=True)
        except ImportError as error:
            print("execproto[otel]" in str(error))
        loaded = [n for n, m in sys.modules.items() if n.startswith("opentelemetry") and m]
        print(monitor.tracing, monitor.metrics.get_usage_report()["total_usage"], loaded)
        """
    )

    assert "True\nFalse 1 []" == output
