"""Finding members: on an implementation as attribute access would, and what a protocol asks.

:func:`lookup` resolves one name on a class or an instance without running descriptors or
properties; :func:`spec_of` reads a (possibly subscripted) protocol once into a
:class:`ProtocolSpec`, with its type arguments substituted in the annotations. The display
names used in reports are made here too.
"""

from __future__ import annotations

import functools
import inspect
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import typing_extensions

from execproto._versions import protocol_version

__all__ = [
    "CallableMember",
    "DataMember",
    "ProtocolSpec",
    "display_name",
    "has_instance_dict",
    "lookup",
    "spec_of",
    "type_repr",
]

_EMPTY = inspect.Parameter.empty


@dataclass(frozen=True)
class CallableMember:
    """A member that can be called: what is called, and the signature a caller sees."""

    target: Any
    signature: inspect.Signature | None
    is_async: bool
    hints: Mapping[str, Any]
    drops_self: bool


@dataclass(frozen=True)
class DataMember:
    """A member found that is not a method: a property, a data attribute, an annotation."""

    description: str


_Found = CallableMember | DataMember | None


def display_name(value: object) -> str:
    """The name a report gives a class, a subscripted generic, or an instance."""
    if isinstance(value, type):
        return f"{value.__module__}.{value.__qualname__}"
    origin = typing.get_origin(value)
    if isinstance(origin, type):
        return type_repr(value)
    return f"{type(value).__module__}.{type(value).__qualname__} instance"


def type_repr(annotation: object) -> str:
    """An annotation as a report shows it: builtins bare, ``typing.`` prefixes dropped."""
    if annotation is type(None):
        return "None"
    if isinstance(annotation, type) and not typing.get_args(annotation):
        if annotation.__module__ == "builtins":
            return annotation.__qualname__
        return f"{annotation.__module__}.{annotation.__qualname__}"
    return repr(annotation).replace("typing.", "").replace("typing_extensions.", "")


def _is_async_callable(target: object) -> bool:
    while isinstance(target, functools.partial):
        target = typing.cast("functools.partial[object]", target).func
    if inspect.iscoroutinefunction(target):
        return True
    call = getattr(type(target), "__call__", None)  # noqa: B004 - the type's, not the object's
    if not isinstance(target, (types.FunctionType, types.MethodType)) and call is not None:
        return inspect.iscoroutinefunction(call)
    return False


def _hints(target: object) -> Mapping[str, Any]:
    function = target
    if not isinstance(target, (types.FunctionType, types.MethodType)):
        function = getattr(type(target), "__call__", target)  # noqa: B004
    try:
        # typing_extensions' version does not add Optional[...] for None defaults on 3.10.
        return typing_extensions.get_type_hints(function)
    except Exception:
        # An annotation that cannot be resolved (a name imported only under TYPE_CHECKING,
        # a typo) is treated as absent: annotations are compared only where both sides are
        # readable, and the checkers report the broken annotation themselves.
        return {}


def _callable_member(target: object, drops_self: bool) -> CallableMember:
    try:
        signature: inspect.Signature | None = inspect.signature(target)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        # Some builtins have no introspectable signature; their calls cannot be checked.
        signature = None
    return CallableMember(target, signature, _is_async_callable(target), _hints(target), drops_self)


def has_instance_dict(cls: type) -> bool:
    """Whether instances of *cls* have a ``__dict__``, where attributes may shadow methods."""
    return cls.__dictoffset__ != 0


def _is_data_descriptor(value: object) -> bool:
    return hasattr(type(value), "__set__") or hasattr(type(value), "__delete__")


def _declares_annotation(cls: type, name: str) -> bool:
    return any(name in getattr(klass, "__annotations__", {}) for klass in cls.__mro__)


