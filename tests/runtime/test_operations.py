"""OperationExecutor: specs, limits, order, step results, references, DAGs, callbacks, cancellation."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from execproto.context import current_context
from execproto.errors import (
    ConformanceError,
    InvalidOperationError,
    OperationCancelledError,
    OperationTimeoutError,
    ReferenceResolutionError,
    RetryExhaustedError,
    ToolNotFoundError,
)
from execproto.models import ErrorCode, TaskStatus, TaskStepResult
from execproto.protocols import IOperationExecutor
from execproto.runtime.executor import RetryPolicy, ToolExecutor
from execproto.runtime.monitoring import Monitor
from execproto.runtime.operations import (
    OperationExecutor,
    _Slots,
    parse_operation_spec,
    validate_plan,
)
from execproto.runtime.registry import ToolRegistry, operation
from execproto.typed import ITypedOperationExecutor


class Probe:
    """A tool that records its calls and how many of them run at once."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.gates: dict[str, asyncio.Event] = {}
        self.started: dict[str, asyncio.Event] = {}

    def _enter(self, name: str, params: dict[str, Any]) -> None:
        self.calls.append((name, params))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)

    async def echo(self, value: Any = None, yields: int = 0) -> Any:
        self._enter("echo", {"value": value})
        try:
            for _ in range(yields):
                await asyncio.sleep(0)
            return value
        finally:
            self.in_flight -= 1

    async def fail(self, message: str = "boom") -> None:
        self._enter("fail", {"message": message})
        self.in_flight -= 1
        raise RuntimeError(message)

    async def raise_(self, error: BaseException) -> None:
        self._enter("raise_", {})
        self.in_flight -= 1
        raise error

    async def context(self) -> tuple[str, str]:
        self._enter("context", {})
        self.in_flight -= 1
        now = current_context()
        return now.user_id, now.task_id

    async def wait(self, name: str) -> str:
        """Block until the test opens the gate *name*."""
        self._enter("wait", {"name": name})
        self.started.setdefault(name, asyncio.Event()).set()
        try:
            await self.gates.setdefault(name, asyncio.Event()).wait()
            return name
        finally:
            self.in_flight -= 1


class Provider:
    def __init__(self, **tools: Any) -> None:
        self.tools = tools

    def get_tool(self, tool_name: str) -> Any:
        try:
            return self.tools[tool_name]
        except KeyError:
            raise LookupError(f"no tool {tool_name!r}") from None

    def has_tool(self, tool_name: str) -> bool:
        return tool_name in self.tools


class Executor:
    """A minimal IToolExecutor: calls the tool's coroutine method (``raise`` maps to raise_)."""

    def execute(self, tool: Any, operation_name: str, /, **params: Any) -> Any:
        raise NotImplementedError

    async def execute_async(self, tool: Any, operation_name: str, /, **params: Any) -> Any:
        name = "raise_" if operation_name == "raise" else operation_name
        return await getattr(tool, name)(**params)


@pytest.fixture
def probe() -> Probe:
    return Probe()


def make(probe: Probe, limit: int = 10) -> OperationExecutor:
    return OperationExecutor(Provider(probe=probe), Executor(), max_concurrency=limit)


def op(operation: str, **params: Any) -> dict[str, Any]:
    return {"operation": f"probe.{operation}", "params": params}


def statuses(steps: list[TaskStepResult]) -> list[tuple[TaskStatus, ErrorCode | None]]:
    return [(step.status, step.error_code) for step in steps]


OK = (TaskStatus.COMPLETED, None)
NOT_RUN = (TaskStatus.CANCELLED, ErrorCode.CANCELLED_ERROR)
INVALID = (TaskStatus.FAILED, ErrorCode.VALIDATION_ERROR)
FAILED = (TaskStatus.FAILED, ErrorCode.EXECUTION_ERROR)


# --- construction and specs -------------------------------------------------------------


def test_conforms_to_operation_executor_protocols(probe: Probe) -> None:
    executor = make(probe)
    assert isinstance(executor, IOperationExecutor)
    assert isinstance(executor, ITypedOperationExecutor)


def test_rejects_non_conforming_provider_and_executor(probe: Probe) -> None:
    with pytest.raises(ConformanceError, match="IToolProvider"):
        OperationExecutor(object(), Executor())  # type: ignore[arg-type]
    with pytest.raises(ConformanceError, match="IToolExecutor"):
        OperationExecutor(Provider(), object())  # type: ignore[arg-type]


