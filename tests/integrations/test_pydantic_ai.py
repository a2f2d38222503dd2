"""Pydantic AI tools both ways, against the real pydantic-ai-slim: conversions, agent runs."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

pytest.importorskip(
    "pydantic_ai", reason="needs the pydantic-ai extra (pydantic-ai-slim, Python 3.11+)"
)

import pydantic
from pydantic_ai import Agent, FunctionToolset, ModelRetry, RunContext, Tool
from pydantic_ai.messages import (
    ModelMessage,
    ModelResponse,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
)
from pydantic_ai.models.function import AgentInfo, FunctionModel
from pydantic_ai.models.test import TestModel

from execproto.errors import InvalidOperationError, OperationTimeoutError
from execproto.integrations.pydantic_ai import from_pydantic_ai, to_pydantic_ai
from execproto.models import ErrorCode, TaskStatus
from execproto.runtime.executor import ToolExecutor
from execproto.runtime.monitoring import Monitor
from execproto.runtime.operations import OperationExecutor
from execproto.runtime.registry import ToolRegistry, list_operations
from execproto.runtime.schemas import registry_schemas

from ._adapters import (
    FUNCTION_NAME,
    NamelessProvider,
    calculator_registry,
    no_wait_retries,
    sample_arguments,
    span_recorder,
)

_threads: dict[str, str] = {}


def add(a: int, b: int = 2) -> int:
    """Add two integers."""
    _threads["add"] = threading.current_thread().name
    return a + b


async def shout(text: str) -> str:
    """Upper-case a text."""
    _threads["shout"] = threading.current_thread().name
    return text.upper()


def refuse(reason: str) -> str:
    """Ask the model to try again, always."""
    raise ModelRetry(f"refused: {reason}")


async def greet(ctx: RunContext[str], name: str) -> str:
    """Greet someone with the greeting in the dependencies."""
    return f"{ctx.deps}, {name}!"


async def ask_the_model(ctx: RunContext[None]) -> str:
    """Try to use the run's model."""
    await ctx.model.request([], None, None)  # type: ignore[arg-type]
    return "unreachable"


def _converted() -> object:
    return from_pydantic_ai([add, shout, refuse, greet], deps="Hello")


# --- Pydantic AI to execproto ---------------------------------------------------------------


def test_the_operations_are_exactly_the_converted_tools() -> None:
    assert ["add", "greet", "refuse", "shout"] == list(list_operations(_converted()))


def test_each_operation_publishes_the_tools_schema_and_runs_with_it() -> None:
    toolset = FunctionToolset([add, shout, greet])
    registry = ToolRegistry({"pai": from_pydantic_ai(toolset, deps="Hi")})
    executor = ToolExecutor(registry)

    schemas = {schema.operation: schema for schema in registry_schemas(registry)}
    for name, pai_tool in toolset.tools.items():
        published = schemas[name]
        expected = {**pai_tool.tool_def.parameters_json_schema, "additionalProperties": False}
        assert expected == published.parameters
        assert pai_tool.tool_def.description == published.description
        executor.execute("pai", name, **sample_arguments(published.parameters))


def test_a_sync_tool_runs_in_a_thread_and_an_async_one_on_the_loop() -> None:
    converted = _converted()

    async def run() -> tuple[int, str, str]:
        executor = ToolExecutor()
        total = await executor.execute_async(converted, "add", a=1)
        loud = await executor.execute_async(converted, "shout", text="hi")
        return total, loud, threading.current_thread().name

    total, loud, loop_thread = asyncio.run(run())

    assert (3, "HI") == (total, loud)
    assert loop_thread != _threads["add"]
    assert loop_thread == _threads["shout"]


def test_the_tools_own_validation_converts_and_refuses_arguments() -> None:
    converted = _converted()

    assert 7 == ToolExecutor().execute(converted, "add", a="5")
    with pytest.raises(InvalidOperationError, match="Pydantic AI tool 'add'") as bad:
        ToolExecutor().execute(converted, "add", a="five")
    assert isinstance(bad.value.__cause__, pydantic.ValidationError)
    with pytest.raises(InvalidOperationError, match="unexpected keyword argument 'c'"):
        ToolExecutor().execute(converted, "add", a=1, c=1)


def test_a_model_retry_from_an_args_validator_is_an_invalid_operation_error() -> None:
    def positive(ctx: RunContext[None], a: int, b: int = 2) -> None:
        if a < 0:
            raise ModelRetry("a must be positive")

    converted = from_pydantic_ai(Tool(add, args_validator=positive))

    assert 3 == ToolExecutor().execute(converted, "add", a=1)
    with pytest.raises(InvalidOperationError, match="a must be positive") as bad:
        ToolExecutor().execute(converted, "add", a=-1)
    assert isinstance(bad.value.__cause__, ModelRetry)


