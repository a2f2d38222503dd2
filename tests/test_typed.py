"""Generic typed variants and the seed's extra protocols."""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any

import pytest
from typing_extensions import Self

from execproto import (
    IAsyncCacheProvider,
    IAsyncContextExecutor,
    ITypedCacheProvider,
    ITypedOperationExecutor,
    ITypedToolExecutor,
    ITypedToolProvider,
    VersionedInterface,
)
from execproto.testing import Calculator

TYPED = [
    ITypedToolProvider,
    ITypedToolExecutor,
    ITypedCacheProvider,
    ITypedOperationExecutor,
    IAsyncCacheProvider,
    VersionedInterface,
    IAsyncContextExecutor,
]


class CalcExecutor:
    def execute(self, tool: Calculator, operation_name: str, /, **params: int) -> int:
        result: int = getattr(tool, operation_name)(**params)
        return result

    async def execute_async(self, tool: Calculator, operation_name: str, /, **params: int) -> int:
        return self.execute(tool, operation_name, **params)


class Versioned:
    version = "1.2.0"

    def get_version(self) -> str:
        return self.version


class Session:
    def __init__(self) -> None:
        self.open = False

    async def __aenter__(self) -> Self:
        self.open = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.open = False

    async def execute_in_context(self, operation: str, /, **params: Any) -> Any:
        if not self.open:
            raise RuntimeError("execute_in_context outside 'async with'")
        return (operation, params)


def test_typed_executor_runtime_check_uses_the_unsubscripted_protocol() -> None:
    assert isinstance(CalcExecutor(), ITypedToolExecutor)
    assert 5 == asyncio.run(CalcExecutor().execute_async(Calculator(), "add", a=2, b=3))


def test_isinstance_on_subscripted_generic_raises() -> None:
    # Documented limitation of isinstance; execproto.conformance.check handles this case.
    with pytest.raises(TypeError):
        isinstance(CalcExecutor(), ITypedToolExecutor[Calculator, int])  # type: ignore[misc]


def test_versioned_accepts_a_plain_class_attribute() -> None:
    assert isinstance(Versioned(), VersionedInterface)


def test_async_context_executor_conforms_and_runs() -> None:
    async def scenario() -> Any:
        async with Session() as session:
            return await session.execute_in_context("ping", n=1)

    assert isinstance(Session(), IAsyncContextExecutor)
    assert ("ping", {"n": 1}) == asyncio.run(scenario())


def test_cache_provider_twins_are_distinct_protocols() -> None:
    class SyncCache:
        def generate_cache_key(self, *args: Any) -> str:
            return "k"

        def get_from_cache(self, cache_key: str) -> Any:
            return None

        def add_to_cache(self, cache_key: str, value: Any) -> None:
            return None

    assert isinstance(SyncCache(), ITypedCacheProvider)
    assert not isinstance(SyncCache(), IAsyncCacheProvider)


def test_every_typed_protocol_has_a_version() -> None:
    assert ["1.0.0"] * len(TYPED) == [p.__protocol_version__ for p in TYPED]  # type: ignore[attr-defined]
