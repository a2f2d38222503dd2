"""Conforming tool providers: ``IToolProvider`` and ``ITypedToolProvider[T_co]``."""

from __future__ import annotations

from typing import Any

from typing_extensions import assert_type

from execproto.protocols import IToolProvider
from execproto.typed import ITypedToolProvider


class Calculator:
    def add(self, a: int, b: int) -> int:
        return a + b


class ScientificCalculator(Calculator):
    pass


class DictProvider:
    """Third-party style: never imports a base class."""

    def __init__(self) -> None:
        self._tools: dict[str, Any] = {}

    def get_tool(self, tool_name: str) -> Any:
        return self._tools[tool_name]

    def has_tool(self, tool_name: str) -> bool:
        return tool_name in self._tools


class ScientificProvider:
    """Typed: provides scientific calculators, so also calculators (T_co)."""

    def get_tool(self, tool_name: str) -> ScientificCalculator:
        return ScientificCalculator()

    def has_tool(self, tool_name: str) -> bool:
        return tool_name == "scientific"


class KeywordOptionalProvider:
    """Wider than the protocol: an extra parameter with a default is fine."""

    def get_tool(self, tool_name: str, version: str = "latest") -> Any:
        return f"{tool_name}@{version}"

    def has_tool(self, tool_name: str, *, include_disabled: bool = False) -> bool:
        return include_disabled


class SubclassProvider(IToolProvider):
    def get_tool(self, tool_name: str) -> Any:
        raise LookupError(tool_name)

    def has_tool(self, tool_name: str) -> bool:
        return False


class TypedSubclassProvider(ITypedToolProvider[Calculator]):
    def get_tool(self, tool_name: str) -> Calculator:
        return Calculator()

    def has_tool(self, tool_name: str) -> bool:
        return True


dict_provider: IToolProvider = DictProvider()
optional_extras: IToolProvider = KeywordOptionalProvider()
subclass: IToolProvider = SubclassProvider()
scientific: ITypedToolProvider[ScientificCalculator] = ScientificProvider()
calculators: ITypedToolProvider[Calculator] = scientific
objects: ITypedToolProvider[object] = TypedSubclassProvider()
untyped_view: IToolProvider = ScientificProvider()


def add_with(provider: ITypedToolProvider[Calculator]) -> int:
    tool = provider.get_tool("calculator")
    assert_type(tool, Calculator)
    return tool.add(1, 2)


def make_provider() -> IToolProvider:
    return DictProvider()


def make_typed_provider() -> ITypedToolProvider[Calculator]:
    return ScientificProvider()


add_with(ScientificProvider())
add_with(TypedSubclassProvider())
providers: list[IToolProvider] = [DictProvider(), SubclassProvider(), make_provider()]
typed_providers: tuple[ITypedToolProvider[Calculator], ...] = (
    ScientificProvider(),
    make_typed_provider(),
)
