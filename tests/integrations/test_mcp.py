"""MCP in both directions, against the real SDK: in process and over stdio subprocesses."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import textwrap
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import mcp_types as mcp_t
import pytest
from examples import tools as example_tools
from mcp import Client, StdioServerParameters
from mcp.server import Server, ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import MCPError

from execproto._cli import run as _cli_run
from execproto._cli import serve_mcp as _cli_serve_mcp
from execproto.errors import (
    InvalidOperationError,
    OperationTimeoutError,
    ToolNotFoundError,
)
from execproto.integrations.mcp_client import MCPToolProvider, parse_mcp_option
from execproto.integrations.mcp_server import ERROR_CODE_META, mcp_server
from execproto.models import ErrorCode, TaskStatus
from execproto.runtime.engine import ExecutionEngine
from execproto.runtime.executor import RetryPolicy, ToolExecutor
from execproto.runtime.registry import ToolRegistry, operation, resolve_operation
from execproto.runtime.schemas import registry_schemas

ROOT = Path(__file__).resolve().parents[2]

# Runs the serve-mcp subcommand without going through cli.py's command table.
_SERVE = (
    "import argparse, sys\n"
    "from execproto._cli import serve_mcp as command\n"
    "parser = argparse.ArgumentParser()\n"
    "command.add_arguments(parser)\n"
    "sys.exit(command.run(parser.parse_args(sys.argv[1:])))\n"
)


def _examples() -> ToolRegistry:
    registry = ToolRegistry()
    example_tools.register(registry)
    return registry


def _no_wait_retries() -> ToolExecutor:
    return ToolExecutor(retry=RetryPolicy(base_delay=0, jitter="none"))


class Gate:
    """A tool whose operations wait for events the test controls (no sleeping)."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.cancelled = asyncio.Event()

    async def wait(self) -> str:
        """Wait until released."""
        self.started.set()
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled.set()
            raise
        return "released"

    @operation(timeout=0.05)
    async def hang(self) -> None:
        """Never finish (times out)."""
        await asyncio.Event().wait()

    def fail(self, why: str) -> None:
        """Raise a ValueError with *why*."""
        raise ValueError(why)

    def count(self, n: int) -> int:
        """Return *n*."""
        return n

    def opaque(self) -> object:
        """Return an object with no JSON form."""
        return Gate

    def nothing(self) -> None:
        """Return None."""


def _text(result: mcp_t.CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, mcp_t.TextContent))


# -- server side ------------------------------------------------------------------------------


async def test_the_server_lists_every_operation_with_its_schema_and_docstring() -> None:
    registry = _examples()
    async with Client(mcp_server(registry)) as client:
        listed = (await client.list_tools()).tools
    expected = [schema.mcp_tool() for schema in registry_schemas(registry)]
    actual = [
        {"name": tool.name, "description": tool.description, "inputSchema": tool.input_schema}
        for tool in listed
    ]
    assert expected == actual


async def test_idempotent_operations_are_published_with_the_idempotent_hint() -> None:
    async with Client(mcp_server(_examples())) as client:
        hints = {tool.name: tool.annotations for tool in (await client.list_tools()).tools}
    assert True is hints["web.search"].idempotent_hint  # type: ignore[union-attr]
    assert False is hints["report.compose"].idempotent_hint  # type: ignore[union-attr]


async def test_example_tools_round_trip_with_dicts_structured_and_strings_as_text() -> None:
    registry = _examples()
    async with Client(mcp_server(registry)) as client:
        search = await client.call_tool("web.search", {"query": "retry idempotent", "limit": 1})
        report = await client.call_tool("report.compose", {"title": "T", "sections": {"a": 1}})
    direct = await registry.get_tool("web").search("retry idempotent", limit=1)
    assert (False, direct) == (search.is_error, search.structured_content)
    assert direct == json.loads(_text(search))
    assert (None, "T\n=\na: 1") == (report.structured_content, _text(report))


async def test_invalid_parameters_are_an_error_result_with_code_e001() -> None:
    async with Client(mcp_server(_examples())) as client:
        result = await client.call_tool("web.search", {"query": "q", "limit": "many"})
    assert (True, "E001") == (result.is_error, (result.meta or {})[ERROR_CODE_META])
    assert "parameter 'limit'" in _text(result)