@pytest.mark.parametrize("limit", [0, -1, True, 2.0])
def test_rejects_bad_concurrency_limit(limit: Any) -> None:
    with pytest.raises(ValueError, match="max_concurrency"):
        OperationExecutor(Provider(), Executor(), max_concurrency=limit)


def test_parse_operation_spec_splits_tool_and_operation() -> None:
    assert ("search", "query_all") == parse_operation_spec("search.query_all")


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ("", "empty"),
        ("search", "exactly one dot"),
        ("a.b.c", "exactly one dot"),
        ("a.", "identifier"),
        (".b", "identifier"),
        ("a b.c", "identifier"),
        ("_a.b", "starts with '_'"),
        ("a.__init__", "starts with '_'"),
        (None, "must be a str"),
        (3, "must be a str"),
        (b"a.b", "must be a str"),
    ],
)
def test_parse_operation_spec_refuses_malformed_specs(spec: object, reason: str) -> None:
    with pytest.raises(InvalidOperationError, match=reason) as caught:
        parse_operation_spec(spec)
    assert isinstance(caught.value, ValueError)


# --- execute_operation --------------------------------------------------------------------


async def test_execute_operation_returns_the_result(probe: Probe) -> None:
    assert 42 == await make(probe).execute_operation("probe.echo", {"value": 42})


async def test_execute_operation_refuses_a_bad_spec_before_looking_up_the_tool(
    probe: Probe,
) -> None:
    with pytest.raises(InvalidOperationError):
        await make(probe).execute_operation("probe.echo.x", {})
    assert [] == probe.calls


async def test_execute_operation_gives_plain_lookup_errors_the_tool_not_found_type(
    probe: Probe,
) -> None:
    with pytest.raises(ToolNotFoundError, match="nope") as caught:
        await make(probe).execute_operation("nope.echo", {})
    assert isinstance(caught.value.__cause__, LookupError)


async def test_execute_operation_raises_the_tools_own_error(probe: Probe) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        await make(probe).execute_operation("probe.fail", {})


async def test_execute_operation_takes_references_literally(probe: Probe) -> None:
    assert "$result[0]" == await make(probe).execute_operation(
        "probe.echo", {"value": "$result[0]"}
    )


# --- concurrency and order ---------------------------------------------------------------


async def test_batch_of_200_never_exceeds_a_limit_of_5(probe: Probe) -> None:
    results = await make(probe, limit=5).batch_execute_operations(
        [op("echo", value=i, yields=3) for i in range(200)]
    )
    assert list(range(200)) == results
    assert 5 == probe.max_in_flight


async def test_parallel_of_200_never_exceeds_a_limit_of_5(probe: Probe) -> None:
    steps = await make(probe, limit=5).execute_parallel_operations(
        [op("echo", value=i, yields=3) for i in range(200)]
    )
    assert list(range(200)) == [step.result for step in steps]
    assert 5 == probe.max_in_flight


async def test_concurrent_batches_share_one_limit(probe: Probe) -> None:
    executor = make(probe, limit=4)
    ops = [op("echo", value=i, yields=3) for i in range(50)]
    await asyncio.gather(
        executor.batch_execute_operations(ops),
        executor.execute_parallel_operations(ops),
        executor.batch_execute_operations(ops),
        *(executor.execute_operation("probe.echo", {"yields": 3}) for _ in range(10)),
    )
    assert 4 == probe.max_in_flight


async def test_results_are_in_input_order_when_items_finish_in_reverse(probe: Probe) -> None:
    ops = [op("echo", value=i, yields=20 - i) for i in range(20)]
    executor = make(probe, limit=20)
    assert list(range(20)) == await executor.batch_execute_operations(ops)
    finished: list[int] = []
    steps = await executor.execute_parallel_operations(
        ops, on_step=lambda index, _: finished.append(index)
    )
    assert list(range(20)) == [step.result for step in steps]
    assert list(range(19, -1, -1)) == finished


def test_one_executor_works_across_event_loops(probe: Probe) -> None:
    executor = make(probe, limit=1)
    for _ in range(2):
        results = asyncio.run(
            executor.batch_execute_operations([op("echo", value=i, yields=2) for i in range(3)])
        )
        assert [0, 1, 2] == results
    assert 1 == probe.max_in_flight


# --- batch semantics ---------------------------------------------------------------------