def test_a_raising_tool_raises_its_own_error_and_fails_a_plan_step_with_e003() -> None:
    registry = ToolRegistry({"pai": _converted()})
    operations = OperationExecutor(registry, ToolExecutor(registry))

    async def run() -> Any:
        with pytest.raises(ModelRetry, match="refused: no"):
            await operations.execute_operation("pai.refuse", {"reason": "no"})
        return await operations.execute_operations_sequence(
            [{"operation": "pai.refuse", "params": {"reason": "no"}}], user_id="u", task_id="t"
        )

    [step] = asyncio.run(run())

    assert (TaskStatus.FAILED, ErrorCode.EXECUTION_ERROR) == (step.status, step.error_code)
    assert "ModelRetry: refused: no" == step.error_message


def test_a_tool_taking_a_run_context_gets_the_deps_and_no_model() -> None:
    converted = from_pydantic_ai([greet, ask_the_model], deps="Bonjour")

    assert "Bonjour, Ada!" == ToolExecutor().execute(converted, "greet", name="Ada")
    with pytest.raises(RuntimeError, match="outside an agent run, so there is no model"):
        ToolExecutor().execute(converted, "ask_the_model")


def test_the_tools_timeout_is_the_operations_timeout() -> None:
    async def dawdle() -> str:
        """Take longer than the timeout."""
        await asyncio.sleep(5)
        return "late"

    converted = from_pydantic_ai(FunctionToolset([dawdle], timeout=0.05))

    assert 0.05 == list_operations(converted)["dawdle"].policy.timeout
    with pytest.raises(OperationTimeoutError):
        ToolExecutor().execute(converted, "dawdle")


@pytest.mark.parametrize(
    "value",
    [FunctionToolset([add]).prefixed("x"), "add", 42, [add, 3]],
    ids=["another-toolset", "string", "number", "list-with-a-number"],
)
def test_what_is_not_a_function_toolset_or_tool_is_a_type_error(value: object) -> None:
    with pytest.raises(TypeError, match="FunctionToolset"):
        from_pydantic_ai(value)  # type: ignore[arg-type]


def test_tools_needing_approval_or_with_a_prepare_function_are_refused_at_conversion() -> None:
    async def keep(ctx: RunContext[None], definition: Any) -> Any:
        return definition

    with pytest.raises(ValueError, match="requires approval"):
        from_pydantic_ai(Tool(add, requires_approval=True))
    with pytest.raises(ValueError, match="requires approval"):
        from_pydantic_ai(FunctionToolset([add], requires_approval=True))
    with pytest.raises(ValueError, match="has a prepare function"):
        from_pydantic_ai(Tool(add, prepare=keep))


def test_names_that_are_not_identifiers_become_operation_names() -> None:
    converted = from_pydantic_ai(Tool(add, name="get-sum"))

    assert 4 == ToolExecutor().execute(converted, "get_sum", a=2, b=2)


# --- execproto to Pydantic AI ---------------------------------------------------------------


def test_the_operations_become_a_function_toolset_with_their_json_schemas() -> None:
    registry, _ = calculator_registry()

    toolset = to_pydantic_ai(registry, ToolExecutor(registry), id="calculator")

    expected = {
        schema.name: (schema.description, schema.parameters)
        for schema in registry_schemas(registry, separator="__")
    }
    definitions = {name: tool.tool_def for name, tool in toolset.tools.items()}
    assert expected == {
        name: (definition.description, definition.parameters_json_schema)
        for name, definition in definitions.items()
    }
    assert all(FUNCTION_NAME.match(name) for name in definitions)
    assert "calculator" == toolset.id


