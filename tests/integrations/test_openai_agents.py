"""Agents SDK function tools both ways, against the real openai-agents: conversions, Runner.run."""

from __future__ import annotations

import asyncio
import copy
import threading
from typing import Any

import pytest

pytest.importorskip("agents", reason="needs the openai-agents extra (openai-agents)")

from agents import (
    Agent,
    FunctionTool,
    ModelBehaviorError,
    RunConfig,
    RunContextWrapper,
    Runner,
    ToolGuardrailFunctionOutput,
    WebSearchTool,
    function_tool,
    tool_input_guardrail,
)
from agents.items import ToolCallOutputItem
from agents.testing import ScriptedModel, assistant_message, function_call
from agents.tool_context import ToolContext

from execproto.errors import InvalidOperationError, OperationTimeoutError
from execproto.integrations.openai_agents import (
    from_openai_agents,
    report_error,
    to_openai_agents,
)
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
    sample_arguments,
    span_recorder,
)

_threads: dict[str, str] = {}


@function_tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    _threads["add"] = threading.current_thread().name
    return a + b


@function_tool
async def shout(text: str) -> str:
    """Upper-case a text."""
    _threads["shout"] = threading.current_thread().name
    return text.upper()


@function_tool
def explode(reason: str) -> str:
    """Always fail."""
    raise RuntimeError(f"exploded: {reason}")


@function_tool(timeout=0.05)
async def dawdle() -> str:
    """Take longer than its timeout."""
    await asyncio.sleep(5)
    return "late"


_NO_TRACING = RunConfig(tracing_disabled=True)


def _context(name: str, payload: str) -> ToolContext[Any]:
    return ToolContext(context=None, tool_name=name, tool_call_id="call_x", tool_arguments=payload)


# --- Agents SDK to execproto ----------------------------------------------------------------


def test_the_operations_are_exactly_the_converted_tools() -> None:
    converted = from_openai_agents([add, shout, explode, dawdle])

    assert ["add", "dawdle", "explode", "shout"] == list(list_operations(converted))


def test_each_operation_publishes_the_tools_schema_and_runs_with_it() -> None:
    tools = [add, shout, explode]
    registry = ToolRegistry({"sdk": from_openai_agents(tools)})
    executor = ToolExecutor(registry)

    schemas = {schema.operation: schema for schema in registry_schemas(registry)}
    for sdk_tool in tools[:2]:
        published = schemas[sdk_tool.name]
        assert sdk_tool.params_json_schema == published.parameters
        assert sdk_tool.description == published.description
        executor.execute("sdk", sdk_tool.name, **sample_arguments(published.parameters))


def test_a_sync_tool_runs_in_a_thread_and_an_async_one_on_the_loop() -> None:
    converted = from_openai_agents([add, shout])

    async def run() -> tuple[int, str, str]:
        executor = ToolExecutor()
        total = await executor.execute_async(converted, "add", a=1, b=2)
        loud = await executor.execute_async(converted, "shout", text="hi")
        return total, loud, threading.current_thread().name

    total, loud, loop_thread = asyncio.run(run())

    assert (3, "HI") == (total, loud)
    assert loop_thread != _threads["add"]
    assert loop_thread == _threads["shout"]


def test_arguments_the_sdk_refuses_are_invalid_operation_errors() -> None:
    converted = from_openai_agents([add])

    with pytest.raises(InvalidOperationError, match="Agents SDK tool 'add'") as bad:
        ToolExecutor().execute(converted, "add", a="one", b=2)

    assert isinstance(bad.value.__cause__, ModelBehaviorError)
    with pytest.raises(
        InvalidOperationError, match=r"missing a required (keyword-only )?argument: 'b'"
    ):
        ToolExecutor().execute(converted, "add", a=1)


def test_a_raising_tool_raises_its_own_error_and_fails_a_plan_step_with_e003() -> None:
    registry = ToolRegistry({"sdk": from_openai_agents([explode])})
    operations = OperationExecutor(registry, ToolExecutor(registry))

    async def run() -> Any:
        with pytest.raises(RuntimeError, match="exploded: now"):
            await operations.execute_operation("sdk.explode", {"reason": "now"})
        return await operations.execute_operations_sequence(
            [{"operation": "sdk.explode", "params": {"reason": "now"}}], user_id="u", task_id="t"
        )

    [step] = asyncio.run(run())

    assert (TaskStatus.FAILED, ErrorCode.EXECUTION_ERROR) == (step.status, step.error_code)
    assert "RuntimeError: exploded: now" == step.error_message


