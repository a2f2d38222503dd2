"""execproto's reference implementations, proved with the contract kit they ship."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from execproto.runtime.cache import MemoryCacheProvider
from execproto.runtime.engine import ExecutionEngine
from execproto.runtime.executor import ToolExecutor
from execproto.runtime.operations import OperationExecutor
from execproto.runtime.registry import ToolRegistry
from execproto.testing import (
    CacheProviderContract,
    ExecutionInterfaceContract,
    OperationExecutorContract,
    ToolExecutorContract,
    ToolProviderContract,
)

Task = Callable[[dict[str, Any], dict[str, Any]], Awaitable[Any]]
CACHE_SIZE = 16
CACHE_TTL = 60.0
CONCURRENCY_LIMIT = 3


def make_memory_cache() -> MemoryCacheProvider:
    """Build the cache the suite checks; importable so keys are compared across processes."""
    return MemoryCacheProvider(maxsize=CACHE_SIZE, ttl=CACHE_TTL)


class TestToolRegistry(ToolProviderContract):
    def make_provider(self, tools: Mapping[str, Any]) -> ToolRegistry:
        return ToolRegistry(tools)

    def register_tool(self, provider: ToolRegistry, name: str, tool: Any) -> None:
        provider.register(name, tool)

    def unregister_tool(self, provider: ToolRegistry, name: str) -> None:
        provider.unregister(name)


class TestToolExecutor(ToolExecutorContract):
    def make_executor(self) -> ToolExecutor:
        return ToolExecutor()


class TestMemoryCacheProvider(CacheProviderContract):
    maxsize = CACHE_SIZE
    ttl = CACHE_TTL
    cache_factory = f"{__name__}:make_memory_cache"

    def make_cache(self) -> MemoryCacheProvider:
        return make_memory_cache()

    def make_cache_with_clock(self, clock: Callable[[], float]) -> MemoryCacheProvider:
        return MemoryCacheProvider(maxsize=CACHE_SIZE, ttl=CACHE_TTL, clock=clock)


class TestOperationExecutor(OperationExecutorContract):
    concurrency_limit = CONCURRENCY_LIMIT
    supports_result_references = True
    supports_dependencies = True

    def make_operation_executor(self, tools: Mapping[str, Any]) -> OperationExecutor:
        return OperationExecutor(
            ToolRegistry(tools), ToolExecutor(), max_concurrency=CONCURRENCY_LIMIT
        )


class TestExecutionEngine(ExecutionInterfaceContract):
    def make_execution_interface(
        self, tools: Mapping[str, Any], tasks: Mapping[str, Task]
    ) -> ExecutionEngine:
        engine = ExecutionEngine(
            ToolRegistry(tools), ToolExecutor(), max_concurrency=CONCURRENCY_LIMIT
        )
        for name, task in tasks.items():
            engine.register_task(name, task)
        return engine