async def test_an_operation_error_is_an_error_result_with_its_text_and_code_e003() -> None:
    async with Client(mcp_server(ToolRegistry({"gate": Gate()}))) as client:
        result = await client.call_tool("gate.fail", {"why": "the disk is full"})
    assert (True, "E003") == (result.is_error, (result.meta or {})[ERROR_CODE_META])
    assert "E003 ValueError: the disk is full" == _text(result)


async def test_an_operation_past_its_timeout_is_an_error_result_with_code_e002() -> None:
    async with Client(mcp_server(ToolRegistry({"gate": Gate()}))) as client:
        result = await client.call_tool("gate.hang", {})
    assert (True, "E002") == (result.is_error, (result.meta or {})[ERROR_CODE_META])


async def test_an_unknown_tool_is_a_protocol_error_naming_the_tools() -> None:
    async with Client(mcp_server(_examples())) as client:
        with pytest.raises(MCPError, match=r"no tool 'web\.find'.*web\.search") as caught:
            await client.call_tool("web.find", {})
    assert mcp_t.INVALID_PARAMS == caught.value.code


async def test_calls_go_through_the_executor_so_idempotent_operations_are_retried() -> None:
    # rates.convert fails every other call with ConnectionError; the executor retries it.
    with _no_wait_retries() as executor:
        async with Client(mcp_server(_examples(), executor=executor)) as client:
            result = await client.call_tool("rates.convert", {"amount": 10, "currency": "EUR"})
    assert (False, 2) == (result.is_error, result.structured_content["call"])


async def test_a_running_call_reports_progress_to_a_client_that_asks() -> None:
    gate = Gate()
    seen: list[tuple[float, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, message))
        gate.release.set()  # the operation finishes only once progress has arrived

    async with Client(mcp_server(ToolRegistry({"gate": gate}), progress_interval=0.01)) as client:
        result = await client.call_tool("gate.wait", {}, progress_callback=on_progress)
    assert "released" == _text(result)
    assert [] != seen
    assert "gate.wait: running for" in str(seen[0][1])


async def test_results_without_json_form_are_sent_as_their_repr() -> None:
    async with Client(mcp_server(ToolRegistry({"gate": Gate()}))) as client:
        opaque = await client.call_tool("gate.opaque", {})
        number = await client.call_tool("gate.count", {"n": 7})
        nothing = await client.call_tool("gate.nothing", {})
    assert (None, repr(Gate)) == (opaque.structured_content, _text(opaque))
    assert (7, "7") == (number.structured_content, _text(number))
    assert (None, "null") == (nothing.structured_content, _text(nothing))


