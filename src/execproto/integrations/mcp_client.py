"""MCP servers' tools as execproto tools: :class:`MCPToolProvider`.

Needs the ``mcp`` extra (the official Python SDK, ``mcp>=2.3``).

**Client side.** :class:`MCPToolProvider` connects to MCP servers and exposes each one as a
tool whose operations are the server's tools, so plans call them like any other::

    async with MCPToolProvider(timeout=30) as provider:
        await provider.connect("notes", StdioServerParameters(command="notes-server"))
        async with ExecutionEngine(provider, ToolExecutor()) as engine:
            await engine.execute_operation("notes.add_note", {"text": "hi"})

Each connected server becomes an object of a class generated from the server's tool list:
one ``async def`` per remote tool, with a signature built from the tool's input schema, so
:func:`~execproto.runtime.registry.resolve_operation` finds the operations by reading class
dictionaries like for any tool, and the executor refuses missing and unknown parameters
before anything is sent. Arguments are also checked against the remote input schema
(``jsonschema``), locally. A remote name that is not a Python identifier (``get-weather``)
gets one (``get_weather``); :meth:`MCPToolProvider.operation_names` lists the mapping.

What a remote call becomes:

* a result: its structured content if any (unwrapped from ``{"result": ...}`` when the
  tool's output schema is that wrapper), else the text of a single text block, else the
  list of content blocks as JSON-like dicts;
* ``isError``: an :class:`~execproto.errors.ExecutionError` (E003) carrying the tool's text,
  so the step fails with it; a server that is itself execproto (:func:`mcp_server`) sends
  its error code along, and E001/E002/E004 come back as the matching error;
* the read timeout (``timeout``) elapsing:
  :class:`~execproto.errors.OperationTimeoutError` (E002); the remote call is cancelled;
* the connection closing before the answer:
  :class:`~execproto.errors.OperationCancelledError` (E004); cancelling the calling task
  cancels the remote request (the SDK sends ``notifications/cancelled``) and the step is
  E004 too.

Remote tools are never retried or cached unless you trust the server's hints
(``trust_hints=True``: ``idempotentHint`` or ``readOnlyHint`` make the operation idempotent,
hence retried on transient errors; results are still never cached). Calls must be made
from the event loop that connected.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import keyword
import re
import shlex
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from types import TracebackType
from typing import Any, cast

from typing_extensions import Self

from execproto.errors import (
    ExecutionError,
    InvalidOperationError,
    OperationCancelledError,
    OperationTimeoutError,
)
from execproto.integrations._mcp import ERROR_CODE_META, is_object, missing_sdk
from execproto.models import ErrorCode
from execproto.runtime._validation import check_bool, check_seconds
from execproto.runtime.registry import operation, validate_tool_name
from execproto.runtime.schemas import INPUT_SCHEMA_ATTRIBUTE, OperationSchema, registry_schemas

try:
    import mcp_types as mcp_t
    from mcp import Client, StdioServerParameters
    from mcp.shared.exceptions import MCPError
except ImportError as _missing:  # pragma: no cover - depends on the installed extras
    # A private name: a module-level ``err`` would count as public API for verifytypes.
    raise missing_sdk("execproto.integrations.mcp_client", _missing) from _missing

__all__ = [
    "MCPToolProvider",
    "parse_mcp_option",
]

_ERRORS_BY_CODE: dict[str, type[ExecutionError]] = {
    ErrorCode.VALIDATION_ERROR.value: InvalidOperationError,
    ErrorCode.TIMEOUT_ERROR.value: OperationTimeoutError,
    ErrorCode.CANCELLED_ERROR.value: OperationCancelledError,
}

_NOT_IDENTIFIER = re.compile(r"\W")

_TIMEOUT_FIX = "e.g. timeout=30, or timeout=None to wait for as long as the server takes"

# jsonschema ships no type information (and comes with the SDK): used through Any.
jsonschema: Any = importlib.import_module("jsonschema")


class _Connection:
    """One connected server: its client, the loop it lives on, and its tools by operation."""

    __slots__ = ("client", "loop", "name", "operations", "timeout", "tools")

    def __init__(
        self,
        name: str,
        client: Client,
        tools: dict[str, mcp_t.Tool],
        timeout: float | None,
    ) -> None:
        self.name = name
        self.client = client
        self.loop = asyncio.get_running_loop()
        self.tools = tools
        self.timeout = timeout
        self.operations = {operation: tool.name for operation, tool in tools.items()}


class _MCPTool:
    """Base of the generated per-server classes: private members only, so no operations."""

    __slots__ = ("_connection",)

    def __init__(self, connection: _Connection) -> None:
        self._connection = connection

    def __repr__(self) -> str:
        connection = self._connection
        return f"<MCP server {connection.name!r}: {', '.join(sorted(connection.operations))}>"

    async def _call(self, operation_name: str, arguments: dict[str, Any]) -> Any:
        connection = self._connection
        remote = connection.tools[operation_name]
        label = f"{connection.name}.{operation_name}"
        if asyncio.get_running_loop() is not connection.loop:
            raise RuntimeError(
                f"{label} is a tool of an MCP connection opened on another event loop; call "
                f"it from the loop that ran MCPToolProvider.connect() (with execute_async, "
                f"not the sync execute, which runs a new loop)"
            )
        _check_arguments(label, remote, arguments)
        try:
            result = await connection.client.call_tool(
                remote.name, arguments, read_timeout_seconds=connection.timeout
            )
        except MCPError as err:
            raise _from_mcp_error(label, remote.name, err, connection.timeout) from err
        if result.is_error:
            raise _from_error_result(label, remote.name, result)
        return _result_value(remote, result)


def _describe_server(server: object) -> str:
    if isinstance(server, StdioServerParameters):
        return "command " + shlex.join([server.command, *server.args])
    return repr(server)


def _leaf_errors(error: BaseException) -> str:
    """Describe *error*, looking inside exception groups (anyio task groups raise them)."""
    nested: object = getattr(error, "exceptions", None)
    if isinstance(nested, tuple) and nested:
        return "; ".join(_leaf_errors(inner) for inner in cast("tuple[BaseException, ...]", nested))
    return f"{type(error).__name__}: {error}"


def _check_arguments(label: str, remote: mcp_t.Tool, arguments: dict[str, Any]) -> None:
    try:
        validator = jsonschema.Draft202012Validator(remote.input_schema)
        problems: list[Any] = sorted(
            validator.iter_errors(arguments), key=lambda problem: list(problem.path)
        )
    except jsonschema.SchemaError:
        return  # the server's schema is broken; the server validates for itself
    if problems:
        listed = "; ".join(
            f"{'.'.join(map(str, problem.path)) or 'arguments'}: {problem.message}"
            for problem in problems[:5]
        )
        raise InvalidOperationError(
            f"invalid arguments for {label} (MCP tool {remote.name!r}): {listed}; see its input "
            f"schema with MCPToolProvider.schemas()"
        )


def _from_mcp_error(
    label: str, remote_name: str, err: MCPError, timeout: float | None
) -> ExecutionError:
    if err.code == mcp_t.REQUEST_TIMEOUT:
        return OperationTimeoutError(
            f"{label} (MCP tool {remote_name!r}) did not answer within {timeout} s; the "
            f"request was cancelled. Raise the limit with MCPToolProvider(timeout=...)"
        )
    if err.code == mcp_t.CONNECTION_CLOSED:
        return OperationCancelledError(
            f"{label} (MCP tool {remote_name!r}) was cut off: the connection to the MCP "
            f"server closed before it answered ({err.message})"
        )
    if err.code == mcp_t.INVALID_PARAMS:
        return InvalidOperationError(
            f"the MCP server refused the call of {label} (tool {remote_name!r}): {err.message}"
        )
    return ExecutionError(
        f"the MCP server failed the call of {label} (tool {remote_name!r}) with error "
        f"{err.code}: {err.message}"
    )


def _from_error_result(label: str, remote_name: str, result: mcp_t.CallToolResult) -> Exception:
    text = "\n".join(
        block.text for block in result.content if isinstance(block, mcp_t.TextContent)
    ) or json.dumps([_content_dict(block) for block in result.content])
    code: object = (result.meta or {}).get(ERROR_CODE_META)
    kind = _ERRORS_BY_CODE.get(code, ExecutionError) if isinstance(code, str) else ExecutionError
    return kind(f"{label} (MCP tool {remote_name!r}) reported an error: {text}")


def _content_dict(block: Any) -> dict[str, Any]:
    dumped: dict[str, Any] = block.model_dump(mode="json", by_alias=True, exclude_none=True)
    return dumped


def _result_value(remote: mcp_t.Tool, result: mcp_t.CallToolResult) -> Any:
    structured: object = result.structured_content
    if structured is not None:
        if _wraps_result(remote.output_schema) and is_object(structured):
            wrapper = cast("dict[str, Any]", structured)
            if set(wrapper) == {"result"}:
                return wrapper["result"]
        return structured
    content = result.content
    if len(content) == 1 and isinstance(content[0], mcp_t.TextContent):
        return content[0].text
    return [_content_dict(block) for block in content]


def _wraps_result(schema: dict[str, Any] | None) -> bool:
    # The SDK's MCPServer wraps a non-object return value as {"result": value} and says so
    # only through this output schema shape.
    if schema is None:
        return False
    properties: object = schema.get("properties")
    return (
        isinstance(properties, dict)
        and list(cast("dict[str, Any]", properties)) == ["result"]
        and schema.get("required") == ["result"]
    )


def _operation_name(remote_name: str, taken: set[str]) -> str:
    name = _NOT_IDENTIFIER.sub("_", remote_name).lstrip("_") or "tool"
    if name[0].isdigit():
        name = f"tool_{name}"
    candidate, suffix = name, 2
    while candidate in taken:
        candidate, suffix = f"{name}_{suffix}", suffix + 1
    taken.add(candidate)
    return candidate


def _signature(schema: dict[str, Any]) -> inspect.Signature:
    """The operation signature a remote input schema stands for.

    Keyword-only parameters when every property name can be one (required ones without a
    default), so the executor reports missing and unknown names; ``**arguments`` otherwise.
    """
    self_parameter = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    properties: object = schema.get("properties", {})
    required: object = schema.get("required", [])
    names = list(cast("dict[str, Any]", properties)) if isinstance(properties, dict) else []
    usable = all(
        name.isidentifier() and not keyword.iskeyword(name) and name != "self" for name in names
    )
    if not usable or schema.get("additionalProperties", False) is not False:
        rest = inspect.Parameter("arguments", inspect.Parameter.VAR_KEYWORD, annotation=Any)
        return inspect.Signature([self_parameter, rest])
    must: set[str] = set(cast("list[str]", required)) if isinstance(required, list) else set()
    parameters = [self_parameter]
    for name in sorted(names, key=lambda n: n not in must):
        prop: object = cast("dict[str, Any]", properties)[name]
        default: object = inspect.Parameter.empty
        if name not in must:
            default = (
                cast("dict[str, Any]", prop).get("default") if isinstance(prop, dict) else None
            )
        parameters.append(
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=Any)
        )
    return inspect.Signature(parameters)


def _make_operation(
    operation_name: str, remote: mcp_t.Tool, *, timeout: float | None, trust_hints: bool
) -> Callable[..., Awaitable[Any]]:
    async def call(self: _MCPTool, **arguments: Any) -> Any:
        return await self._call(operation_name, arguments)  # pyright: ignore[reportPrivateUsage]

    call.__name__ = call.__qualname__ = operation_name
    call.__doc__ = remote.description or remote.title or f"The MCP tool {remote.name!r}."
    # The executor binds parameters against this signature; the annotations stay Any, as the
    # remote schema (checked in _call) is the authority on types.
    call.__signature__ = _signature(remote.input_schema)  # type: ignore[attr-defined]
    setattr(call, INPUT_SCHEMA_ATTRIBUTE, remote.input_schema)
    hints = remote.annotations
    idempotent = bool(
        trust_hints and hints is not None and (hints.idempotent_hint or hints.read_only_hint)
    )
    # Never cacheable: a remote tool's answer may change at any time, whatever its hints.
    return operation(idempotent=idempotent, cacheable=False, timeout=timeout)(call)


class MCPToolProvider:
    """Tools of connected MCP servers, one execproto tool per server (an ``IToolProvider``).

    Use it as an async context manager and connect servers inside it; leaving the block
    closes every connection (and stops servers started as subprocesses). ``get_tool(name)``
    returns the connected server's tool object; its operations are the server's tools.

    * *timeout*: seconds a remote call may take (default: none); past it the call is
      cancelled and fails with E002. Also the per-attempt timeout the executor applies.
    * *trust_hints*: let the server's ``idempotentHint``/``readOnlyHint`` make operations
      idempotent (retried on transient errors). Off by default: hints from a server you do
      not control are not a promise.

    Raises:
        TypeError: *timeout* is not a number, or *trust_hints* not a bool.
        ValueError: *timeout* is not a finite number of seconds > 0.
    """

    def __init__(self, *, timeout: float | None = None, trust_hints: bool = False) -> None:
        self._timeout = check_seconds("MCPToolProvider", "timeout", timeout, fix=_TIMEOUT_FIX)
        self._trust_hints = check_bool("MCPToolProvider", "trust_hints", trust_hints)
        self._tools: dict[str, _MCPTool] = {}
        self._stack: AsyncExitStack | None = None

    async def __aenter__(self) -> Self:
        if self._stack is not None:
            raise RuntimeError(f"{self!r} is already open; use one 'async with' block")
        self._stack = AsyncExitStack()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close every connection; the tools stop working. Calling it again does nothing."""
        stack, self._stack = self._stack, None
        self._tools = {}
        if stack is not None:
            await stack.aclose()

    async def connect(
        self,
        name: str,
        server: Any,
        *,
        timeout: float | None = None,
        trust_hints: bool | None = None,
    ) -> object:
        """Connect to *server*, list its tools, and register them as the tool *name*.

        *server* is anything :class:`mcp.Client` connects to: ``StdioServerParameters``
        (start a subprocess, talk over its stdin/stdout), a URL (Streamable HTTP), a
        transport, or an in-process ``Server``/``MCPServer``. *timeout* and *trust_hints*
        override the provider's for this server. Returns the tool object.

        Raises:
            RuntimeError: the provider is not open (use ``async with``).
            TypeError: *timeout* is not a number, or *trust_hints* not a bool.
            ValueError: *name* is not an identifier or is already connected, or *timeout*
                is not a finite number of seconds > 0.
            ConnectionError: the server cannot be started or reached, or refuses the
                handshake (the SDK's error is chained).
            MCPError: the server fails to list its tools.
        """
        validate_tool_name(name)
        owner = "MCPToolProvider.connect"
        check_seconds(owner, "timeout", timeout, fix=_TIMEOUT_FIX)
        check_bool(owner, "trust_hints", trust_hints, optional=True)
        if self._stack is None:
            raise RuntimeError(
                f"{self!r} is not open; connect inside 'async with MCPToolProvider() as p:'"
            )
        if name in self._tools:
            raise ValueError(f"an MCP server is already connected as {name!r}; pick another name")
        try:
            client = await self._stack.enter_async_context(Client(server))
        except Exception as err:
            raise ConnectionError(
                f"cannot connect to the MCP server {name!r} ({_describe_server(server)}): "
                f"{_leaf_errors(err)}"
            ) from err
        remote_tools: list[mcp_t.Tool] = []
        cursor: str | None = None
        while True:
            page = await client.list_tools(cursor=cursor)
            remote_tools.extend(page.tools)
            cursor = page.next_cursor
            if cursor is None:
                break
        timeout = self._timeout if timeout is None else timeout
        trust = self._trust_hints if trust_hints is None else trust_hints
        taken: set[str] = set()
        by_operation = {_operation_name(tool.name, taken): tool for tool in remote_tools}
        namespace: dict[str, Any] = {
            operation_name: _make_operation(
                operation_name, tool, timeout=timeout, trust_hints=trust
            )
            for operation_name, tool in by_operation.items()
        }
        namespace["__slots__"] = ()
        namespace["__module__"] = __name__
        tool_class = type(f"MCPTools_{name}", (_MCPTool,), namespace)
        tool = tool_class(_Connection(name, client, by_operation, timeout))
        self._tools[name] = tool
        return tool

    def get_tool(self, tool_name: str) -> object:
        """Return the tool of the server connected as *tool_name*.

        Raises:
            ToolNotFoundError: no server is connected under that name.
        """
        from execproto.errors import ToolNotFoundError

        try:
            return self._tools[tool_name]
        except (KeyError, TypeError):
            connected = ", ".join(sorted(self._tools)) or "none"
            raise ToolNotFoundError(
                f"no MCP server is connected as {tool_name!r} (connected: {connected}); "
                f"connect it with await provider.connect({tool_name!r}, server)"
            ) from None

    def has_tool(self, tool_name: str) -> bool:
        """Return whether a server is connected as *tool_name*."""
        return isinstance(tool_name, str) and tool_name in self._tools  # pyright: ignore[reportUnnecessaryIsInstance]

    def names(self) -> tuple[str, ...]:
        """Return the names of the connected servers, sorted."""
        return tuple(sorted(self._tools))

    def operation_names(self, tool_name: str) -> dict[str, str]:
        """Return ``{operation name: remote tool name}`` for the server *tool_name*.

        Raises:
            ToolNotFoundError: no server is connected under that name.
        """
        tool = cast(_MCPTool, self.get_tool(tool_name))
        return dict(tool._connection.operations)  # pyright: ignore[reportPrivateUsage]

    def schemas(self, *, separator: str = ".") -> list[OperationSchema]:
        """Return the schemas of every connected server's tools (their own input schemas).

        Raises:
            ValueError: *separator* is empty, or makes two names equal.
        """
        return registry_schemas(self, separator=separator)

    def __repr__(self) -> str:
        state = "open" if self._stack is not None else "closed"
        return f"{type(self).__name__}({state}, servers={list(self.names())!r})"


def parse_mcp_option(text: str) -> tuple[str, StdioServerParameters]:
    """Parse ``NAME=COMMAND [ARGS...]`` (the ``--mcp`` option) into a name and stdio parameters.

    The command line is split like a POSIX shell does (:func:`shlex.split`); the server is
    started in the current directory with the SDK's default environment.

    Raises:
        ValueError: no ``=``, a name that is not an identifier, or an empty command.
    """
    name, sep, command_line = text.partition("=")
    name = name.strip()
    if not sep or not name.isidentifier():
        raise ValueError(
            f"expected NAME=COMMAND with NAME an identifier (the tool name plans use), got "
            f"{text!r}; e.g. --mcp notes='python examples/mcp_server.py'"
        )
    try:
        words = shlex.split(command_line)
    except ValueError as err:
        raise ValueError(f"cannot split the command of {text!r}: {err}") from err
    if not words:
        raise ValueError(f"the MCP server {name!r} has an empty command in {text!r}")
    return name, StdioServerParameters(command=words[0], args=words[1:])