async def test_batch_returns_exception_objects_in_place(probe: Probe) -> None:
    results = await make(probe).batch_execute_operations(
        [
            op("echo", value=1),
            op("fail", message="second"),
            {"operation": "probe"},
            op("echo", value="$result[0]"),
        ]
    )
    assert 1 == results[0]
    assert isinstance(results[1], RuntimeError)
    assert "second" == str(results[1])
    assert isinstance(results[2], InvalidOperationError)
    assert isinstance(results[3], ReferenceResolutionError)


# --- step results for failures ----------------------------------------------------------


def _retry_exhausted() -> RetryExhaustedError:
    try:
        raise ConnectionError("upstream reset")
    except ConnectionError as err:
        exhausted = RetryExhaustedError("3 attempts failed", attempts=3)
        exhausted.__cause__ = err
        return exhausted


@pytest.mark.parametrize(
    ("error", "status", "code", "attempts"),
    [
        (RuntimeError("x"), TaskStatus.FAILED, ErrorCode.EXECUTION_ERROR, 1),
        (OperationTimeoutError("slow"), TaskStatus.TIMED_OUT, ErrorCode.TIMEOUT_ERROR, 1),
        (TimeoutError("slow"), TaskStatus.TIMED_OUT, ErrorCode.TIMEOUT_ERROR, 1),
        (OperationCancelledError("x"), TaskStatus.CANCELLED, ErrorCode.CANCELLED_ERROR, 1),
        (InvalidOperationError("bad"), TaskStatus.FAILED, ErrorCode.VALIDATION_ERROR, 0),
        (_retry_exhausted(), TaskStatus.FAILED, ErrorCode.RETRY_EXHAUSTED, 3),
    ],
)
async def test_a_failure_becomes_a_step_with_its_status_and_code(
    probe: Probe, error: Exception, status: TaskStatus, code: ErrorCode, attempts: int
) -> None:
    executor = make(probe)
    [parallel] = await executor.execute_parallel_operations([op("raise", error=error)])
    [sequential] = await executor.execute_operations_sequence([op("raise", error=error)], "u", "t")
    for step in (parallel, sequential):
        assert (status, code, attempts) == (step.status, step.error_code, step.attempts)
        assert not step.completed
        assert step.duration >= 0
        assert type(error).__name__ in (step.error_message or "")


async def test_retry_exhausted_step_names_the_last_real_error(probe: Probe) -> None:
    [step] = await make(probe).execute_parallel_operations([op("raise", error=_retry_exhausted())])
    assert "ConnectionError: upstream reset" in (step.error_message or "")


async def test_unknown_tool_fails_the_step_with_e001(probe: Probe) -> None:
    [step] = await make(probe).execute_parallel_operations([{"operation": "ghost.echo"}])
    assert INVALID == (step.status, step.error_code)
    assert "ghost" in (step.error_message or "")


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        ("probe.echo", "must be a mapping"),
        ({"params": {}}, "no 'operation'"),
        ({"operation": "probe.echo", "param": {}}, "unknown key"),
        ({"operation": "probe.echo", "params": [1]}, "'params' must be a mapping"),
        ({"operation": "probe.echo", "params": {1: 2}}, "'params' must be a mapping"),
        ({"operation": "probe..echo"}, "exactly one dot"),
        ({"operation": "probe.echo", "id": ""}, "'id' must be a non-empty str"),
        ({"operation": "probe.echo", "depends_on": "a"}, "'depends_on' must be a list"),
    ],
)
async def test_a_malformed_item_fails_its_own_step_and_names_the_problem(
    probe: Probe, item: Any, reason: str
) -> None:
    steps = await make(probe).execute_operations_sequence([item, op("echo", value=1)], "u", "t")
    assert [INVALID, OK] == statuses(steps)
    assert reason in (steps[0].error_message or "")
    assert "plan item 0" in (steps[0].error_message or "")


def test_validate_plan_lists_every_bad_item() -> None:
    with pytest.raises(InvalidOperationError) as caught:
        validate_plan(
            [
                {"operation": "a.b"},
                {"operation": "nodot"},
                {"operation": "a.b", "id": "x", "depends_on": ["y"]},
                {"operation": "a.b", "oops": 1},
            ]
        )
    message = str(caught.value)
    assert "3 malformed item(s)" in message
    assert "plan item 1" in message
    assert "'y'" in message
    assert "plan item 3" in message


