"""Conforming seed extras: ``IAsyncContextExecutor`` and ``VersionedInterface``."""

from __future__ import annotations

from types import TracebackType
from typing import Any

from typing_extensions import Self, assert_type

from execproto.typed import IAsyncContextExecutor, VersionedInterface


class PooledExecutor:
    """Third-party style async context executor; a plain ``bool`` exit result is fine."""

    def __init__(self) -> None:
        self.open = False

    async def __aenter__(self) -> Self:
        self.open = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        self.open = False
        return False

    async def execute_in_context(self, operation: str, /, **params: Any) -> Any:
        if not self.open:
            raise RuntimeError("execute_in_context() called outside 'async with'")
        return operation


class AttributeVersion:
    """A plain attribute satisfies a read-only protocol property."""

    version: str = "1.0.0"

    def get_version(self) -> str:
        return self.version


class PropertyVersion(VersionedInterface):
    @property
    def version(self) -> str:
        return "1.0.0"

    def get_version(self) -> str:
        return self.version


context_executor: IAsyncContextExecutor = PooledExecutor()
versions: list[VersionedInterface] = [AttributeVersion(), PropertyVersion()]


async def run(executor: IAsyncContextExecutor) -> Any:
    async with executor as opened:
        assert_type(opened, IAsyncContextExecutor)
        return await opened.execute_in_context("ping")


def make_versioned() -> VersionedInterface:
    return AttributeVersion()


run(PooledExecutor()).close()
