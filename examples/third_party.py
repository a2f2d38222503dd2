"""Executors written as a third party would: none of them imports execproto.

``EchoExecutor`` conforms to ``IToolExecutor``. ``SyncOnlyExecutor`` has both names, so
``isinstance`` accepts it, but its ``execute_async`` is a plain function: awaiting its result
fails at run time. The conformance checker catches what ``isinstance`` cannot.
"""

from __future__ import annotations

import asyncio
from typing import Any


class EchoExecutor:
    """Calls ``getattr(tool, name)(**params)``; awaits coroutine results in the async path."""

    def execute(self, target: Any, name: str, /, **params: Any) -> Any:
        return getattr(target, name)(**params)

    async def execute_async(self, target: Any, name: str, /, **params: Any) -> Any:
        method = getattr(target, name)
        if asyncio.iscoroutinefunction(method):
            return await method(**params)
        return await asyncio.to_thread(method, **params)


class SyncOnlyExecutor:
    """Looks like an IToolExecutor to ``isinstance`` but its ``execute_async`` is not async."""

    def execute(self, tool: Any, operation_name: str, /, **params: Any) -> Any:
        return getattr(tool, operation_name)(**params)

    def execute_async(self, tool: Any, operation_name: str, /, **params: Any) -> Any:
        return getattr(tool, operation_name)(**params)


class NotAnExecutor:
    """Has neither method."""

    def run(self, command: str) -> str:
        return command


class SeedStyleExecutor:
    """Written like the seed's ABC, without the positional-only marker.

    ``isinstance`` and pyright accept it (mypy does not), but an operation parameter called
    ``tool`` breaks it: ``execute(calc, "op", tool="x")`` is a ``TypeError`` ("got multiple
    values for argument 'tool'"). ``execproto check`` says to add ``/``.
    """

    def execute(self, tool: Any, operation_name: str, **params: Any) -> Any:
        return getattr(tool, operation_name)(**params)

    async def execute_async(self, tool: Any, operation_name: str, **params: Any) -> Any:
        return getattr(tool, operation_name)(**params)


#: A ready-made instance, for ``execproto check examples.third_party:echo_executor``.
echo_executor = EchoExecutor()
