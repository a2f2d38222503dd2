"""The tool registry: tools by name, discovered from installed packages.

A *tool* is an object (an instance of a class); its *operations* are what an executor may
invoke by name: the public functions of its class and of the bases from its own package, or
those marked with :func:`operation` (see :func:`resolve_operation` for the whole rule). A
property, an attribute or a method inherited from another package's base is never one, and
nothing on the tool is evaluated to find out.

``@operation`` attaches policy to an operation; an unmarked one gets the safe defaults
(not idempotent, hence never retried, and not cached)::

    class Mailer:
        @operation(idempotent=True, timeout=5.0)
        async def lookup_address(self, name: str) -> str: ...

        def send_email(self, to: str, body: str) -> None:  # never retried, never cached
            ...

    registry = ToolRegistry()
    registry.register("mailer", Mailer())

:class:`ToolRegistry` holds tools by name (:func:`validate_tool_name` says which names are
valid) and registers those that installed packages declare under the entry-point group
:data:`ENTRY_POINT_GROUP` (:meth:`ToolRegistry.discover`). :func:`operation`,
:class:`OperationPolicy`, :class:`OperationInfo`, :func:`resolve_operation` and
:func:`list_operations`, which decide what counts as an operation, are importable from here.
"""

from __future__ import annotations

import difflib
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, overload

from execproto.errors import ToolNotFoundError
from execproto.runtime._resolution import (
    OperationInfo,
    OperationPolicy,
    list_operations,
    listing,
    operation,
    resolve_operation,
)
from execproto.runtime._validation import check_instance
from execproto.runtime.schemas import OperationSchema, registry_schemas

if TYPE_CHECKING:
    # Imported by discover() on first use: reading the installed distributions' metadata
    # is not needed to build a registry.
    import importlib.metadata

__all__ = [
    "ENTRY_POINT_GROUP",
    "DiscoveryResult",
    "EntryPointFailure",
    "OperationInfo",
    "OperationPolicy",
    "ToolRegistry",
    "list_operations",
    "operation",
    "resolve_operation",
    "validate_tool_name",
]

_log = logging.getLogger(__name__)

#: The entry-point group :meth:`ToolRegistry.discover` loads tools from.
ENTRY_POINT_GROUP = "execproto.tools"

T = TypeVar("T")


def validate_tool_name(name: object) -> str:
    """Return *name* if it can name a tool: a Python identifier (the spec is ``tool.op``).

    Raises:
        TypeError: *name* is not a string.
        ValueError: *name* is empty, dotted or otherwise not an identifier.
    """
    if not isinstance(name, str):
        raise TypeError(f"a tool name must be a str, got {name!r} of type {type(name).__name__}")
    if not name.isidentifier():
        raise ValueError(
            f"a tool name must be a Python identifier (letters, digits, '_', not starting "
            f"with a digit), because operations are named 'tool.operation'; got {name!r}"
        )
    return name


@dataclass(frozen=True, slots=True)
class EntryPointFailure:
    """An entry point that could not be registered: its name, value and the error."""

    name: str
    value: str
    error: BaseException

    def __str__(self) -> str:
        return f"{self.name} = {self.value}: {type(self.error).__name__}: {self.error}"


@dataclass(frozen=True, slots=True)
class DiscoveryResult:
    """What :meth:`ToolRegistry.discover` did: names registered, entry points that failed."""

    registered: tuple[str, ...]
    failed: tuple[EntryPointFailure, ...]


