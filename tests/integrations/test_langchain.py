"""LangChain tools both ways, against the real langchain-core: conversions, errors, an agent loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Annotated, Any

import pytest

pytest.importorskip(
    "langchain_core", reason="needs the langchain extra (langchain-core, Python 3.11+)"
)

import pydantic
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import (
    BaseTool,
    BaseToolkit,
    InjectedToolArg,
    StructuredTool,
    ToolException,
    tool,
)
from langchain_core.utils.function_calling import convert_to_openai_function

from execproto.errors import InvalidOperationError
from execproto.integrations.langchain import from_langchain, to_langchain
from execproto.models import ErrorCode, TaskStatus
from execproto.runtime.cache import MemoryCacheProvider
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


@tool
def add(a: int, b: int = 2) -> int:
    """Add two integers."""
    _threads["add"] = threading.current_thread().name
    return a + b


@tool
async def shout(text: str) -> str:
    """Upper-case a text."""
    _threads["shout"] = threading.current_thread().name
    return text.upper()


@tool
def refuse(reason: str) -> str:
    """Always fail, the LangChain way."""
    raise ToolException(f"refused: {reason}")


class Item(pydantic.BaseModel):
    name: str
    quantity: int = 1


@tool
def order(items: list[Item], express: bool = False) -> str:
    """Order items."""
    return f"{sum(item.quantity for item in items)} items, express={express}"


class Counter(BaseTool):
    """A hand-written BaseTool subclass with both hooks."""

    name: str = "counter"
    description: str = "Count the characters of a text."

    def _run(self, text: str) -> int:
        return len(text)

    async def _arun(self, text: str) -> int:
        return len(text)


class Toolkit(BaseToolkit):
    def get_tools(self) -> list[BaseTool]:
        return [add, shout]


def _converted() -> object:
    return from_langchain([add, shout, refuse, order])


# --- LangChain to execproto -----------------------------------------------------------------


def test_the_operations_are_exactly_the_converted_tools() -> None:
    converted = from_langchain([add, shout, refuse, order, Counter()])

    assert ["add", "counter", "order", "refuse", "shout"] == list(list_operations(converted))


def test_each_operation_publishes_the_schema_langchain_gives_models_and_runs_with_it() -> None:
    tools = [add, shout, order, Counter()]
    registry = ToolRegistry({"lc": from_langchain(tools)})
    executor = ToolExecutor(registry)

    schemas = {schema.operation: schema for schema in registry_schemas(registry)}
    for lc_tool in tools:
        published = schemas[lc_tool.name]
        expected = {**convert_to_openai_function(lc_tool)["parameters"]}
        expected["additionalProperties"] = False
        assert expected == published.parameters
        assert lc_tool.description == published.description
        executor.execute("lc", lc_tool.name, **sample_arguments(published.parameters))


def test_a_sync_tool_runs_in_a_worker_thread_and_an_async_one_is_awaited_on_the_loop() -> None:
    converted = _converted()
    operations = list_operations(converted)

    async def run() -> tuple[int, str, str]:
        executor = ToolExecutor()
        total = await executor.execute_async(converted, "add", a=1, b=2)
        loud = await executor.execute_async(converted, "shout", text="hi")
        return total, loud, threading.current_thread().name

    total, loud, loop_thread = asyncio.run(run())

    assert (3, "HI") == (total, loud)
    assert (False, True) == (operations["add"].is_async, operations["shout"].is_async)
    assert loop_thread != _threads["add"]
    assert loop_thread == _threads["shout"]


def test_the_tools_own_validation_converts_and_refuses_arguments() -> None:
    executor = ToolExecutor()
    converted = _converted()

    assert 7 == executor.execute(converted, "add", a="5")
    assert "3 items, express=True" == executor.execute(
        converted, "order", items=[{"name": "pen", "quantity": 3}], express=True
    )
    with pytest.raises(
        InvalidOperationError, match=r"LangChain tool 'add'.*a: Input should"
    ) as bad:
        executor.execute(converted, "add", a="five")
    assert isinstance(bad.value.__cause__, pydantic.ValidationError)
    with pytest.raises(InvalidOperationError, match=r"items\.0\.name"):
        executor.execute(converted, "order", items=[{"quantity": 3}])


def test_missing_and_unknown_arguments_are_refused_before_the_tool_runs() -> None:
    executor = ToolExecutor()
    converted = _converted()

    with pytest.raises(
        InvalidOperationError, match=r"missing a required (keyword-only )?argument: 'a'"
    ):
        executor.execute(converted, "add", b=1)
    with pytest.raises(InvalidOperationError, match="unexpected keyword argument 'c'"):
        executor.execute(converted, "add", a=1, c=1)


def test_a_raising_tool_raises_its_own_error_and_fails_a_plan_step_with_e003() -> None:
    registry = ToolRegistry({"lc": _converted()})
    operations = OperationExecutor(registry, ToolExecutor(registry))

    async def run() -> Any:
        with pytest.raises(ToolException, match="refused: no"):
            await operations.execute_operation("lc.refuse", {"reason": "no"})
        return await operations.execute_operations_sequence(
            [{"operation": "lc.refuse", "params": {"reason": "no"}}], user_id="u", task_id="t"
        )

    [step] = asyncio.run(run())

    assert (TaskStatus.FAILED, ErrorCode.EXECUTION_ERROR) == (step.status, step.error_code)
    assert "ToolException: refused: no" == step.error_message


def test_a_tool_that_handles_its_errors_returns_their_text_as_under_langchain() -> None:
    handled = StructuredTool.from_function(
        refuse.func, name="handled", description="Fails, handled.", handle_tool_error=True
    )

    assert "refused: quietly" == ToolExecutor().execute(
        from_langchain(handled), "handled", reason="quietly"
    )


def test_a_toolkit_and_a_single_tool_are_accepted() -> None:
    assert ["add", "shout"] == list(list_operations(from_langchain(Toolkit())))
    assert ["add"] == list(list_operations(from_langchain(add)))


def test_names_that_are_not_identifiers_become_operation_names() -> None:
    dashed = StructuredTool.from_function(add.func, name="get-sum", description="Sum.")

    assert 4 == ToolExecutor().execute(from_langchain([dashed]), "get_sum", a=2, b=2)


@pytest.mark.parametrize(
    "value",
    [lambda: None, "add", 42, [add, "shout"]],
    ids=["function", "string", "number", "list-with-a-string"],
)
def test_what_is_not_a_langchain_tool_is_a_type_error_naming_what_is_supported(
    value: object,
) -> None:
    with pytest.raises(TypeError, match="expects a LangChain BaseTool, a BaseToolkit or an"):
        from_langchain(value)  # type: ignore[arg-type]


def test_a_tool_with_injected_arguments_is_refused_at_conversion() -> None:
    @tool
    def lookup(query: str, user: Annotated[str, InjectedToolArg]) -> str:
        """Look something up for a user."""
        return f"{user}: {query}"

    with pytest.raises(TypeError, match="'user', which only a LangChain agent injects"):
        from_langchain([lookup])


def test_a_schema_without_json_form_is_refused_at_conversion() -> None:
    class Opaque:
        pass

    class Arguments(pydantic.BaseModel):
        model_config = pydantic.ConfigDict(arbitrary_types_allowed=True)
        thing: Opaque

    opaque = StructuredTool.from_function(
        lambda thing: thing, name="opaque", description="Opaque.", args_schema=Arguments
    )

    with pytest.raises(ValueError, match="'opaque' has an argument schema with no JSON Schema"):
        from_langchain([opaque])


def test_two_tools_with_one_name_are_refused() -> None:
    with pytest.raises(ValueError, match="two LangChain tools are named 'add'"):
        from_langchain([add, add])


# --- execproto to LangChain -----------------------------------------------------------------


def test_each_operation_becomes_a_structured_tool_with_its_json_schema() -> None:
    registry, _ = calculator_registry()

    tools = to_langchain(registry, ToolExecutor(registry))

    expected = {
        schema.name: (schema.description, schema.parameters)
        for schema in registry_schemas(registry, separator="__")
    }
    assert expected == {lc.name: (lc.description, lc.args_schema) for lc in tools}
    assert all(isinstance(lc, StructuredTool) for lc in tools)
    assert all(FUNCTION_NAME.match(lc.name) for lc in tools)


def test_the_tools_run_the_operation_sync_and_async() -> None:
    registry, calculator = calculator_registry()
    tools = {lc.name: lc for lc in to_langchain(registry, ToolExecutor(registry))}

    assert 6 == tools["calc__multiply"].invoke({"a": 2})
    assert 8 == asyncio.run(tools["calc__multiply"].ainvoke({"a": 2, "b": 4}))
    assert -3 == asyncio.run(tools["calc__negate"].ainvoke({"value": 3}))
    assert -3 == tools["calc__negate"].invoke({"value": 3})
    assert ["multiply", "multiply", "negate", "negate"] == calculator.calls


def test_parameters_named_like_langchains_own_arguments_reach_the_operation() -> None:
    registry, _ = calculator_registry()
    tools = {lc.name: lc for lc in to_langchain(registry, ToolExecutor(registry))}

    configure = tools["calc__configure"]

    assert "c/rm/2" == configure.invoke({"config": "c", "run_manager": "rm", "callbacks": 2})
    assert "c/none/0" == asyncio.run(configure.ainvoke({"config": "c"}))


def test_an_execproto_error_reaches_the_model_as_an_error_tool_message() -> None:
    registry, calculator = calculator_registry()
    tools = {lc.name: lc for lc in to_langchain(registry, ToolExecutor(registry))}

    message = tools["calc__multiply"].invoke(
        {"name": "calc__multiply", "args": {"a": "two"}, "id": "call_1", "type": "tool_call"}
    )

    assert isinstance(message, ToolMessage)
    assert ("error", "call_1") == (message.status, message.tool_call_id)
    assert "invalid parameters for calc.multiply" in str(message.content)
    assert [] == calculator.calls


def test_an_execproto_error_is_a_tool_exception_chained_to_it() -> None:
    registry, _ = calculator_registry()
    [multiply] = to_langchain(registry, ToolExecutor(registry), operations=["calc.multiply"])
    multiply.handle_tool_error = False

    with pytest.raises(ToolException, match="invalid parameters") as raised:
        multiply.invoke({"a": "two"})

    assert isinstance(raised.value.__cause__, InvalidOperationError)


def test_the_operations_own_error_reaches_the_loop_unchanged() -> None:
    registry, _ = calculator_registry()
    [crash] = to_langchain(registry, ToolExecutor(registry), operations=["calc.crash"])

    with pytest.raises(KeyError, match="the operation's own error"):
        crash.invoke({})


def test_execprotos_cache_retries_timeouts_and_spans_apply() -> None:
    registry, calculator = calculator_registry()
    tracer_provider, exporter = span_recorder()
    executor = ToolExecutor(
        registry,
        retry=no_wait_retries(),
        monitor=Monitor(tracer_provider=tracer_provider),
    )
    tools = {lc.name: lc for lc in to_langchain(registry, executor)}

    assert 5 == tools["calc__flaky"].invoke({"x": 5})
    timed_out = asyncio.run(
        tools["calc__slow"].ainvoke(
            {"name": "calc__slow", "args": {}, "id": "c", "type": "tool_call"}
        )
    )

    assert ["flaky", "flaky"] == calculator.calls
    assert "error" == timed_out.status
    assert "timeout" in str(timed_out.content).lower()
    spans = [dict(span.attributes or {}) for span in exporter.get_finished_spans()]
    assert ["flaky", "slow"] == [span["execproto.tool.operation"] for span in spans]


def test_a_cacheable_operation_is_served_from_execprotos_cache() -> None:
    registry, calculator = calculator_registry()
    executor = ToolExecutor(registry, cache=MemoryCacheProvider())
    [square] = to_langchain(registry, executor, operations=["calc.square"])

    assert (9, 9) == (square.invoke({"x": 3}), asyncio.run(square.ainvoke({"x": 3})))
    assert ["square"] == calculator.calls


def test_a_provider_that_cannot_list_its_tools_needs_the_operations_named() -> None:
    _, calculator = calculator_registry()
    provider = NamelessProvider({"calc": calculator})

    with pytest.raises(TypeError, match="cannot list its tools"):
        to_langchain(provider, ToolExecutor())
    tools = to_langchain(provider, ToolExecutor(), operations=["calc.multiply", "calc.negate"])

    assert ["calc__multiply", "calc__negate"] == [lc.name for lc in tools]
    assert 4 == tools[0].invoke({"a": 2, "b": 2})


def test_long_names_and_other_separators_stay_valid_function_names() -> None:
    class Tools:
        def an_operation_whose_name_is_long_enough_to_pass_the_limit_alone(self) -> int:
            """Long."""
            return 1

    registry = ToolRegistry({"a_tool_with_a_long_name": Tools()})

    [long] = to_langchain(registry, ToolExecutor(registry), separator="-")

    assert FUNCTION_NAME.match(long.name)
    assert 1 == long.invoke({})
    with pytest.raises(ValueError, match="separator must be made of letters"):
        to_langchain(registry, ToolExecutor(registry), separator=".")


# --- both ways ------------------------------------------------------------------------------


def test_execproto_operations_round_trip_through_langchain() -> None:
    registry, _ = calculator_registry()
    executor = ToolExecutor(registry)

    back = from_langchain(to_langchain(registry, executor, operations=["calc.multiply"]))

    assert ["calc__multiply"] == list(list_operations(back))
    assert 10 == ToolExecutor().execute(back, "calc__multiply", a=5, b=2)
    # The LangChain tool hands execproto's error to its caller as text (handle_tool_error),
    # as it would to a model.
    assert (
        ToolExecutor()
        .execute(back, "calc__multiply", a="x")
        .startswith("invalid parameters for calc.multiply")
    )


def test_langchain_tools_round_trip_through_execproto() -> None:
    registry = ToolRegistry({"lc": _converted()})

    tools = {lc.name: lc for lc in to_langchain(registry, ToolExecutor(registry))}

    assert 3 == tools["lc__add"].invoke({"a": 1})
    assert "HI" == asyncio.run(tools["lc__shout"].ainvoke({"text": "hi"}))
    refused = tools["lc__refuse"].invoke(
        {"name": "lc__refuse", "args": {"reason": "no"}, "id": "c1", "type": "tool_call"}
    )
    assert ("error", "refused: no") == (refused.status, refused.content)


# --- under LangChain's own loop -------------------------------------------------------------


def _tool_call(name: str, args: dict[str, Any], call_id: str) -> AIMessage:
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": call_id}])


def _scripted_model() -> GenericFakeChatModel:
    script: Iterator[AIMessage | str] = iter(
        [
            _tool_call("calc__multiply", {"a": 6, "b": 7}, "call_1"),
            _tool_call("calc__multiply", {"a": "six"}, "call_2"),
            "The answer is 42.",
        ]
    )
    return GenericFakeChatModel(messages=script)


def _run_loop(model: GenericFakeChatModel, tools: list[StructuredTool]) -> list[BaseMessage]:
    # The tool-calling loop of langchain-core: call the model, run each tool call it made
    # (tool.invoke(tool_call) answers with a ToolMessage), until it answers in text.
    by_name = {lc.name: lc for lc in tools}
    messages: list[BaseMessage] = [HumanMessage("What is 6 times 7?")]
    while True:
        reply = model.invoke(messages)
        messages.append(reply)
        if not isinstance(reply, AIMessage) or not reply.tool_calls:
            return messages
        messages.extend(by_name[call["name"]].invoke(call) for call in reply.tool_calls)


async def _run_loop_async(
    model: GenericFakeChatModel, tools: list[StructuredTool]
) -> list[BaseMessage]:
    by_name = {lc.name: lc for lc in tools}
    messages: list[BaseMessage] = [HumanMessage("What is 6 times 7?")]
    while True:
        reply = await model.ainvoke(messages)
        messages.append(reply)
        if not isinstance(reply, AIMessage) or not reply.tool_calls:
            return messages
        results = await asyncio.gather(
            *(by_name[call["name"]].ainvoke(call) for call in reply.tool_calls)
        )
        messages.extend(results)


def _tool_messages(messages: list[BaseMessage]) -> list[tuple[str, str, str]]:
    return [
        (message.tool_call_id, message.status, str(message.content))
        for message in messages
        if isinstance(message, ToolMessage)
    ]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_langchain_loop_calls_an_operation_and_gets_execprotos_error_back(mode: str) -> None:
    registry, calculator = calculator_registry()
    tools = to_langchain(registry, ToolExecutor(registry))
    model = _scripted_model()

    if mode == "sync":
        messages = _run_loop(model, tools)
    else:
        messages = asyncio.run(_run_loop_async(model, tools))

    [answer, refusal] = _tool_messages(messages)
    assert ("call_1", "success", "42") == answer
    assert ("call_2", "error") == refusal[:2]
    assert "invalid parameters for calc.multiply" in refusal[2]
    assert "The answer is 42." == messages[-1].content
    assert ["multiply"] == calculator.calls