def test_the_original_tool_keeps_its_failure_policy() -> None:
    from_openai_agents([explode])

    text = asyncio.run(
        explode.on_invoke_tool(_context("explode", '{"reason":"x"}'), '{"reason":"x"}')
    )

    assert "An error occurred while running the tool" in text


def test_the_tools_timeout_is_the_operations_timeout() -> None:
    converted = from_openai_agents([dawdle])

    assert 0.05 == list_operations(converted)["dawdle"].policy.timeout
    with pytest.raises(OperationTimeoutError):
        ToolExecutor().execute(converted, "dawdle")


def test_a_hand_made_function_tool_is_accepted() -> None:
    async def invoke(context: ToolContext[Any], payload: str) -> str:
        return f"{context.tool_name}:{payload}"

    echo = FunctionTool(
        name="echo-tool",
        description="Echo.",
        params_json_schema={
            "type": "object",
            "properties": {"word": {"type": "string"}},
            "required": ["word"],
            "additionalProperties": False,
        },
        on_invoke_tool=invoke,
    )

    assert 'echo-tool:{"word": "hi"}' == ToolExecutor().execute(
        from_openai_agents(echo), "echo_tool", word="hi"
    )


@pytest.mark.parametrize(
    "value",
    [lambda: None, "add", WebSearchTool(), [add, 3]],
    ids=["function", "string", "hosted-tool", "list-with-a-number"],
)
def test_what_is_not_a_function_tool_is_a_type_error_naming_what_is_supported(
    value: object,
) -> None:
    with pytest.raises(TypeError, match=r"expects an agents\.FunctionTool"):
        from_openai_agents(value)  # type: ignore[arg-type]


def test_tools_needing_approval_or_with_guardrails_are_refused_at_conversion() -> None:
    @tool_input_guardrail
    def allow(data: Any) -> ToolGuardrailFunctionOutput:
        return ToolGuardrailFunctionOutput.allow()

    approved = copy.copy(add)
    approved.needs_approval = True
    guarded = copy.copy(add)
    guarded.tool_input_guardrails = [allow]

    with pytest.raises(ValueError, match="needs approval"):
        from_openai_agents([approved])
    with pytest.raises(ValueError, match="has guardrails"):
        from_openai_agents([guarded])


def test_two_tools_with_one_name_are_refused() -> None:
    with pytest.raises(ValueError, match="two Agents SDK tools are named 'add'"):
        from_openai_agents([add, add])


# --- execproto to the Agents SDK ------------------------------------------------------------


def test_each_operation_becomes_a_function_tool_with_its_json_schema() -> None:
    registry, _ = calculator_registry()

    tools = to_openai_agents(registry, ToolExecutor(registry), strict=False)

    expected = {
        schema.name: (schema.description, schema.parameters)
        for schema in registry_schemas(registry, separator="__")
    }
    assert expected == {ft.name: (ft.description, ft.params_json_schema) for ft in tools}
    assert all(FUNCTION_NAME.match(ft.name) for ft in tools)


def test_a_tool_is_strict_by_default_exactly_when_its_schema_is_strict_already() -> None:
    registry, _ = calculator_registry()

    tools = {ft.name: ft for ft in to_openai_agents(registry, ToolExecutor(registry))}

    assert tools["calc__square"].strict_json_schema
    assert not tools["calc__multiply"].strict_json_schema  # b is optional
    assert ["a"] == tools["calc__multiply"].params_json_schema["required"]


def test_strict_true_converts_schemas_as_the_sdk_does_and_refuses_what_it_cannot() -> None:
    class Open:
        def anything(self, **options: Any) -> dict[str, Any]:
            """Take any options."""
            return options

    registry, _ = calculator_registry()
    [multiply] = to_openai_agents(
        registry, ToolExecutor(registry), operations=["calc.multiply"], strict=True
    )
    assert multiply.strict_json_schema
    assert ["a", "b"] == multiply.params_json_schema["required"]

    registry.register("open", Open())
    with pytest.raises(ValueError, match=r"open\.anything cannot be made strict"):
        to_openai_agents(registry, ToolExecutor(registry), operations=["open"], strict=True)
    [anything] = to_openai_agents(registry, ToolExecutor(registry), operations=["open"])
    assert not anything.strict_json_schema


def _invoke(tool: FunctionTool, payload: str) -> Any:
    return asyncio.run(tool.on_invoke_tool(_context(tool.name, payload), payload))


