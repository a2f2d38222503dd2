"""What execproto is measured against: the code a user would otherwise write or reach for.

The seed-style classes follow the seed design document's own example implementations
(``ToolProviderImpl``, ``ToolExecutorImpl``, ``CacheProviderImpl``, ``OperationExecutorImpl``),
written here from its description: a dict of tools, ``split('.', 1)`` on the spec,
``getattr`` and ``asyncio.iscoroutinefunction`` on every call, ``md5(json.dumps(...))`` keys,
``asyncio.gather`` over every operation with no limit. They are the baseline a user of the
seed has today, bugs included (for instance a sync operation runs on the event loop).
"""

from __future__ import annotations

import abc
import asyncio
import hashlib
import json
import threading
import typing
from collections.abc import Awaitable, Callable
from typing import Any

import cachetools
import zope.interface  # type: ignore[import-untyped]

__all__ = [
    "AbcToolExecutor",
    "AbcToolExecutorImpl",
    "Calculator",
    "LockedTTLCache",
    "NonConformingExecutor",
    "SeedCacheProvider",
    "SeedOperationExecutor",
    "SeedToolExecutor",
    "SeedToolProvider",
    "ThirdPartyExecutor",
    "TypingToolExecutor",
    "ZopeToolExecutor",
    "gather_limited",
    "raw_gather",
]


class Calculator:
    """The tool every row calls: trivial operations, so that only the dispatch is measured."""

    async def add(self, a: int, b: int) -> int:
        """Return ``a + b`` without suspending (the cheapest possible async operation)."""
        return a + b

    async def add_yielding(self, a: int, b: int) -> int:
        """Return ``a + b`` after yielding once to the loop, as any real I/O-bound op does.

        Without a suspension point a concurrency limit would never be exercised: every
        operation would finish before the next one started.
        """
        await asyncio.sleep(0)
        return a + b

    def multiply(self, a: int, b: int) -> int:
        """Return ``a * b`` synchronously (run off the loop by a correct executor)."""
        return a * b


class ThirdPartyExecutor:
    """A conforming ``IToolExecutor`` written without importing anything (no inheritance)."""

    def execute(self, tool: Any, operation_name: str, /, **params: Any) -> Any:
        """Run the operation synchronously."""
        return getattr(tool, operation_name)(**params)

    async def execute_async(self, tool: Any, operation_name: str, /, **params: Any) -> Any:
        """Run the operation asynchronously."""
        return await getattr(tool, operation_name)(**params)


class NonConformingExecutor:
    """Has ``execute`` but no ``execute_async``: every checker must reject it."""

    def execute(self, tool: Any, operation_name: str, /, **params: Any) -> Any:
        """Run the operation synchronously."""
        return getattr(tool, operation_name)(**params)


class AbcToolExecutor(abc.ABC):
    """The seed's ``IToolExecutor``: an ABC that implementations inherit from."""

    @abc.abstractmethod
    def execute(self, tool: Any, operation_name: str, /, **params: Any) -> Any:
        """Run the operation synchronously."""

    @abc.abstractmethod
    async def execute_async(self, tool: Any, operation_name: str, /, **params: Any) -> Any:
        """Run the operation asynchronously."""


class AbcToolExecutorImpl(ThirdPartyExecutor, AbcToolExecutor):
    """The same executor, declared as a subclass of the ABC (what the seed requires)."""


@typing.runtime_checkable
class TypingToolExecutor(typing.Protocol):
    """``IToolExecutor`` as a plain ``typing.Protocol`` (not typing_extensions)."""

    def execute(self, tool: Any, operation_name: str, /, **params: Any) -> Any:
        """Run the operation synchronously."""
        ...

    async def execute_async(self, tool: Any, operation_name: str, /, **params: Any) -> Any:
        """Run the operation asynchronously."""
        ...


class ZopeToolExecutor(zope.interface.Interface):  # type: ignore[misc]
    """``IToolExecutor`` as a zope.interface, checked with ``verifyObject``.

    zope.interface declares methods without ``self``, hence the ignores.
    """

    def execute(tool: Any, operation_name: str, **params: Any) -> Any:  # pyright: ignore[reportSelfClsParameterName]
        """Run the operation synchronously."""

    def execute_async(tool: Any, operation_name: str, **params: Any) -> Any:  # pyright: ignore[reportSelfClsParameterName]
        """Run the operation asynchronously."""


