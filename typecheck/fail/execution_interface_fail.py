"""Non-conforming unified execution interfaces: ExecutionInterface.

Every rejected line carries ``# expect:`` (syntax in typecheck/run.py and README.md). Each bad
class is assembled from conforming one-member mixins plus the one member that is wrong.
"""

from __future__ import annotations

from typing import Any

from execproto.protocols import ExecutionInterface

# n/a: variance -- ExecutionInterface is not generic; its typed operation half is ITypedOperationExecutor (operation_executor_fail.py)


class Operation:
    async def execute_operation(self, operation_spec: str, params: dict[str, Any]) -> Any: ...


class Task:
    async def execute_task(self, task_name: str, input_data: dict[str, Any], context: dict[str, Any]) -> Any: ...


class Batch:
    async def batch_execute_operations(self, operations: list[dict[str, Any]]) -> list[Any]: raise NotImplementedError


class BatchTasks:
    async def batch_execute_tasks(self, tasks: list[dict[str, Any]]) -> list[Any]: raise NotImplementedError


class Register:
    def register_executor(self, executor_type: str, executor_instance: Any) -> None: ...


def accept(engine: ExecutionInterface) -> None: ...


class WithoutTask(Operation, Batch, BatchTasks, Register):
    pass


class WithoutRegister(Operation, Task, Batch, BatchTasks):
    pass


class IntTaskName(Operation, Batch, BatchTasks, Register):
    async def execute_task(self, task_name: int, input_data: dict[str, Any], context: dict[str, Any]) -> Any: ...


class RequiresConcurrency(Operation, Task, Batch, Register):
    async def batch_execute_tasks(self, tasks: list[dict[str, Any]], concurrency: int) -> list[Any]: raise NotImplementedError


class BatchTasksReturnsDict(Operation, Task, Batch, Register):
    async def batch_execute_tasks(self, tasks: list[dict[str, Any]]) -> dict[str, Any]: raise NotImplementedError


class SyncBatchTasks(Operation, Task, Batch, Register):
    def batch_execute_tasks(self, tasks: list[dict[str, Any]]) -> list[Any]: raise NotImplementedError


class AsyncRegister(Operation, Task, Batch, BatchTasks):
    async def register_executor(self, executor_type: str, executor_instance: Any) -> None: ...


class RenamedTaskName(Operation, Batch, BatchTasks, Register):
    async def execute_task(self, name: str, input_data: dict[str, Any], context: dict[str, Any]) -> Any: ...


without_task: ExecutionInterface = WithoutTask()  # expect: missing@assignment mypy[assignment] pyright[reportAssignmentType] member=execute_task
accept(WithoutTask())  # expect: missing@argument mypy[arg-type] pyright[reportArgumentType] member=execute_task
# register_executor has a default body, but only for subclasses: structurally it is required.
without_register: ExecutionInterface = WithoutRegister()  # expect: missing@assignment mypy[assignment] pyright[reportAssignmentType] member=register_executor


def make_without_task() -> ExecutionInterface:
    return WithoutTask()  # expect: missing@return mypy[return-value] pyright[reportReturnType] member=execute_task


int_task_name: ExecutionInterface = IntTaskName()  # expect: param-type@assignment mypy[assignment] pyright[reportAssignmentType] member=execute_task
accept(IntTaskName())  # expect: param-type@argument mypy[arg-type] pyright[reportArgumentType] member=execute_task


def make_int_task_name() -> ExecutionInterface:
    return IntTaskName()  # expect: param-type@return mypy[return-value] pyright[reportReturnType] member=execute_task


requires_concurrency: ExecutionInterface = RequiresConcurrency()  # expect: extra-param@assignment mypy[assignment] pyright[reportAssignmentType] member=batch_execute_tasks
accept(RequiresConcurrency())  # expect: extra-param@argument mypy[arg-type] pyright[reportArgumentType] member=batch_execute_tasks


def make_requires_concurrency() -> ExecutionInterface:
    return RequiresConcurrency()  # expect: extra-param@return mypy[return-value] pyright[reportReturnType] member=batch_execute_tasks


batch_tasks_returns_dict: ExecutionInterface = BatchTasksReturnsDict()  # expect: return@assignment mypy[assignment] pyright[reportAssignmentType] member=batch_execute_tasks
accept(BatchTasksReturnsDict())  # expect: return@argument mypy[arg-type] pyright[reportArgumentType] member=batch_execute_tasks


def make_batch_tasks_returns_dict() -> ExecutionInterface:
    return BatchTasksReturnsDict()  # expect: return@return mypy[return-value] pyright[reportReturnType] member=batch_execute_tasks


