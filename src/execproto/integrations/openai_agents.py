"""OpenAI Agents SDK function tools as an execproto tool, and execproto operations as theirs.

Needs the ``openai-agents`` extra (``openai-agents>=0.24``).

**Agents SDK to execproto.** :func:`from_openai_agents` turns ``agents.FunctionTool`` objects
(``@function_tool`` functions, ``Agent.as_tool()``, your own ``FunctionTool``) into one
execproto tool whose operations are those tools, by name::

    registry.register("sdk", from_openai_agents([get_weather]))
    await engine.execute_operation("sdk.get_weather", {"city": "Paris"})

Each operation has the tool's description and ``params_json_schema``, and runs through the
tool's own ``on_invoke_tool`` (arguments sent as the JSON text a model would send), so the
SDK's validation applies; a sync function tool runs in a thread, as under an agent. A strict
tool's schema (the SDK's default) requires every parameter, those with defaults too, so its
operation's signature does as well. A call
that the SDK refuses as malformed (``ModelBehaviorError``: bad JSON, arguments that fail the
tool's schema) raises :class:`~execproto.errors.InvalidOperationError` (E001) with the SDK's
error chained. Whatever the tool raises is raised by the execproto call unchanged (a plan step
then fails with E003): the tool's ``failure_error_function``, which turns errors into text for
a model, is not used, as a plan has no model to read it. The tool's ``timeout_seconds`` becomes
the operation's timeout (E002 when it elapses). Tools that need approval or carry guardrails
are refused at conversion: only an agent run can ask for the one and run the others.

**execproto to the Agents SDK.** :func:`to_openai_agents` makes one ``FunctionTool`` per
operation of a provider; they run through the given :class:`~execproto.protocols.IToolExecutor`
(``execute_async``), so execproto's validation, retries, cache, timeouts and monitor spans
apply under ``Runner.run``, and the model's call id goes on the span
(:func:`execproto.context.tool_call_id`)::

    agent = Agent(name="ops", tools=to_openai_agents(registry, ToolExecutor(registry)))

Names are ``tool__operation`` (see *separator*), ``params_json_schema`` is the operation's
JSON Schema (:mod:`execproto.runtime.schemas`). *Strict schemas*: OpenAI's strict mode wants
every property required and no other properties allowed. By default (``strict=None``) a tool
is strict exactly when its schema already is so (no optional parameters, no ``**kwargs``), so
nothing changes meaning; ``strict=True`` asks the SDK to convert every schema as it does for
its own function tools (optional parameters become required), and an operation whose schema
cannot be converted (one taking ``**kwargs``) is an error at conversion; ``strict=False`` never.
*Errors*, the SDK's way: an exception of the call goes to ``failure_error_function(context,
error)``, whose text is returned to the model. The default returns an execproto error's own
message (invalid arguments, a timeout, retries exhausted: text a model can act on) and, for
anything else the operation raised, the SDK's ``default_tool_error_function`` text, which
hides the error. ``failure_error_function=None`` lets the error fail the run instead.
"""

from __future__ import annotations

import copy
import inspect
import json
import uuid
from collections.abc import Iterable
from contextlib import AbstractContextManager, nullcontext
from typing import Any, cast

from execproto.context import CallContext, current_call, tool_call_id
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
    from agents import (
        FunctionTool,
        ModelBehaviorError,
        RunContextWrapper,
        UserError,
        default_tool_error_function,
    )
    from agents.strict_schema import ensure_strict_json_schema
    from agents.tool import ToolErrorFunction, set_function_tool_failure_error_function
    from agents.tool_context import ToolContext
except ImportError as _missing:  # pragma: no cover - depends on the installed extras
    raise missing_framework(
        "execproto.integrations.openai_agents", "openai-agents", "openai-agents", _missing
    ) from _missing

__all__ = [
    "from_openai_agents",
    "report_error",
    "to_openai_agents",
]


