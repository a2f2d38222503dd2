"""The peers (issue 19): the same no-op tool through every agent framework, next to execproto.

Three rows, each timing execproto and the frameworks' own ways of calling a tool in
interleaved rounds of one process:

* ``peers-call``: one call of ``async def add(a: int, b: int) -> int``; the anchor is
  execproto's ``OperationExecutor.execute_operation``, so every ratio reads "times execproto's
  dispatch", and a direct ``await add(...)`` is shown as the limit.
* ``peers-call-sync``: the same with the sync twin ``def add_sync``, which every framework (and
  execproto) runs off the event loop in a worker thread.
* ``peers-parallel``: 1 000 calls through each framework's own parallel path (an agent run on a
  scripted model that asks for all of them at once, ``.abatch``, a ``ToolNode`` given 1 000 tool
  calls, 1 000 concurrent calls on one MCP session) against execproto's batch and parallel modes;
  the anchor is a raw ``asyncio.gather`` of the 1 000 coroutines.

The frameworks are installed by ``requirements-bench.txt`` (``make bench`` installs it into the
venv); a missing one is listed as not available with the reason, like any other subject.
Every subject, peer or execproto, is run once and its answer checked before it is timed. No
network and no language model: the agents run on scripted models (Pydantic AI's
``FunctionModel``, an Agents SDK ``Model`` written here) and the MCP servers run in process,
each behind its own ``mcp.Client`` of the same kind.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import gc
import importlib
import importlib.metadata
import inspect
import json
import time
from collections.abc import Awaitable, Callable, Generator, Sequence
from contextlib import AbstractAsyncContextManager, ExitStack, contextmanager
from typing import Any, TypeVar

from benchmarks._anchors import raw_gather
from benchmarks._harness import (
    RoundFn,
    RowResult,
    Subject,
    SubjectKind,
    Timing,
    async_call_timer,
    async_workload_timer,
    call_timer,
    measure,
)
from benchmarks._profiles import Profile
from benchmarks._rows import OptionalSubjects, event_loop, execproto_attr

__all__ = [
    "FRAMEWORKS",
    "PeerTool",
    "add",
    "add_sync",
    "held_open",
    "row_peers_call",
    "row_peers_call_sync",
    "row_peers_parallel",
]

T = TypeVar("T")

#: The distributions the peer rows drive, as pinned in ``requirements-bench.txt``.
FRAMEWORKS = (
    "langchain-core",
    "langgraph",
    "langgraph-prebuilt",
    "openai-agents",
    "pydantic-ai-slim",
    "mcp",
)

_REQUIREMENTS = "requirements-bench.txt"
_ARGUMENTS: dict[str, Any] = {"a": 1, "b": 2}
_ARGUMENTS_JSON = json.dumps(_ARGUMENTS)
_ANSWER = 3


async def add(a: int, b: int) -> int:
    """Return a + b."""
    return a + b


def add_sync(a: int, b: int) -> int:
    """Return a + b."""
    return a + b


class PeerTool:
    """The same two functions as an execproto tool, whose operations are a tool's methods.

    ``staticmethod`` of the very functions the frameworks are given, so that every subject
    runs the same code object and only the dispatch around it differs.
    """

    add = staticmethod(add)
    add_sync = staticmethod(add_sync)


def _framework(module: str) -> Any:
    """Import a framework module; say how to install the peers when it is missing.

    Raises:
        ImportError: the module is not installed.
    """
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ImportError(
            f"{err}; install the peers with pip install -r {_REQUIREMENTS} (make bench does)"
        ) from err


def _versions() -> str:
    found: list[str] = []
    for name in FRAMEWORKS:
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            found.append(f"{name} not installed")
    return ", ".join(found)


@contextmanager
def held_open(
    loop: asyncio.AbstractEventLoop, manager: AbstractAsyncContextManager[T]
) -> Generator[T, None, None]:
    """Enter *manager* in a task of its own on *loop*, and exit it there when the block ends.

    An MCP client holds an anyio task group, which must be exited by the task that entered
    it; the harness runs every round as a new task, so one task keeps the client open for
    all of them.

    Raises:
        Exception: whatever entering or exiting *manager* raised.
    """
    entered: asyncio.Future[T] = loop.create_future()
    release = asyncio.Event()

    async def hold() -> None:
        try:
            async with manager as value:
                entered.set_result(value)
                await release.wait()
        except Exception as err:
            if entered.done():
                raise
            entered.set_exception(err)
        finally:
            if not entered.done():
                entered.cancel()

    holder = loop.create_task(hold())
    try:
        value = loop.run_until_complete(entered)
    except BaseException:
        loop.run_until_complete(holder)
        raise
    try:
        yield value
    finally:
        release.set()
        loop.run_until_complete(holder)


@contextmanager
def _execproto(limit: int) -> Generator[tuple[Any, Any, Any], None, None]:
    """Yield execproto's ``(registry, tool_executor, operation_executor)`` with ``calc``.

    Raises:
        ImportError: one of the modules has not landed yet.
    """
    registry = execproto_attr("runtime.registry", "ToolRegistry")({"calc": PeerTool()})
    executor = execproto_attr("runtime.executor", "ToolExecutor")()
    operations = execproto_attr("runtime.operations", "OperationExecutor")(
        registry, executor, max_concurrency=limit
    )
    try:
        yield registry, executor, operations
    finally:
        executor.close()


class _Peers:
    """The subjects of one row under construction: checked, then collected for ``measure``.

    *stack* holds what the subjects keep open (MCP clients) until the row is measured.
    """

    def __init__(self, row: RowResult, loop: asyncio.AbstractEventLoop, stack: ExitStack) -> None:
        self.row = row
        self.loop = loop
        self.stack = stack
        self.optional = OptionalSubjects(row)

    def call(
        self,
        name: str,
        kind: SubjectKind,
        make: Callable[[], tuple[Callable[..., Awaitable[Any]], Sequence[Any]]],
        read: Callable[[Any], int] = int,
        keywords: dict[str, Any] | None = None,
    ) -> None:
        """Add a subject that awaits ``fn(*args, **keywords)`` once per loop; *make* gives
        ``(fn, args)``.

        The arguments are passed straight to the harness's loop (no wrapper of ours around a
        framework's method), and the answer ``read`` from its result must be 3.
        """
        extra = keywords or {}
        made: list[tuple[Callable[..., Awaitable[Any]], Sequence[Any]]] = []

        def build() -> Subject:
            made.append(make())
            fn, args = made[-1]
            return Subject(name, kind, async_call_timer(self.loop, fn, *args, **extra))

        def check() -> bool:
            fn, args = made[-1]
            return _ANSWER == read(self.loop.run_until_complete(fn(*args, **extra)))

        self.optional.add(name, build, check)

    def workload(
        self,
        name: str,
        kind: SubjectKind,
        make: Callable[[], Callable[[], Awaitable[Any]]],
        read: Callable[[Any], list[int]],
        count: int,
    ) -> None:
        """Add a subject that runs the *count* calls of ``make()()`` once per round.

        Checked on the second run (the first is the harness's trial run), so that a scripted
        model or a reused message is proved to give the right answers again: ``read`` must
        give ``a + 1`` for each ``a`` in ``range(count)``, in any order.
        """
        expected = [a + 1 for a in range(count)]
        made: list[Callable[[], Awaitable[Any]]] = []

        def build() -> Subject:
            made.append(make())
            return Subject(
                name, kind, async_workload_timer(self.loop, made[-1]), workload=True, ops=count
            )

        def check() -> bool:
            return expected == sorted(read(self.loop.run_until_complete(made[-1]())))

        self.optional.add(name, build, check)

    def mcp_client(self, server: Any, *, legacy: bool) -> Any:
        """Return an entered ``mcp.Client`` of *server*, kept open until the row ends.

        ``legacy=False`` is the client's default for an in-process server (the current
        protocol, requests dispatched directly, no JSON-RPC framing); ``legacy=True`` runs
        the 2025-11-25 handshake over memory streams, every message JSON-RPC encoded, as
        a stdio or HTTP connection would be.
        """
        client_cls = _framework("mcp").Client
        client = client_cls(server, mode="legacy") if legacy else client_cls(server)
        return self.stack.enter_context(held_open(self.loop, client))

    def measure(self, timing: Timing) -> None:
        """Time every subject that passed its check; nothing if the anchor did not.

        Each round is timed with a collection of its own garbage (see :func:`_collecting`);
        the heap is unfrozen again when the row is done.
        """
        subjects = [
            dataclasses.replace(subject, run=_collecting(subject.run))
            for subject in self.optional.subjects
        ]
        if not subjects or subjects[0].kind != "anchor":
            return
        gc.collect()
        try:
            self.row.measurements = measure(subjects, timing)
        finally:
            gc.unfreeze()


def _collecting(run: RoundFn) -> RoundFn:
    """*run* on a frozen heap, then a timed ``gc.collect()``: a round pays for its garbage.

    Without the collection, the cost of the reference cycles a subject leaves lands on
    whichever subject triggers the next collection. It did: execproto's ``mcp_server`` leaves
    about 60 objects in cycles per call (the cancelled progress task's exception, traceback
    and frames) and the SDK's server up to 16, without advancing the collector's allocation
    count, and the raw ``gather`` anchor, which runs right after the last MCP subject in the
    rotation, paid for all of them (10-20 times its own cost). The heap is frozen
    (``gc.freeze``, untimed) before each round, so that the collection scans only what this
    round allocated: not the frameworks' hundreds of thousands of long-lived objects (a full
    collection of them took 0.1-0.7 s on the loaded machine), nor what earlier rounds left
    alive.
    """

    def run_and_collect(loops: int) -> int:
        gc.freeze()
        elapsed = run(loops)
        start = time.perf_counter_ns()
        gc.collect()
        return elapsed + time.perf_counter_ns() - start

    return run_and_collect


def _mcp_answer(result: Any) -> int:
    if result.is_error:
        raise AssertionError(f"the MCP call failed: {result.content!r}")
    return int(result.content[0].text)


_TRANSPORTS = (
    (False, "direct in-process dispatch (Client default)"),
    (True, "memory streams, JSON-RPC (mode='legacy')"),
)


def _sdk_server(function: Callable[..., Any]) -> Any:
    server = _framework("mcp.server.mcpserver").MCPServer("peers")
    server.add_tool(function)
    return server


def _execproto_server(registry: Any, **options: Any) -> Any:
    return execproto_attr("integrations.mcp_server", "mcp_server")(registry, **options)


def _single_call_row(profile: Profile, *, sync: bool) -> RowResult:
    function: Callable[..., Any] = add_sync if sync else add
    name = function.__name__
    spec = f"calc.{name}"
    row = RowResult(
        name="peers-call-sync" if sync else "peers-call",
        section="peers",
        title=f"one call of a {'sync' if sync else 'async'} no-op tool, per framework",
        anchor=f"execproto execute_operation({spec!r}, ...)",
        target=None,
        note=(
            f"tool: {'def' if sync else 'async def'} {name}(a: int, b: int) -> int, "
            f"called with {_ARGUMENTS!r}"
            + ("; every path runs it in a worker thread" if sync else "")
            + f"; versions: {_versions()}"
        ),
    )
    with ExitStack() as stack:
        loop = stack.enter_context(event_loop())
        peers = _Peers(row, loop, stack)
        try:
            registry, executor, operations = stack.enter_context(_execproto(profile.limit))
        except Exception as err:
            row.unavailable["execproto registry/executor/operations"] = (
                f"{type(err).__name__}: {err}"
            )
            return row
        tool = registry.get_tool("calc")
        peers.call(
            "execproto OperationExecutor.execute_operation",
            "anchor",
            lambda: (operations.execute_operation, (spec, _ARGUMENTS)),
        )
        if sync:
            peers.optional.add(
                f"direct {name}(1, 2)",
                lambda: Subject(f"direct {name}(1, 2)", "reference", call_timer(add_sync, 1, 2)),
                lambda: _ANSWER == add_sync(1, 2),
            )
            peers.call(
                f"await asyncio.to_thread({name}, 1, 2)",
                "reference",
                lambda: (asyncio.to_thread, (add_sync, 1, 2)),
            )
        else:
            peers.call("direct await add(1, 2)", "reference", lambda: (add, (1, 2)))
        peers.call(
            "execproto ToolExecutor.execute_async",
            "subject",
            lambda: (executor.execute_async, (tool, name)),
            keywords=_ARGUMENTS,
        )
        _pydantic_ai_calls(peers, function)
        _openai_agents_calls(peers, function)
        for legacy, transport in _TRANSPORTS:
            peers.call(
                f"MCP SDK MCPServer via mcp.Client, {transport}",
                "reference",
                lambda legacy=legacy: (
                    peers.mcp_client(_sdk_server(function), legacy=legacy).call_tool,
                    (name, _ARGUMENTS),
                ),
                _mcp_answer,
            )
            peers.call(
                f"execproto mcp_server via mcp.Client, {transport}",
                "subject",
                lambda legacy=legacy: (
                    peers.mcp_client(_execproto_server(registry), legacy=legacy).call_tool,
                    (spec, _ARGUMENTS),
                ),
                _mcp_answer,
            )
        _langchain_calls(peers, function)
        peers.measure(profile.micro)
    return row


class _PydanticAI:
    """What an agent run gives Pydantic AI's tool paths at each step, built outside a run.

    A ``FunctionToolset`` of the function, a ``RunContext`` (its ``TestModel`` is never
    asked anything), the toolset's tool for that context, and a ``ToolManager`` prepared
    for the step with ``for_run_step``, as the agent graph prepares one.

    Raises:
        ImportError: Pydantic AI is not installed.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, function: Callable[..., Any]) -> None:
        pydantic_ai = _framework("pydantic_ai")
        manager_cls = _framework("pydantic_ai.tool_manager").ToolManager
        self.name = function.__name__
        self.toolset = pydantic_ai.FunctionToolset([function])
        self.context = pydantic_ai.RunContext(
            deps=None,
            model=_framework("pydantic_ai.models.test").TestModel(),
            usage=_framework("pydantic_ai.usage").RunUsage(),
        )
        self.tool = loop.run_until_complete(self.toolset.get_tools(self.context))[self.name]
        self.manager = loop.run_until_complete(
            manager_cls(toolset=self.toolset).for_run_step(self.context)
        )
        # As a model's response carries it: the arguments as a mapping, not yet validated.
        self.part = pydantic_ai.ToolCallPart(
            tool_name=self.name, args=dict(_ARGUMENTS), tool_call_id="call-1"
        )