class SeedToolProvider:
    """The seed's ``ToolProviderImpl``: a dict of tools."""

    def __init__(self) -> None:
        self._tools: dict[str, Any] = {}

    def register_tool(self, name: str, tool: Any) -> None:
        """Register *tool* under *name*."""
        self._tools[name] = tool

    def get_tool(self, tool_name: str) -> Any:
        """Return the tool, or raise ``ValueError`` as the seed does."""
        if tool_name not in self._tools:
            raise ValueError(f"Tool '{tool_name}' not found")
        return self._tools[tool_name]

    def has_tool(self, tool_name: str) -> bool:
        """Return whether the tool exists."""
        return tool_name in self._tools


class SeedToolExecutor:
    """The seed's ``ToolExecutorImpl``: ``getattr`` and ``iscoroutinefunction`` per call."""

    def execute(self, tool: Any, operation_name: str, **params: Any) -> Any:
        """Call the operation on the caller's thread."""
        return getattr(tool, operation_name)(**params)

    async def execute_async(self, tool: Any, operation_name: str, **params: Any) -> Any:
        """Await an async operation; call a sync one on the event loop (as the seed does)."""
        method = getattr(tool, operation_name)
        if asyncio.iscoroutinefunction(method):
            return await method(**params)
        return method(**params)


class SeedCacheProvider:
    """The seed's ``CacheProviderImpl``: ``md5(json.dumps(..., sort_keys=True))`` keys."""

    def __init__(self, cache_size: int = 1000) -> None:
        self._cache: dict[str, Any] = {}
        self._cache_size = cache_size

    def generate_cache_key(
        self,
        operation_type: str,
        user_id: str,
        task_id: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> str:
        """Return the seed's key for this call."""
        key_data = {
            "operation_type": operation_type,
            "user_id": user_id,
            "task_id": task_id,
            "args": args,
            "kwargs": kwargs,
        }
        key_str = json.dumps(key_data, sort_keys=True)
        return hashlib.md5(key_str.encode()).hexdigest()

    def get_from_cache(self, cache_key: str) -> Any | None:
        """Return the cached value or ``None``."""
        return self._cache.get(cache_key)

    def add_to_cache(self, cache_key: str, value: Any) -> None:
        """Store *value*, dropping the oldest entry when full."""
        if len(self._cache) >= self._cache_size:
            del self._cache[next(iter(self._cache))]
        self._cache[cache_key] = value


class SeedOperationExecutor:
    """The seed's ``OperationExecutorImpl``: split the spec, look up, gather without limit."""

    def __init__(self, tool_executor: SeedToolExecutor, tool_provider: SeedToolProvider) -> None:
        self.tool_executor = tool_executor
        self.tool_provider = tool_provider

    async def execute_operation(self, operation_spec: str, params: dict[str, Any]) -> Any:
        """Run one ``tool.operation`` spec."""
        tool_name, operation_name = operation_spec.split(".", 1)
        tool = self.tool_provider.get_tool(tool_name)
        return await self.tool_executor.execute_async(tool, operation_name, **params)

    async def batch_execute_operations(self, operations: list[dict[str, Any]]) -> list[Any]:
        """Run every operation at once with ``asyncio.gather`` (no concurrency limit)."""
        return await asyncio.gather(
            *(self.execute_operation(op["operation"], op.get("params", {})) for op in operations),
            return_exceptions=True,
        )


class LockedTTLCache:
    """``cachetools.TTLCache`` behind a ``threading.Lock``, as cachetools' docs advise."""

    def __init__(self, maxsize: int, ttl: float) -> None:
        self._cache: cachetools.TTLCache[str, Any] = cachetools.TTLCache[str, Any](
            maxsize=maxsize, ttl=ttl
        )
        self._lock = threading.Lock()

    def get(self, key: str) -> Any | None:
        """Return the value under *key*, or ``None``."""
        with self._lock:
            return self._cache.get(key)

    def set(self, key: str, value: Any) -> None:
        """Store *value* under *key*."""
        with self._lock:
            self._cache[key] = value


async def raw_gather(make: Callable[[int], Awaitable[Any]], count: int) -> list[Any]:
    """Run ``make(0)`` ... ``make(count - 1)`` at once with a bare ``asyncio.gather``."""
    return await asyncio.gather(*(make(i) for i in range(count)))


async def gather_limited(
    make: Callable[[int], Awaitable[Any]], count: int, limit: int
) -> list[Any]:
    """Run ``make(0)`` ... ``make(count - 1)`` with ``asyncio.gather``, *limit* at a time.

    The minimal hand-written equivalent of a concurrency limit: one ``asyncio.Semaphore``
    acquired around each awaitable.
    """
    semaphore = asyncio.Semaphore(limit)

    async def one(i: int) -> Any:
        async with semaphore:
            return await make(i)

    return await asyncio.gather(*(one(i) for i in range(count)))
