"""Non-conforming operation executors: IOperationExecutor and ITypedOperationExecutor[T_co].

Every rejected line carries ``# expect:`` (syntax in typecheck/run.py and README.md). Each bad
class is assembled from conforming one-member mixins plus the one member that is wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from execproto.models import TaskStepResult
from execproto.protocols import IOperationExecutor
from execproto.typed import ITypedOperationExecutor

# n/a: async-for-sync -- every member of IOperationExecutor and ITypedOperationExecutor is async


class Operation:
    async def execute_operation(self, operation_spec: str, params: dict[str, Any]) -> Any: ...


class Batch:
    async def batch_execute_operations(self, operations: list[dict[str, Any]]) -> list[Any]: raise NotImplementedError


class Sequential:
    async def execute_operations_sequence(self, operations: list[dict[str, Any]], user_id: str, task_id: str, stop_on_failure: bool = False, save_callback: Callable[..., Any] | None = None) -> list[TaskStepResult]: raise NotImplementedError


class Parallel:
    async def execute_parallel_operations(self, operations: list[dict[str, Any]]) -> list[TaskStepResult]: raise NotImplementedError


class TypedBatch:
    async def batch_execute_operations(self, operations: list[dict[str, Any]]) -> Sequence[int | BaseException]: raise NotImplementedError


def accept(executor: IOperationExecutor) -> None: ...


def accept_typed(executor: ITypedOperationExecutor[int]) -> None: ...


class WithoutParallel(Operation, Batch, Sequential):
    pass


class ListParams(Batch, Sequential, Parallel):
    async def execute_operation(self, operation_spec: str, params: list[Any]) -> Any: ...


class RequiresTimeout(Batch, Sequential, Parallel):
    async def execute_operation(self, operation_spec: str, params: dict[str, Any], timeout: float) -> Any: ...


class ParallelReturnsDicts(Operation, Batch, Sequential):
    async def execute_parallel_operations(self, operations: list[dict[str, Any]]) -> list[dict[str, Any]]: raise NotImplementedError


class SyncBatch(Operation, Sequential, Parallel):
    def batch_execute_operations(self, operations: list[dict[str, Any]]) -> list[Any]: raise NotImplementedError


class TypedSyncOperation(TypedBatch):
    def execute_operation(self, operation_spec: str, params: dict[str, Any]) -> int: raise NotImplementedError


class SequenceWithoutCallback(Operation, Batch, Parallel):
    async def execute_operations_sequence(self, operations: list[dict[str, Any]], user_id: str, task_id: str, stop_on_failure: bool = False) -> list[TaskStepResult]: raise NotImplementedError


class RenamedSpec(Batch, Sequential, Parallel):
    async def execute_operation(self, spec: str, params: dict[str, Any]) -> Any: ...


without_parallel: IOperationExecutor = WithoutParallel()  # expect: missing@assignment mypy[assignment] pyright[reportAssignmentType] member=execute_parallel_operations
accept(WithoutParallel())  # expect: missing@argument mypy[arg-type] pyright[reportArgumentType] member=execute_parallel_operations


def make_without_parallel() -> IOperationExecutor:
    return WithoutParallel()  # expect: missing@return mypy[return-value] pyright[reportReturnType] member=execute_parallel_operations


list_params: IOperationExecutor = ListParams()  # expect: param-type@assignment mypy[assignment] pyright[reportAssignmentType] member=execute_operation
accept(ListParams())  # expect: param-type@argument mypy[arg-type] pyright[reportArgumentType] member=execute_operation


def make_list_params() -> IOperationExecutor:
    return ListParams()  # expect: param-type@return mypy[return-value] pyright[reportReturnType] member=execute_operation


requires_timeout: IOperationExecutor = RequiresTimeout()  # expect: extra-param@assignment mypy[assignment] pyright[reportAssignmentType] member=execute_operation
accept(RequiresTimeout())  # expect: extra-param@argument mypy[arg-type] pyright[reportArgumentType] member=execute_operation
# Dropping an optional parameter is an extra-parameter error seen from the caller's side.
sequence_without_callback: IOperationExecutor = SequenceWithoutCallback()  # expect: extra-param@assignment mypy[assignment] pyright[reportAssignmentType] member=execute_operations_sequence


def make_requires_timeout() -> IOperationExecutor:
    return RequiresTimeout()  # expect: extra-param@return mypy[return-value] pyright[reportReturnType] member=execute_operation


parallel_returns_dicts: IOperationExecutor = ParallelReturnsDicts()  # expect: return@assignment mypy[assignment] pyright[reportAssignmentType] member=execute_parallel_operations
accept(ParallelReturnsDicts())  # expect: return@argument mypy[arg-type] pyright[reportArgumentType] member=execute_parallel_operations


def make_parallel_returns_dicts() -> IOperationExecutor:
    return ParallelReturnsDicts()  # expect: return@return mypy[return-value] pyright[reportReturnType] member=execute_parallel_operations


# ``-> list[Any]`` is not ``Any``: the Any-typed protocol sees a missing coroutine here.
sync_batch: IOperationExecutor = SyncBatch()  # expect: sync-for-async@assignment mypy[assignment] pyright[reportAssignmentType] member=batch_execute_operations
accept(SyncBatch())  # expect: sync-for-async@argument mypy[arg-type] pyright[reportArgumentType] member=batch_execute_operations
typed_sync_operation: ITypedOperationExecutor[int] = TypedSyncOperation()  # expect: sync-for-async@assignment mypy[assignment] pyright[reportAssignmentType] member=execute_operation
accept_typed(TypedSyncOperation())  # expect: sync-for-async@argument mypy[arg-type] pyright[reportArgumentType] member=execute_operation


def make_sync_batch() -> IOperationExecutor:
    return SyncBatch()  # expect: sync-for-async@return mypy[return-value] pyright[reportReturnType] member=batch_execute_operations


renamed_spec: IOperationExecutor = RenamedSpec()  # expect: param-name@assignment mypy[-] pyright[reportAssignmentType] member=execute_operation diverge: mypy does not compare the names of parameters that may be passed by keyword when it matches a protocol; pyright does, because `execute_operation(operation_spec=...)` would fail


class ShortSequence(IOperationExecutor):
    async def execute_operation(self, operation_spec: str, params: dict[str, Any]) -> Any: ...
    async def batch_execute_operations(self, operations: list[dict[str, Any]]) -> list[Any]: raise NotImplementedError
    async def execute_operations_sequence(self, operations: list[dict[str, Any]], user_id: str, task_id: str) -> list[TaskStepResult]: raise NotImplementedError  # expect: override@definition mypy[override] pyright[reportIncompatibleMethodOverride] member=execute_operations_sequence
    async def execute_parallel_operations(self, operations: list[dict[str, Any]]) -> list[TaskStepResult]: raise NotImplementedError


class TypedStrOperation(ITypedOperationExecutor[int]):
    async def execute_operation(self, operation_spec: str, params: dict[str, Any]) -> str: raise NotImplementedError  # expect: override@definition mypy[override] pyright[reportIncompatibleMethodOverride] member=execute_operation
    async def batch_execute_operations(self, operations: list[dict[str, Any]]) -> Sequence[int | BaseException]: raise NotImplementedError


class HalfOperations(IOperationExecutor):
    async def execute_operation(self, operation_spec: str, params: dict[str, Any]) -> Any: ...
    async def batch_execute_operations(self, operations: list[dict[str, Any]]) -> list[Any]: raise NotImplementedError


half = HalfOperations()  # expect: abstract@instantiation mypy[abstract] pyright[reportAbstractUsage] member=execute_operations_sequence,execute_parallel_operations


def object_operations() -> ITypedOperationExecutor[object]: raise NotImplementedError


objects = object_operations()
# T_co: operations producing any object do not produce ints.
ints: ITypedOperationExecutor[int] = objects  # expect: variance@assignment mypy[assignment] pyright[reportAssignmentType] member=-
accept_typed(objects)  # expect: variance@argument mypy[arg-type] pyright[reportArgumentType] member=-


def make_ints() -> ITypedOperationExecutor[int]:
    return objects  # expect: variance@return mypy[return-value] pyright[reportReturnType] member=-


def some_operations() -> IOperationExecutor: raise NotImplementedError


# Pins `async def execute_operation` from the caller's side.
not_awaited: int = some_operations().execute_operation("calculator.add", {})  # expect: call@call mypy[assignment] pyright[reportAssignmentType] member=-