def _pydantic_ai_calls(peers: _Peers, function: Callable[..., Any]) -> None:
    """``FunctionToolset.call_tool`` (arguments taken as valid) and ``ToolManager.handle_call``."""
    framework = functools.cache(lambda: _PydanticAI(peers.loop, function))
    peers.call(
        "Pydantic AI FunctionToolset.call_tool (no validation)",
        "reference",
        lambda: (
            framework().toolset.call_tool,
            (framework().name, _ARGUMENTS, framework().context, framework().tool),
        ),
    )
    peers.call(
        "Pydantic AI ToolManager.handle_call (validates)",
        "reference",
        lambda: (framework().manager.handle_call, (framework().part,)),
    )


class _OpenAIAgents:
    """The Agents SDK's ``FunctionTool`` of the function, and the ``ToolContext`` of a call.

    Raises:
        ImportError: the Agents SDK is not installed.
    """

    def __init__(self, function: Callable[..., Any]) -> None:
        self._context_cls = _framework("agents.tool_context").ToolContext
        self.tool = _framework("agents").function_tool(function)
        self.context = self.new_context()

    def new_context(self) -> Any:
        """Return the context the runner makes for one call of the tool."""
        return self._context_cls(
            context=None,
            tool_name=self.tool.name,
            tool_call_id="call-1",
            tool_arguments=_ARGUMENTS_JSON,
        )

    async def call_in_new_context(self) -> Any:
        """Invoke the tool in a context of its own, as the runner does for every call."""
        return await self.tool.on_invoke_tool(self.new_context(), _ARGUMENTS_JSON)


