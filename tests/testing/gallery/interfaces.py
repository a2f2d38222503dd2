"""Broken execution interfaces, each failing the :class:`ExecutionInterfaceContract` checks
it names."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, ClassVar

from examples.contract_example import (
    _SPEC,
    DictToolProvider,
    GatherOperationExecutor,
    TaskEngine,
    _operation,
)

from execproto.testing import ExecutionInterfaceContract
from tests.testing.gallery._exhibit import Exhibit, exhibit

Task = Callable[[dict[str, Any], dict[str, Any]], Awaitable[Any]]


class InterfaceSuite(ExecutionInterfaceContract):
    """Builds ``implementation(GatherOperationExecutor(DictToolProvider(tools)), tasks)``."""

    implementation: ClassVar[Callable[..., Any]] = TaskEngine

    def make_execution_interface(self, tools: Mapping[str, Any], tasks: Mapping[str, Task]) -> Any:
        return self.implementation(GatherOperationExecutor(DictToolProvider(tools)), tasks)


class SyncPathForOperations(TaskEngine):
    """Runs a single operation through the sync API, which cannot run an async operation
    inside the event loop."""

    async def execute_operation(self, operation_spec: str, params: dict[str, Any]) -> Any:
        match = _SPEC.fullmatch(operation_spec)
        if match is None:
            raise ValueError(f"expected 'tool.operation', got {operation_spec!r}")
        method = _operation(self.operations.provider.get_tool(match[1]), match[2], params)
        if inspect.iscoroutinefunction(method):
            raise RuntimeError("asyncio.run() cannot be called from a running event loop")
        return method(**params)


class ValueErrorForUnknownTools(TaskEngine):
    """Reports an unknown tool as a :class:`ValueError`."""

    async def execute_operation(self, operation_spec: str, params: dict[str, Any]) -> Any:
        try:
            return await super().execute_operation(operation_spec, params)
        except LookupError as err:
            raise ValueError(str(err)) from err


class OperationsInCompletionOrder(TaskEngine):
    """Collects a batch's results as they complete."""

    async def batch_execute_operations(self, operations: list[dict[str, Any]]) -> list[Any]:
        # Tasks made in input order: as_completed() would start coroutines in any order.
        calls = [
            asyncio.ensure_future(self.execute_operation(op["operation"], op.get("params", {})))
            for op in operations
        ]
        return [await done for done in asyncio.as_completed(calls)]


class LosesTheContext(TaskEngine):
    """Runs a task with an empty context."""

    async def execute_task(
        self, task_name: str, input_data: dict[str, Any], context: dict[str, Any]
    ) -> Any:
        return await super().execute_task(task_name, input_data, {})


class NoneForAnUnknownTask(TaskEngine):
    """Returns ``None`` for a task it does not know."""

    async def execute_task(
        self, task_name: str, input_data: dict[str, Any], context: dict[str, Any]
    ) -> Any:
        if task_name not in self.tasks:
            return None
        return await super().execute_task(task_name, input_data, context)


class ReplacesTheTasksError(TaskEngine):
    """Raises its own error with the task's message, unchained."""

    async def execute_task(
        self, task_name: str, input_data: dict[str, Any], context: dict[str, Any]
    ) -> Any:
        try:
            return await super().execute_task(task_name, input_data, context)
        except LookupError:
            raise
        except Exception as err:
            raise RuntimeError(f"task {task_name} failed: {err}") from None


class TasksInCompletionOrder(TaskEngine):
    """Collects a task batch's results as they complete."""

    async def batch_execute_tasks(self, tasks: list[dict[str, Any]]) -> list[Any]:
        calls = [
            asyncio.ensure_future(
                self.execute_task(
                    item["task_name"], item.get("input_data", {}), item.get("context", {})
                )
            )
            for item in tasks
        ]
        results: list[Any] = []
        for done in asyncio.as_completed(calls):
            try:
                results.append(await done)
            except Exception as err:
                results.append(err)
        return results


class DropsFailedTasks(TaskEngine):
    """Leaves failed tasks out of a batch's results."""

    async def batch_execute_tasks(self, tasks: list[dict[str, Any]]) -> list[Any]:
        results = await super().batch_execute_tasks(tasks)
        return [result for result in results if not isinstance(result, BaseException)]


class RegisterExecutorRaisesTypeError(TaskEngine):
    """Refuses every executor with a :class:`TypeError`."""

    def register_executor(self, executor_type: str, executor_instance: Any) -> None:
        raise TypeError("not an engine")


EXHIBITS: list[Exhibit] = [
    exhibit(InterfaceSuite, TaskEngine, why="correct: the baseline"),
    exhibit(
        InterfaceSuite,
        SyncPathForOperations,
        "test_execute_operation_runs_sync_and_async_operations",
        why="single operations through the sync API",
    ),
    exhibit(
        InterfaceSuite,
        ValueErrorForUnknownTools,
        "test_an_unknown_tool_raises_lookup_error",
        why="ValueError for an unknown tool",
    ),
    exhibit(
        InterfaceSuite,
        OperationsInCompletionOrder,
        "test_batch_execute_operations_returns_results_in_input_order",
        why="batch results in completion order",
    ),
    exhibit(
        InterfaceSuite,
        LosesTheContext,
        "test_execute_task_receives_its_input_and_context",
        why="tasks run with an empty context",
    ),
    exhibit(
        InterfaceSuite,
        NoneForAnUnknownTask,
        "test_an_unknown_task_raises_lookup_error",
        why="None for an unknown task",
    ),
    exhibit(
        InterfaceSuite,
        ReplacesTheTasksError,
        "test_a_tasks_error_reaches_the_caller_itself_or_chained",
        why="replaces the task's error",
    ),
    exhibit(
        InterfaceSuite,
        TasksInCompletionOrder,
        "test_batch_execute_tasks_returns_one_result_per_task_in_input_order",
        why="task results in completion order",
    ),
    exhibit(
        InterfaceSuite,
        DropsFailedTasks,
        "test_batch_execute_tasks_returns_a_failed_tasks_exception_in_its_place",
        why="failed tasks left out",
    ),
    exhibit(
        InterfaceSuite,
        RegisterExecutorRaisesTypeError,
        "test_register_executor_accepts_an_executor_or_raises_not_implemented_error",
        why="TypeError from register_executor",
    ),
]
