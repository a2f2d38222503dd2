"""ExecutionEngine: operations through engines (local, registered, entry points) and tasks."""

from __future__ import annotations

import asyncio
import importlib.metadata
import threading
from typing import Any

import pytest

from execproto.capabilities import TaskRunner
from execproto.context import current_context
from execproto.engines.local import create_engine
from execproto.errors import (
    ConformanceError,
    EngineNotFoundError,
    InvalidOperationError,
    TaskNotFoundError,
)
from execproto.models import TaskStatus
from execproto.protocols import ExecutionInterface, IToolExecutor, IToolProvider
from execproto.runtime import engine as engine_module
from execproto.runtime.engine import ExecutionEngine, available_engines, load_engine
from execproto.runtime.executor import ToolExecutor
from execproto.runtime.monitoring import Monitor
from execproto.runtime.registry import ToolRegistry
from execproto.testing import Calculator


class Rendezvous:
    """Five sync calls meet at a barrier: they pass only if all five run at the same time."""

    def __init__(self, parties: int) -> None:
        self.barrier = threading.Barrier(parties)

    def meet(self) -> int:
        # The timeout only turns a deadlock (sync calls serialised) into a failure.
        return self.barrier.wait(timeout=30)


@pytest.fixture
def registry() -> ToolRegistry:
    registry = ToolRegistry()
    registry.register("calc", Calculator())
    return registry


@pytest.fixture
def tool_executor() -> Any:
    with ToolExecutor(max_workers=8) as executor:
        yield executor


class RecordingExecutor:
    """An engine executor that records what it ran and whether it was closed."""

    def __init__(self, inner: IToolExecutor, tag: str = "") -> None:
        self.inner = inner
        self.tag = tag
        self.ran: list[str] = []
        self.closed = False

    def execute(self, tool: Any, operation_name: str, /, **params: Any) -> Any:
        self.ran.append(operation_name)
        return self.inner.execute(tool, operation_name, **params)

    async def execute_async(self, tool: Any, operation_name: str, /, **params: Any) -> Any:
        self.ran.append(operation_name)
        return await self.inner.execute_async(tool, operation_name, **params)

    async def aclose(self) -> None:
        self.closed = True


class TaskRunningExecutor(RecordingExecutor):
    """An engine executor with ``run_task``: records each task it is sent, then runs it."""

    def __init__(self, inner: IToolExecutor, tag: str = "") -> None:
        super().__init__(inner, tag)
        self.tasks: list[tuple[Any, dict[str, Any], dict[str, Any], tuple[str, str]]] = []

    async def run_task(self, fn: Any, input_data: dict[str, Any], context: dict[str, Any]) -> Any:
        now = current_context()
        self.tasks.append((fn, input_data, context, (now.user_id, now.task_id)))
        outcome = fn(input_data, context)
        return (await outcome if asyncio.iscoroutine(outcome) else outcome), "on the engine"


built: list[RecordingExecutor] = []


def recording_engine(
    tool_provider: IToolProvider, tool_executor: IToolExecutor, /, **options: Any
) -> IToolExecutor:
    """An engine factory, loaded through a (fake) entry point by the tests below."""
    executor = RecordingExecutor(tool_executor, **options)
    built.append(executor)
    return executor


def task_running_engine(
    tool_provider: IToolProvider, tool_executor: IToolExecutor, /, **options: Any
) -> IToolExecutor:
    """An engine factory whose executor also runs tasks (a :class:`TaskRunner`)."""
    executor = TaskRunningExecutor(tool_executor, **options)
    built.append(executor)
    return executor


@pytest.fixture
def fake_entry_points(monkeypatch: pytest.MonkeyPatch) -> None:
    group = engine_module.ENTRY_POINT_GROUP
    points = {
        "tasks": importlib.metadata.EntryPoint("tasks", f"{__name__}:task_running_engine", group),
        "recording": importlib.metadata.EntryPoint(
            "recording", f"{__name__}:recording_engine", group
        ),
        "broken": importlib.metadata.EntryPoint("broken", "no_such_module_xyz:engine", group),
        "not_callable": importlib.metadata.EntryPoint("not_callable", f"{__name__}:built", group),
    }
    monkeypatch.setattr(engine_module, "_entry_points", lambda: points)
    built.clear()


def test_conforms_to_execution_interface(registry: ToolRegistry, tool_executor: Any) -> None:
    assert isinstance(ExecutionEngine(registry, tool_executor), ExecutionInterface)