def _openai_agents_calls(peers: _Peers, function: Callable[..., Any]) -> None:
    """``FunctionTool.on_invoke_tool``, with one ``ToolContext`` reused and one per call."""
    framework = functools.cache(lambda: _OpenAIAgents(function))
    peers.call(
        "OpenAI Agents FunctionTool.on_invoke_tool, reused ToolContext",
        "reference",
        lambda: (framework().tool.on_invoke_tool, (framework().context, _ARGUMENTS_JSON)),
    )
    peers.call(
        "OpenAI Agents on_invoke_tool, new ToolContext per call",
        "reference",
        lambda: (framework().call_in_new_context, ()),
    )


def _langgraph_config() -> dict[str, Any]:
    """The config a LangGraph graph gives its nodes, holding the run's ``Runtime``.

    ``ToolNode`` reads its ``Runtime`` from there (under a key of LangGraph's own); LangGraph's
    ToolNode tests pass it the same way to run the node outside a graph.
    """
    runtime = _framework("langgraph.runtime").Runtime()
    key = _framework("langgraph._internal._constants").CONFIG_KEY_RUNTIME
    return {"configurable": {key: runtime}}


def _tool_calls(name: str, arguments: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"name": name, "args": args, "id": f"call-{i}", "type": "tool_call"}
        for i, args in enumerate(arguments)
    ]