def test_validate_plan_accepts_a_good_plan_and_refuses_a_non_list() -> None:
    validate_plan([{"operation": "a.b", "id": "x"}, {"operation": "a.c", "depends_on": ["x"]}])
    with pytest.raises(InvalidOperationError, match="must be a list"):
        validate_plan({"operation": "a.b"})


# --- sequences -----------------------------------------------------------------------------


async def test_sequence_continues_after_a_failure_by_default(probe: Probe) -> None:
    steps = await make(probe).execute_operations_sequence(
        [op("echo", value=1), op("fail"), op("echo", value=3)], "u", "t"
    )
    assert [OK, FAILED, OK] == statuses(steps)
    assert [1, None, 3] == [step.result for step in steps]


async def test_stop_on_failure_reports_the_rest_as_not_run_without_calling_them(
    probe: Probe,
) -> None:
    steps = await make(probe).execute_operations_sequence(
        [op("echo", value=1), op("fail"), op("echo", value=3), op("echo", value=4)],
        "u",
        "t",
        stop_on_failure=True,
    )
    assert [OK, FAILED, NOT_RUN, NOT_RUN] == statuses(steps)
    assert ["echo", "fail"] == [name for name, _ in probe.calls]
    assert "step 1 did not complete" in (steps[2].error_message or "")
    assert 0 == steps[2].attempts


async def test_sequence_runs_inside_the_users_execution_context(probe: Probe) -> None:
    steps = await make(probe).execute_operations_sequence([op("context")], "alice", "task-7")
    assert ("alice", "task-7") == steps[0].result
    assert ("", "") == (current_context().user_id, current_context().task_id)


async def test_sync_and_async_save_callbacks_see_every_step_in_order(probe: Probe) -> None:
    sync_calls: list[tuple[str, str, int, TaskStepResult]] = []
    async_calls: list[tuple[str, str, int, TaskStepResult]] = []

    def save(user: str, task: str, index: int, step: TaskStepResult) -> None:
        sync_calls.append((user, task, index, step))

    async def save_async(user: str, task: str, index: int, step: TaskStepResult) -> None:
        await asyncio.sleep(0)
        async_calls.append((user, task, index, step))

    ops = [op("echo", value=1), op("fail"), op("echo", value=3)]
    executor = make(probe)
    first = await executor.execute_operations_sequence(ops, "u", "t", save_callback=save)
    second = await executor.execute_operations_sequence(ops, "u", "t", save_callback=save_async)
    assert [("u", "t", i, step) for i, step in enumerate(first)] == sync_calls
    assert [("u", "t", i, step) for i, step in enumerate(second)] == async_calls


async def test_a_raising_callback_keeps_the_result_and_marks_the_step_unsaved(
    probe: Probe,
) -> None:
    def save(user: str, task: str, index: int, step: TaskStepResult) -> None:
        if index == 0:
            raise OSError("disk full")

    steps = await make(probe).execute_operations_sequence(
        [op("echo", value={"kept": True}), op("echo", value=2)], "u", "t", save_callback=save
    )
    assert [(TaskStatus.FAILED, ErrorCode.DATABASE_ERROR), OK] == statuses(steps)
    assert {"kept": True} == steps[0].result
    assert steps[0].completed
    assert "OSError: disk full" in (steps[0].error_message or "")


async def test_a_raising_callback_counts_as_a_failure_for_stop_on_failure(probe: Probe) -> None:
    async def save(user: str, task: str, index: int, step: TaskStepResult) -> None:
        raise OSError("database down")

    steps = await make(probe).execute_operations_sequence(
        [op("echo", value=1), op("echo", value=2)],
        "u",
        "t",
        stop_on_failure=True,
        save_callback=save,
    )
    assert [(TaskStatus.FAILED, ErrorCode.DATABASE_ERROR), NOT_RUN] == statuses(steps)
    assert 1 == steps[0].result


def save_failing_at(*indices: int) -> Any:
    def save(user: str, task: str, index: int, step: TaskStepResult) -> None:
        if index in indices:
            raise OSError("disk full")

    return save


async def test_a_sequence_reference_to_an_unsaved_step_fails_with_e001(probe: Probe) -> None:
    steps = await make(probe).execute_operations_sequence(
        [op("echo", value={"kept": True}), op("echo", value="$result[0].kept")],
        "u",
        "t",
        save_callback=save_failing_at(0),
    )
    assert [(TaskStatus.FAILED, ErrorCode.DATABASE_ERROR), INVALID] == statuses(steps)
    assert "E006" in (steps[1].error_message or "")
    assert [("echo", {"value": {"kept": True}})] == probe.calls


