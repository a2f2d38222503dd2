"""Pydantic AI tools as an execproto tool, and execproto operations as a Pydantic AI toolset.

Needs the ``pydantic-ai`` extra (``pydantic-ai-slim>=2.68``, Python 3.11+).

**Pydantic AI to execproto.** :func:`from_pydantic_ai` turns a ``FunctionToolset``, ``Tool``
objects or plain tool functions (what ``Agent(tools=[...])`` takes) into one execproto tool
whose operations are those tools, by name::

    registry.register("pai", from_pydantic_ai([get_weather, Tool(lookup)]))
    await engine.execute_operation("pai.get_weather", {"city": "Paris"})

Each operation has the tool's description and parameters JSON Schema, and runs as the toolset
runs it: the tool's argument validator (its pydantic schema, then its ``args_validator``), then
its function, a sync one in a thread. Arguments the validator refuses (a pydantic
``ValidationError``, or ``ModelRetry`` from ``args_validator``) raise
:class:`~execproto.errors.InvalidOperationError` (E001), the original chained. Whatever the
tool raises, ``ModelRetry`` and ``ToolFailed`` included, is raised by the execproto call
unchanged (a plan step then fails with E003). A tool that takes a ``RunContext`` gets one
outside any agent run: its ``deps`` are the *deps* given to :func:`from_pydantic_ai`, and it has
no model to talk to (``ctx.model`` refuses requests). The tool's ``timeout`` (or the toolset's)
becomes the operation's timeout (E002, rather than Pydantic AI's retry prompt). Tools that
need approval or have a ``prepare`` function (which decides per run step whether and how the
tool is offered) are refused at conversion, since only an agent run can honour them.

**execproto to Pydantic AI.** :func:`to_pydantic_ai` makes a ``FunctionToolset`` with one tool
per operation of a provider, built with ``Tool.from_schema`` from the operation's JSON Schema
(:mod:`execproto.runtime.schemas`); they run through the given
:class:`~execproto.protocols.IToolExecutor` (``execute_async``), so execproto's validation,
retries, cache, timeouts and monitor spans apply under the agent, and the model's call id goes
on the span (:func:`execproto.context.tool_call_id`)::

    agent = Agent(model, toolsets=[to_pydantic_ai(registry, ToolExecutor(registry))])

Errors, Pydantic AI's way: invalid arguments (:class:`~execproto.errors.InvalidOperationError`)
and a timeout (:class:`~execproto.errors.OperationTimeoutError`, as Pydantic AI's own tool
timeouts do) raise ``ModelRetry`` with execproto's message, so the model is asked to correct
its call (within the tool's retry budget); retries exhausted
(:class:`~execproto.errors.RetryExhaustedError`) raise ``ToolFailed``: the model sees the
failure but is not asked to repeat a call execproto already retried. Anything else the
operation raises fails the run, as from any Pydantic AI tool.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from typing import Any, cast

from execproto.context import CallContext, current_call, tool_call_id
from execproto.errors import (
    InvalidOperationError,
    OperationTimeoutError,
    RetryExhaustedError,
)
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
    from pydantic_ai import (
        AbstractToolset,
        FunctionToolset,
        ModelRetry,
        RunContext,
        RunUsage,
        Tool,
        ToolFailed,
    )
    from pydantic_ai.messages import ModelMessage, ModelResponse
    from pydantic_ai.models import Model, ModelRequestParameters
    from pydantic_ai.settings import ModelSettings
except ImportError as _missing:  # pragma: no cover - depends on the installed extras
    raise missing_framework(
        "execproto.integrations.pydantic_ai", "pydantic-ai-slim", "pydantic-ai", _missing
    ) from _missing

__all__ = [
    "from_pydantic_ai",
    "to_pydantic_ai",
]


# Tool.from_schema returns typing.Self, which Python 3.10 (the checkers' target version) does
# not have, so its result type is unknown to them: named once here with its real type.
_from_schema = cast("Callable[..., Tool[Any]]", Tool.from_schema)  # pyright: ignore[reportUnknownMemberType]


class _NoModel(Model):
    """The model of the ``RunContext`` a tool gets outside an agent run: there is none."""

    async def request(
        self,
        messages: list[ModelMessage],
        model_settings: ModelSettings | None,
        model_request_parameters: ModelRequestParameters,
    ) -> ModelResponse:
        raise RuntimeError(
            "execproto runs this Pydantic AI tool outside an agent run, so there is no model "
            "to send requests to; run the tool under an Agent to use ctx.model"
        )

    @property
    def model_name(self) -> str:
        return "execproto:no-model"

    @property
    def system(self) -> str:
        return "execproto"


def from_pydantic_ai(
    tools_or_toolset: FunctionToolset[Any] | Tool[Any] | Callable[..., Any] | Iterable[Any],
    *,
    deps: Any = None,
) -> object:
    """Return one execproto tool whose operations are the Pydantic AI tools given.

    *tools_or_toolset* is a ``FunctionToolset``, a ``Tool``, a tool function, or an iterable
    of ``Tool`` objects and functions (as ``Agent(tools=...)`` takes). Operation names are the
    tools' names (made identifiers: ``get-weather`` becomes ``get_weather``). *deps* is what
    tools taking a ``RunContext`` find in ``ctx.deps``. See the module docstring for how
    calls and errors go.

    Raises:
        TypeError: *tools_or_toolset* is none of those (another toolset, such as an MCP
            server's, lists its tools per run; use execproto's MCP client for MCP servers).
        ValueError: a tool needs approval or has a ``prepare`` function, or two tools have
            the same name.
        UserError: Pydantic AI cannot make a tool of a function.
    """
    toolset = _toolset(tools_or_toolset)
    operations: dict[str, Any] = {}
    taken: set[str] = set()
    for original_name, tool in toolset.tools.items():
        _check_runnable_outside_agent(original_name, tool)
        name = operation_name(original_name, taken)
        operations[name] = _operation(name, original_name, tool, toolset, deps)
    return build_tool("PydanticAI", __name__, operations)


def _is_a(value: object, kind: type) -> bool:
    # A function, not an inline isinstance: narrowing to a generic class leaves its type
    # parameters unknown.
    return isinstance(value, kind)


def _toolset(value: object) -> FunctionToolset[Any]:
    if _is_a(value, FunctionToolset):
        return cast("FunctionToolset[Any]", value)
    if _is_a(value, AbstractToolset):
        raise TypeError(
            f"from_pydantic_ai takes a FunctionToolset, Tool objects or tool functions, got "
            f"the toolset {value!r} of type {type(value).__name__}, which lists its tools per "
            f"agent run; for an MCP server, use execproto.integrations.mcp_client"
        )
    if isinstance(value, Tool) or callable(value):
        return FunctionToolset([cast("Tool[Any]", value)])
    if isinstance(value, Iterable) and not isinstance(value, (str, bytes)):
        listed: list[object] = list(cast("Iterable[object]", value))
        for item in listed:
            if not (isinstance(item, Tool) or callable(item)):
                raise TypeError(_unsupported(item))
        return FunctionToolset(cast("list[Tool[Any]]", listed))
    raise TypeError(_unsupported(value))


def _unsupported(value: object) -> str:
    return (
        f"from_pydantic_ai expects a FunctionToolset, a pydantic_ai.Tool, a tool function or "
        f"an iterable of Tools and functions, got {value!r} of type {type(value).__name__}"
    )


def _check_runnable_outside_agent(name: str, tool: Tool[Any]) -> None:
    # The toolset's own requires_approval was applied to its tools by add_tool.
    if tool.requires_approval:
        raise ValueError(
            f"the Pydantic AI tool {name!r} requires approval, which only an agent run can ask "
            f"for; execproto would run it unapproved. Keep it under the agent"
        )
    if tool.prepare is not None:
        raise ValueError(
            f"the Pydantic AI tool {name!r} has a prepare function, which decides per agent "
            f"run step whether and how it is offered; execproto cannot honour it. Keep it "
            f"under the agent, or drop prepare"
        )


def _call_id() -> str:
    call = current_call()
    if call is not None and call.call_id:
        return call.call_id
    return f"execproto-{uuid.uuid4().hex}"


def _operation(
    name: str, original_name: str, tool: Tool[Any], toolset: FunctionToolset[Any], deps: Any
) -> Any:
    definition = tool.tool_def
    label = f"Pydantic AI tool {original_name!r}"
    model = _NoModel()

    async def call(arguments: dict[str, Any]) -> Any:
        context = RunContext[Any](
            deps=deps,
            model=model,
            usage=RunUsage(),
            tool_name=original_name,
            tool_call_id=_call_id(),
        )
        runnable = toolset.tool_for_tool_def(definition, ctx=context, original_name=original_name)
        try:
            validated: dict[str, Any] = runnable.args_validator.validate_python(
                arguments, context=context.validation_context
            )
            if runnable.args_validator_func is not None:
                checked = runnable.args_validator_func(context, **validated)
                if inspect.isawaitable(checked):
                    await checked
        except pydantic.ValidationError as err:
            raise InvalidOperationError(f"invalid arguments for the {label}: {err}") from err
        except ModelRetry as err:
            raise InvalidOperationError(
                f"invalid arguments for the {label}: {err.message}"
            ) from err
        # The function itself, not toolset.call_tool: that would also apply the tool's
        # timeout, as a retry prompt; the operation's timeout (E002) stands for it.
        return await runnable.call_func(validated, context)

    timeout = tool.timeout if tool.timeout is not None else toolset.timeout
    return make_operation(
        name,
        description=definition.description or "",
        schema=definition.parameters_json_schema,
        call=call,
        is_async=True,
        timeout=timeout,
    )


def to_pydantic_ai(
    provider: IToolProvider,
    executor: IToolExecutor,
    *,
    separator: str = "__",
    operations: Iterable[str] | None = None,
    id: str | None = None,
) -> FunctionToolset[Any]:
    """Return a Pydantic AI ``FunctionToolset`` of the operations *provider* publishes.

    Each tool runs ``executor.execute_async`` on the tool *provider* holds at call time,
    inside :func:`~execproto.context.tool_call_id` with the model's call id. Names are
    ``tool + separator + operation``, valid OpenAI function names. Without *operations*,
    every operation of every tool (the provider must list its tools: ``names()``, as a
    ``ToolRegistry`` does); with it, only those named (``"tool.operation"``, or ``"tool"``
    for all of a tool's), from any ``IToolProvider``. *id* is the toolset's id (durable
    execution needs one). See the module docstring for errors.

    Raises:
        TypeError: the provider cannot list its tools and no *operations* are given.
        ValueError: a bad *separator*, or two operations would get the same name.
        LookupError: a tool named in *operations* is unknown.
        OperationNotFoundError: an operation named in *operations* does not exist.
    """
    published = published_operations(provider, separator=separator, operations=operations)
    return FunctionToolset([_to_tool(provider, executor, schema) for schema in published], id=id)


def _to_tool(
    provider: IToolProvider, executor: IToolExecutor, schema: OperationSchema
) -> Tool[Any]:
    tool_name, operation = schema.tool, schema.operation

    async def run(context: RunContext[Any], /, **arguments: Any) -> Any:
        scope: AbstractContextManager[CallContext | None] = (
            tool_call_id(context.tool_call_id) if context.tool_call_id else nullcontext()
        )
        try:
            with scope:
                tool: object = provider.get_tool(tool_name)
                return await executor.execute_async(tool, operation, **arguments)
        except (InvalidOperationError, OperationTimeoutError) as err:
            raise ModelRetry(str(err)) from err
        except RetryExhaustedError as err:
            raise ToolFailed(str(err)) from err

    return _from_schema(
        run,
        name=schema.name,
        description=schema.description,
        json_schema=schema.parameters,
        takes_ctx=True,
    )
