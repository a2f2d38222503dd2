"""A registry as an MCP server: :func:`mcp_server` and :func:`serve_mcp`.

Needs the ``mcp`` extra (the official Python SDK, ``mcp>=2.3``).

**Server side.** :func:`mcp_server` publishes every operation of a
:class:`~execproto.runtime.registry.ToolRegistry` as an MCP tool (``tool.operation``) with its JSON
Schema (:mod:`execproto.runtime.schemas`); calls go through a
:class:`~execproto.runtime.executor.ToolExecutor`, so validation, retries, caching and timeouts
apply, and at most ``max_concurrency`` run at once. While an operation runs, a progress
notification is sent every ``progress_interval`` seconds to clients that asked for progress.
:func:`serve_mcp` runs it over stdio (``execproto serve-mcp --tools MODULE``).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

from execproto.errors import RetryExhaustedError, failure_status
from execproto.integrations._mcp import ERROR_CODE_META, is_object, missing_sdk
from execproto.protocols import IToolExecutor
from execproto.runtime._validation import (
    check_count,
    check_instance,
    check_optional_component,
    check_seconds,
    check_str,
)
from execproto.runtime.executor import ToolExecutor
from execproto.runtime.registry import ToolRegistry
from execproto.runtime.schemas import OperationSchema, registry_schemas

try:
    import anyio
    import mcp_types as mcp_t
    from mcp.server import Server, ServerRequestContext
    from mcp.server.stdio import stdio_server
    from mcp.shared.exceptions import MCPError
    from mcp_types.version import MODERN_PROTOCOL_VERSIONS
except ImportError as _missing:  # pragma: no cover - depends on the installed extras
    raise missing_sdk("execproto.integrations.mcp_server", _missing) from _missing

__all__ = [
    "ERROR_CODE_META",
    "mcp_server",
    "serve_mcp",
]


def mcp_server(
    registry: ToolRegistry,
    *,
    executor: ToolExecutor | None = None,
    name: str = "execproto",
    version: str = "",
    instructions: str | None = None,
    max_concurrency: int = 10,
    progress_interval: float | None = 1.0,
) -> Server[Any]:
    """Build an MCP server that publishes every operation of *registry* as a tool.

    Tool names are ``tool.operation``; tool lists are computed per request, so tools
    registered later are published too. Calls run through *executor* (default: a
    ``ToolExecutor(registry)`` made per connection and closed with it), at most
    *max_concurrency* at once. Results: a ``dict`` is sent as structured content and as its
    JSON text; a ``str`` as text; other JSON values as text, and as structured content on
    connections whose protocol allows any JSON value there. Errors are ``isError`` results
    with the error's text and its code under :data:`ERROR_CODE_META`; an unknown tool is a
    protocol error (``INVALID_PARAMS``). Every *progress_interval* seconds (``None``: never)
    a running call sends a progress notification (elapsed seconds) to a client that asked
    for progress.

    Connect to it in process with ``mcp.Client(server)``, or run it with :func:`serve_mcp`.

    Raises:
        TypeError: *registry* is not a :class:`~execproto.runtime.registry.ToolRegistry`,
            *executor* not a tool executor (:class:`~execproto.errors.ConformanceError`),
            *name*, *version* or *instructions* not a str, *max_concurrency* not an int or
            *progress_interval* not a number.
        ValueError: *max_concurrency* < 1, *progress_interval* not > 0, or an empty *name*.
    """
    owner = "mcp_server"
    check_instance(
        owner,
        "registry",
        registry,
        ToolRegistry,
        fix="pass the ToolRegistry whose operations the server publishes",
    )
    check_optional_component(owner, "executor", executor, IToolExecutor)
    check_str(owner, "name", name, fix="pass the name clients see, e.g. name='my-tools'")
    check_str(owner, "version", version, empty=True, fix="pass a version string, e.g. '1.0'")
    check_str(
        owner,
        "instructions",
        instructions,
        optional=True,
        empty=True,
        fix="pass a str telling clients how to use the tools, or None",
    )
    check_count(
        owner,
        "max_concurrency",
        max_concurrency,
        fix="pass how many calls may run at once, e.g. max_concurrency=10",
    )
    check_seconds(
        owner,
        "progress_interval",
        progress_interval,
        fix="e.g. progress_interval=1.0, or progress_interval=None for no progress",
    )
    limiter = anyio.CapacityLimiter(max_concurrency)

    def published() -> dict[str, OperationSchema]:
        return {schema.name: schema for schema in registry_schemas(registry)}

    @asynccontextmanager
    async def lifespan(_: Server[Any]) -> AsyncGenerator[dict[str, Any], None]:
        if executor is not None:
            yield {"executor": executor}
            return
        own = ToolExecutor(registry)
        try:
            yield {"executor": own}
        finally:
            await asyncio.to_thread(own.close)

    async def list_tools(
        ctx: ServerRequestContext[dict[str, Any]], params: mcp_t.PaginatedRequestParams | None
    ) -> mcp_t.ListToolsResult:
        tools = [
            mcp_t.Tool(
                name=schema.name,
                description=schema.description,
                input_schema=schema.parameters,
                annotations=mcp_t.ToolAnnotations(
                    idempotent_hint=registry.operations(schema.tool)[
                        schema.operation
                    ].policy.idempotent
                ),
            )
            for schema in published().values()
        ]
        return mcp_t.ListToolsResult(tools=tools)

    def input_schema(tool_name: str) -> Mapping[str, Any] | None:
        schema = published().get(tool_name)
        return None if schema is None else schema.parameters

    async def call_tool(
        ctx: ServerRequestContext[dict[str, Any]], params: mcp_t.CallToolRequestParams
    ) -> mcp_t.CallToolResult:
        # Looked up directly rather than through the whole tool list: a call costs the same
        # with a registry of five tools or five thousand.
        tool_name, _, operation_name = params.name.partition(".")
        if not (registry.has_tool(tool_name) and operation_name in registry.operations(tool_name)):
            raise MCPError(
                mcp_t.INVALID_PARAMS,
                f"no tool {params.name!r}; this server has: {', '.join(sorted(published()))}",
            )
        run: ToolExecutor = ctx.lifespan_context["executor"]
        # The tool object, not its name: a caller's executor may have no registry.
        tool = registry.get_tool(tool_name)
        arguments = dict(params.arguments or {})
        async with limiter:
            outcome = await _run_reporting_progress(
                lambda: run.execute_async(tool, operation_name, **arguments),
                ctx,
                label=params.name,
                interval=progress_interval,
            )
        if isinstance(outcome, _Failure):
            return _error_result(outcome.error)
        return _success_result(outcome, modern=ctx.protocol_version in MODERN_PROTOCOL_VERSIONS)

    return Server(
        name,
        version=version,
        instructions=instructions,
        lifespan=lifespan,
        get_tool_input_schema=input_schema,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


class _Failure:
    __slots__ = ("error",)

    def __init__(self, error: Exception) -> None:
        self.error = error


async def _run_reporting_progress(
    run: Callable[[], Awaitable[Any]],
    ctx: ServerRequestContext[dict[str, Any]],
    *,
    label: str,
    interval: float | None,
) -> Any:
    """Await *run*; meanwhile report elapsed seconds every *interval*. Errors are returned."""
    start = time.monotonic()

    async def heartbeat() -> None:
        assert interval is not None
        while True:
            await anyio.sleep(interval)
            elapsed = round(time.monotonic() - start, 3)
            await ctx.session.report_progress(elapsed, None, f"{label}: running for {elapsed} s")

    outcome: Any = None
    # Errors are caught inside the group: a task group would wrap them in an ExceptionGroup.
    async with anyio.create_task_group() as group:
        if interval is not None:
            group.start_soon(heartbeat)
        try:
            outcome = await run()
        except Exception as err:
            outcome = _Failure(err)
        group.cancel_scope.cancel()
    return outcome


def _error_result(error: Exception) -> mcp_t.CallToolResult:
    _, code = failure_status(error)
    text = f"{code.value} {type(error).__name__}: {error}"
    cause = error.__cause__
    if cause is not None and isinstance(error, RetryExhaustedError):
        # The retries' last error is what the caller needs to see, not the wrapper alone.
        text += f" (last error: {type(cause).__name__}: {cause})"
    return mcp_t.CallToolResult(
        content=[mcp_t.TextContent(text=text)],
        is_error=True,
        _meta={ERROR_CODE_META: code.value},
    )


def _success_result(value: Any, *, modern: bool) -> mcp_t.CallToolResult:
    if isinstance(value, str):
        return mcp_t.CallToolResult(content=[mcp_t.TextContent(text=value)])
    try:
        from pydantic_core import to_jsonable_python

        jsonable: object = to_jsonable_python(value)
        text = json.dumps(jsonable)
    except (TypeError, ValueError):
        # No JSON form: the client gets the text a person would read.
        return mcp_t.CallToolResult(content=[mcp_t.TextContent(text=repr(value))])
    # Before 2026-07-28 structured content must be a JSON object.
    structured: object = (
        jsonable if is_object(jsonable) or (modern and jsonable is not None) else None
    )
    return mcp_t.CallToolResult(
        content=[mcp_t.TextContent(text=text)], structured_content=structured
    )


async def serve_mcp(registry: ToolRegistry, **options: Any) -> None:
    """Serve *registry*'s operations as MCP tools over stdin/stdout until stdin closes.

    *options* are those of :func:`mcp_server`. Nothing else may write to stdout meanwhile:
    it carries the protocol (log to stderr).

    Raises:
        ValueError: invalid *options* (see :func:`mcp_server`).
    """
    server = mcp_server(registry, **options)
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())
