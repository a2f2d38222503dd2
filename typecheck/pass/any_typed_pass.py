"""What the Any-typed protocols accept on purpose: sync/async mix-ups where a result is ``Any``.

``IToolExecutor.execute`` and ``execute_async`` and ``IOperationExecutor.execute_operation``
return ``Any`` (as in the seed). A coroutine is an ``Any``, and ``Coroutine[Any, Any, Any]``
accepts an ``Any`` result, so neither checker can tell ``def`` from ``async def`` there. This
file pins that documented property: if a checker starts rejecting these lines, the runner
reports an unexpected error and README.md must be updated. The typed variants
(``execproto.typed``) reject the same mistakes; see fail/tool_executor_fail.py.
"""

from __future__ import annotations

from typing import Any

from execproto.protocols import IOperationExecutor, IToolExecutor, IToolProvider
from execproto.typed import ITypedToolProvider


class SyncExecuteAsync:
    def execute(self, tool: Any, operation_name: str, /, **params: Any) -> Any:
        return None

    def execute_async(self, tool: Any, operation_name: str, /, **params: Any) -> Any:
        return None


class AsyncExecute:
    async def execute(self, tool: Any, operation_name: str, /, **params: Any) -> Any:
        return None

    async def execute_async(self, tool: Any, operation_name: str, /, **params: Any) -> Any:
        return None


class SyncOperation:
    def execute_operation(self, operation_spec: str, params: dict[str, Any]) -> Any:
        return None

    async def batch_execute_operations(self, operations: list[dict[str, Any]]) -> list[Any]:
        return []

    async def execute_operations_sequence(
        self,
        operations: list[dict[str, Any]],
        user_id: str,
        task_id: str,
        stop_on_failure: bool = False,
        save_callback: Any = None,
    ) -> list[Any]:
        return []

    async def execute_parallel_operations(self, operations: list[dict[str, Any]]) -> list[Any]:
        return []


class AsyncGetTool:
    async def get_tool(self, tool_name: str) -> object:
        return None

    def has_tool(self, tool_name: str) -> bool:
        return False


sync_for_async: IToolExecutor = SyncExecuteAsync()  # accept: sync-for-async@assignment member=execute_async -- `-> Any` accepts a plain result where a coroutine is due
async_for_sync: IToolExecutor = AsyncExecute()  # accept: async-for-sync@assignment member=execute -- `-> Any` accepts a coroutine where a result is due
sync_operation: IOperationExecutor = (
    SyncOperation()
)  # accept: sync-for-async@assignment member=execute_operation -- `-> Any` as above
async_get_tool: IToolProvider = (
    AsyncGetTool()
)  # accept: async-for-sync@assignment member=get_tool -- `-> Any` as above
# ITypedToolProvider[object]: a coroutine is an object too, so this is accepted as well.
async_object_tool: ITypedToolProvider[object] = (
    AsyncGetTool()
)  # accept: async-for-sync@assignment member=get_tool -- a coroutine is an `object`


def take(executor: IToolExecutor) -> None: ...


take(SyncExecuteAsync())  # accept: sync-for-async@argument member=execute_async -- as above
