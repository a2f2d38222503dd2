"""The tool registry, the ``@operation`` marker, and what counts as an operation of a tool.

A *tool* is an object (an instance of a class); its *operations* are what an executor may
invoke by name. Only these are operations:

* functions (including ``staticmethod`` and ``classmethod`` wrappers of functions, sync or
  async) defined on the tool's class, or on one of its bases that comes from the same
  top-level package as the tool's class (``myapp.tools.Search`` may inherit operations from
  ``myapp.base.Tool``), or marked with :func:`operation` wherever they are defined;
* whose name does not start with ``_``.

A base class from another package contributes nothing unmarked: a tool that subclasses
``pydantic.BaseModel`` does not expose ``parse_file`` or ``model_validate``, nor a
``threading.Thread`` subclass ``start`` or ``join``; a plan (perhaps written by a language
model) can only call what the tool's author wrote. To expose such a method, override it on
the tool's class (``@operation`` optional there: the class is the tool's own). Marking
with ``@operation`` does not make the unmarked functions of the tool's own classes stop
being operations: both count.

Everything else is refused, whatever its name: properties and other descriptors, data and
class attributes, callables stored as attributes (a ``functools.partial``, a nested class),
C-level methods, and attributes set on the instance. The lookup reads the class
dictionaries along the MRO (never ``getattr`` on the tool), so nothing runs just because a
name was asked for: a property that would raise, record or fetch is never evaluated.
An instance attribute that shadows a method does not replace it: the class's function is
the operation.

``@operation`` attaches policy to an operation; an unmarked one gets the safe defaults
(not idempotent, hence never retried, and not cached)::

    class Mailer:
        @operation(idempotent=True, timeout=5.0)
        async def lookup_address(self, name: str) -> str: ...

        def send_email(self, to: str, body: str) -> None:  # never retried, never cached
            ...

    registry = ToolRegistry()
    registry.register("mailer", Mailer())
"""

from __future__ import annotations

import difflib
import importlib.metadata
import inspect
import logging
import math
import threading
import types
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, cast, overload

from typing_extensions import ParamSpec

from execproto.errors import OperationNotFoundError, ToolNotFoundError

if TYPE_CHECKING:
    # schemas imports this module; the method below imports it on first use.
    from execproto.runtime.schemas import OperationSchema

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

# How many names an error message lists before it says "and N more": an error must stay
# readable with a registry of thousands of tools.
_MAX_LISTED = 20

_MARK = "__execproto_operation__"

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class OperationPolicy:
    """How an executor may treat an operation: retries, caching, timeout.

    ``idempotent``: running the operation twice has the effect of running it once; only
    idempotent operations are retried. ``cacheable``: its result may be served from a
    cache; ``None`` means "cacheable exactly when idempotent". ``timeout``: seconds per
    attempt, ``None`` for the executor's default.

    Raises:
        TypeError: a flag is not a bool.
        ValueError: *timeout* is not a finite number of seconds > 0.
    """

    idempotent: bool = False
    cacheable: bool | None = None
    timeout: float | None = None

    def __post_init__(self) -> None:
        # Declared bools, but callers without a type checker pass anything.
        idempotent = cast(object, self.idempotent)
        cacheable = cast(object, self.cacheable)
        if not isinstance(idempotent, bool):
            raise TypeError(
                f"idempotent must be a bool, got {self.idempotent!r} of type "
                f"{type(self.idempotent).__name__}"
            )
        if cacheable is not None and not isinstance(cacheable, bool):
            raise TypeError(
                f"cacheable must be a bool or None, got {self.cacheable!r} of type "
                f"{type(self.cacheable).__name__}"
            )
        _check_timeout(self.timeout)

    @property
    def caches(self) -> bool:
        """Whether results may be cached: ``cacheable`` if given, else ``idempotent``."""
        return self.idempotent if self.cacheable is None else self.cacheable


def _check_timeout(timeout: object) -> None:
    if timeout is None:
        return
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(
            f"timeout must be a number of seconds or None, got {timeout!r} of type "
            f"{type(timeout).__name__}"
        )
    if not (math.isfinite(timeout) and timeout > 0):
        raise ValueError(f"timeout must be a finite number of seconds > 0, got {timeout!r}")


# An unmarked operation: never retried, never cached. A ``send_email`` must never be sent
# twice or answered from a cache, and the executor cannot know which operations are like it.
_DEFAULT_POLICY = OperationPolicy()


@overload
def operation(func: Callable[P, R], /) -> Callable[P, R]: ...


