"""LangChain tools as an execproto tool, and execproto operations as LangChain tools.

Needs the ``langchain`` extra (``langchain-core>=1.8``, Python 3.11+).

**LangChain to execproto.** :func:`from_langchain` turns LangChain tools (``BaseTool``:
``@tool`` functions, ``StructuredTool``, ``Tool``, your subclasses, or a ``BaseToolkit``) into
one execproto tool whose operations are those tools, by name::

    registry.register("lc", from_langchain([search, calculator]))
    await engine.execute_operation("lc.search", {"query": "protocols"})

Each operation has the tool's description and the argument schema LangChain gives models
(``convert_to_openai_function``), and runs through the tool itself (``invoke``/``ainvoke``),
so the tool's own validation, defaults and callbacks apply. A tool with a coroutine is
awaited; a sync-only tool is a sync operation, which the executor runs in its thread pool from
``execute_async``, never on the event loop. Arguments that fail the tool's ``args_schema``
raise :class:`~execproto.errors.InvalidOperationError` (E001) before the tool runs, the
pydantic ``ValidationError`` chained, even for a tool whose ``handle_validation_error`` would
hand the message to a model: a plan step has no model to read it. Whatever the tool raises
(a ``ToolException`` too, unless the tool handles it with ``handle_tool_error``) is raised by
the execproto call unchanged, so a plan step fails with E003. A tool answers with its content
(``response_format="content_and_artifact"`` tools: the content; the artifact is dropped).

**execproto to LangChain.** :func:`to_langchain` makes one ``StructuredTool`` per operation of
a provider; they run through the given :class:`~execproto.protocols.IToolExecutor`, so
execproto's validation, retries, cache, timeouts and monitor spans apply under any LangChain
loop::

    tools = to_langchain(registry, ToolExecutor(registry))
    model.bind_tools(tools)

The tools are named ``tool__operation`` (see *separator*), described by the operation's
docstring, and their ``args_schema`` is the operation's JSON Schema
(:mod:`execproto.runtime.schemas`). An execproto error (:class:`~execproto.errors.ExecutionError`:
invalid arguments, a timeout, retries exhausted) becomes a ``ToolException`` carrying its
message, and the tools handle it (``handle_tool_error=True``), so the model receives the
message as a ``ToolMessage`` with ``status="error"`` and can correct its call; set
``handle_tool_error`` on a tool to change that. Anything else the operation raises reaches the
loop unchanged, as from any LangChain tool.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from execproto.errors import ExecutionError, InvalidOperationError
from execproto.integrations._bridge import (
    build_tool,
    make_operation,
    missing_framework,
    operation_name,
    published_operations,
)
from execproto.protocols import IToolExecutor, IToolProvider
from execproto.runtime.schemas import OperationSchema

try:
    import pydantic
    from langchain_core.tools import BaseTool, BaseToolkit, StructuredTool, Tool, ToolException
    from langchain_core.utils.function_calling import convert_to_openai_function
except ImportError as _missing:  # pragma: no cover - depends on the installed extras
    raise missing_framework(
        "execproto.integrations.langchain", "langchain-core", "langchain", _missing
    ) from _missing

__all__ = [
    "from_langchain",
    "to_langchain",
]


def from_langchain(tools: BaseTool | BaseToolkit | Iterable[BaseTool]) -> object:
    """Return one execproto tool whose operations are the LangChain *tools*.

    Operation names are the tools' names (made identifiers: ``get-weather`` becomes
    ``get_weather``). Register the result like any tool. See the module docstring for how
    calls and errors go.

    Raises:
        TypeError: *tools* is not a ``BaseTool``, a ``BaseToolkit`` or an iterable of
            ``BaseTool``; or a tool takes arguments that only a LangChain agent injects
            (``InjectedToolArg``, ``InjectedToolCallId``).
        ValueError: two tools have the same name, or a tool's argument schema has no JSON
            Schema.
    """
    listed = _tool_list(tools)
    operations: dict[str, Any] = {}
    taken: set[str] = set()
    seen: set[str] = set()
    for tool in listed:
        if tool.name in seen:
            raise ValueError(
                f"two LangChain tools are named {tool.name!r}; tool names must be unique, as "
                f"a model calls tools by name"
            )
        seen.add(tool.name)
        name = operation_name(tool.name, taken)
        operations[name] = _operation(name, tool)
    return build_tool("LangChain", __name__, operations)


def _tool_list(tools: object) -> list[BaseTool]:
    if isinstance(tools, BaseTool):
        return [tools]
    if isinstance(tools, BaseToolkit):
        return list(tools.get_tools())
    if isinstance(tools, Iterable) and not isinstance(tools, (str, bytes)):
        listed: list[object] = list(cast("Iterable[object]", tools))
        for item in listed:
            if not isinstance(item, BaseTool):
                raise TypeError(_unsupported(item))
        return cast("list[BaseTool]", listed)
    raise TypeError(_unsupported(tools))


def _unsupported(value: object) -> str:
    hint = (
        "; decorate a function with langchain_core.tools.tool first, or register it with "
        "execproto directly"
        if callable(value)
        else ""
    )
    return (
        f"from_langchain expects a LangChain BaseTool, a BaseToolkit or an iterable of "
        f"BaseTool, got {value!r} of type {type(value).__name__}{hint}"
    )


def _is_async(tool: BaseTool) -> bool:
    """Whether *tool* runs natively as a coroutine (else LangChain would use a thread)."""
    if isinstance(tool, (StructuredTool, Tool)):
        return tool.coroutine is not None
    # A subclass is asynchronous when it implements BaseTool's async hook itself.
    return type(tool)._arun is not BaseTool._arun  # pyright: ignore[reportPrivateUsage]


def _call_schema(tool: BaseTool) -> type[pydantic.BaseModel] | None:
    """The pydantic model a model's arguments must satisfy, when the tool has one."""
    schema: object = tool.tool_call_schema
    if isinstance(schema, type) and issubclass(schema, pydantic.BaseModel):
        return schema
    return None


