"""The third-party-style implementations in ``examples/contract_example.py``, proved with the
contract kit alone: no execproto base class, only the suites."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from examples.contract_example import (
    DictToolProvider,
    GatherOperationExecutor,
    LruTtlCache,
    TaskEngine,
    ThreadedToolExecutor,
)

from execproto.testing import (
    CacheProviderContract,
    ExecutionInterfaceContract,
    OperationExecutorContract,
    ToolExecutorContract,
    ToolProviderContract,
)

Task = Callable[[dict[str, Any], dict[str, Any]], Awaitable[Any]]


class TestDictToolProvider(ToolProviderContract):
    def make_provider(self, tools: Mapping[str, Any]) -> DictToolProvider:
        return DictToolProvider(tools)

    def register_tool(self, provider: DictToolProvider, name: str, tool: Any) -> None:
        provider.register(name, tool)

    def unregister_tool(self, provider: DictToolProvider, name: str) -> None:
        provider.unregister(name)


class TestThreadedToolExecutor(ToolExecutorContract):
    def make_executor(self) -> ThreadedToolExecutor:
        return ThreadedToolExecutor()


class TestLruTtlCache(CacheProviderContract):
    maxsize = 8
    ttl = 30.0

    def make_cache(self) -> LruTtlCache:
        return LruTtlCache(maxsize=8, ttl=30.0)

    def make_cache_with_clock(self, clock: Callable[[], float]) -> LruTtlCache:
        return LruTtlCache(maxsize=8, ttl=30.0, clock=clock)


class TestGatherOperationExecutor(OperationExecutorContract):
    concurrency_limit = 2

    def make_operation_executor(self, tools: Mapping[str, Any]) -> GatherOperationExecutor:
        return GatherOperationExecutor(DictToolProvider(tools), max_concurrency=2)


class TestTaskEngine(ExecutionInterfaceContract):
    def make_execution_interface(
        self, tools: Mapping[str, Any], tasks: Mapping[str, Task]
    ) -> TaskEngine:
        return TaskEngine(GatherOperationExecutor(DictToolProvider(tools)), tasks)