@pytest.mark.parametrize(
    ("options", "message"),
    [({"max_concurrency": 0}, "max_concurrency"), ({"progress_interval": 0}, "progress_interval")],
)
def test_the_server_refuses_bad_options(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        mcp_server(_examples(), **options)


@pytest.mark.parametrize(
    ("argument", "value", "expected"),
    [
        ("name", "", "name must be a non-empty str, got '' of type str"),
        ("max_concurrency", -1, "max_concurrency must be an int >= 1, got -1 of type int"),
        ("progress_interval", -0.5, "progress_interval must be a finite number of seconds > 0"),
        ("progress_interval", float("nan"), "progress_interval must be a finite number"),
    ],
)
def test_a_server_option_out_of_range_is_a_value_error_naming_it(
    argument: str, value: object, expected: str
) -> None:
    with pytest.raises(ValueError, match=r"^mcp_server: ") as caught:
        mcp_server(_examples(), **{argument: value})

    assert str(caught.value).startswith(f"mcp_server: {expected}")
    assert f"of type {type(value).__name__}; " in str(caught.value)


@pytest.mark.parametrize(
    ("argument", "value", "expected"),
    [
        ("name", 7, "name must be a non-empty str, got 7 of type int"),
        ("version", 1.0, "version must be a str, got 1.0 of type float"),
        ("instructions", ["use it"], "instructions must be a str or None, got ['use it']"),
        ("max_concurrency", 2.5, "max_concurrency must be an int >= 1, got 2.5 of type float"),
        ("max_concurrency", True, "max_concurrency must be an int >= 1, got True of type bool"),
        ("progress_interval", "1s", "progress_interval must be a finite number of seconds > 0"),
        ("executor", "executor", "executor must conform to IToolExecutor, got 'executor'"),
    ],
)
def test_a_server_option_of_the_wrong_type_is_a_type_error_naming_it(
    argument: str, value: object, expected: str
) -> None:
    with pytest.raises(TypeError) as caught:
        mcp_server(_examples(), **{argument: value})

    assert str(caught.value).startswith(f"mcp_server: {expected}")


def test_the_server_needs_a_tool_registry() -> None:
    with pytest.raises(TypeError) as caught:
        mcp_server({"web": object()})  # type: ignore[arg-type]

    assert str(caught.value).startswith(
        "mcp_server: registry must be an instance of execproto.runtime.registry.ToolRegistry, "
        "got {'web': <object object at"
    )


# -- client side ------------------------------------------------------------------------------


def _notes_server() -> tuple[MCPServer, dict[str, asyncio.Event]]:
    """A third-party-style server (SDK only) and the events its slow tool sets."""
    server = MCPServer("notes")
    events = {"started": asyncio.Event(), "cancelled": asyncio.Event()}

    @server.tool(name="add-note")
    def add_note(title: str, tags: list[str] | None = None) -> dict[str, Any]:
        """Store a note."""
        return {"id": 1, "title": title, "tags": tags or []}

    @server.tool(annotations=mcp_t.ToolAnnotations(read_only_hint=True))
    def count_words(text: str) -> int:
        """Count words."""
        return len(text.split())

    @server.tool()
    def refuse(note_id: int) -> str:
        """Always refuse."""
        raise ToolError(f"note {note_id} is append-only")

    @server.tool()
    async def slow() -> str:
        """Wait forever, recording cancellation."""
        events["started"].set()
        try:
            await anyio.sleep_forever()
        except anyio.get_cancelled_exc_class():
            events["cancelled"].set()
            raise
        return "never"

    return server, events


@asynccontextmanager
async def _connected_notes() -> AsyncIterator[tuple[MCPToolProvider, dict[str, asyncio.Event]]]:
    # A context manager, not a fixture: the SDK's task groups must be left in the task that
    # entered them, and pytest-asyncio may tear an async fixture down in another task.
    server, events = _notes_server()
    async with MCPToolProvider(timeout=5) as provider:
        await provider.connect("notes", server)
        yield provider, events


async def test_remote_tools_become_operations_with_identifier_names() -> None:
    async with _connected_notes() as (provider, _):
        expected = {
            "add_note": "add-note",
            "count_words": "count_words",
            "refuse": "refuse",
            "slow": "slow",
        }
        assert expected == provider.operation_names("notes")
        assert ("notes",) == provider.names()


async def test_a_plan_calls_remote_tools_like_local_operations() -> None:
    async with _connected_notes() as (provider, _):
        async with ExecutionEngine(provider, ToolExecutor()) as engine:
            steps = await engine.execute_operations_sequence(
                [
                    {"operation": "notes.add_note", "params": {"title": "a b c"}},
                    {"operation": "notes.count_words", "params": {"text": "$result[0].title"}},
                ],
                "",
                "",
            )
        # The SDK wraps an int return as {"result": 3}; the provider unwraps it.
        assert [{"id": 1, "title": "a b c", "tags": []}, 3] == [step.result for step in steps]


async def test_an_error_result_fails_the_step_with_the_tools_text() -> None:
    async with _connected_notes() as (provider, _):
        async with ExecutionEngine(provider, ToolExecutor()) as engine:
            [step] = await engine.execute_operations_sequence(
                [{"operation": "notes.refuse", "params": {"note_id": 4}}], "", ""
            )
        assert (TaskStatus.FAILED, ErrorCode.EXECUTION_ERROR) == (step.status, step.error_code)
        assert "note 4 is append-only" in str(step.error_message)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        # Python 3.13's inspect adds "keyword-only" to the message.
        ({}, "missing a required (keyword-only )?argument: 'title'"),
        ({"title": "t", "colour": "red"}, "unexpected keyword argument 'colour'"),
        ({"title": 5}, "title: 5 is not of type 'string'"),
        ({"title": "t", "tags": "x"}, "tags"),
    ],
)
async def test_arguments_are_checked_locally_against_the_remote_schema(
    params: dict[str, Any], message: str
) -> None:
    async with _connected_notes() as (provider, _):
        with ToolExecutor() as executor, pytest.raises(InvalidOperationError, match=message):
            await executor.execute_async(provider.get_tool("notes"), "add_note", **params)


