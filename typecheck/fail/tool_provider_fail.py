"""Non-conforming tool providers: IToolProvider and ITypedToolProvider[T_co].

Every rejected line carries ``# expect:`` (syntax in typecheck/run.py and README.md).
"""

from __future__ import annotations

from typing import Any

from execproto.protocols import IToolProvider
from execproto.typed import ITypedToolProvider

# n/a: sync-for-async -- no member of IToolProvider or ITypedToolProvider is async


class Calculator:
    def add(self, a: int, b: int) -> int:
        return a + b


def accept(provider: IToolProvider) -> None: ...


def accept_typed(provider: ITypedToolProvider[Calculator]) -> None: ...


class WithoutHasTool:
    def get_tool(self, tool_name: str) -> Any: ...


class IntToolName:
    def get_tool(self, tool_name: int) -> Any: ...
    def has_tool(self, tool_name: str) -> bool: raise NotImplementedError


class RequiresVersion:
    def get_tool(self, tool_name: str, version: str) -> Any: ...
    def has_tool(self, tool_name: str) -> bool: raise NotImplementedError


class HasToolReturnsStr:
    def get_tool(self, tool_name: str) -> Any: ...
    def has_tool(self, tool_name: str) -> str: raise NotImplementedError


class ReturnsStrTools:
    def get_tool(self, tool_name: str) -> str: raise NotImplementedError
    def has_tool(self, tool_name: str) -> bool: raise NotImplementedError


class AsyncHasTool:
    def get_tool(self, tool_name: str) -> Any: ...
    async def has_tool(self, tool_name: str) -> bool: raise NotImplementedError


class AsyncGetTool:
    async def get_tool(self, tool_name: str) -> Calculator: raise NotImplementedError
    def has_tool(self, tool_name: str) -> bool: raise NotImplementedError


class RenamedParameter:
    def get_tool(self, name: str) -> Any: ...
    def has_tool(self, tool_name: str) -> bool: raise NotImplementedError


without_has_tool: IToolProvider = WithoutHasTool()  # expect: missing@assignment mypy[assignment] pyright[reportAssignmentType] member=has_tool
accept(WithoutHasTool())  # expect: missing@argument mypy[arg-type] pyright[reportArgumentType] member=has_tool


def make_without_has_tool() -> IToolProvider:
    return WithoutHasTool()  # expect: missing@return mypy[return-value] pyright[reportReturnType] member=has_tool


int_tool_name: IToolProvider = IntToolName()  # expect: param-type@assignment mypy[assignment] pyright[reportAssignmentType] member=get_tool
accept(IntToolName())  # expect: param-type@argument mypy[arg-type] pyright[reportArgumentType] member=get_tool


def make_int_tool_name() -> IToolProvider:
    return IntToolName()  # expect: param-type@return mypy[return-value] pyright[reportReturnType] member=get_tool


requires_version: IToolProvider = RequiresVersion()  # expect: extra-param@assignment mypy[assignment] pyright[reportAssignmentType] member=get_tool
accept(RequiresVersion())  # expect: extra-param@argument mypy[arg-type] pyright[reportArgumentType] member=get_tool


def make_requires_version() -> IToolProvider:
    return RequiresVersion()  # expect: extra-param@return mypy[return-value] pyright[reportReturnType] member=get_tool


has_tool_returns_str: IToolProvider = HasToolReturnsStr()  # expect: return@assignment mypy[assignment] pyright[reportAssignmentType] member=has_tool
accept(HasToolReturnsStr())  # expect: return@argument mypy[arg-type] pyright[reportArgumentType] member=has_tool
str_tools: ITypedToolProvider[Calculator] = ReturnsStrTools()  # expect: return@assignment mypy[assignment] pyright[reportAssignmentType] member=get_tool


def make_has_tool_returns_str() -> IToolProvider:
    return HasToolReturnsStr()  # expect: return@return mypy[return-value] pyright[reportReturnType] member=has_tool


# The result type ``bool`` is not ``Any``, so even the Any-typed protocol sees the coroutine.
async_has_tool: IToolProvider = AsyncHasTool()  # expect: async-for-sync@assignment mypy[assignment] pyright[reportAssignmentType] member=has_tool
accept(AsyncHasTool())  # expect: async-for-sync@argument mypy[arg-type] pyright[reportArgumentType] member=has_tool
async_get_tool: ITypedToolProvider[Calculator] = AsyncGetTool()  # expect: async-for-sync@assignment mypy[assignment] pyright[reportAssignmentType] member=get_tool


def make_async_get_tool() -> ITypedToolProvider[Calculator]:
    return AsyncGetTool()  # expect: async-for-sync@return mypy[return-value] pyright[reportReturnType] member=get_tool


renamed_parameter: IToolProvider = RenamedParameter()  # expect: param-name@assignment mypy[-] pyright[reportAssignmentType] member=get_tool diverge: mypy does not compare the names of parameters that may be passed by keyword when it matches a protocol; pyright does, because `get_tool(tool_name=...)` would fail
accept(RenamedParameter())  # expect: param-name@argument mypy[-] pyright[reportArgumentType] member=get_tool diverge: mypy ignores parameter names in protocol matching (see above)


class StrHasTool(IToolProvider):
    def get_tool(self, tool_name: str) -> Any: ...
    def has_tool(self, tool_name: str) -> str: raise NotImplementedError  # expect: override@definition mypy[override] pyright[reportIncompatibleMethodOverride] member=has_tool


class BytesToolName(ITypedToolProvider[Calculator]):
    def get_tool(self, tool_name: bytes) -> Calculator: raise NotImplementedError  # expect: override@definition mypy[override] pyright[reportIncompatibleMethodOverride] member=get_tool
    def has_tool(self, tool_name: str) -> bool: raise NotImplementedError


class HalfProvider(IToolProvider):
    def get_tool(self, tool_name: str) -> Any: ...


half = HalfProvider()  # expect: abstract@instantiation mypy[abstract] pyright[reportAbstractUsage] member=has_tool


def object_provider() -> ITypedToolProvider[object]: raise NotImplementedError


objects = object_provider()
# T_co: a provider of any object is not a provider of calculators.
calculators: ITypedToolProvider[Calculator] = objects  # expect: variance@assignment mypy[assignment] pyright[reportAssignmentType] member=-
accept_typed(objects)  # expect: variance@argument mypy[arg-type] pyright[reportArgumentType] member=-


def make_calculators() -> ITypedToolProvider[Calculator]:
    return objects  # expect: variance@return mypy[return-value] pyright[reportReturnType] member=-