async def test_runs_sync_and_async_operations_on_the_local_engine(
    registry: ToolRegistry, tool_executor: Any
) -> None:
    engine = ExecutionEngine(registry, tool_executor)
    assert "local" == engine.engine
    assert 5 == await engine.execute_operation("calc.add", {"a": 2, "b": 3})
    assert [8, 10] == await engine.batch_execute_operations(
        [
            {"operation": "calc.multiply", "params": {"a": 4, "b": 2}},
            {"operation": "calc.add", "params": {"a": 4, "b": 6}},
        ]
    )


async def test_sync_operations_in_parallel_run_at_the_same_time(tool_executor: Any) -> None:
    registry = ToolRegistry()
    registry.register("meeting", Rendezvous(5))
    engine = ExecutionEngine(registry, tool_executor, max_concurrency=5)
    steps = await engine.execute_parallel_operations([{"operation": "meeting.meet"}] * 5)
    assert [TaskStatus.COMPLETED] * 5 == [step.status for step in steps]
    assert list(range(5)) == sorted(step.result for step in steps)


async def test_private_and_attribute_lookups_are_refused_as_e001(
    registry: ToolRegistry, tool_executor: Any
) -> None:
    engine = ExecutionEngine(registry, tool_executor)
    steps = await engine.execute_parallel_operations(
        [{"operation": "calc.__init__"}, {"operation": "calc.__class__"}]
    )
    assert [TaskStatus.FAILED] * 2 == [step.status for step in steps]
    assert ["E001", "E001"] == [str(step.error_code) for step in steps]


class Account:
    def __init__(self) -> None:
        self.balance = 100
        self.reads = 0

    @property
    def secret(self) -> str:
        self.reads += 1
        return "s3cret"

    def deposit(self, amount: int) -> int:
        self.balance += amount
        return self.balance


async def test_only_operations_are_callable_by_name_never_attributes(tool_executor: Any) -> None:
    account = Account()
    registry = ToolRegistry()
    registry.register("account", account)
    engine = ExecutionEngine(registry, tool_executor)
    steps = await engine.execute_parallel_operations(
        [{"operation": "account.secret"}, {"operation": "account.balance"}]
    )
    assert ["E001", "E001"] == [str(step.error_code) for step in steps]
    assert 0 == account.reads
    assert 105 == await engine.execute_operation("account.deposit", {"amount": 5})


def test_local_engine_is_the_tool_executor_itself(
    registry: ToolRegistry, tool_executor: Any
) -> None:
    assert tool_executor is create_engine(registry, tool_executor)
    with pytest.raises(TypeError, match="no options"):
        create_engine(registry, tool_executor, workers=3)
    assert create_engine is load_engine("local")
    assert "local" in available_engines()


def test_an_unknown_engine_is_refused_with_the_installed_names(
    registry: ToolRegistry, tool_executor: Any
) -> None:
    with pytest.raises(EngineNotFoundError, match=r"'warp'.*'local'") as caught:
        ExecutionEngine(registry, tool_executor, engine="warp")
    assert isinstance(caught.value, LookupError)


async def test_engines_load_from_entry_points_with_their_options(
    registry: ToolRegistry, tool_executor: Any, fake_entry_points: None
) -> None:
    async with ExecutionEngine(
        registry, tool_executor, engine="recording", engine_options={"tag": "x"}
    ) as engine:
        assert 3 == await engine.execute_operation("calc.add", {"a": 1, "b": 2})
        assert "recording" in engine.engine_names()
    [executor] = built
    assert (["add"], "x", True) == (executor.ran, executor.tag, executor.closed)


def test_a_broken_or_non_callable_entry_point_is_reported(fake_entry_points: None) -> None:
    with pytest.raises(EngineNotFoundError, match="cannot be imported") as caught:
        load_engine("broken")
    assert isinstance(caught.value.__cause__, ImportError)
    with pytest.raises(EngineNotFoundError, match="not a factory"):
        load_engine("not_callable")


async def test_registered_executors_are_used_by_name_and_not_closed(
    registry: ToolRegistry, tool_executor: Any
) -> None:
    custom = RecordingExecutor(tool_executor)
    engine = ExecutionEngine(registry, tool_executor)
    engine.register_executor("custom", custom)
    assert 14 == await engine.operations("custom").execute_operation(
        "calc.multiply", {"a": 7, "b": 2}
    )
    assert 2 == await engine.execute_operation("calc.multiply", {"a": 1, "b": 2})
    await engine.aclose()
    assert (["multiply"], False) == (custom.ran, custom.closed)


