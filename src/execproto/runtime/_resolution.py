"""What counts as an operation of a tool: ``@operation``, its policy, and the lookup.

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

:func:`resolve_operation` is the one place that applies this rule; :func:`list_operations`
lists what it accepts. What they find is cached per class and name, held weakly so that
classes made at run time are collected once unused.

The names are public here and re-exported by :mod:`execproto.runtime.registry`, where users
import them from.
"""

from __future__ import annotations

import difflib
import inspect
import threading
import types
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast, overload

from typing_extensions import ParamSpec

from execproto.errors import OperationNotFoundError
from execproto.runtime._validation import check_bool, check_seconds

__all__ = [
    "OperationInfo",
    "OperationPolicy",
    "list_operations",
    "listing",
    "operation",
    "resolve_operation",
]

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
        TypeError: a flag is not a bool, or *timeout* not a number.
        ValueError: *timeout* is not a finite number of seconds > 0.
    """

    idempotent: bool = False
    cacheable: bool | None = None
    timeout: float | None = None

    def __post_init__(self) -> None:
        _check_policy("OperationPolicy", self.idempotent, self.cacheable, self.timeout)

    @property
    def caches(self) -> bool:
        """Whether results may be cached: ``cacheable`` if given, else ``idempotent``."""
        return self.idempotent if self.cacheable is None else self.cacheable


def _check_policy(owner: str, idempotent: object, cacheable: object, timeout: object) -> None:
    # Declared bools and seconds, but callers without a type checker pass anything.
    check_bool(owner, "idempotent", idempotent)
    check_bool(owner, "cacheable", cacheable, optional=True)
    check_seconds(
        owner, "timeout", timeout, fix="e.g. timeout=30, or timeout=None for the executor's default"
    )


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
        TypeError: a flag is not a bool, *timeout* not a number, or the decorated object is
            not a function.
        ValueError: *timeout* is not a finite number of seconds > 0.
    """
    _check_policy("@operation", idempotent, cacheable, timeout)
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
        hint = f"operations of {label}: {listing(available)}"
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


def listing(names: list[str]) -> str:
    """Return *names* joined by commas for an error message, at most 20 of them."""
    shown = ", ".join(names[:_MAX_LISTED])
    if len(names) > _MAX_LISTED:
        shown += f", ... and {len(names) - _MAX_LISTED} more"
    return shown


def _class_path(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"