async def test_dag_dependants_of_an_unsaved_step_are_skipped(probe: Probe) -> None:
    steps = await make(probe).execute_operations_sequence(
        [
            node("fetch", "echo", value={"kept": True}),
            node("parse", "echo", "fetch", value="$result[0].kept"),
            node("other", "echo", value=3),
        ],
        "u",
        "t",
        save_callback=save_failing_at(0),
    )
    assert [(TaskStatus.FAILED, ErrorCode.DATABASE_ERROR), NOT_RUN, OK] == statuses(steps)
    assert {"kept": True} == steps[0].result
    assert steps[0].completed
    assert "'fetch'" in (steps[1].error_message or "")
    assert [{"kept": True}, 3] == [params["value"] for _, params in probe.calls]


# --- references -----------------------------------------------------------------------------


async def test_references_resolve_inside_nested_lists_and_dicts(probe: Probe) -> None:
    steps = await make(probe).execute_operations_sequence(
        [
            op("echo", value={"hits": [{"title": "a"}, {"title": "b"}], "n": 2}),
            op(
                "echo",
                value={
                    "first": "$result[0].hits.0.title",
                    "second": ["$result[0].hits[1].title", {"deep": "$result[0].n"}],
                    "whole": "$result[0]",
                    "literal": "see $result[0]",
                },
            ),
        ],
        "u",
        "t",
    )
    assert {
        "first": "a",
        "second": ["b", {"deep": 2}],
        "whole": {"hits": [{"title": "a"}, {"title": "b"}], "n": 2},
        "literal": "see $result[0]",
    } == steps[1].result


class Text(str):
    """A str subclass: references made of one must be found like plain strings."""


async def test_references_are_found_next_to_scalars_and_in_str_subclasses(probe: Probe) -> None:
    steps = await make(probe).execute_operations_sequence(
        [
            op("echo", value=7),
            {
                "operation": "probe.echo",
                "params": {"value": ("$result[0]", 1, 2.5, True, None, Text("$result[0]"))},
            },
            {"operation": "probe.echo", "params": {"value": Text("$result[0]"), "yields": 0}},
        ],
        "u",
        "t",
    )
    assert (7, 1, 2.5, True, None, 7) == steps[1].result
    assert 7 == steps[2].result


@pytest.mark.parametrize(
    ("reference", "reason"),
    [
        ("$result[-1]", "negative"),
        ("$result[1]", "has not run yet"),
        ("$result[5]", "has not run yet"),
        ("$result[0].__init__.__globals__", "starting with '_'"),
        ("$result[0]._private", "starting with '_'"),
        ("$result[0].missing", "no key 'missing'"),
        ("$result[0].items.9", "out of range"),
        ("$result[0].items.x", "non-negative index"),
        ("$result[0].items.0.upper", "cannot look up"),
        ("$result[0", "malformed"),
        ("$result[x]", "malformed"),
    ],
)
async def test_a_bad_reference_fails_the_step_with_e001_and_the_tool_is_not_called(
    probe: Probe, reference: str, reason: str
) -> None:
    steps = await make(probe).execute_operations_sequence(
        [op("echo", value={"items": ["x"]}), op("echo", value={"nested": [reference]})],
        "u",
        "t",
    )
    assert [OK, INVALID] == statuses(steps)
    assert reason in (steps[1].error_message or "")
    assert "ReferenceResolutionError" in (steps[1].error_message or "")
    assert 1 == len(probe.calls)


async def test_a_reference_to_a_failed_step_fails_with_e001(probe: Probe) -> None:
    steps = await make(probe).execute_operations_sequence(
        [op("fail"), op("echo", value="$result[0]")], "u", "t"
    )
    assert [FAILED, INVALID] == statuses(steps)
    assert "did not complete" in (steps[1].error_message or "")


async def test_references_never_reach_object_attributes(probe: Probe) -> None:
    class Secretive:
        public = "attribute"

    steps = await make(probe).execute_operations_sequence(
        [op("echo", value=Secretive()), op("echo", value="$result[0].public")], "u", "t"
    )
    assert [OK, INVALID] == statuses(steps)


async def test_parallel_references_fail_with_e001(probe: Probe) -> None:
    steps = await make(probe).execute_parallel_operations(
        [op("echo", value=1), op("echo", value="$result[0]")]
    )
    assert [OK, INVALID] == statuses(steps)
    assert "independent" in (steps[1].error_message or "")


