"""Conforming operation executors: ``IOperationExecutor`` and ``ITypedOperationExecutor[T_co]``."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from typing_extensions import assert_type

from execproto.models import TaskStepResult
from execproto.protocols import IOperationExecutor
from execproto.typed import ITypedOperationExecutor


class ThirdPartyOperations:
    """Never imports a base class; takes ``params`` as any Mapping, wider than the dict asked."""

    async def execute_operation(self, operation_spec: str, params: Mapping[str, Any]) -> Any:
        return operation_spec

    async def batch_execute_operations(self, operations: list[dict[str, Any]]) -> list[Any]:
        return [await self.execute_operation(str(op.get("operation")), {}) for op in operations]

    async def execute_operations_sequence(
        self,
        operations: list[dict[str, Any]],
        user_id: str,
        task_id: str,
        stop_on_failure: bool = False,
        save_callback: Callable[..., Any] | None = None,
    ) -> list[TaskStepResult]:
        return [TaskStepResult(step=str(op.get("operation"))) for op in operations]

    async def execute_parallel_operations(
        self, operations: list[dict[str, Any]]
    ) -> list[TaskStepResult]:
        return [TaskStepResult(step=str(op.get("operation"))) for op in operations]


class IntOperations:
    async def execute_operation(self, operation_spec: str, params: dict[str, Any]) -> bool:
        return True

    async def batch_execute_operations(
        self, operations: list[dict[str, Any]]
    ) -> list[bool | ValueError]:
        return [True for _ in operations]


class SubclassOperations(IOperationExecutor):
    async def execute_operation(self, operation_spec: str, params: dict[str, Any]) -> Any:
        return None

    async def batch_execute_operations(self, operations: list[dict[str, Any]]) -> list[Any]:
        return []

    async def execute_operations_sequence(
        self,
        operations: list[dict[str, Any]],
        user_id: str,
        task_id: str,
        stop_on_failure: bool = False,
        save_callback: Callable[..., Any] | None = None,
    ) -> list[TaskStepResult]:
        return []

    async def execute_parallel_operations(
        self, operations: list[dict[str, Any]]
    ) -> list[TaskStepResult]:
        return []


third_party: IOperationExecutor = ThirdPartyOperations()
subclass: IOperationExecutor = SubclassOperations()
# T_co, and list[bool | ValueError] is a Sequence[int | BaseException].
ints: ITypedOperationExecutor[int] = IntOperations()
objects: ITypedOperationExecutor[object] = ints


async def run(executor: ITypedOperationExecutor[int]) -> int:
    result = await executor.execute_operation("calculator.add", {"a": 1, "b": 2})
    assert_type(result, int)
    batch = await executor.batch_execute_operations([{"operation": "calculator.add"}])
    assert_type(batch, Sequence[int | BaseException])
    return result


async def run_sequence(executor: IOperationExecutor) -> list[TaskStepResult]:
    steps = await executor.execute_operations_sequence([], "user", "task", stop_on_failure=True)
    assert_type(steps, list[TaskStepResult])
    return steps


def make_executor() -> IOperationExecutor:
    return ThirdPartyOperations()


run(IntOperations()).close()
run_sequence(SubclassOperations()).close()
executors: list[IOperationExecutor] = [
    ThirdPartyOperations(),
    SubclassOperations(),
    make_executor(),
]