def test_register_executor_refuses_non_conforming_and_duplicate_executors(
    registry: ToolRegistry, tool_executor: Any
) -> None:
    engine = ExecutionEngine(registry, tool_executor)
    with pytest.raises(ConformanceError, match="IToolExecutor"):
        engine.register_executor("bad", object())
    with pytest.raises(ValueError, match="already in use"):
        engine.register_executor("local", RecordingExecutor(tool_executor))
    engine.register_executor("local", RecordingExecutor(tool_executor), replace=True)


async def test_closing_never_closes_the_callers_tool_executor(registry: ToolRegistry) -> None:
    with ToolExecutor() as tool_executor:
        async with ExecutionEngine(registry, tool_executor) as engine:
            await engine.execute_operation("calc.add", {"a": 1, "b": 1})
        assert not tool_executor.closed


# --- tasks ------------------------------------------------------------------------------------


async def test_sync_and_async_tasks_run_with_their_context(
    registry: ToolRegistry, tool_executor: Any
) -> None:
    loop_thread = threading.get_ident()
    engine = ExecutionEngine(registry, tool_executor)

    def sync_task(data: dict[str, Any], context: dict[str, Any]) -> Any:
        now = current_context()
        return data["n"] + 1, now.user_id, now.task_id, threading.get_ident() != loop_thread

    async def async_task(data: dict[str, Any], context: dict[str, Any]) -> Any:
        return data["n"] * 10, current_context().user_id

    engine.register_task("inc", sync_task)
    engine.register_task("times_ten", async_task)
    assert (2, "u", "t", True) == await engine.execute_task(
        "inc", {"n": 1}, {"user_id": "u", "task_id": "t"}
    )
    assert (30, "") == await engine.execute_task("times_ten", {"n": 3}, {})


async def test_an_unknown_task_is_a_lookup_error_naming_the_registered_ones(
    registry: ToolRegistry, tool_executor: Any
) -> None:
    engine = ExecutionEngine(registry, tool_executor)
    engine.register_task("known", lambda data, context: None)
    with pytest.raises(TaskNotFoundError, match=r"'nope'.*\['known'\]") as caught:
        await engine.execute_task("nope", {}, {})
    assert isinstance(caught.value, LookupError)


def test_register_task_refuses_duplicates_and_non_callables(
    registry: ToolRegistry, tool_executor: Any
) -> None:
    engine = ExecutionEngine(registry, tool_executor)
    engine.register_task("t", lambda data, context: 1)
    with pytest.raises(ValueError, match="already registered"):
        engine.register_task("t", lambda data, context: 2)
    engine.register_task("t", lambda data, context: 2, replace=True)
    with pytest.raises(TypeError, match="callable"):
        engine.register_task("u", "not a function")  # type: ignore[arg-type]


async def test_batch_tasks_return_results_and_exceptions_in_input_order(
    registry: ToolRegistry, tool_executor: Any
) -> None:
    engine = ExecutionEngine(registry, tool_executor)
    gate = asyncio.Event()

    async def slow(data: dict[str, Any], context: dict[str, Any]) -> str:
        await gate.wait()
        return "slow"

    async def fast(data: dict[str, Any], context: dict[str, Any]) -> str:
        gate.set()  # so "slow" finishes after "fast" and must still come first
        return "fast"

    def boom(data: dict[str, Any], context: dict[str, Any]) -> None:
        raise RuntimeError("task failed")

    engine.register_task("slow", slow)
    engine.register_task("fast", fast)
    engine.register_task("boom", boom)
    results = await engine.batch_execute_tasks(
        [
            {"task_name": "slow"},
            {"task_name": "fast", "input_data": {}, "context": {}},
            {"task_name": "boom"},
            {"task_name": "ghost"},
            {"input_data": {}},
        ]
    )
    assert ["slow", "fast"] == results[:2]
    assert isinstance(results[2], RuntimeError)
    assert isinstance(results[3], TaskNotFoundError)
    assert isinstance(results[4], InvalidOperationError)