sync_batch_tasks: ExecutionInterface = SyncBatchTasks()  # expect: sync-for-async@assignment mypy[assignment] pyright[reportAssignmentType] member=batch_execute_tasks
accept(SyncBatchTasks())  # expect: sync-for-async@argument mypy[arg-type] pyright[reportArgumentType] member=batch_execute_tasks


def make_sync_batch_tasks() -> ExecutionInterface:
    return SyncBatchTasks()  # expect: sync-for-async@return mypy[return-value] pyright[reportReturnType] member=batch_execute_tasks


async_register: ExecutionInterface = AsyncRegister()  # expect: async-for-sync@assignment mypy[assignment] pyright[reportAssignmentType] member=register_executor
accept(AsyncRegister())  # expect: async-for-sync@argument mypy[arg-type] pyright[reportArgumentType] member=register_executor


def make_async_register() -> ExecutionInterface:
    return AsyncRegister()  # expect: async-for-sync@return mypy[return-value] pyright[reportReturnType] member=register_executor


renamed_task_name: ExecutionInterface = RenamedTaskName()  # expect: param-name@assignment mypy[-] pyright[reportAssignmentType] member=execute_task diverge: mypy does not compare the names of parameters that may be passed by keyword when it matches a protocol; pyright does, because `execute_task(task_name=...)` would fail


class StrTaskName(ExecutionInterface):
    async def execute_operation(self, operation_spec: str, params: dict[str, Any]) -> Any: ...
    async def execute_task(self, task_name: bytes, input_data: dict[str, Any], context: dict[str, Any]) -> Any: ...  # expect: override@definition mypy[override] pyright[reportIncompatibleMethodOverride] member=execute_task
    async def batch_execute_operations(self, operations: list[dict[str, Any]]) -> list[Any]: raise NotImplementedError
    async def batch_execute_tasks(self, tasks: list[dict[str, Any]]) -> list[Any]: raise NotImplementedError


class AsyncRegisterOverride(ExecutionInterface):
    async def execute_operation(self, operation_spec: str, params: dict[str, Any]) -> Any: ...
    async def execute_task(self, task_name: str, input_data: dict[str, Any], context: dict[str, Any]) -> Any: ...
    async def batch_execute_operations(self, operations: list[dict[str, Any]]) -> list[Any]: raise NotImplementedError
    async def batch_execute_tasks(self, tasks: list[dict[str, Any]]) -> list[Any]: raise NotImplementedError
    async def register_executor(self, executor_type: str, executor_instance: Any) -> None: ...  # expect: override@definition mypy[override] pyright[reportIncompatibleMethodOverride] member=register_executor


class HalfEngine(ExecutionInterface):
    async def execute_operation(self, operation_spec: str, params: dict[str, Any]) -> Any: ...
    async def execute_task(self, task_name: str, input_data: dict[str, Any], context: dict[str, Any]) -> Any: ...
    async def batch_execute_operations(self, operations: list[dict[str, Any]]) -> list[Any]: raise NotImplementedError


half = HalfEngine()  # expect: abstract@instantiation mypy[abstract] pyright[reportAbstractUsage] member=batch_execute_tasks


class DefaultRegister(ExecutionInterface):
    async def execute_operation(self, operation_spec: str, params: dict[str, Any]) -> Any: ...
    async def execute_task(self, task_name: str, input_data: dict[str, Any], context: dict[str, Any]) -> Any: ...
    async def batch_execute_operations(self, operations: list[dict[str, Any]]) -> list[Any]: raise NotImplementedError
    async def batch_execute_tasks(self, tasks: list[dict[str, Any]]) -> list[Any]: raise NotImplementedError


# At run time the protocol's register_executor is a default (no @abstractmethod), so this
# instantiates. Statically both checkers call a protocol method whose body only raises
# NotImplementedError unimplemented, so a subclass must define it. Kept as a case so that a
# change of either side (protocols.py or a checker) is noticed.
default_register = DefaultRegister()  # expect: abstract@instantiation mypy[abstract] pyright[reportAbstractUsage] member=register_executor


def some_engine() -> ExecutionInterface: raise NotImplementedError


# Pins `async def execute_operation` / `execute_task` from the caller's side.
operation_not_awaited: int = some_engine().execute_operation("calculator.add", {})  # expect: call@call mypy[assignment] pyright[reportAssignmentType] member=-
task_not_awaited: int = some_engine().execute_task("summarise", {}, {})  # expect: call@call mypy[assignment] pyright[reportAssignmentType] member=-