def from_openai_agents(tools: FunctionTool | Iterable[FunctionTool]) -> object:
    """Return one execproto tool whose operations are the Agents SDK function *tools*.

    Operation names are the tools' names (made identifiers: ``get-weather`` becomes
    ``get_weather``). See the module docstring for how calls and errors go.

    Raises:
        TypeError: *tools* is not a ``FunctionTool`` or an iterable of them (hosted tools
            such as ``WebSearchTool`` run on OpenAI's side and cannot be called here).
        ValueError: two tools have the same name, or a tool needs approval or has
            guardrails.
    """
    listed = _tool_list(tools)
    operations: dict[str, Any] = {}
    taken: set[str] = set()
    seen: set[str] = set()
    for tool in listed:
        if tool.name in seen:
            raise ValueError(
                f"two Agents SDK tools are named {tool.name!r}; tool names must be unique, as "
                f"a model calls tools by name"
            )
        seen.add(tool.name)
        name = operation_name(tool.name, taken)
        operations[name] = _operation(name, tool)
    return build_tool("OpenAIAgents", __name__, operations)


def _tool_list(tools: object) -> list[FunctionTool]:
    if isinstance(tools, FunctionTool):
        return [tools]
    if isinstance(tools, Iterable) and not isinstance(tools, (str, bytes)):
        listed: list[object] = list(cast("Iterable[object]", tools))
        for item in listed:
            if not isinstance(item, FunctionTool):
                raise TypeError(_unsupported(item))
        return cast("list[FunctionTool]", listed)
    raise TypeError(_unsupported(tools))


def _unsupported(value: object) -> str:
    hint = (
        "; decorate a function with agents.function_tool first, or register it with "
        "execproto directly"
        if callable(value)
        else ""
    )
    return (
        f"from_openai_agents expects an agents.FunctionTool or an iterable of them, got "
        f"{value!r} of type {type(value).__name__}{hint}"
    )


def _check_runnable_outside_agent(tool: FunctionTool) -> None:
    needs_approval: object = tool.needs_approval
    if needs_approval is not False:
        raise ValueError(
            f"the Agents SDK tool {tool.name!r} needs approval (needs_approval="
            f"{needs_approval!r}), which only an agent run can ask for; execproto would run it "
            f"unapproved. Keep it under the agent"
        )
    if tool.tool_input_guardrails or tool.tool_output_guardrails:
        raise ValueError(
            f"the Agents SDK tool {tool.name!r} has guardrails, which only an agent run "
            f"applies; execproto would run it unguarded. Keep it under the agent"
        )


def _call_id() -> str:
    call = current_call()
    if call is not None and call.call_id:
        return call.call_id
    return f"execproto-{uuid.uuid4().hex}"


def _operation(name: str, tool: FunctionTool) -> Any:
    _check_runnable_outside_agent(tool)
    # A copy whose failures raise: the tool's failure_error_function turns them into text
    # for a model. FunctionTool's copy rebinds the SDK's invoker to the copy, so the
    # original tool keeps its own policy.
    raising = copy.copy(tool)
    set_function_tool_failure_error_function(raising, None)
    label = f"Agents SDK tool {tool.name!r}"

    async def call(arguments: dict[str, Any]) -> Any:
        payload = json.dumps(arguments)
        context = ToolContext(
            context=None, tool_name=tool.name, tool_call_id=_call_id(), tool_arguments=payload
        )
        try:
            return await raising.on_invoke_tool(context, payload)
        except ModelBehaviorError as err:
            raise InvalidOperationError(f"invalid arguments for the {label}: {err}") from err

    return make_operation(
        name,
        description=tool.description,
        schema=tool.params_json_schema,
        call=call,
        is_async=True,
        timeout=tool.timeout_seconds,
    )


def report_error(context: RunContextWrapper[Any], error: Exception) -> str:
    """The default ``failure_error_function`` of :func:`to_openai_agents`'s tools.

    Returns an execproto error's message (:class:`~execproto.errors.ExecutionError`: what
    was wrong with the arguments, which timeout elapsed); for any other error, the SDK's
    ``default_tool_error_function`` text, which does not show the error to the model.
    """
    if isinstance(error, ExecutionError):
        return str(error)
    return default_tool_error_function(context, error)


