"""Non-conforming tool executors: IToolExecutor and ITypedToolExecutor[T_contra, R_co].

Every rejected line carries ``# expect:`` (syntax in typecheck/run.py and README.md).
Sync/async mix-ups use the typed variant: an ``-> Any`` return accepts a coroutine and vice
versa, so IToolExecutor accepts them (documented in pass/any_typed_pass.py).
"""

from __future__ import annotations

from typing import Any

from vendor_executors import LegacyExecutor

from execproto.protocols import IToolExecutor
from execproto.typed import ITypedToolExecutor


class Calculator:
    def add(self, a: int, b: int) -> int:
        return a + b


class ScientificCalculator(Calculator):
    pass


def accept(executor: IToolExecutor) -> None: ...


def accept_typed(executor: ITypedToolExecutor[Calculator, int]) -> None: ...


class WithoutAsync:
    def execute(self, tool: Any, operation_name: str, /, **params: Any) -> Any: ...


class IntOperationName:
    def execute(self, tool: Any, operation_name: int, /, **params: Any) -> Any: ...
    async def execute_async(self, tool: Any, operation_name: str, /, **params: Any) -> Any: ...


class RequiresTimeout:
    def execute(self, tool: Any, operation_name: str, timeout: float, /, **params: Any) -> Any: ...
    async def execute_async(self, tool: Any, operation_name: str, /, **params: Any) -> Any: ...


class ReturnsStr:
    def execute(self, tool: Calculator, operation_name: str, /, **params: Any) -> str: raise NotImplementedError
    async def execute_async(self, tool: Calculator, operation_name: str, /, **params: Any) -> int: raise NotImplementedError


class SyncExecuteAsync:
    def execute(self, tool: Calculator, operation_name: str, /, **params: Any) -> int: raise NotImplementedError
    def execute_async(self, tool: Calculator, operation_name: str, /, **params: Any) -> int: raise NotImplementedError


class AsyncExecute:
    async def execute(self, tool: Calculator, operation_name: str, /, **params: Any) -> int: raise NotImplementedError
    async def execute_async(self, tool: Calculator, operation_name: str, /, **params: Any) -> int: raise NotImplementedError


class KeywordParameters:
    def execute(self, tool: Any, operation_name: str, **params: Any) -> Any: ...
    async def execute_async(self, tool: Any, operation_name: str, **params: Any) -> Any: ...


without_async: IToolExecutor = WithoutAsync()  # expect: missing@assignment mypy[assignment] pyright[reportAssignmentType] member=execute_async
accept(WithoutAsync())  # expect: missing@argument mypy[arg-type] pyright[reportArgumentType] member=execute_async


def make_without_async() -> IToolExecutor:
    return WithoutAsync()  # expect: missing@return mypy[return-value] pyright[reportReturnType] member=execute_async


int_operation_name: IToolExecutor = IntOperationName()  # expect: param-type@assignment mypy[assignment] pyright[reportAssignmentType] member=execute
accept(IntOperationName())  # expect: param-type@argument mypy[arg-type] pyright[reportArgumentType] member=execute


def make_int_operation_name() -> IToolExecutor:
    return IntOperationName()  # expect: param-type@return mypy[return-value] pyright[reportReturnType] member=execute


requires_timeout: IToolExecutor = RequiresTimeout()  # expect: extra-param@assignment mypy[assignment] pyright[reportAssignmentType] member=execute
accept(RequiresTimeout())  # expect: extra-param@argument mypy[arg-type] pyright[reportArgumentType] member=execute


def make_requires_timeout() -> IToolExecutor:
    return RequiresTimeout()  # expect: extra-param@return mypy[return-value] pyright[reportReturnType] member=execute


returns_str: ITypedToolExecutor[Calculator, int] = ReturnsStr()  # expect: return@assignment mypy[assignment] pyright[reportAssignmentType] member=execute
accept_typed(ReturnsStr())  # expect: return@argument mypy[arg-type] pyright[reportArgumentType] member=execute


def make_returns_str() -> ITypedToolExecutor[Calculator, int]:
    return ReturnsStr()  # expect: return@return mypy[return-value] pyright[reportReturnType] member=execute