def _tool_node_answers(output: dict[str, Any]) -> list[int]:
    return [int(message.content) for message in output["messages"]]


def _langchain_calls(peers: _Peers, function: Callable[..., Any]) -> None:
    """LangChain ``@tool`` ``.ainvoke``, and LangGraph ``ToolNode.ainvoke`` with one call."""

    def langchain_tool() -> Any:
        return _framework("langchain_core.tools").tool(function)

    def tool_node() -> tuple[Callable[..., Awaitable[Any]], Sequence[Any]]:
        node = _framework("langgraph.prebuilt").ToolNode([langchain_tool()])
        message = _framework("langchain_core.messages").AIMessage(
            content="", tool_calls=_tool_calls(function.__name__, [_ARGUMENTS])
        )
        return node.ainvoke, ({"messages": [message]}, _langgraph_config())

    peers.call(
        "LangChain @tool .ainvoke",
        "reference",
        lambda: (langchain_tool().ainvoke, (_ARGUMENTS,)),
    )
    peers.call(
        "LangGraph ToolNode.ainvoke, one tool call",
        "reference",
        tool_node,
        lambda output: _tool_node_answers(output)[0],
    )


def row_peers_call(profile: Profile) -> list[RowResult]:
    """One call of an async no-op tool through every framework, against ``execute_operation``."""
    return [_single_call_row(profile, sync=False)]