# --- DAG -------------------------------------------------------------------------------------


def node(item_id: str, operation: str, *deps: str, **params: Any) -> dict[str, Any]:
    return {**op(operation, **params), "id": item_id, "depends_on": list(deps)}


async def test_dag_runs_independent_branches_concurrently(probe: Probe) -> None:
    steps = await make(probe).execute_operations_sequence(
        [node("a", "echo", value=1, yields=5), node("b", "echo", value=2, yields=5)],
        "u",
        "t",
    )
    assert [OK, OK] == statuses(steps)
    assert 2 == probe.max_in_flight


async def test_dag_starts_an_item_after_all_its_dependencies(probe: Probe) -> None:
    steps = await make(probe).execute_parallel_operations(
        [
            node("join", "echo", "left", "right", value=["$result[1]", "$result[2]"]),
            node("left", "echo", value="L", yields=3),
            node("right", "echo", value="R", yields=1),
        ]
    )
    assert [OK, OK, OK] == statuses(steps)
    assert "echo" == probe.calls[-1][0]
    assert ["L", "R"] == probe.calls[-1][1]["value"]


async def test_dag_refuses_references_to_items_it_does_not_depend_on(probe: Probe) -> None:
    steps = await make(probe).execute_parallel_operations(
        [node("a", "echo", value=1), node("b", "echo", value="$result[0]")]
    )
    assert [OK, INVALID] == statuses(steps)
    assert "depends_on" in (steps[1].error_message or "")


async def test_dag_skips_the_dependants_of_a_failed_item(probe: Probe) -> None:
    steps = await make(probe).execute_operations_sequence(
        [
            node("fetch", "fail"),
            node("parse", "echo", "fetch", value=1),
            node("store", "echo", "parse", value=2),
            node("other", "echo", value=3),
        ],
        "u",
        "t",
    )
    assert [FAILED, NOT_RUN, NOT_RUN, OK] == statuses(steps)
    assert "'fetch'" in (steps[1].error_message or "")
    assert "'parse'" in (steps[2].error_message or "")
    assert ["fail", "echo"] == [name for name, _ in probe.calls]


async def test_dag_fails_cycles_before_running_them(probe: Probe) -> None:
    steps = await make(probe).execute_parallel_operations(
        [
            node("a", "echo", "c", value=1),
            node("b", "echo", "a", value=2),
            node("c", "echo", "b", value=3),
            node("d", "echo", "a", value=4),
            node("e", "echo", value=5),
        ]
    )
    assert [INVALID, INVALID, INVALID, NOT_RUN, OK] == statuses(steps)
    assert "cycle" in (steps[0].error_message or "")
    assert [("echo", {"value": 5})] == probe.calls


@pytest.mark.parametrize(
    ("plan", "reason"),
    [
        ([node("a", "echo", "ghost")], "no item has that id"),
        ([node("a", "echo", "a")], "depends on itself"),
        ([node("a", "echo"), node("a", "echo")], "already used"),
    ],
)
async def test_dag_structure_errors_fail_the_affected_item(
    probe: Probe, plan: list[dict[str, Any]], reason: str
) -> None:
    steps = await make(probe).execute_parallel_operations(plan)
    assert INVALID == statuses(steps)[-1]
    assert reason in (steps[-1].error_message or "")


async def test_dag_stop_on_failure_starts_nothing_after_the_failure(probe: Probe) -> None:
    executor = make(probe, limit=1)
    steps = await executor.execute_operations_sequence(
        [node("a", "fail"), node("b", "echo", value=2), node("c", "echo", value=3)],
        "u",
        "t",
        stop_on_failure=True,
    )
    assert [FAILED, NOT_RUN, NOT_RUN] == statuses(steps)
    assert "stop_on_failure" in (steps[1].error_message or "")


# --- cancellation ---------------------------------------------------------------------------


async def test_cancelling_a_sequence_keeps_the_completed_steps(probe: Probe) -> None:
    saved: list[int] = []
    finished: dict[int, TaskStepResult] = {}
    task = asyncio.ensure_future(
        make(probe).execute_operations_sequence(
            [op("echo", value=1), op("wait", name="forever"), op("echo", value=3)],
            "u",
            "t",
            save_callback=lambda user, task, index, step: saved.append(index),
            on_step=finished.__setitem__,
        )
    )
    await probe.started.setdefault("forever", asyncio.Event()).wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert [0] == saved
    assert [0, 1] == sorted(finished)
    assert (OK, 1) == ((finished[0].status, finished[0].error_code), finished[0].result)
    assert (TaskStatus.CANCELLED, ErrorCode.CANCELLED_ERROR) == (
        finished[1].status,
        finished[1].error_code,
    )
    assert 2 == len(probe.calls)


