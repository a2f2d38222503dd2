"""OpenTelemetry spans for tool executions, following the GenAI semantic conventions.

Imported only by :class:`execproto.runtime.monitoring.Monitor` when tracing is on, so that a process
without the ``otel`` extra (or with tracing off) never imports :mod:`opentelemetry`.

Span shape (GenAI semantic conventions, "execute tool" span)::

    name   execute_tool {gen_ai.tool.name}        kind INTERNAL
    gen_ai.operation.name = "execute_tool"        gen_ai.tool.type = "function"
    gen_ai.tool.name      = tool name             gen_ai.tool.call.id = call id, when known
    execproto.tool.operation = operation name     (the convention has no field for it)
    on failure: error.type = qualified exception class name, status ERROR
    opt-in only: gen_ai.tool.call.arguments, gen_ai.tool.call.result, the exception message

A plan run is one composite operation, so it gets the conventions' "invoke workflow" span,
the parent of its steps' tool spans::

    name   invoke_workflow                        kind INTERNAL
    gen_ai.operation.name = "invoke_workflow"
    execproto.plan.mode = sequence | parallel | dag | batch
    execproto.plan.steps = number of items
    at the end: execproto.plan.steps.completed, execproto.plan.steps.failed (not completed)
    when a step did not complete: status ERROR ("k of n steps did not complete")
    when the run raised (cancelled): also error.type = qualified exception class name

A plan has no name of its own, so ``gen_ai.workflow.name`` (conditionally required "when
available") is left out and the span name is the bare operation name.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from contextvars import Token
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, TracerProvider

__all__ = ["SpanHandle", "ToolSpans"]

#: What :meth:`ToolSpans.start` and :meth:`ToolSpans.start_plan` return: the span and the
#: token that restores the context it was made current in.
SpanHandle = tuple[Span, Token[Context]]

_INSTRUMENTATION_NAME = "execproto"
# The serialised arguments or result of one call can be arbitrarily large; a span attribute
# that size would be dropped or truncated by most backends anyway.
_MAX_CONTENT_CHARS = 8192


def _to_json(value: object) -> str:
    try:
        text = json.dumps(value, default=repr, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError):
        text = repr(value)
    return text[:_MAX_CONTENT_CHARS]


class ToolSpans:
    """Starts and ends one ``execute_tool`` span per tool execution.

    ``capture_content`` opts in to recording arguments, results and exception messages,
    which may carry user data; it is off unless the caller turns it on.
    """

    __slots__ = ("_capture_content", "_tracer")

    def __init__(
        self, tracer_provider: TracerProvider | None, *, capture_content: bool, version: str
    ) -> None:
        # Without a provider the global proxy tracer is used: it is a no-op until the
        # application installs an SDK provider, and follows it once it does.
        self._tracer = trace.get_tracer(
            _INSTRUMENTATION_NAME, version, tracer_provider=tracer_provider
        )
        self._capture_content = capture_content

    def start(
        self,
        tool_name: str,
        operation_name: str,
        call_id: str | None,
        arguments: Mapping[str, Any] | None,
    ) -> SpanHandle:
        """Start the span, make it current, and return what :meth:`end` needs."""
        attributes: dict[str, str] = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": tool_name,
            "gen_ai.tool.type": "function",
            "execproto.tool.operation": operation_name,
        }
        if call_id is not None:
            attributes["gen_ai.tool.call.id"] = call_id
        span = self._tracer.start_span(
            f"execute_tool {tool_name}",
            kind=SpanKind.INTERNAL,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        )
        if self._capture_content and arguments is not None and span.is_recording():
            span.set_attribute("gen_ai.tool.call.arguments", _to_json(dict(arguments)))
        token = otel_context.attach(trace.set_span_in_context(span))
        return span, token

    def end(
        self,
        handle: SpanHandle,
        error: BaseException | None,
        error_type: str | None,
        result: object,
        has_result: bool,
    ) -> None:
        """Record the outcome on the span started by :meth:`start`, end it, restore context."""
        span, token = handle
        try:
            if span.is_recording():
                if error is not None and error_type is not None:
                    span.set_attribute("error.type", error_type)
                    # The message of an exception often quotes the values that caused it,
                    # so it is content: recorded only when content capture is on.
                    if self._capture_content:
                        span.set_status(Status(StatusCode.ERROR, f"{error_type}: {error}"))
                        span.record_exception(error)
                    else:
                        span.set_status(Status(StatusCode.ERROR, error_type))
                elif self._capture_content and has_result:
                    span.set_attribute("gen_ai.tool.call.result", _to_json(result))
            span.end()
        finally:
            otel_context.detach(token)

    def start_plan(self, mode: str, steps: int) -> SpanHandle:
        """Start the span of one plan run, make it current, and return what :meth:`end_plan` needs."""
        span = self._tracer.start_span(
            "invoke_workflow",
            kind=SpanKind.INTERNAL,
            attributes={
                "gen_ai.operation.name": "invoke_workflow",
                "execproto.plan.mode": mode,
                "execproto.plan.steps": steps,
            },
            record_exception=False,
            set_status_on_exception=False,
        )
        token = otel_context.attach(trace.set_span_in_context(span))
        return span, token

    def end_plan(
        self,
        handle: SpanHandle,
        error: BaseException | None,
        error_type: str | None,
        completed: int,
        failed: int,
    ) -> None:
        """Put the step totals and outcome on the plan span, end it, restore the context."""
        span, token = handle
        try:
            if span.is_recording():
                span.set_attribute("execproto.plan.steps.completed", completed)
                span.set_attribute("execproto.plan.steps.failed", failed)
                if error is not None and error_type is not None:
                    span.set_attribute("error.type", error_type)
                    span.set_status(Status(StatusCode.ERROR, error_type))
                elif failed:
                    # The run returned normally: its failed steps are results, not an error
                    # of the run, so no error.type; the status still flags the trace.
                    total = completed + failed
                    span.set_status(
                        Status(StatusCode.ERROR, f"{failed} of {total} steps did not complete")
                    )
            span.end()
        finally:
            otel_context.detach(token)