def row_peers_call_sync(profile: Profile) -> list[RowResult]:
    """One call of a sync no-op tool through every framework, against ``execute_operation``."""
    return [_single_call_row(profile, sync=True)]


def row_peers_parallel(profile: Profile) -> list[RowResult]:
    """*count* calls through each framework's own parallel path, against a raw ``gather``."""
    count = profile.peer_calls
    limit = profile.limit
    row = RowResult(
        name="peers-parallel",
        section="peers",
        title=f"{count:,} calls of an async no-op tool at once, per framework",
        anchor="raw asyncio.gather of the coroutines",
        target=None,
        note=(
            f"tool: async def add(a: int, b: int) -> int, called with a = 0..{count - 1}, b = 1; "
            f"execproto's OperationExecutor at max_concurrency={limit}; versions: {_versions()}"
        ),
    )
    arguments = [{"a": a, "b": 1} for a in range(count)]
    with ExitStack() as stack:
        loop = stack.enter_context(event_loop())
        peers = _Peers(row, loop, stack)
        peers.workload(
            "raw asyncio.gather",
            "anchor",
            lambda: lambda: raw_gather(lambda a: add(a, 1), count),
            list,
            count,
        )
        registry: Any = None
        try:
            registry, _, operations = stack.enter_context(_execproto(limit))
        except Exception as err:
            row.unavailable["execproto registry/executor/operations"] = (
                f"{type(err).__name__}: {err}"
            )
        else:
            ops = [{"operation": "calc.add", "params": args} for args in arguments]
            peers.workload(
                "execproto batch_execute_operations",
                "subject",
                lambda: lambda: operations.batch_execute_operations(ops),
                list,
                count,
            )
            peers.workload(
                "execproto execute_parallel_operations",
                "subject",
                lambda: lambda: operations.execute_parallel_operations(ops),
                lambda steps: [step.result for step in steps],
                count,
            )
        _pydantic_ai_agent(peers, count)
        _openai_agents_runner(peers, count)
        peers.workload(
            "LangChain @tool .abatch",
            "reference",
            lambda: _abatch(_framework("langchain_core.tools").tool(add), arguments),
            list,
            count,
        )
        peers.workload(
            f"LangGraph ToolNode.ainvoke, {count:,} tool calls",
            "reference",
            lambda: _tool_node_batch(arguments),
            _tool_node_answers,
            count,
        )
        _mcp_bursts(peers, registry, arguments)
        peers.measure(profile.workload_for(count))
    return [row]


