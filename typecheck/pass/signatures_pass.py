"""Pins the call shapes of the protocols from the caller's side.

Implementations cannot tell a checker whether ``IToolExecutor.execute_async`` is async
(``-> Any`` accepts both), but callers can. These calls fail in both checkers if a parameter
stops accepting what the seed passes or a result type changes; the ``call@call`` cases in
``fail/`` catch a coroutine function turned into a plain one.
"""

from __future__ import annotations

from typing import Any

from typing_extensions import assert_type

from execproto.models import TaskStepResult
from execproto.protocols import (
    ExecutionInterface,
    ICacheProvider,
    IOperationExecutor,
    IToolExecutor,
    IToolProvider,
)
from execproto.typed import IAsyncCacheProvider


def tool_provider(provider: IToolProvider) -> None:
    assert_type(provider.has_tool("calculator"), bool)
    provider.get_tool("calculator")
    provider.get_tool(tool_name="calculator")


async def tool_executor(executor: IToolExecutor, tool: object) -> None:
    executor.execute(tool, "add", a=1, b=2)
    # Positional-only: an operation may take parameters called ``tool``/``operation_name``.
    executor.execute(tool, "configure", tool="x", operation_name="y")
    await executor.execute_async(tool, "configure", tool="x", operation_name="y")


async def cache(provider: ICacheProvider, async_provider: IAsyncCacheProvider) -> None:
    key = provider.generate_cache_key("calculator.add", "user", "task", (1, 2), {"c": 3})
    assert_type(key, str)
    provider.get_from_cache(cache_key=key)
    assert_type(provider.add_to_cache(key, 3), None)
    assert_type(await async_provider.get_from_cache_async(key), Any | None)
    assert_type(await async_provider.add_to_cache_async(key, 3), None)


async def operations(executor: IOperationExecutor) -> None:
    await executor.execute_operation("calculator.add", {"a": 1})
    batch = await executor.batch_execute_operations([{"operation": "calculator.add"}])
    assert_type(batch, list[Any])
    steps = await executor.execute_operations_sequence(
        [], "user", "task", stop_on_failure=True, save_callback=print
    )
    assert_type(steps, list[TaskStepResult])
    assert_type(await executor.execute_parallel_operations([]), list[TaskStepResult])


async def engine(interface: ExecutionInterface) -> None:
    await interface.execute_task("summarise", {"text": "..."}, {"user_id": "u"})
    assert_type(await interface.batch_execute_tasks([]), list[Any])
    assert_type(interface.register_executor("local", object()), None)