@overload
def operation(
    *,
    idempotent: bool = False,
    cacheable: bool | None = None,
    timeout: float | None = None,
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...


def operation(
    func: Callable[..., Any] | None = None,
    /,
    *,
    idempotent: bool = False,
    cacheable: bool | None = None,
    timeout: float | None = None,
) -> Any:
    """Mark a method as an operation and attach its policy; bare or with arguments.

    ``@operation`` alone states the defaults explicitly: not idempotent (never retried),
    not cached. ``cacheable`` defaults to the value of ``idempotent``; pass
    ``cacheable=False`` for an idempotent operation whose result goes stale (a clock), or
    ``cacheable=True`` for one that is safe to cache but not to retry. ``timeout`` is in
    seconds per attempt and overrides the executor's default.

    The function is returned unchanged (same object, same signature for type checkers), so
    it works on sync and async methods, and under ``staticmethod``/``classmethod`` either
    way round. A name starting with ``_`` is never an operation, marked or not.

    Raises:
        TypeError: a flag is not a bool, or the decorated object is not a function.
        ValueError: *timeout* is not a finite number of seconds > 0.
    """
    policy = OperationPolicy(idempotent=idempotent, cacheable=cacheable, timeout=timeout)

    def mark(target: Callable[P, R]) -> Callable[P, R]:
        function, _ = _unwrap(target)
        if not inspect.isfunction(function):
            raise TypeError(
                f"@operation expects a function or method, got {target!r} of type "
                f"{type(target).__name__}; apply it to a 'def' or 'async def' in a class body"
            )
        setattr(function, _MARK, policy)
        return target

    if func is not None:
        return mark(func)
    return mark


class OperationInfo:
    """What an executor needs to know about one operation of a tool class.

    ``signature`` is the signature of the bound operation (without ``self``/``cls``);
    ``is_async`` whether calling it returns a coroutine; ``policy`` its
    :class:`OperationPolicy` (the defaults when it is not marked with :func:`operation`);
    ``marked`` whether it was; ``owner`` the class that defines it; ``function`` the plain
    function (under any ``staticmethod``/``classmethod``); ``binding`` how it binds
    (``"method"``, ``"static"`` or ``"class"``); ``summary`` the first line of its
    docstring.

    An ``OperationInfo`` does not keep its class alive: ``owner`` and ``function`` are
    held through weak references, so that resolving operations of classes made at run time
    (one per connection, say) does not keep every such class forever. Hold the tool (or its
    class) for as long as you use its ``OperationInfo``.

    Raises:
        ReferenceError: (``owner``, ``function``, :meth:`bind`) the class, or the function
            (replaced on the class since), no longer exists.
    """

    __slots__ = (
        "_function",
        "_owner",
        "binding",
        "is_async",
        "marked",
        "name",
        "policy",
        "signature",
        "summary",
    )

    name: str
    signature: inspect.Signature
    is_async: bool
    policy: OperationPolicy
    marked: bool
    summary: str
    binding: str
    _owner: weakref.ref[type]
    _function: weakref.ref[Callable[..., Any]]

    def __init__(
        self,
        *,
        name: str,
        owner: type,
        signature: inspect.Signature,
        is_async: bool,
        policy: OperationPolicy,
        marked: bool,
        summary: str,
        function: Callable[..., Any],
        binding: str,
    ) -> None:
        fields: dict[str, object] = {
            "name": name,
            "signature": signature,
            "is_async": is_async,
            "policy": policy,
            "marked": marked,
            "summary": summary,
            "binding": binding,
            "_owner": weakref.ref(owner),
            "_function": weakref.ref(function),
        }
        for field_name, value in fields.items():
            object.__setattr__(self, field_name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"OperationInfo is immutable; cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"OperationInfo is immutable; cannot delete {name!r}")

    @property
    def owner(self) -> type:
        """The class that defines the operation."""
        return _alive(self._owner, self.name)

    @property
    def function(self) -> Callable[..., Any]:
        """The operation's plain function (unbound, unwrapped)."""
        return _alive(self._function, self.name)

    @property
    def alive(self) -> bool:
        """Whether the class and the function this describes still exist."""
        return self._owner() is not None and self._function() is not None

    def bind(self, tool: object) -> Callable[..., Any]:
        """Return the operation bound to *tool*, without looking anything up on *tool*.

        Raises:
            ReferenceError: the function no longer exists.
        """
        function = self.function
        if self.binding == "method":
            return types.MethodType(function, tool)
        if self.binding == "class":
            return types.MethodType(function, type(tool))
        return function

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, OperationInfo):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash((self.name, self.binding, self._function))

    def _key(self) -> tuple[object, ...]:
        return (
            self.name,
            self.signature,
            self.is_async,
            self.policy,
            self.marked,
            self.summary,
            self.binding,
            self._owner,
            self._function,
        )

    def __repr__(self) -> str:
        owner = self._owner()
        where = "<collected>" if owner is None else _class_path(owner)
        return (
            f"OperationInfo(name={self.name!r}, owner={where}, signature={self.signature}, "
            f"is_async={self.is_async!r}, policy={self.policy!r}, marked={self.marked!r}, "
            f"binding={self.binding!r})"
        )


def _alive(reference: weakref.ref[T], name: str) -> T:
    value = reference()
    if value is None:
        raise ReferenceError(
            f"the class or function of operation {name!r} no longer exists; keep the tool "
            f"alive while using its OperationInfo, and resolve the operation again"
        )
    return value


# Per class, the operations already resolved. Only successes are stored, so the cache is
# bounded by the number of functions the classes define, whatever names callers ask for.
# The keys are weak and an OperationInfo refers to its class and function only weakly, so
# nothing here keeps a class alive: a class made per connection goes when it is no longer
# used (a strong reference from the info would be one the weak key can never outlive).
_cache: weakref.WeakKeyDictionary[type, dict[str, OperationInfo]] = weakref.WeakKeyDictionary()
_cache_lock = threading.Lock()

# A class's module without running anything a metaclass may define for ``__module__``.
_module_of: Callable[[type], object] = type.__dict__["__module__"].__get__


def _package_of(cls: type) -> str:
    """Return the top-level package of the module that defines *cls* (``""`` if unknown)."""
    module = _module_of(cls)
    return module.partition(".")[0] if isinstance(module, str) else ""


def _contributes(klass: type, package: str, function: types.FunctionType) -> bool:
    """Whether *function*, found in *klass* along the tool's MRO, may be an operation.

    It may when it is marked with @operation, or when *klass* comes from the same
    top-level package as the tool's own class: a third party's base (pydantic's BaseModel,
    threading.Thread) would otherwise expose its methods (parse_file, start) by name.
    """
    return _MARK in function.__dict__ or _package_of(klass) == package


def _lookup(cls: type, name: str) -> OperationInfo | None:
    package = _package_of(cls)
    for klass in cls.__mro__:
        if klass is object:
            return None
        # ``vars`` of a class is its mappingproxy: reading it runs no descriptor.
        if name not in vars(klass):
            continue
        attr, binding = _unwrap(vars(klass)[name])
        # The first definition along the MRO wins, as for normal attribute lookup: a
        # property overriding a base-class method is not an operation, and neither is a
        # foreign base's method (an override in the tool's own package would come first).
        if not inspect.isfunction(attr) or not _contributes(klass, package, attr):
            return None
        return _describe(klass, name, attr, binding)
    return None


def _foreign_owner(cls: type, name: str) -> type | None:
    """Return the foreign base whose unmarked function *name* is, for the error message."""
    package = _package_of(cls)
    for klass in cls.__mro__:
        if klass is object or name not in vars(klass):
            continue
        attr, _ = _unwrap(vars(klass)[name])
        if inspect.isfunction(attr) and not _contributes(klass, package, attr):
            return klass
        return None
    return None


def _unwrap(attr: object) -> tuple[object, str]:
    """Return the function under a static/class method wrapper, and how it binds."""
    if isinstance(attr, staticmethod):
        return cast(object, attr.__func__), "static"  # pyright: ignore[reportUnknownMemberType]
    if isinstance(attr, classmethod):
        return cast(object, attr.__func__), "class"  # pyright: ignore[reportUnknownMemberType]
    return attr, "method"


def _describe(owner: type, name: str, function: types.FunctionType, binding: str) -> OperationInfo:
    marked_policy: object = function.__dict__.get(_MARK)
    policy = marked_policy if isinstance(marked_policy, OperationPolicy) else _DEFAULT_POLICY
    signature = inspect.signature(function)
    if binding != "static":
        params = list(signature.parameters.values())
        signature = signature.replace(parameters=params[1:])
    doc = inspect.getdoc(function) or ""
    return OperationInfo(
        name=name,
        owner=owner,
        signature=signature,
        is_async=inspect.iscoroutinefunction(function),
        policy=policy,
        marked=isinstance(marked_policy, OperationPolicy),
        summary=doc.strip().splitlines()[0] if doc.strip() else "",
        function=function,
        binding=binding,
    )


def _operation_info(cls: type, name: str) -> OperationInfo | None:
    known = _cache.get(cls)
    if known is not None:
        info = known.get(name) if isinstance(name, str) else None  # pyright: ignore[reportUnnecessaryIsInstance]
        # A dead function was replaced on the class (and collected) since it was resolved.
        if info is not None and info.alive:
            return info
    if not isinstance(name, str) or not name.isidentifier() or name.startswith("_"):  # pyright: ignore[reportUnnecessaryIsInstance]
        return None
    info = _lookup(cls, name)
    if info is not None:
        with _cache_lock:
            _cache.setdefault(cls, {})[name] = info
    return info


def list_operations(tool: object) -> dict[str, OperationInfo]:
    """Return every operation of *tool*, by name, sorted by name.

    Nothing on *tool* is evaluated: only the class dictionaries along its MRO are read.
    What counts as an operation is decided as in :func:`resolve_operation`.
    """
    cls = type(tool)
    names = {
        name
        for klass in cls.__mro__
        if klass is not object
        for name in vars(klass)
        if isinstance(name, str) and not name.startswith("_")  # pyright: ignore[reportUnnecessaryIsInstance]
    }
    found: dict[str, OperationInfo] = {}
    for name in sorted(names):
        info = _operation_info(cls, name)
        if info is not None:
            found[name] = info
    return found


def resolve_operation(
    tool: object, operation_name: str, *, tool_label: str | None = None
) -> tuple[Callable[..., Any], OperationInfo]:
    """Return *tool*'s operation *operation_name*, bound to *tool*, and its description.

    This is the one place that decides what may be invoked. An operation is a function
    (plain, static or class method, sync or async) whose name does not start with ``_``,
    found first along the tool's MRO (``object`` excepted) in a class dictionary, and that
    is either marked with :func:`operation` or defined in a class from the same top-level
    package as the tool's class; a function inherited unmarked from another package's base
    (``pydantic.BaseModel.parse_file``, ``threading.Thread.start``) is refused, and so is
    everything that is not a function (see the module docstring). Unmarked functions of the
    tool's own classes count even when others are marked. Results are cached per (class,
    name), so a method replaced on a class after its first resolution is not seen while
    the old function lives. *tool_label* names the tool in error messages
    (its registered name, when the caller knows it).

    Raises:
        OperationNotFoundError: *operation_name* is not a string, starts with ``_``, or is
            not an operation of *tool* (the message lists the operations it has, and says
            when the name is inherited from a base of another package).
    """
    cls = type(tool)
    info = _operation_info(cls, operation_name)
    if info is None:
        raise OperationNotFoundError(
            _not_found_message(tool, operation_name, tool_label=tool_label)
        ) from None
    return info.bind(tool), info


def _not_found_message(tool: object, operation_name: object, *, tool_label: str | None) -> str:
    label = tool_label if tool_label is not None else _class_path(type(tool))
    available = list(list_operations(tool))
    if not isinstance(operation_name, str):
        problem = (
            f"operation name must be a str, got {operation_name!r} of type "
            f"{type(operation_name).__name__}"
        )
    elif operation_name.startswith("_"):
        problem = f"{operation_name!r} is private (names starting with '_' are never operations)"
    elif (foreign := _foreign_owner(type(tool), operation_name)) is not None:
        problem = (
            f"{operation_name!r} is inherited from {_class_path(foreign)}, which is not part "
            f"of the tool (only classes of the tool's own package {_package_of(type(tool))!r} "
            f"contribute operations); define an override on the tool's class, marked with "
            f"@operation, to expose it"
        )
    elif (kind := _attribute_kind(type(tool), operation_name)) is not None:
        problem = f"{label}.{operation_name} is a {kind}, not an operation"
    else:
        problem = f"{label} has no operation {operation_name!r}"
        close = difflib.get_close_matches(operation_name, available, n=3)
        if close:
            problem += f" (did you mean {', '.join(map(repr, close))}?)"
    if available:
        hint = f"operations of {label}: {_bounded(available)}"
    else:
        hint = (
            f"{label} has no operations; an operation is a public function defined on the "
            f"tool's class or a base class of its package, or marked with @operation (not a "
            f"property, attribute or instance attribute)"
        )
    return f"{problem}; {hint}"


def _attribute_kind(cls: type, name: str) -> str | None:
    for klass in cls.__mro__:
        if klass is not object and name in vars(klass):
            return type(vars(klass)[name]).__name__
    return None


def _bounded(names: list[str]) -> str:
    shown = ", ".join(names[:_MAX_LISTED])
    if len(names) > _MAX_LISTED:
        shown += f", ... and {len(names) - _MAX_LISTED} more"
    return shown


def _class_path(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


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
        TypeError: (constructor) a key of *tools* is not a string.
        ValueError: (constructor) a key of *tools* is not an identifier.
    """

    def __init__(self, tools: Mapping[str, object] | None = None) -> None:
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
        from execproto.runtime.schemas import registry_schemas

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
        return f"{type(self).__name__}({_bounded(list(self.names()))})"

    def _missing_message(self, name: object) -> str:
        names = list(self.names())
        if not isinstance(name, str):
            problem = f"a tool name must be a str, got {name!r} of type {type(name).__name__}"
        else:
            problem = f"no tool is registered as {name!r}"
            close = difflib.get_close_matches(name, names, n=3)
            if close:
                problem += f" (did you mean {', '.join(map(repr, close))}?)"
        known = f"registered tools: {_bounded(names)}" if names else "no tools are registered"
        return f"{problem}; {known}; register it with registry.register(name, tool)"