async def test_a_remote_call_past_the_timeout_is_e002_and_the_server_call_is_cancelled() -> None:
    server, events = _notes_server()
    async with MCPToolProvider(timeout=0.1) as provider:
        await provider.connect("notes", server)
        async with ExecutionEngine(provider, ToolExecutor()) as engine:
            [step] = await engine.execute_operations_sequence(
                [{"operation": "notes.slow", "params": {}}], "", ""
            )
        with anyio.fail_after(10):
            await events["cancelled"].wait()
    assert (TaskStatus.TIMED_OUT, ErrorCode.TIMEOUT_ERROR) == (step.status, step.error_code)


async def test_the_sdk_read_timeout_maps_to_operation_timeout_error() -> None:
    server, _ = _notes_server()
    async with MCPToolProvider(timeout=0.1) as provider:
        tool: Any = await provider.connect("notes", server)
        # Called directly, without an executor: only the SDK's read timeout applies.
        with pytest.raises(OperationTimeoutError, match=r"did not answer within 0\.1 s"):
            await type(tool).slow(tool)


async def test_cancelling_the_caller_cancels_the_remote_call() -> None:
    async with _connected_notes() as (provider, events):
        async with ExecutionEngine(provider, ToolExecutor()) as engine:
            call = asyncio.ensure_future(engine.execute_operation("notes.slow", {}))
            await events["started"].wait()
            call.cancel()
            with pytest.raises(asyncio.CancelledError):
                await call
        with anyio.fail_after(10):
            await events["cancelled"].wait()


async def test_hints_make_operations_idempotent_only_when_trusted() -> None:
    server, _ = _notes_server()
    async with MCPToolProvider() as provider:
        untrusted = await provider.connect("plain", server)
        trusted = await provider.connect("trusted", server, trust_hints=True)
    assert (False, True, False) == (
        resolve_operation(untrusted, "count_words")[1].policy.idempotent,
        resolve_operation(trusted, "count_words")[1].policy.idempotent,
        resolve_operation(trusted, "count_words")[1].policy.caches,
    )


async def test_provider_schemas_are_the_servers_own_input_schemas() -> None:
    async with _connected_notes() as (provider, _):
        server, _ = _notes_server()
        async with Client(server) as client:
            remote = {tool.name: tool.input_schema for tool in (await client.list_tools()).tools}
        schemas = {schema.name: schema.parameters for schema in provider.schemas()}
        assert remote["add-note"] == schemas["notes.add_note"]


async def test_a_call_from_another_event_loop_is_refused_with_a_clear_error() -> None:
    async with _connected_notes() as (provider, _):
        with (
            ToolExecutor() as executor,
            pytest.raises(RuntimeError, match="opened on another event loop"),
        ):
            await asyncio.to_thread(
                executor.execute, provider.get_tool("notes"), "count_words", text="a"
            )


async def test_execproto_error_codes_survive_the_round_trip_through_mcp() -> None:
    registry = ToolRegistry({"gate": Gate()})
    async with MCPToolProvider() as provider:
        await provider.connect("remote", mcp_server(registry))
        async with ExecutionEngine(provider, ToolExecutor()) as engine:
            steps = await engine.execute_operations_sequence(
                [
                    {"operation": "remote.gate_hang", "params": {}},
                    {"operation": "remote.gate_count", "params": {"n": 7}},
                    {"operation": "remote.gate_fail", "params": {"why": "no"}},
                ],
                "",
                "",
            )
    assert [ErrorCode.TIMEOUT_ERROR, None, ErrorCode.EXECUTION_ERROR] == [
        step.error_code for step in steps
    ]
    assert 7 == steps[1].result