async def test_tasks_go_through_an_engine_that_runs_tasks(
    registry: ToolRegistry, tool_executor: Any, fake_entry_points: None
) -> None:
    data = {"n": 1}
    context = {"user_id": "u", "task_id": "t"}

    def inc(input_data: dict[str, Any], context: dict[str, Any]) -> int:
        input_data["n"] += 100  # the caller's dict must not see this
        return input_data["n"]

    async with ExecutionEngine(registry, tool_executor, engine="tasks") as engine:
        engine.register_task("inc", inc)
        assert (101, "on the engine") == await engine.execute_task("inc", data, context)
        batch = await engine.batch_execute_tasks([{"task_name": "inc"}, {"task_name": "ghost"}])
    [executor] = built
    assert isinstance(executor, TaskRunningExecutor)
    assert {"n": 1} == data
    [(fn, sent_data, sent_context, scope), _] = executor.tasks
    assert (inc, {"n": 101}, context, ("u", "t")) == (fn, sent_data, sent_context, scope)
    assert sent_context is not context
    assert isinstance(batch[1], TaskNotFoundError)
    assert 2 == len(executor.tasks)  # the unknown task was never sent


async def test_tasks_run_here_when_the_engine_has_no_run_task(
    registry: ToolRegistry, tool_executor: Any, fake_entry_points: None
) -> None:
    async with ExecutionEngine(registry, tool_executor, engine="recording") as engine:
        engine.register_task("answer", lambda data, context: 42)
        assert 42 == await engine.execute_task("answer", {}, {})
    [executor] = built
    assert not isinstance(executor, TaskRunner)


async def test_a_registered_executor_with_run_task_takes_over_the_tasks(
    registry: ToolRegistry, tool_executor: Any
) -> None:
    engine = ExecutionEngine(registry, tool_executor)
    engine.register_task("answer", lambda data, context: 42)
    assert 42 == await engine.execute_task("answer", {}, {})
    runner = TaskRunningExecutor(tool_executor)
    engine.register_executor("local", runner, replace=True)
    assert (42, "on the engine") == await engine.execute_task("answer", {}, {})
    assert 1 == len(runner.tasks)


def dask_task(input_data: dict[str, Any], context: dict[str, Any]) -> tuple[int, str, str]:
    """A task for the Dask engine (module level, so that it pickles by reference).

    Returns the address of the worker it ran on: ``get_worker`` raises outside a worker.
    """
    from distributed import get_worker

    return input_data["n"] * 2, current_context().user_id, get_worker().address


async def test_tasks_go_to_dask_workers_through_the_dask_engine(
    registry: ToolRegistry, tool_executor: Any
) -> None:
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        async with ExecutionEngine(
            registry, tool_executor, engine="dask", engine_options={"client": client}
        ) as engine:
            engine.register_task("double", dask_task)
            result = await engine.execute_task("double", {"n": 3}, {"user_id": "alice"})
            assert isinstance(engine.operations().tool_executor, TaskRunner)
        [worker] = client.scheduler_info()["workers"]
    assert (6, "alice", worker) == result


def test_the_documented_dask_entry_point_is_the_registered_one() -> None:
    [registered] = [
        point.value
        for point in importlib.metadata.entry_points(group=engine_module.ENTRY_POINT_GROUP)
        if point.name == "dask"
    ]
    assert f'dask = "{registered}"' in (engine_module.__doc__ or "")


def test_a_monitor_must_be_a_monitor(registry: ToolRegistry, tool_executor: Any) -> None:
    with pytest.raises(TypeError, match="Monitor or None"):
        ExecutionEngine(registry, tool_executor, monitor=object())  # type: ignore[arg-type]


async def test_every_operation_executor_of_the_engine_gets_its_monitor(
    registry: ToolRegistry, tool_executor: Any
) -> None:
    monitor = Monitor(tracing=False)
    async with ExecutionEngine(registry, tool_executor, monitor=monitor) as engine:
        engine.register_executor("recorded", RecordingExecutor(tool_executor))
        assert monitor is engine.monitor
        assert monitor is engine.operations().monitor
        assert monitor is engine.operations("recorded").monitor
        await engine.execute_operations_sequence(
            [{"operation": "calc.add", "params": {"a": 1, "b": 2}}], "u", "t"
        )
        await engine.batch_execute_operations([{"operation": "calc.nope"}])

    assert {
        "calc.add": {"completed": 1},
        "calc.nope": {"failed E001": 1},
    } == monitor.metrics.snapshot()["outcomes"]