def _check_not_injected(tool: BaseTool, call_schema: type[pydantic.BaseModel] | None) -> None:
    if call_schema is None:
        return
    full = cast(object, tool.get_input_schema())
    if not (isinstance(full, type) and issubclass(full, pydantic.BaseModel)):
        return
    injected = sorted(set(full.model_fields) - set(call_schema.model_fields))
    if injected:
        raise TypeError(
            f"the LangChain tool {tool.name!r} takes {', '.join(map(repr, injected))}, which "
            f"only a LangChain agent injects (InjectedToolArg, InjectedToolCallId); execproto "
            f"cannot supply them: wrap it in a tool without injected arguments"
        )


def _operation(name: str, tool: BaseTool) -> Any:
    call_schema = _call_schema(tool)
    _check_not_injected(tool, call_schema)
    try:
        function = convert_to_openai_function(tool)
    except Exception as err:
        raise ValueError(
            f"the LangChain tool {tool.name!r} has an argument schema with no JSON Schema "
            f"({type(err).__name__}: {err}); give it an args_schema of JSON-compatible types"
        ) from err
    parameters = cast("dict[str, Any]", function.get("parameters") or {"type": "object"})
    label = f"LangChain tool {tool.name!r}"

    def validate(arguments: dict[str, Any]) -> None:
        if call_schema is None:
            return  # a JSON Schema dict: LangChain does not validate it either
        try:
            call_schema.model_validate(arguments)
        except pydantic.ValidationError as err:
            problems = "; ".join(
                f"{'.'.join(map(str, problem['loc'])) or 'arguments'}: {problem['msg']}"
                for problem in err.errors()
            )
            raise InvalidOperationError(f"invalid arguments for the {label}: {problems}") from err

    if _is_async(tool):

        async def call_async(arguments: dict[str, Any]) -> Any:
            validate(arguments)
            return await tool.ainvoke(arguments)

        return make_operation(
            name,
            description=tool.description,
            schema=parameters,
            call=call_async,
            is_async=True,
        )

    def call(arguments: dict[str, Any]) -> Any:
        validate(arguments)
        return tool.invoke(arguments)

    return make_operation(
        name, description=tool.description, schema=parameters, call=call, is_async=False
    )


class _OperationTool(StructuredTool):
    """A ``StructuredTool`` that hands its arguments to one execproto operation untouched.

    ``StructuredTool`` passes its function a ``config`` and a ``run_manager`` keyword when
    the function asks for them, and its own ``_run`` takes those names: an operation with a
    parameter called ``config`` or ``run_manager`` would lose it. These hooks take nothing but
    the arguments.
    """

    def _run(self, *args: Any, **arguments: Any) -> Any:
        assert self.func is not None  # set by to_langchain
        return self.func(*args, **arguments)

    async def _arun(self, *args: Any, **arguments: Any) -> Any:
        assert self.coroutine is not None  # set by to_langchain
        return await self.coroutine(*args, **arguments)


def to_langchain(
    provider: IToolProvider,
    executor: IToolExecutor,
    *,
    separator: str = "__",
    operations: Iterable[str] | None = None,
) -> list[StructuredTool]:
    """Return a LangChain ``StructuredTool`` for each operation *provider* publishes.

    Each runs ``executor.execute`` (``invoke``) or ``executor.execute_async`` (``ainvoke``) on
    the tool *provider* holds at call time. Names are ``tool + separator + operation``, valid
    OpenAI function names (``^[a-zA-Z0-9_-]{1,64}$``; a longer or otherwise invalid name is
    shortened and ends with a digest). Without *operations*, every operation of every tool:
    the provider must list its tools (``names()``, as a ``ToolRegistry`` does); with it, only
    those named (``"tool.operation"``, or ``"tool"`` for all of a tool's), from any
    ``IToolProvider``. See the module docstring for errors.

    Raises:
        TypeError: the provider cannot list its tools and no *operations* are given.
        ValueError: a bad *separator*, or two operations would get the same name.
        LookupError: a tool named in *operations* is unknown.
        OperationNotFoundError: an operation named in *operations* does not exist.
    """
    return [
        _to_tool(provider, executor, schema)
        for schema in published_operations(provider, separator=separator, operations=operations)
    ]


def _to_tool(
    provider: IToolProvider, executor: IToolExecutor, schema: OperationSchema
) -> StructuredTool:
    tool_name, operation = schema.tool, schema.operation

    def run(**arguments: Any) -> Any:
        try:
            return executor.execute(provider.get_tool(tool_name), operation, **arguments)
        except ExecutionError as err:
            raise ToolException(str(err)) from err

    async def run_async(**arguments: Any) -> Any:
        try:
            return await executor.execute_async(
                provider.get_tool(tool_name), operation, **arguments
            )
        except ExecutionError as err:
            raise ToolException(str(err)) from err

    return _OperationTool(
        name=schema.name,
        description=schema.description,
        args_schema=schema.parameters,
        func=run,
        coroutine=run_async,
        handle_tool_error=True,
    )