async def test_cancelling_a_parallel_run_keeps_the_completed_steps(probe: Probe) -> None:
    finished: dict[int, TaskStepResult] = {}
    task = asyncio.ensure_future(
        make(probe).execute_parallel_operations(
            [op("echo", value=0), op("wait", name="w1"), op("wait", name="w2")],
            on_step=finished.__setitem__,
        )
    )
    await probe.started.setdefault("w1", asyncio.Event()).wait()
    await probe.started.setdefault("w2", asyncio.Event()).wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert 0 == finished[0].result
    assert [TaskStatus.CANCELLED] * 2 == [finished[1].status, finished[2].status]
    assert 0 == probe.in_flight


# --- properties against a model ------------------------------------------------------------


@st.composite
def dag_plans(draw: st.DrawFn) -> list[tuple[bool, list[int]]]:
    """Items as (succeeds, indices of earlier items it depends on): always acyclic."""
    size = draw(st.integers(min_value=1, max_value=8))
    plan: list[tuple[bool, list[int]]] = []
    for index in range(size):
        deps = draw(st.lists(st.integers(0, index - 1), max_size=3, unique=True)) if index else []
        plan.append((draw(st.booleans()), deps))
    return plan


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=dag_plans(), limit=st.integers(1, 4))
def test_dag_matches_a_model(plan: list[tuple[bool, list[int]]], limit: int) -> None:
    probe = Probe()
    items = [
        {
            **(op("echo", value=index) if succeeds else op("fail")),
            "id": f"n{index}",
            "depends_on": [f"n{dep}" for dep in deps],
        }
        for index, (succeeds, deps) in enumerate(plan)
    ]
    steps = asyncio.run(make(probe, limit=limit).execute_parallel_operations(items))
    ran: list[bool] = []
    expected: list[tuple[TaskStatus, ErrorCode | None]] = []
    for succeeds, deps in plan:
        runs = all(ran[dep] and plan[dep][0] for dep in deps)
        ran.append(runs)
        expected.append(NOT_RUN if not runs else OK if succeeds else FAILED)
    assert expected == statuses(steps)
    assert sum(ran) == len(probe.calls)
    assert probe.max_in_flight <= limit


@settings(max_examples=40, deadline=None)
@given(outcomes=st.lists(st.booleans(), min_size=1, max_size=8), stop=st.booleans())
def test_sequence_matches_a_model(outcomes: list[bool], stop: bool) -> None:
    probe = Probe()
    items = [op("echo", value=i) if ok else op("fail") for i, ok in enumerate(outcomes)]
    steps = asyncio.run(
        make(probe).execute_operations_sequence(items, "u", "t", stop_on_failure=stop)
    )
    expected: list[tuple[TaskStatus, ErrorCode | None]] = []
    stopped = False
    for ok in outcomes:
        expected.append(NOT_RUN if stopped else OK if ok else FAILED)
        stopped = stopped or (stop and not ok)
    assert expected == statuses(steps)
    assert len(outcomes) == len(steps)


# --- the limiter ----------------------------------------------------------------------------


async def test_a_slot_handed_to_a_cancelled_waiter_is_passed_on() -> None:
    slots = _Slots(1)
    await slots.acquire()
    second = asyncio.ensure_future(slots.acquire())
    third = asyncio.ensure_future(slots.acquire())
    await asyncio.sleep(0)  # one loop turn: both waiters queue up
    slots.release()  # hands the slot to `second`...
    second.cancel()  # ...which is cancelled before it resumes
    with pytest.raises(asyncio.CancelledError):
        await second
    await asyncio.wait_for(third, timeout=10)  # a leaked slot would block it forever
    assert 0 == slots.free
    slots.release()
    assert 1 == slots.free