sync_execute_async: ITypedToolExecutor[Calculator, int] = SyncExecuteAsync()  # expect: sync-for-async@assignment mypy[assignment] pyright[reportAssignmentType] member=execute_async
accept_typed(SyncExecuteAsync())  # expect: sync-for-async@argument mypy[arg-type] pyright[reportArgumentType] member=execute_async
legacy: ITypedToolExecutor[object, int] = LegacyExecutor()  # expect: sync-for-async@assignment mypy[assignment] pyright[reportAssignmentType] member=execute_async


def make_sync_execute_async() -> ITypedToolExecutor[Calculator, int]:
    return SyncExecuteAsync()  # expect: sync-for-async@return mypy[return-value] pyright[reportReturnType] member=execute_async


async_execute: ITypedToolExecutor[Calculator, int] = AsyncExecute()  # expect: async-for-sync@assignment mypy[assignment] pyright[reportAssignmentType] member=execute
accept_typed(AsyncExecute())  # expect: async-for-sync@argument mypy[arg-type] pyright[reportArgumentType] member=execute


def make_async_execute() -> ITypedToolExecutor[Calculator, int]:
    return AsyncExecute()  # expect: async-for-sync@return mypy[return-value] pyright[reportReturnType] member=execute


keyword_parameters: IToolExecutor = KeywordParameters()  # expect: param-kind@assignment mypy[assignment] pyright[-] member=execute diverge: pyright accepts because it does not consider that **params may carry a key named like the implementation's keyword-capable `tool`/`operation_name`, which would collide at run time
accept(KeywordParameters())  # expect: param-kind@argument mypy[arg-type] pyright[-] member=execute diverge: pyright accepts (see the assignment above)


class NoKeywordParameters(IToolExecutor):
    def execute(self, tool: Any, operation_name: str, /) -> Any: ...  # expect: override@definition mypy[override] pyright[reportIncompatibleMethodOverride] member=execute
    async def execute_async(self, tool: Any, operation_name: str, /, **params: Any) -> Any: ...


class TypedReturnsStr(ITypedToolExecutor[Calculator, int]):
    def execute(self, tool: Calculator, operation_name: str, /, **params: Any) -> str: raise NotImplementedError  # expect: override@definition mypy[override] pyright[reportIncompatibleMethodOverride] member=execute
    async def execute_async(self, tool: Calculator, operation_name: str, /, **params: Any) -> int: raise NotImplementedError


class HalfExecutor(IToolExecutor):
    def execute(self, tool: Any, operation_name: str, /, **params: Any) -> Any: ...


half = HalfExecutor()  # expect: abstract@instantiation mypy[abstract] pyright[reportAbstractUsage] member=execute_async


def calculator_executor() -> ITypedToolExecutor[Calculator, int]: raise NotImplementedError


calc_executor = calculator_executor()
# T_contra: an executor of calculators is not an executor of any object.
any_object_executor: ITypedToolExecutor[object, int] = calc_executor  # expect: variance@assignment mypy[assignment] pyright[reportAssignmentType] member=-
# R_co: an executor returning ints is not an executor returning bools.
bool_executor: ITypedToolExecutor[Calculator, bool] = calc_executor  # expect: variance@assignment mypy[assignment] pyright[reportAssignmentType] member=-


def accept_object_executor(executor: ITypedToolExecutor[object, int]) -> None: ...


accept_object_executor(calc_executor)  # expect: variance@argument mypy[arg-type] pyright[reportArgumentType] member=-


def make_bool_executor() -> ITypedToolExecutor[Calculator, bool]:
    return calc_executor  # expect: variance@return mypy[return-value] pyright[reportReturnType] member=-


def some_executor() -> IToolExecutor: raise NotImplementedError


# Callers see the coroutine that implementations cannot be held to: pins `async def execute_async`.
not_awaited: int = some_executor().execute_async(Calculator(), "add")  # expect: call@call mypy[assignment] pyright[reportAssignmentType] member=-
# Positional-only: naming the tool by keyword leaves the positional parameters unfilled.
some_executor().execute(tool=Calculator(), operation_name="add")  # expect: call@call mypy[call-arg] pyright[reportCallIssue] member=-