def _fully_required(node: object) -> bool:
    """Whether every object in the JSON Schema *node* requires all its properties and no more.

    Such a schema is strict already: converting it for OpenAI's strict mode changes nothing
    a caller can send.
    """
    if isinstance(node, list):
        return all(_fully_required(item) for item in cast("list[object]", node))
    if not isinstance(node, dict):
        return True
    schema = cast("dict[str, object]", node)
    properties = schema.get("properties")
    if isinstance(properties, dict):
        required = schema.get("required", [])
        named = set(cast("list[str]", required)) if isinstance(required, list) else set[str]()
        if named != set(cast("dict[str, object]", properties)):
            return False
    if schema.get("additionalProperties", False) is not False:
        return False
    return all(_fully_required(value) for value in schema.values())


def _is_strict(schema: OperationSchema, strict: bool | None) -> bool:
    if strict is not None:
        return strict
    if not _fully_required(schema.parameters):
        return False
    try:
        ensure_strict_json_schema(copy.deepcopy(schema.parameters))
    except (UserError, TypeError, ValueError):
        return False
    return True


def to_openai_agents(
    provider: IToolProvider,
    executor: IToolExecutor,
    *,
    separator: str = "__",
    operations: Iterable[str] | None = None,
    strict: bool | None = None,
    failure_error_function: ToolErrorFunction | None = report_error,
) -> list[FunctionTool]:
    """Return an Agents SDK ``FunctionTool`` for each operation *provider* publishes.

    Each runs ``executor.execute_async`` on the tool *provider* holds at call time, inside
    :func:`~execproto.context.tool_call_id` with the model's call id. Names are
    ``tool + separator + operation``, valid OpenAI function names. Without *operations*,
    every operation of every tool (the provider must list its tools: ``names()``, as a
    ``ToolRegistry`` does); with it, only those named (``"tool.operation"``, or ``"tool"``
    for all of a tool's), from any ``IToolProvider``. See the module docstring for *strict*
    and *failure_error_function*.

    Raises:
        TypeError: the provider cannot list its tools and no *operations* are given.
        ValueError: a bad *separator*, two operations would get the same name, or
            ``strict=True`` and an operation's schema cannot be made strict.
        LookupError: a tool named in *operations* is unknown.
        OperationNotFoundError: an operation named in *operations* does not exist.
    """
    published = published_operations(provider, separator=separator, operations=operations)
    return [
        _to_tool(provider, executor, schema, _is_strict(schema, strict), failure_error_function)
        for schema in published
    ]


def _to_tool(
    provider: IToolProvider,
    executor: IToolExecutor,
    schema: OperationSchema,
    strict: bool,
    failure_error_function: ToolErrorFunction | None,
) -> FunctionTool:
    tool_name, operation = schema.tool, schema.operation

    async def run(arguments: dict[str, Any]) -> Any:
        tool: object = provider.get_tool(tool_name)
        return await executor.execute_async(tool, operation, **arguments)

    async def invoke(context: ToolContext[Any], payload: str) -> Any:
        scope: AbstractContextManager[CallContext | None] = (
            tool_call_id(context.tool_call_id) if context.tool_call_id else nullcontext()
        )
        try:
            with scope:
                return await run(_arguments(schema, payload))
        except Exception as err:
            if failure_error_function is None:
                raise
            message = failure_error_function(context, err)
            if inspect.isawaitable(message):
                return await message
            return message

    try:
        return FunctionTool(
            name=schema.name,
            description=schema.description,
            params_json_schema=copy.deepcopy(schema.parameters),
            on_invoke_tool=invoke,
            strict_json_schema=strict,
        )
    except UserError as err:
        raise ValueError(
            f"the schema of {tool_name}.{operation} cannot be made strict for the Agents SDK "
            f"({err.message}); pass strict=None or strict=False to to_openai_agents"
        ) from err


def _arguments(schema: OperationSchema, payload: str) -> dict[str, Any]:
    """Parse the model's JSON arguments; anything but an object is invalid."""
    try:
        arguments: object = json.loads(payload) if payload.strip() else {}
    except json.JSONDecodeError as err:
        raise InvalidOperationError(
            f"the arguments for {schema.name} are not valid JSON ({err}); send a JSON object"
        ) from err
    if not isinstance(arguments, dict):
        raise InvalidOperationError(
            f"the arguments for {schema.name} must be a JSON object, got {payload!r}"
        )
    return cast("dict[str, Any]", arguments)