def _scripted(*calls: list[ToolCallPart]) -> FunctionModel:
    script = iter(calls)

    def respond(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        parts = next(script, None)
        return ModelResponse(parts=parts if parts is not None else [TextPart("done")])

    return FunctionModel(respond)


def _run(agent: Agent[None, str]) -> Any:
    # asyncio.run rather than run_sync, which leaves its event loop open for the garbage
    # collector to warn about in a later test.
    return asyncio.run(agent.run("go"))


def _returns(messages: list[ModelMessage]) -> list[tuple[str, str, str]]:
    return [
        (part.tool_call_id, part.outcome, str(part.content))
        for message in messages
        for part in message.parts
        if isinstance(part, ToolReturnPart)
    ]


def test_execprotos_errors_come_back_as_model_retry_and_tool_failed() -> None:
    registry, calculator = calculator_registry()
    calculator.flaky_failures = 5
    toolset = to_pydantic_ai(registry, ToolExecutor(registry, retry=no_wait_retries()))
    model = _scripted(
        [ToolCallPart("calc__multiply", {"a": "two"}, tool_call_id="c1")],
        [ToolCallPart("calc__slow", {}, tool_call_id="c2")],
        [ToolCallPart("calc__flaky", {"x": 1}, tool_call_id="c3")],
        [ToolCallPart("calc__negate", {"value": 3}, tool_call_id="c4")],
    )

    result = _run(Agent(model, toolsets=[toolset]))

    invalid, timed_out, exhausted, negated = _returns(result.all_messages())
    assert ("c1", "retried") == invalid[:2]
    assert invalid[2].startswith("invalid parameters for calc.multiply")
    assert ("c2", "retried") == timed_out[:2]
    assert ("c3", "failed") == exhausted[:2]
    assert "failed on all 3 attempts" in exhausted[2]
    assert ("c4", "success", "-3") == negated
    assert ["flaky", "flaky", "flaky", "negate"] == calculator.calls


def test_the_operations_own_error_fails_the_run() -> None:
    registry, _ = calculator_registry()
    toolset = to_pydantic_ai(registry, ToolExecutor(registry), operations=["calc.crash"])
    model = _scripted([ToolCallPart("calc__crash", {}, tool_call_id="c1")])

    with pytest.raises(KeyError, match="the operation's own error"):
        _run(Agent(model, toolsets=[toolset]))


def test_a_provider_that_cannot_list_its_tools_needs_the_operations_named() -> None:
    _, calculator = calculator_registry()
    provider = NamelessProvider({"calc": calculator})

    with pytest.raises(TypeError, match="cannot list its tools"):
        to_pydantic_ai(provider, ToolExecutor())
    toolset = to_pydantic_ai(provider, ToolExecutor(), operations=["calc"])

    assert "calc__multiply" in toolset.tools


# --- both ways ------------------------------------------------------------------------------


def test_execproto_operations_round_trip_through_pydantic_ai() -> None:
    registry, _ = calculator_registry()

    back = from_pydantic_ai(
        to_pydantic_ai(registry, ToolExecutor(registry), operations=["calc.multiply"])
    )

    assert ["calc__multiply"] == list(list_operations(back))
    assert 10 == ToolExecutor().execute(back, "calc__multiply", a=5, b=2)
    with pytest.raises(ModelRetry, match="invalid parameters"):
        ToolExecutor().execute(back, "calc__multiply", a="x")


def test_pydantic_ai_tools_round_trip_through_execproto() -> None:
    registry = ToolRegistry({"pai": _converted()})
    model = _scripted(
        [ToolCallPart("pai__greet", {"name": "Ada"}, tool_call_id="c1")],
        [ToolCallPart("pai__add", {"a": "x"}, tool_call_id="c2")],
    )

    result = _run(Agent(model, toolsets=[to_pydantic_ai(registry, ToolExecutor(registry))]))

    greeting, invalid = _returns(result.all_messages())
    assert ("c1", "success", "Hello, Ada!") == greeting
    assert ("c2", "retried") == invalid[:2]
    assert "Pydantic AI tool 'add'" in invalid[2]


# --- under an agent run ---------------------------------------------------------------------


def test_an_agent_run_calls_an_operation_and_gets_execprotos_error_back() -> None:
    registry, calculator = calculator_registry()
    tracer_provider, exporter = span_recorder()
    executor = ToolExecutor(registry, monitor=Monitor(tracer_provider=tracer_provider))
    model = _scripted(
        [ToolCallPart("calc__multiply", {"a": 6, "b": 7}, tool_call_id="call_1")],
        [ToolCallPart("calc__multiply", {"a": "six"}, tool_call_id="call_2")],
    )
    agent = Agent(model, toolsets=[to_pydantic_ai(registry, executor)])

    result = asyncio.run(agent.run("What is 6 times 7?"))

    answer, refusal = _returns(result.all_messages())
    assert ("call_1", "success", "42") == answer
    assert ("call_2", "retried") == refusal[:2]
    assert "invalid parameters for calc.multiply" in refusal[2]
    assert "done" == result.output
    assert ["multiply"] == calculator.calls
    [span] = exporter.get_finished_spans()
    assert "call_1" == (span.attributes or {})["gen_ai.tool.call.id"]


def test_the_test_model_calls_every_operation_with_arguments_from_its_schema() -> None:
    registry, calculator = calculator_registry()
    operations = ["calc.multiply", "calc.negate", "calc.square", "calc.configure"]
    toolset = to_pydantic_ai(registry, ToolExecutor(registry), operations=operations)

    result = _run(Agent(TestModel(), toolsets=[toolset]))

    assert ["multiply", "negate", "square"] == sorted(calculator.calls)
    assert all(outcome == "success" for _, outcome, _ in _returns(result.all_messages()))