def _odd_server() -> Server[Any]:
    """A low-level server with a non-identifier parameter and a two-block result."""

    async def list_tools(
        ctx: ServerRequestContext[Any], params: mcp_t.PaginatedRequestParams | None
    ) -> mcp_t.ListToolsResult:
        schema = {
            "type": "object",
            "properties": {"file-path": {"type": "string"}},
            "required": ["file-path"],
        }
        return mcp_t.ListToolsResult(
            tools=[
                mcp_t.Tool(name="read", input_schema=schema),
                mcp_t.Tool(name="2nd read", input_schema={"type": "object"}),
            ]
        )

    async def call_tool(
        ctx: ServerRequestContext[Any], params: mcp_t.CallToolRequestParams
    ) -> mcp_t.CallToolResult:
        arguments = params.arguments or {}
        return mcp_t.CallToolResult(
            content=[
                mcp_t.TextContent(text=str(arguments.get("file-path"))),
                mcp_t.TextContent(text="second"),
            ]
        )

    return Server("odd", on_list_tools=list_tools, on_call_tool=call_tool)


async def test_parameters_that_are_not_identifiers_are_passed_through_and_validated() -> None:
    async with MCPToolProvider() as provider:
        tool = await provider.connect("odd", _odd_server())
        with ToolExecutor() as executor:
            result = await executor.execute_async(tool, "read", **{"file-path": "/a"})
            with pytest.raises(InvalidOperationError, match="'file-path' is a required property"):
                await executor.execute_async(tool, "read", path="/a")
        assert {"read": "read", "tool_2nd_read": "2nd read"} == provider.operation_names("odd")
    expected = [{"type": "text", "text": "/a"}, {"type": "text", "text": "second"}]
    assert expected == result


async def test_provider_misuse_is_refused_with_what_to_do_instead() -> None:
    provider = MCPToolProvider()
    with pytest.raises(RuntimeError, match="async with MCPToolProvider"):
        await provider.connect("notes", _notes_server()[0])
    async with provider:
        await provider.connect("notes", _notes_server()[0])
        with pytest.raises(ValueError, match="already connected as 'notes'"):
            await provider.connect("notes", _notes_server()[0])
        with pytest.raises(ValueError, match="identifier"):
            await provider.connect("my notes", _notes_server()[0])
        with pytest.raises(ToolNotFoundError, match="connected: notes"):
            provider.get_tool("nots")
    assert (False, ()) == (provider.has_tool("notes"), provider.names())
    with pytest.raises(ValueError, match="timeout"):
        MCPToolProvider(timeout=0)


@pytest.mark.parametrize(
    ("argument", "value", "error", "expected"),
    [
        ("timeout", 0, ValueError, "timeout must be a finite number of seconds > 0 or None, got 0"),
        ("timeout", -3.0, ValueError, "timeout must be a finite number of seconds > 0 or None"),
        ("timeout", "30", TypeError, "timeout must be a finite number of seconds > 0 or None"),
        ("trust_hints", "yes", TypeError, "trust_hints must be True or False, got 'yes'"),
    ],
)
def test_a_provider_argument_is_checked_with_a_message_naming_it(
    argument: str, value: object, error: type[Exception], expected: str
) -> None:
    with pytest.raises(error) as caught:
        MCPToolProvider(**{argument: value})

    assert str(caught.value).startswith(f"MCPToolProvider: {expected}")
    assert f"of type {type(value).__name__}; " in str(caught.value)


@pytest.mark.parametrize(
    ("options", "error", "expected"),
    [
        ({"timeout": float("inf")}, ValueError, "timeout must be a finite number of seconds"),
        ({"timeout": "5"}, TypeError, "timeout must be a finite number of seconds > 0 or None"),
        ({"trust_hints": 1}, TypeError, "trust_hints must be True or False or None, got 1"),
    ],
)
async def test_connect_checks_its_options_before_connecting(
    options: dict[str, Any], error: type[Exception], expected: str
) -> None:
    async with MCPToolProvider() as provider:
        with pytest.raises(error) as caught:
            await provider.connect("notes", _notes_server()[0], **options)
        assert () == provider.names()

    assert str(caught.value).startswith(f"MCPToolProvider.connect: {expected}")


async def test_a_server_that_cannot_start_is_a_connection_error() -> None:
    async with MCPToolProvider() as provider:
        with pytest.raises(ConnectionError, match="cannot connect to the MCP server 'gone'"):
            await provider.connect(
                "gone", StdioServerParameters(command=sys.executable, args=["-c", "pass"])
            )