def _abatch(tool: Any, arguments: list[dict[str, Any]]) -> Callable[[], Awaitable[Any]]:
    def run() -> Awaitable[Any]:
        return tool.abatch(arguments)

    return run


def _tool_node_batch(arguments: list[dict[str, Any]]) -> Callable[[], Awaitable[Any]]:
    langchain_tool = _framework("langchain_core.tools").tool(add)
    node = _framework("langgraph.prebuilt").ToolNode([langchain_tool])
    message = _framework("langchain_core.messages").AIMessage(
        content="", tool_calls=_tool_calls("add", arguments)
    )
    state = {"messages": [message]}
    config = _langgraph_config()

    def run() -> Awaitable[Any]:
        return node.ainvoke(state, config)

    return run


def _pydantic_ai_agent(peers: _Peers, count: int) -> None:
    """An agent whose ``FunctionModel`` asks for every call at once, then answers "done"."""

    def make() -> Callable[[], Awaitable[Any]]:
        pydantic_ai = _framework("pydantic_ai")
        function_model = _framework("pydantic_ai.models.function").FunctionModel
        calls = [
            pydantic_ai.ToolCallPart(tool_name="add", args={"a": a, "b": 1}, tool_call_id=f"c{a}")
            for a in range(count)
        ]

        def respond(messages: list[Any], info: Any) -> Any:
            del info
            if any(isinstance(part, pydantic_ai.ToolReturnPart) for part in messages[-1].parts):
                return pydantic_ai.ModelResponse(parts=[pydantic_ai.TextPart("done")])
            return pydantic_ai.ModelResponse(parts=list(calls))

        agent = pydantic_ai.Agent(function_model(respond), tools=[add])

        def run() -> Awaitable[Any]:
            return agent.run("add them all")

        return run

    def answers(result: Any) -> list[int]:
        return_part = _framework("pydantic_ai").ToolReturnPart
        return [
            part.content
            for message in result.all_messages()
            for part in message.parts
            if isinstance(part, return_part)
        ]

    peers.workload(
        "Pydantic AI Agent.run, FunctionModel asking for every call",
        "reference",
        make,
        answers,
        count,
    )