class ToolRegistry:
    """A thread-safe map from tool names to tools (conforms to ``IToolProvider``).

    Names are Python identifiers. Registering a name twice is an error unless
    ``replace=True`` says it is intended. Reads never take a lock: every change publishes a
    new dictionary (copy on write), so a reader sees the registry before or after a change,
    never half of one. Tools can be registered directly, with the decorator form, from a
    mapping given to the constructor, or from installed packages (:meth:`discover`).

    Raises:
        TypeError: (constructor) *tools* is not a mapping, or one of its keys not a string.
        ValueError: (constructor) a key of *tools* is not an identifier.
    """

    def __init__(self, tools: Mapping[str, object] | None = None) -> None:
        check_instance(
            "ToolRegistry",
            "tools",
            tools,
            Mapping,
            optional=True,
            fix="pass a mapping of names to tools, e.g. ToolRegistry({'search': Search()})",
        )
        self._lock = threading.Lock()
        self._tools: dict[str, object] = {}
        # id(tool) -> (tool, smallest name it is registered as). The tool is kept beside its
        # name so that a reader holding an old map cannot mistake a new object that reused
        # a dead one's id for it.
        self._names: dict[int, tuple[object, str]] = {}
        for name, tool in (tools or {}).items():
            self.register(name, tool)

    @overload
    def register(self, name: str, tool: T, /, *, replace: bool = False) -> T: ...

    @overload
    def register(self, name: str, /, *, replace: bool = False) -> Callable[[T], T]: ...

    def register(self, name: str, tool: Any = None, /, *, replace: bool = False) -> Any:
        """Register *tool* as *name* and return it; without *tool*, return a decorator.

        The decorator registers what it decorates and returns it unchanged; applied to a
        class it registers an instance made with no arguments (register a tool that needs
        arguments directly: ``registry.register("db", Database(url))``).

        Raises:
            TypeError: *name* is not a string, or *tool* is a class (not an instance).
            ValueError: *name* is not an identifier, or is taken and *replace* is false.
        """
        validate_tool_name(name)
        if isinstance(tool, type):
            # A class has no operations (they are looked up on the type of the tool, which
            # for a class is its metaclass): registering one is always a mistake.
            raise TypeError(
                f"register({name!r}, ...) got the class {tool.__qualname__}, expected an "
                f"instance; register {tool.__qualname__}() instead, or use "
                f"@registry.register({name!r}) on the class to register an instance"
            )
        if tool is None:

            def decorator(target: T) -> T:
                instance: object = target() if isinstance(target, type) else target
                self._store(name, instance, replace=replace)
                return target

            return decorator
        self._store(name, tool, replace=replace)
        return tool

    def _store(self, name: str, tool: object, *, replace: bool) -> None:
        with self._lock:
            if not replace and name in self._tools:
                raise ValueError(
                    f"a tool is already registered as {name!r} "
                    f"({type(self._tools[name]).__name__}); pass replace=True to replace it, "
                    f"or unregister({name!r}) first"
                )
            tools = dict(self._tools)
            tools[name] = tool
            self._publish(tools)

    def _publish(self, tools: dict[str, object]) -> None:
        names: dict[int, tuple[object, str]] = {}
        for name in sorted(tools, reverse=True):
            names[id(tools[name])] = (tools[name], name)
        # Both maps are replaced, never mutated: readers hold whichever version they read.
        self._names = names
        self._tools = tools

    def unregister(self, name: str) -> object:
        """Remove the tool registered as *name* and return it.

        Raises:
            ToolNotFoundError: no tool is registered as *name*.
        """
        with self._lock:
            if name not in self._tools:
                raise ToolNotFoundError(self._missing_message(name))
            tools = dict(self._tools)
            tool = tools.pop(name)
            self._publish(tools)
        return tool

    def get_tool(self, tool_name: str) -> object:
        """Return the tool registered as *tool_name*.

        Raises:
            ToolNotFoundError: no tool is registered under that name (the message lists the
                registered names, and close matches).
        """
        try:
            return self._tools[tool_name]
        except (KeyError, TypeError):
            raise ToolNotFoundError(self._missing_message(tool_name)) from None

    def has_tool(self, tool_name: str) -> bool:
        """Return whether a tool is registered as *tool_name*."""
        try:
            return tool_name in self._tools
        except TypeError:  # an unhashable name is simply not registered
            return False

    def names(self) -> tuple[str, ...]:
        """Return the registered names, sorted."""
        return tuple(sorted(self._tools))

    def name_of(self, tool: object) -> str | None:
        """Return the name *tool* (this very object) is registered as, or ``None``.

        When the same object is registered under several names, the smallest name is
        returned, so the answer does not depend on the order of registration.
        """
        known = self._names.get(id(tool))
        return known[1] if known is not None and known[0] is tool else None

    def operations(self, tool_name: str) -> dict[str, OperationInfo]:
        """Return the operations of the tool registered as *tool_name*, by name.

        Raises:
            ToolNotFoundError: no tool is registered under that name.
        """
        return list_operations(self.get_tool(tool_name))

    def describe(self) -> dict[str, dict[str, OperationInfo]]:
        """Return every registered tool's operations: ``{tool: {operation: info}}``."""
        tools = self._tools
        return {name: list_operations(tools[name]) for name in sorted(tools)}

    def schemas(self, *, separator: str = ".") -> list[OperationSchema]:
        """Return the JSON Schema of every operation, for function calling and MCP.

        Each is named ``tool<separator>operation`` (``"__"`` suits providers that allow no
        dots) and described by the operation's docstring; see :mod:`execproto.runtime.schemas`.

        Raises:
            ValueError: two operations would get the same name with this *separator*.
        """
        return registry_schemas(self, separator=separator)

    def discover(
        self,
        *,
        group: str = ENTRY_POINT_GROUP,
        replace: bool = False,
        entry_points: Iterable[importlib.metadata.EntryPoint] | None = None,
    ) -> DiscoveryResult:
        """Register the tools that installed packages declare in the entry-point *group*.

        Each entry point's name is the tool name; its object is registered as is, or, if
        it is a class, as an instance made with no arguments. An entry point that fails
        (import error, bad name, duplicate without *replace*, constructor error) is
        reported in the result and logged; it does not stop the others. *entry_points*
        replaces the installed ones (for tests and for callers that filter them).
        """
        if entry_points is None:
            import importlib.metadata

            entry_points = importlib.metadata.entry_points(group=group)
        registered: list[str] = []
        failed: list[EntryPointFailure] = []
        for entry in entry_points:
            try:
                loaded: object = entry.load()
                tool: object = loaded() if isinstance(loaded, type) else loaded
                self.register(entry.name, tool, replace=replace)
            except Exception as err:
                failure = EntryPointFailure(entry.name, entry.value, err)
                _log.warning("cannot register tool from entry point %s", failure)
                failed.append(failure)
            else:
                registered.append(entry.name)
        return DiscoveryResult(tuple(registered), tuple(failed))

    def __getstate__(self) -> dict[str, object]:
        """Return the registered tools, for :mod:`pickle` (the lock is made anew).

        A registry pickles when its tools do; the copy registers the copies of the tools
        under the same names.
        """
        return {"tools": dict(self._tools)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Rebuild the registry from :meth:`__getstate__`'s tools."""
        tools: dict[str, object] = state["tools"]
        self._lock = threading.Lock()
        self._tools = {}
        self._names = {}
        self._publish(dict(tools))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.has_tool(name)

    def __len__(self) -> int:
        return len(self._tools)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({listing(list(self.names()))})"

    def _missing_message(self, name: object) -> str:
        names = list(self.names())
        if not isinstance(name, str):
            problem = f"a tool name must be a str, got {name!r} of type {type(name).__name__}"
        else:
            problem = f"no tool is registered as {name!r}"
            close = difflib.get_close_matches(name, names, n=3)
            if close:
                problem += f" (did you mean {', '.join(map(repr, close))}?)"
        known = f"registered tools: {listing(names)}" if names else "no tools are registered"
        return f"{problem}; {known}; register it with registry.register(name, tool)"