def test_the_mcp_option_is_parsed_like_a_shell_command_line() -> None:
    name, parameters = parse_mcp_option("notes=python 'my server.py' --fast")
    assert ("notes", "python", ["my server.py", "--fast"]) == (
        name,
        parameters.command,
        parameters.args,
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("python server.py", "expected NAME=COMMAND"),
        ("my notes=python", "expected NAME=COMMAND"),
        ("notes=", "empty command"),
        ("n='unclosed", "cannot split"),
    ],
)
def test_a_malformed_mcp_option_is_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_mcp_option(text)


# -- over stdio -------------------------------------------------------------------------------


def _serve_parameters(*args: str) -> StdioServerParameters:
    return StdioServerParameters(command=sys.executable, args=["-c", _SERVE, *args], cwd=str(ROOT))


async def test_serve_mcp_publishes_the_example_tools_over_stdio() -> None:
    async with MCPToolProvider(timeout=30) as provider:
        tool = await provider.connect("ex", _serve_parameters("--tools", "examples.tools"))
        with ToolExecutor() as executor:
            summary = await executor.execute_async(
                tool,
                "text_summarize",
                texts=["Retry only idempotent ones. Or not."],
                keywords=["retry"],
                sentences=1,
            )
            with pytest.raises(InvalidOperationError, match=r"amount: 'lots' is not of type"):
                await executor.execute_async(tool, "rates_convert", amount="lots", currency="EUR")
    assert "Retry only idempotent ones." == summary


def test_serve_mcp_refuses_a_tools_module_that_cannot_be_loaded(
    capsys: pytest.CaptureFixture[str],
) -> None:
    parser = argparse.ArgumentParser()
    _cli_serve_mcp.add_arguments(parser)
    assert 2 == _cli_serve_mcp.run(parser.parse_args(["--tools", "no_such_module_here"]))
    assert "cannot import the tools module 'no_such_module_here'" in capsys.readouterr().err


def _run(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    _cli_run.add_arguments(parser)
    return _cli_run.run(parser.parse_args(list(argv)))


def test_execproto_run_calls_a_third_party_mcp_server_in_a_plan(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    code = _run(
        "examples/mcp_plan.json",
        "--json",
        "--quiet",
        "--mcp",
        f"notes={sys.executable} examples/mcp_server.py",
    )
    steps = json.loads(capsys.readouterr().out)
    assert 1 == code
    assert ["completed"] * 5 + ["failed"] == [step["status"] for step in steps]
    assert "Protocols; Retries" == steps[4]["result"]
    assert (7, "E003") == (steps[2]["result"], steps[5]["error_code"])
    assert "append-only" in steps[5]["error_message"]


def test_a_crashing_mcp_server_cancels_the_step_with_e004(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = tmp_path / "crashing.py"
    server.write_text(
        textwrap.dedent(
            """
            import os
            from mcp.server.mcpserver import MCPServer

            server = MCPServer("crashing")

            @server.tool()
            def crash() -> str:
                \"\"\"Exit the process mid-call.\"\"\"
                os._exit(1)

            server.run("stdio")
            """
        )
    )
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps([{"operation": "bad.crash", "params": {}}]))
    code = _run(str(plan), "--json", "--quiet", "--mcp", f"bad={sys.executable} {server}")
    [step] = json.loads(capsys.readouterr().out)
    assert (1, "cancelled", "E004") == (code, step["status"], step["error_code"])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["examples/mcp_plan.json"], "no tools: pass --tools MODULE, --mcp NAME=COMMAND"),
        (["examples/mcp_plan.json", "--mcp", "no-equals-sign"], "--mcp: expected NAME=COMMAND"),
        (
            ["examples/mcp_plan.json", "--tools", "examples.tools", "--mcp", "web=python x.py"],
            "already registers 'web'",
        ),
        (
            ["examples/mcp_plan.json", "--mcp", "gone=/no/such/command"],
            "cannot connect to the MCP server 'gone'",
        ),
    ],
)
def test_execproto_run_reports_bad_mcp_input_with_exit_code_2(
    argv: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(ROOT)
    assert 2 == _run(*argv)
    assert message in capsys.readouterr().err
