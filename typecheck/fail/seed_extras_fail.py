"""Non-conforming seed extras: IAsyncContextExecutor and VersionedInterface.

Every rejected line carries ``# expect:`` (syntax in typecheck/run.py and README.md).
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from typing_extensions import Self

from execproto.typed import IAsyncContextExecutor, VersionedInterface

# n/a: variance -- neither IAsyncContextExecutor nor VersionedInterface is generic


class Enter:
    async def __aenter__(self) -> Self: return self


class Exit:
    async def __aexit__(self, exc_type: type[BaseException] | None, exc_value: BaseException | None, traceback: TracebackType | None, /) -> bool | None: ...


class Run:
    async def execute_in_context(self, operation: str, /, **params: Any) -> Any: ...


def accept(executor: IAsyncContextExecutor) -> None: ...


def accept_versioned(versioned: VersionedInterface) -> None: ...


class WithoutExit(Enter, Run):
    pass


class IntOperation(Enter, Exit):
    async def execute_in_context(self, operation: int, /, **params: Any) -> Any: ...


class RequiresTimeout(Enter, Exit):
    async def execute_in_context(self, operation: str, timeout: float, /, **params: Any) -> Any: ...


class IntVersion:
    version: str

    def get_version(self) -> int: raise NotImplementedError


class SyncEnter(Exit, Run):
    def __aenter__(self) -> Self: return self


class AsyncGetVersion:
    version: str

    async def get_version(self) -> str: raise NotImplementedError


without_exit: IAsyncContextExecutor = WithoutExit()  # expect: missing@assignment mypy[assignment] pyright[reportAssignmentType] member=__aexit__
accept(WithoutExit())  # expect: missing@argument mypy[arg-type] pyright[reportArgumentType] member=__aexit__


def make_without_exit() -> IAsyncContextExecutor:
    return WithoutExit()  # expect: missing@return mypy[return-value] pyright[reportReturnType] member=__aexit__


int_operation: IAsyncContextExecutor = IntOperation()  # expect: param-type@assignment mypy[assignment] pyright[reportAssignmentType] member=execute_in_context
accept(IntOperation())  # expect: param-type@argument mypy[arg-type] pyright[reportArgumentType] member=execute_in_context


def make_int_operation() -> IAsyncContextExecutor:
    return IntOperation()  # expect: param-type@return mypy[return-value] pyright[reportReturnType] member=execute_in_context


requires_timeout: IAsyncContextExecutor = RequiresTimeout()  # expect: extra-param@assignment mypy[assignment] pyright[reportAssignmentType] member=execute_in_context
accept(RequiresTimeout())  # expect: extra-param@argument mypy[arg-type] pyright[reportArgumentType] member=execute_in_context


def make_requires_timeout() -> IAsyncContextExecutor:
    return RequiresTimeout()  # expect: extra-param@return mypy[return-value] pyright[reportReturnType] member=execute_in_context


int_version: VersionedInterface = IntVersion()  # expect: return@assignment mypy[assignment] pyright[reportAssignmentType] member=get_version
accept_versioned(IntVersion())  # expect: return@argument mypy[arg-type] pyright[reportArgumentType] member=get_version


def make_int_version() -> VersionedInterface:
    return IntVersion()  # expect: return@return mypy[return-value] pyright[reportReturnType] member=get_version


sync_enter: IAsyncContextExecutor = SyncEnter()  # expect: sync-for-async@assignment mypy[assignment] pyright[reportAssignmentType] member=__aenter__
accept(SyncEnter())  # expect: sync-for-async@argument mypy[arg-type] pyright[reportArgumentType] member=__aenter__


def make_sync_enter() -> IAsyncContextExecutor:
    return SyncEnter()  # expect: sync-for-async@return mypy[return-value] pyright[reportReturnType] member=__aenter__


async_get_version: VersionedInterface = AsyncGetVersion()  # expect: async-for-sync@assignment mypy[assignment] pyright[reportAssignmentType] member=get_version
accept_versioned(AsyncGetVersion())  # expect: async-for-sync@argument mypy[arg-type] pyright[reportArgumentType] member=get_version


def make_async_get_version() -> VersionedInterface:
    return AsyncGetVersion()  # expect: async-for-sync@return mypy[return-value] pyright[reportReturnType] member=get_version


class StrOperationSubclass(IAsyncContextExecutor):
    async def __aenter__(self) -> Self: return self
    async def __aexit__(self, exc_type: type[BaseException] | None, exc_value: BaseException | None, traceback: TracebackType | None, /) -> bool | None: ...
    async def execute_in_context(self, operation: bytes, /, **params: Any) -> Any: ...  # expect: override@definition mypy[override] pyright[reportIncompatibleMethodOverride] member=execute_in_context


class VersionedSubclass(VersionedInterface):
    @property
    def version(self) -> str: return "1.0.0"
    def get_version(self) -> int: raise NotImplementedError  # expect: override@definition mypy[override] pyright[reportIncompatibleMethodOverride] member=get_version


class HalfContext(IAsyncContextExecutor):
    async def __aenter__(self) -> Self: return self
    async def execute_in_context(self, operation: str, /, **params: Any) -> Any: ...


half = HalfContext()  # expect: abstract@instantiation mypy[abstract] pyright[reportAbstractUsage] member=__aexit__


def some_context_executor() -> IAsyncContextExecutor: raise NotImplementedError


# Pins `async def execute_in_context` from the caller's side.
not_awaited: int = some_context_executor().execute_in_context("ping")  # expect: call@call mypy[assignment] pyright[reportAssignmentType] member=-