def _item_type(item: Any) -> Any:
    return item.get("type") if isinstance(item, dict) else getattr(item, "type", None)


def _openai_agents_runner(peers: _Peers, count: int) -> None:
    """``Runner.run`` of an agent whose scripted model asks for every call, then answers."""

    def make() -> Callable[[], Awaitable[Any]]:
        agents = _framework("agents")
        interface = _framework("agents.models.interface")
        testing = _framework("agents.testing")
        calls = [
            testing.function_call("add", {"a": a, "b": 1}, call_id=f"c{a}") for a in range(count)
        ]
        final = [testing.assistant_message("done")]

        class Scripted(interface.Model):
            """Asks for every call in its first response; answers once their outputs come back.

            Not the SDK's ``ScriptedModel``: that one consumes its steps (a new model per run)
            and copies them; this one costs nothing, so the row times the runner alone.
            """

            async def get_response(
                self, system_instructions: Any, input: Any, *args: Any, **kwargs: Any
            ) -> Any:
                answered = isinstance(input, list) and _item_type(input[-1]) == (
                    "function_call_output"
                )
                return agents.ModelResponse(
                    output=final if answered else calls, usage=agents.Usage(), response_id=None
                )

            def stream_response(self, *args: Any, **kwargs: Any) -> Any:
                raise NotImplementedError("the benchmark runs the agent without streaming")

        agent = agents.Agent(name="peers", model=Scripted(), tools=[agents.function_tool(add)])
        # No traces: they would be exported to OpenAI's servers.
        config = agents.RunConfig(tracing_disabled=True)

        def run() -> Awaitable[Any]:
            return agents.Runner.run(agent, "add them all", run_config=config)

        return run

    def answers(result: Any) -> list[int]:
        output_item = _framework("agents").ToolCallOutputItem
        return [item.output for item in result.new_items if isinstance(item, output_item)]

    peers.workload(
        "OpenAI Agents Runner.run, scripted model asking for every call",
        "reference",
        make,
        answers,
        count,
    )


def _mcp_bursts(peers: _Peers, registry: Any, arguments: list[dict[str, Any]]) -> None:
    """Every call at once on one session: the SDK's server, and execproto's at two limits.

    *registry* is ``None`` when execproto's could not be built (the row says why): only the
    SDK's server is measured then.
    """
    count = len(arguments)

    def burst(client: Any, name: str) -> Callable[[], Awaitable[Any]]:
        # A coroutine function, so that the gather is made on the running loop.
        async def run() -> list[Any]:
            return await asyncio.gather(*(client.call_tool(name, args) for args in arguments))

        return run

    def answers(results: list[Any]) -> list[int]:
        return [_mcp_answer(result) for result in results]

    limits: list[tuple[str, dict[str, Any]]] = []
    server: Any = None
    if registry is not None:
        try:
            server = execproto_attr("integrations.mcp_server", "mcp_server")
        except ImportError as err:
            peers.row.unavailable["execproto mcp_server"] = f"{type(err).__name__}: {err}"
            server = None
    if server is not None:
        default = inspect.signature(server).parameters["max_concurrency"].default
        limits = [
            (f"default max_concurrency={default}", {}),
            # The SDK's server runs every call it receives at once: so does this setting.
            (
                f"max_concurrency={count} (no call waits, as on the SDK's)",
                {"max_concurrency": count},
            ),
        ]
    for legacy, transport in _TRANSPORTS:
        peers.workload(
            f"MCP SDK MCPServer, one session, {transport}",
            "reference",
            lambda legacy=legacy: burst(peers.mcp_client(_sdk_server(add), legacy=legacy), "add"),
            answers,
            count,
        )
        for label, options in limits:
            peers.workload(
                f"execproto mcp_server, {label}, {transport}",
                "subject",
                lambda legacy=legacy, options=options: burst(
                    peers.mcp_client(_execproto_server(registry, **options), legacy=legacy),
                    "calc.add",
                ),
                answers,
                count,
            )