async def test_cancelling_a_queued_operation_frees_no_extra_slot(probe: Probe) -> None:
    executor = make(probe, limit=1)
    holder = asyncio.ensure_future(executor.execute_operation("probe.wait", {"name": "hold"}))
    await probe.started.setdefault("hold", asyncio.Event()).wait()
    queued = asyncio.ensure_future(executor.execute_operation("probe.echo", {"value": 1}))
    await asyncio.sleep(0)  # one loop turn: `queued` waits for the slot
    queued.cancel()
    with pytest.raises(asyncio.CancelledError):
        await queued
    probe.gates.setdefault("hold", asyncio.Event()).set()
    assert "hold" == await holder
    assert [0, 1, 2] == await executor.batch_execute_operations(
        [op("echo", value=i, yields=2) for i in range(3)]
    )
    assert 1 == probe.max_in_flight


# --- monitoring ---------------------------------------------------------------------------


def test_a_monitor_must_be_a_monitor(probe: Probe) -> None:
    with pytest.raises(TypeError, match="Monitor or None, got 'yes' of type str"):
        OperationExecutor(Provider(probe=probe), Executor(), monitor="yes")  # type: ignore[arg-type]


def test_the_monitor_is_exposed_and_absent_by_default(probe: Probe) -> None:
    monitor = Monitor(tracing=False)
    assert None is make(probe).monitor
    assert monitor is OperationExecutor(Provider(probe=probe), Executor(), monitor=monitor).monitor


async def test_a_monitored_run_counts_every_step_and_still_reports_each_to_on_step(
    probe: Probe,
) -> None:
    monitor = Monitor(tracing=False)
    executor = OperationExecutor(Provider(probe=probe), Executor(), monitor=monitor)
    seen: dict[int, TaskStepResult] = {}

    steps = await executor.execute_operations_sequence(
        [op("echo", value=1), op("fail"), op("echo", value=2)],
        "u",
        "t",
        stop_on_failure=True,
        on_step=seen.__setitem__,
    )

    assert [OK, FAILED, NOT_RUN] == statuses(steps)
    assert steps == [seen[index] for index in range(3)]
    assert {
        "probe.echo": {"cancelled E004": 1, "completed": 1},
        "probe.fail": {"failed E003": 1},
    } == monitor.metrics.snapshot()["outcomes"]


async def test_a_monitored_dag_counts_skipped_dependants(probe: Probe) -> None:
    monitor = Monitor(tracing=False)
    executor = OperationExecutor(Provider(probe=probe), Executor(), monitor=monitor)

    await executor.execute_parallel_operations(
        [
            {"id": "a", "operation": "probe.fail"},
            {"id": "b", "operation": "probe.echo", "depends_on": ["a"]},
        ]
    )

    assert {
        "probe.echo": {"cancelled E004": 1},
        "probe.fail": {"failed E003": 1},
    } == monitor.metrics.snapshot()["outcomes"]


class _Flaky:
    """Fails with ConnectionError on the first call of each operation, then works."""

    def __init__(self) -> None:
        self.calls = 0

    @operation(idempotent=True)
    async def recovers(self) -> str:
        self.calls += 1
        if self.calls == 1:
            raise ConnectionError("transient")
        return "ok"

    @operation(idempotent=True)
    async def then_breaks(self) -> str:
        self.calls += 1
        if self.calls == 1:
            raise ConnectionError("transient")
        raise KeyError("unknown")


def _retrying_executor(tool: object) -> OperationExecutor:
    registry = ToolRegistry({"flaky": tool})
    no_wait = RetryPolicy(max_attempts=3, base_delay=0.0, jitter="none")
    return OperationExecutor(registry, ToolExecutor(registry, retry=no_wait))


async def _one_step(tool: _Flaky, operation_name: str) -> TaskStepResult:
    [step] = await _retrying_executor(tool).execute_operations_sequence(
        [{"operation": f"flaky.{operation_name}"}], "u", "t"
    )
    return step


async def test_a_step_reports_the_attempts_the_tool_executor_made() -> None:
    step = await _one_step(_Flaky(), "recovers")
    assert (TaskStatus.COMPLETED, 2) == (step.status, step.attempts)


async def test_a_failed_step_after_a_retry_reports_both_attempts() -> None:
    step = await _one_step(_Flaky(), "then_breaks")
    assert (TaskStatus.FAILED, ErrorCode.EXECUTION_ERROR, 2) == (
        step.status,
        step.error_code,
        step.attempts,
    )


async def test_a_step_without_retries_reports_one_attempt() -> None:
    warmed = _Flaky()
    warmed.calls = 1  # the transient failure is already behind it
    step = await _one_step(warmed, "recovers")
    assert (TaskStatus.COMPLETED, 1) == (step.status, step.attempts)
