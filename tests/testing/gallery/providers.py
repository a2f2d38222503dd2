"""Broken tool providers, each failing the :class:`ToolProviderContract` checks it names."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from examples.contract_example import DictToolProvider

from execproto.testing import ToolProviderContract
from tests.testing.gallery._exhibit import Exhibit, exhibit


class ProviderSuite(ToolProviderContract):
    """Builds ``implementation(tools)``; tools come and go with ``register``/``unregister``."""

    implementation: ClassVar[Callable[[Mapping[str, Any]], Any]] = DictToolProvider

    def make_provider(self, tools: Mapping[str, Any]) -> Any:
        return self.implementation(tools)

    def register_tool(self, provider: Any, name: str, tool: Any) -> None:
        provider.register(name, tool)

    def unregister_tool(self, provider: Any, name: str) -> None:
        provider.unregister(name)


class LateBindingFactories(DictToolProvider):
    """Makes each tool lazily from a factory, and every factory closes over the same loop
    variable: all names give the tool registered last."""

    def __init__(self, tools: Mapping[str, Any] | None = None) -> None:
        super().__init__(tools)
        self._factories = {name: (lambda: tool) for name, tool in (tools or {}).items()}  # noqa: B023

    def unregister(self, name: str) -> None:
        super().unregister(name)
        self._factories.pop(name, None)

    def get_tool(self, tool_name: str) -> Any:
        if tool_name in self._factories:
            return self._factories[tool_name]()
        return super().get_tool(tool_name)


class ResolvesSpecs(DictToolProvider):
    """Accepts ``"calc.add"`` for ``"calc"``, as if it were handed an operation spec."""

    def get_tool(self, tool_name: str) -> Any:
        return super().get_tool(tool_name.split(".")[0])

    def has_tool(self, tool_name: str) -> bool:
        return super().has_tool(tool_name.split(".")[0])


class FindsItsOwnMembers(DictToolProvider):
    """Falls back to ``getattr(self, name)``: its own methods and dunders are "tools"."""

    def get_tool(self, tool_name: str) -> Any:
        if self.has_tool(tool_name):
            return self._tools.get(tool_name) or getattr(self, tool_name)
        raise LookupError(tool_name)

    def has_tool(self, tool_name: str) -> bool:
        return tool_name in self._tools or (bool(tool_name) and hasattr(self, tool_name))


class ReturnsNoneForUnknownNames(DictToolProvider):
    """``get_tool`` returns ``None`` for a name it does not know instead of raising."""

    def get_tool(self, tool_name: str) -> Any:
        return self._tools.get(tool_name)


class RaisesValueErrorForUnknownNames(DictToolProvider):
    """The seed's sketch: ``get_tool`` raises :class:`ValueError` for an unknown name."""

    def get_tool(self, tool_name: str) -> Any:
        if tool_name not in self._tools:
            raise ValueError(f"Tool '{tool_name}' not found")
        return self._tools[tool_name]


class PrefixMatchingHasTool(DictToolProvider):
    """``has_tool`` completes prefixes ("autocomplete"); ``get_tool`` does not."""

    def has_tool(self, tool_name: str) -> bool:
        return bool(tool_name) and any(name.startswith(tool_name) for name in self._tools)


class CaseFoldingHasTool(DictToolProvider):
    """``has_tool`` ignores case; ``get_tool`` does not."""

    def has_tool(self, tool_name: str) -> bool:
        return tool_name.lower() in {name.lower() for name in self._tools}


class ChecksToolStatus(DictToolProvider):
    """Reads the tool's ``status`` on every lookup, evaluating a property of the tool."""

    def get_tool(self, tool_name: str) -> Any:
        tool = super().get_tool(tool_name)
        if getattr(tool, "status", "ready") != "ready":
            raise LookupError(f"tool {tool_name!r} is not ready")
        return tool


class ForgetsTheIndexOnRegister(DictToolProvider):
    """Keeps a name index for ``has_tool`` that ``register`` forgets to update."""

    def __init__(self, tools: Mapping[str, Any] | None = None) -> None:
        super().__init__(tools)
        self._names = set(self._tools)

    def has_tool(self, tool_name: str) -> bool:
        return tool_name in self._names

    def unregister(self, name: str) -> None:
        super().unregister(name)
        self._names.discard(name)


class ForgetsUnregister(DictToolProvider):
    """``unregister`` does nothing."""

    def unregister(self, name: str) -> None:
        pass


class IteratesWhileTheyChange(DictToolProvider):
    """Looks names up by iterating its dict, which ``register`` changes in place, unlocked:
    a lookup in one thread while another registers raises ``RuntimeError``."""

    def register(self, name: str, tool: Any) -> None:
        self._tools[name] = tool

    def unregister(self, name: str) -> None:
        self._tools.pop(name, None)

    def get_tool(self, tool_name: str) -> Any:
        for name, tool in self._tools.items():
            if name == tool_name:
                return tool
        raise LookupError(tool_name)

    def has_tool(self, tool_name: str) -> bool:
        return any(name == tool_name for name in self._tools)


EXHIBITS: list[Exhibit] = [
    exhibit(ProviderSuite, DictToolProvider, why="correct: the baseline"),
    exhibit(
        ProviderSuite,
        LateBindingFactories,
        "test_each_registered_tool_is_found_under_its_name",
        why="every name gives the tool registered last",
    ),
    exhibit(
        ProviderSuite,
        ResolvesSpecs,
        "test_has_tool_is_false_for_a_name_never_registered",
        "test_get_tool_raises_lookup_error_for_an_unknown_name",
        why="'calc.add' finds 'calc'",
    ),
    exhibit(
        ProviderSuite,
        FindsItsOwnMembers,
        "test_the_providers_own_members_are_not_tools",
        why="its own members are tools",
    ),
    exhibit(
        ProviderSuite,
        ReturnsNoneForUnknownNames,
        "test_get_tool_raises_lookup_error_for_an_unknown_name",
        why="None for an unknown name",
    ),
    exhibit(
        ProviderSuite,
        RaisesValueErrorForUnknownNames,
        "test_get_tool_raises_lookup_error_for_an_unknown_name",
        why="the seed's sketch raises ValueError for an unknown name",
    ),
    exhibit(
        ProviderSuite,
        RaisesValueErrorForUnknownNames,
        why="the seed document names no exception: the seed profile accepts the sketch",
        label="seed",
        profile="seed",
    ),
    exhibit(
        ProviderSuite,
        PrefixMatchingHasTool,
        "test_has_tool_agrees_with_get_tool",
        why="has_tool finds prefixes of registered names",
    ),
    exhibit(
        ProviderSuite,
        CaseFoldingHasTool,
        "test_has_tool_is_false_for_a_name_never_registered",
        "test_has_tool_agrees_with_get_tool",
        why="has_tool ignores case",
    ),
    exhibit(
        ProviderSuite,
        ChecksToolStatus,
        "test_looking_a_tool_up_does_not_touch_it",
        why="a lookup reads a property of the tool",
    ),
    exhibit(
        ProviderSuite,
        ForgetsTheIndexOnRegister,
        "test_a_tool_registered_later_is_found",
        why="has_tool does not see a tool registered later",
    ),
    exhibit(
        ProviderSuite,
        ForgetsUnregister,
        "test_an_unregistered_tool_is_no_longer_found",
        why="unregister does nothing",
    ),
    exhibit(
        ProviderSuite,
        IteratesWhileTheyChange,
        "test_lookups_are_safe_while_tools_change_in_other_threads",
        why="lookups iterate a dict that registering changes, unlocked",
    ),
]