def test_the_tools_run_the_operation_and_report_errors_as_text_for_the_model() -> None:
    registry, calculator = calculator_registry()
    tools = {ft.name: ft for ft in to_openai_agents(registry, ToolExecutor(registry))}

    assert 6 == _invoke(tools["calc__multiply"], '{"a": 2}')
    assert -4 == _invoke(tools["calc__negate"], '{"value": 4}')
    invalid = _invoke(tools["calc__multiply"], '{"a": "two"}')
    own_error = _invoke(tools["calc__crash"], "{}")
    not_json = _invoke(tools["calc__multiply"], "{a")

    assert invalid.startswith("invalid parameters for calc.multiply")
    assert "An error occurred while running the tool. Please try again." == own_error
    assert "not valid JSON" in not_json
    assert ["multiply", "negate"] == calculator.calls


def test_failure_error_function_none_lets_the_error_fail_the_call() -> None:
    registry, _ = calculator_registry()
    [multiply] = to_openai_agents(
        registry, ToolExecutor(registry), operations=["calc.multiply"], failure_error_function=None
    )

    with pytest.raises(InvalidOperationError, match="invalid parameters"):
        _invoke(multiply, '{"a": "two"}')


def test_a_custom_failure_error_function_may_be_async() -> None:
    seen: list[Exception] = []

    async def describe(context: RunContextWrapper[Any], error: Exception) -> str:
        seen.append(error)
        return f"sorry: {type(error).__name__}"

    registry, _ = calculator_registry()
    [crash] = to_openai_agents(
        registry, ToolExecutor(registry), operations=["calc.crash"], failure_error_function=describe
    )

    assert "sorry: KeyError" == _invoke(crash, "{}")
    assert [KeyError] == [type(error) for error in seen]


def test_report_error_shows_execprotos_errors_and_hides_the_others() -> None:
    context = RunContextWrapper(context=None)

    assert "bad" == report_error(context, InvalidOperationError("bad"))
    assert "secret" not in report_error(context, RuntimeError("secret"))


def test_a_provider_that_cannot_list_its_tools_needs_the_operations_named() -> None:
    _, calculator = calculator_registry()
    provider = NamelessProvider({"calc": calculator})

    with pytest.raises(TypeError, match="cannot list its tools"):
        to_openai_agents(provider, ToolExecutor())
    [multiply] = to_openai_agents(provider, ToolExecutor(), operations=["calc.multiply"])

    assert 8 == _invoke(multiply, '{"a": 2, "b": 4}')


# --- both ways ------------------------------------------------------------------------------


def test_execproto_operations_round_trip_through_the_sdk() -> None:
    registry, _ = calculator_registry()

    back = from_openai_agents(
        to_openai_agents(registry, ToolExecutor(registry), operations=["calc.multiply"])
    )

    assert ["calc__multiply"] == list(list_operations(back))
    assert 10 == ToolExecutor().execute(back, "calc__multiply", a=5, b=2)


def test_sdk_tools_round_trip_through_execproto() -> None:
    registry = ToolRegistry({"sdk": from_openai_agents([add, explode])})

    tools = {ft.name: ft for ft in to_openai_agents(registry, ToolExecutor(registry))}

    assert 3 == _invoke(tools["sdk__add"], '{"a": 1, "b": 2}')
    assert "An error occurred" in _invoke(tools["sdk__explode"], '{"reason": "x"}')


# --- under Runner.run -----------------------------------------------------------------------


def test_an_agent_run_calls_an_operation_and_gets_execprotos_error_back() -> None:
    registry, calculator = calculator_registry()
    tracer_provider, exporter = span_recorder()
    executor = ToolExecutor(registry, monitor=Monitor(tracer_provider=tracer_provider))
    model = ScriptedModel(
        [
            [function_call("calc__multiply", {"a": 6, "b": 7}, call_id="call_1")],
            [function_call("calc__multiply", {"a": "six"}, call_id="call_2")],
            [assistant_message("The answer is 42.")],
        ]
    )
    agent = Agent(name="calculator", model=model, tools=to_openai_agents(registry, executor))

    result = asyncio.run(Runner.run(agent, "What is 6 times 7?", run_config=_NO_TRACING))

    outputs = [item.output for item in result.new_items if isinstance(item, ToolCallOutputItem)]
    assert 42 == outputs[0]
    assert str(outputs[1]).startswith("invalid parameters for calc.multiply")
    assert "The answer is 42." == result.final_output
    assert ["multiply"] == calculator.calls
    [span] = exporter.get_finished_spans()
    assert "call_1" == (span.attributes or {})["gen_ai.tool.call.id"]