def lookup(subject: object, is_type: bool, name: str) -> _Found:
    """Find *name* on *subject* the way attribute access would, without running descriptors."""
    cls = subject if is_type else type(subject)
    assert isinstance(cls, type)
    static: object = inspect.getattr_static(cls, name, _EMPTY)
    if not is_type and has_instance_dict(cls) and not _is_data_descriptor(static):
        instance_dict: dict[str, Any] = object.__getattribute__(subject, "__dict__")
        if name in instance_dict:
            value: object = instance_dict[name]
            if callable(value):
                return _callable_member(value, drops_self=False)
            return DataMember(f"an instance attribute of type {type_repr(type(value))}")
    if static is _EMPTY:
        if _declares_annotation(cls, name):
            return DataMember("an annotated attribute")
        return None
    if isinstance(static, (staticmethod, classmethod)):
        # Both wrappers keep the function in __func__; its own type is unknown here.
        function: object = typing.cast("staticmethod[..., object]", static).__func__
        return _callable_member(function, drops_self=isinstance(static, classmethod))
    if isinstance(static, types.FunctionType):
        return _callable_member(static, drops_self=True)
    if isinstance(static, property):
        return DataMember("a property")
    if _is_data_descriptor(static):
        return DataMember(f"a data descriptor of type {type_repr(type(static))}")
    if callable(static):
        # A callable stored on the class: a bound-on-access descriptor (builtin method) gets
        # self; an object without __get__ (functools.partial, a callable instance) does not.
        return _callable_member(static, drops_self=hasattr(type(static), "__get__"))
    if hasattr(type(static), "__get__"):
        bound = getattr(cls, name)
        if callable(bound):
            return _callable_member(bound, drops_self=True)
    return DataMember(f"an attribute of type {type_repr(type(static))}")


@dataclass(frozen=True)
class ProtocolSpec:
    """What a protocol asks for, precomputed once per (possibly subscripted) protocol."""

    name: str
    origin: type
    methods: Mapping[str, CallableMember]
    data: frozenset[str]
    members: frozenset[str]
    version: str | None


_SPECS: dict[object, ProtocolSpec] = {}


def _substitute(annotation: object, mapping: Mapping[object, object]) -> object:
    if not mapping:
        return annotation
    if isinstance(annotation, TypeVar):
        return mapping.get(annotation, annotation)
    parameters = getattr(annotation, "__parameters__", ())
    if parameters:
        try:
            return annotation[tuple(mapping.get(p, p) for p in parameters)]  # type: ignore[index]
        except TypeError:
            return annotation
    return annotation


def spec_of(protocol: object) -> ProtocolSpec:
    """The :class:`ProtocolSpec` of *protocol*, computed on first use and kept.

    Raises:
        TypeError: *protocol* is not a Protocol class or a subscripted one.
    """
    spec = _SPECS.get(protocol)
    if spec is not None:
        return spec
    origin = typing.get_origin(protocol) or protocol
    if not (isinstance(origin, type) and typing_extensions.is_protocol(origin)):
        raise TypeError(
            f"expected a Protocol class such as execproto.IToolExecutor (or a subscripted "
            f"one), got {protocol!r} of type {type(protocol).__name__}; pass the protocol "
            f"class itself"
        )
    parameters: tuple[object, ...] = getattr(origin, "__parameters__", ())
    arguments = typing.get_args(protocol)
    mapping = dict(zip(parameters, arguments, strict=False))
    methods: dict[str, CallableMember] = {}
    data: set[str] = set()
    # A sub-protocol created after set_protocol_version() ran on its base counts the base's
    # __protocol_version__ as a member; it is metadata, never something to implement.
    members = typing_extensions.get_protocol_members(origin) - {"__protocol_version__"}
    for name in sorted(members):
        found = lookup(origin, True, name)
        if isinstance(found, CallableMember):
            hints = {key: _substitute(value, mapping) for key, value in found.hints.items()}
            methods[name] = CallableMember(
                found.target, found.signature, found.is_async, hints, found.drops_self
            )
        else:
            data.add(name)
    shown = type_repr(protocol) if arguments else origin.__qualname__
    spec = ProtocolSpec(
        shown, origin, methods, frozenset(data), frozenset(members), protocol_version(origin)
    )
    _SPECS[protocol] = spec
    return spec
