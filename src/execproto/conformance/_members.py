"""Finding members: on an implementation as attribute access would, and what a protocol asks.

:class:`Subject` resolves names on a class or an instance without running descriptors,
properties or ``__getattr__``, and reads each member the way a checker would see it: a
method, a static or class method, a callable object, a ``functools.partial``, an attribute
annotated ``Callable[...]`` (its declared signature, whatever value it holds), overloads.
:func:`spec_of` reads a (possibly subscripted) protocol once into a :class:`ProtocolSpec`.
Annotations are read with the type variables of the class that defines the member bound
(:mod:`~execproto.conformance._bindings`). The display names used in reports are made here.
"""

from __future__ import annotations

import collections.abc as abc
import functools
import inspect
import sys
import types
import typing
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import typing_extensions

from execproto._versions import protocol_version
from execproto.conformance._bindings import arguments_of, bindings, substitute
from execproto.conformance._types import type_repr

__all__ = [
    "CallableMember",
    "DataMember",
    "ProtocolSpec",
    "Subject",
    "display_name",
    "has_instance_dict",
    "spec_of",
    "type_repr",
]

_EMPTY = inspect.Parameter.empty


class _Pair(typing.NamedTuple):
    first: object


# The descriptor type of NamedTuple fields (collections._tuplegetter, not public).
_FIELD_GETTER: type[object] = type(typing.cast(object, vars(_Pair)["first"]))
_CALLABLE: object = abc.Callable
# Callables whose code is not Python: neither their signature nor their result can be read.
_C_CALLABLES = (
    types.BuiltinFunctionType,
    types.WrapperDescriptorType,
    types.MethodWrapperType,
    types.MethodDescriptorType,
    types.ClassMethodDescriptorType,
)
_COROUTINE: Any = abc.Coroutine
_AWAITABLE_RESULTS = (abc.Coroutine, abc.Awaitable, types.CoroutineType)


@dataclass(frozen=True)
class CallableMember:
    """A member that can be called, as a caller (and a checker) sees it.

    ``signature`` is ``None`` when it cannot be read (``unreadable`` says why); ``is_async``
    is ``None`` when it cannot be told (``async_unknown`` says why). ``overloads`` holds the
    ``@overload`` signatures with their annotations, when there are any: a call that one of
    them accepts is accepted. ``declared`` names the annotation the signature was read from
    when it is an attribute annotated ``Callable[...]``.
    """

    target: Any
    signature: inspect.Signature | None
    is_async: bool | None
    hints: Mapping[str, Any]
    drops_self: bool
    unreadable: str | None = None
    async_unknown: str | None = None
    overloads: tuple[tuple[inspect.Signature, Mapping[str, Any]], ...] = field(default=())
    declared: str | None = None


@dataclass(frozen=True)
class DataMember:
    """A member found that is not a method: a property, a data attribute, an annotation.

    ``annotation`` is its declared type where there is one (a class annotation, a property's
    result); ``settable`` is false for a property without a setter.
    """

    description: str
    annotation: object = inspect.Parameter.empty
    settable: bool = True


_Found = CallableMember | DataMember | None


def display_name(value: object) -> str:
    """The name a report gives a class, a subscripted generic, or an instance."""
    if isinstance(value, type):
        return f"{value.__module__}.{value.__qualname__}"
    origin = typing.get_origin(value)
    if isinstance(origin, type):
        return type_repr(value)
    return f"{type(value).__module__}.{type(value).__qualname__} instance"


def has_instance_dict(cls: type) -> bool:
    """Whether instances of *cls* have a ``__dict__``, where attributes may shadow methods."""
    return cls.__dictoffset__ != 0


def _unwrap_partial(target: object) -> object:
    while isinstance(target, functools.partial):
        target = typing.cast("functools.partial[object]", target).func
    return target


def _function_of(target: object) -> object:
    """The function whose code runs when *target* is called (a callable object's __call__)."""
    target = _unwrap_partial(target)
    if isinstance(target, (types.FunctionType, types.MethodType, type)):
        return target
    call = getattr(type(target), "__call__", None)  # noqa: B004 - the type's, not the object's
    return target if call is None else call


def _returns_awaitable(hints: Mapping[str, Any]) -> bool:
    result = hints.get("return", _EMPTY)
    return (typing.get_origin(result) or result) in _AWAITABLE_RESULTS


def _asyncness(target: object, hints: Mapping[str, Any]) -> tuple[bool | None, str | None]:
    """Whether calling *target* gives an awaitable; ``None`` and the reason if unknowable.

    A coroutine function is async, an async generator function is not (its result cannot be
    awaited), and so is any callable declared to return a ``Coroutine`` or ``Awaitable``
    (a decorator's plain wrapper, a protocol member declared that way).
    """
    function = _function_of(target)
    if inspect.iscoroutinefunction(function):
        return True, None
    if inspect.isasyncgenfunction(function):
        return False, None
    if _returns_awaitable(hints):
        return True, None
    if isinstance(function, _C_CALLABLES):
        return None, (
            f"{_name(function)} is implemented in C: whether calling it gives an awaitable "
            f"cannot be read without calling it"
        )
    unwrapped: object = function
    while hasattr(unwrapped, "__wrapped__"):
        unwrapped = typing.cast(object, getattr(unwrapped, "__wrapped__"))  # noqa: B009
        if inspect.iscoroutinefunction(unwrapped):
            return None, (
                f"{_name(function)} is a plain function wrapping the coroutine function "
                f"{_name(unwrapped)}; whether calling it gives an awaitable cannot be read "
                f"without calling it (declare its result as Coroutine[...])"
            )
    return False, None


def _name(value: object) -> str:
    return str(getattr(value, "__qualname__", None) or repr(value))


def _hints(target: object) -> Mapping[str, Any]:
    function = _function_of(target)
    try:
        # typing_extensions' version does not add Optional[...] for None defaults on 3.10.
        return typing_extensions.get_type_hints(function)
    except Exception:
        # An annotation that cannot be resolved (a name imported only under TYPE_CHECKING,
        # a typo) is treated as absent: annotations are compared only where both sides are
        # readable, and the checkers report the broken annotation themselves.
        return {}


def _signature(target: object) -> tuple[inspect.Signature | None, str | None]:
    if isinstance(target, functools.partial):
        partial = typing.cast("functools.partial[object]", target)
        if _binds_a_positional_only_name(partial):
            # inspect.signature() refuses these (3.10-3.12) or drops the parameter as if it
            # were bound (3.13); Python passes the keyword on to **kwargs.
            return _partial_signature(partial)
    try:
        return inspect.signature(target), None  # type: ignore[arg-type]
    except (TypeError, ValueError) as error:
        if isinstance(target, functools.partial):
            return _partial_signature(typing.cast("functools.partial[object]", target))
        # Builtins without a text signature, C extension callables, ...
        return None, f"inspect.signature() cannot read {_name(target)}: {error}"


def _is_partial(value: object) -> bool:
    return isinstance(value, functools.partial)


def _binds_a_positional_only_name(partial: functools.partial[object]) -> bool:
    if not partial.keywords:
        return False
    try:
        parameters = inspect.signature(partial.func).parameters
    except (TypeError, ValueError):
        return False
    return any(
        name in parameters and parameters[name].kind is inspect.Parameter.POSITIONAL_ONLY
        for name in partial.keywords
    )


def _partial_signature(
    partial: functools.partial[object],
) -> tuple[inspect.Signature | None, str | None]:
    """The signature of a partial that :func:`inspect.signature` refuses.

    It refuses a partial that binds, by keyword, a name its function takes only by position;
    Python then passes that keyword on to the function's ``**kwargs``.
    """
    inner, reason = _signature(partial.func)
    if inner is None:
        return None, reason
    parameters = list(inner.parameters.values())
    positional = [p for p in parameters if p.kind in _POSITIONAL]
    if len(partial.args) > len(positional) and not any(
        p.kind is inspect.Parameter.VAR_POSITIONAL for p in parameters
    ):
        return None, f"{partial!r} binds more positional arguments than its function takes"
    bound = {p.name for p in positional[: len(partial.args)]}
    by_keyword = {p.name for p in parameters if p.kind in _BY_KEYWORD}
    takes_kwargs = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)
    rest: list[inspect.Parameter] = []
    keyword_only = False
    for parameter in parameters:
        if parameter.name in bound:
            continue
        if parameter.name in partial.keywords and parameter.kind in _BY_KEYWORD:
            # Bound by keyword: still passable by keyword, and every later positional-or-
            # keyword parameter can then only be passed by keyword.
            keyword_only = True
            rest.append(
                parameter.replace(
                    kind=inspect.Parameter.KEYWORD_ONLY, default=partial.keywords[parameter.name]
                )
            )
            continue
        if keyword_only and parameter.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD:
            parameter = parameter.replace(kind=inspect.Parameter.KEYWORD_ONLY)
        rest.append(parameter)
    if not takes_kwargs and any(name not in by_keyword for name in partial.keywords):
        return None, f"{partial!r} binds a keyword its function cannot take"
    try:
        return inspect.Signature(rest), None
    except ValueError as error:  # pragma: no cover - rebuilt from a valid signature
        return None, f"cannot rebuild the signature of {partial!r}: {error}"


_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
_BY_KEYWORD = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def _overloads(
    target: object, mapping: Mapping[object, object]
) -> tuple[tuple[inspect.Signature, Mapping[str, Any]], ...]:
    function = _function_of(target)
    if not isinstance(function, types.FunctionType):
        return ()
    found: list[tuple[inspect.Signature, Mapping[str, Any]]] = []
    for overload in typing_extensions.get_overloads(function):
        signature, _ = _signature(overload)
        if signature is not None:
            found.append((signature, _member_hints(overload, mapping)))
    return tuple(found)


def _member_hints(target: object, mapping: Mapping[object, object]) -> dict[str, Any]:
    """*target*'s annotations with *mapping* applied; ``"return"`` as a caller sees it.

    The result of calling an ``async def`` is a coroutine: its ``return`` becomes
    ``Coroutine[Any, Any, R]``, as the checkers read it.
    """
    hints = {key: substitute(value, mapping) for key, value in _hints(target).items()}
    if "return" in hints and inspect.iscoroutinefunction(_function_of(target)):
        result: object = hints["return"]
        hints["return"] = _COROUTINE[Any, Any, result]
    return hints


def _callable_member(
    target: object, drops_self: bool, mapping: Mapping[object, object]
) -> CallableMember:
    signature, unreadable = _signature(target)
    hints = _member_hints(target, mapping)
    is_async, async_unknown = _asyncness(target, hints)
    return CallableMember(
        target,
        signature,
        is_async,
        hints,
        drops_self,
        unreadable=unreadable,
        async_unknown=async_unknown,
        overloads=_overloads(target, mapping),
    )


def _declared_member(
    annotation: object, value: CallableMember | None, owner: str
) -> CallableMember | None:
    """A member as its ``Callable[...]`` annotation declares it; ``None`` if not callable.

    The declaration is what a checker compares; the value, when there is one, still tells
    whether calling it gives an awaitable.
    """
    origin: object = typing.get_origin(annotation) or annotation
    text = f"an attribute of {owner} annotated {type_repr(annotation)}"
    if annotation is Any:
        if value is not None:
            return value
        return CallableMember(
            annotation,
            None,
            None,
            {},
            False,
            unreadable=f"{text}: any call fits an Any",
            async_unknown=f"{text}",
            declared=text,
        )
    if origin is not _CALLABLE:
        return None
    arguments: tuple[object, ...] = typing.get_args(annotation)
    parameters: object = arguments[0] if arguments else Ellipsis
    result: object = arguments[-1] if arguments else Any
    hints: dict[str, Any] = {"return": result}
    listed: list[inspect.Parameter] = []
    if parameters is Ellipsis or not isinstance(parameters, (list, tuple)):
        # Callable[..., R] accepts any call, as (*args: Any, **kwargs: Any) does.
        listed = [
            inspect.Parameter("args", inspect.Parameter.VAR_POSITIONAL),
            inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD),
        ]
    else:
        # Callable's parameters are positional-only (typing spec).
        for index, parameter_type in enumerate(typing.cast("list[object]", parameters)):
            name = f"p{index}"
            listed.append(inspect.Parameter(name, inspect.Parameter.POSITIONAL_ONLY))
            hints[name] = parameter_type
    is_async: bool | None = True if _returns_awaitable(hints) else None
    async_unknown: str | None = None
    if is_async is None:
        if value is not None and value.is_async is not None:
            is_async = value.is_async
        elif value is not None:
            async_unknown = value.async_unknown
        elif result is Any:
            async_unknown = f"{text}: an Any result may or may not be awaitable"
        else:
            is_async = False
    return CallableMember(
        value.target if value is not None else annotation,
        inspect.Signature(listed),
        is_async,
        hints,
        False,
        async_unknown=async_unknown,
        declared=text,
    )


def _is_data_descriptor(value: object) -> bool:
    return hasattr(type(value), "__set__") or hasattr(type(value), "__delete__")


def _own_annotations(klass: type) -> Mapping[str, object]:
    # ``type`` itself (the class of a class passed where an instance is checked) holds a
    # descriptor under ``__annotations__``, not a dict: only a real mapping counts.
    raw: object = vars(klass).get("__annotations__")
    return typing.cast("Mapping[str, object]", raw) if isinstance(raw, Mapping) else {}


def _class_hints(klass: type) -> Mapping[str, Any]:
    raw = _own_annotations(klass)
    if not raw:
        return {}
    try:
        return typing_extensions.get_type_hints(klass)
    except Exception:
        return {}  # unresolvable annotations count as absent, as for methods


class Subject:
    """What is checked: a class (as its instances would be) or an instance, read once.

    Holds the class, whether an instance was given, the type variable bindings per class of
    the MRO, and whether attribute lookups may be answered by ``__getattr__``.
    """

    def __init__(self, subject: object) -> None:
        cls, arguments = arguments_of(subject)
        assert cls is not None
        self.value = subject
        self.cls: type = cls
        self.is_type = isinstance(subject, type) or typing.get_origin(subject) is cls
        self.bindings = bindings(cls, arguments)
        self.dynamic = _answers_unknown_names(cls)
        self._class_hints: dict[type, Mapping[str, Any]] = {}

    def _annotation(self, name: str) -> tuple[bool, object]:
        """Whether a class of the MRO annotates *name*, and the annotation (resolved if it can)."""
        for klass in self.cls.__mro__:
            if name not in _own_annotations(klass):
                continue
            hints = self._class_hints.get(klass)
            if hints is None:
                hints = self._class_hints[klass] = _class_hints(klass)
            annotation = hints.get(name, _EMPTY)
            if typing.get_origin(annotation) is typing.ClassVar:
                arguments = typing.get_args(annotation)
                annotation = arguments[0] if arguments else Any
            return True, substitute(annotation, self._mapping(klass))
        return False, _EMPTY

    def _mapping(self, owner: type | None) -> Mapping[object, object]:
        return self.bindings.get(owner, {}) if owner is not None else {}

    def lookup(self, name: str) -> _Found:
        """Find *name* the way attribute access would, without running descriptors."""
        cls = self.cls
        owner = next((klass for klass in cls.__mro__ if name in vars(klass)), None)
        static: object = vars(owner)[name] if owner is not None else _EMPTY
        mapping = self._mapping(owner)
        found = self._found(name, static, owner, mapping)
        annotated, annotation = self._annotation(name)
        if annotated and annotation is not _EMPTY and not isinstance(static, property):
            value = found if isinstance(found, CallableMember) else None
            declared = _declared_member(annotation, value, cls.__qualname__)
            if declared is not None:
                return declared
        if isinstance(static, property) and isinstance(found, DataMember):
            result = _member_hints(static.fget, mapping).get("return", _EMPTY)
            return DataMember(found.description, result, static.fset is not None)
        settable = not _read_only_field(cls, static)
        if annotated and annotation is not _EMPTY and isinstance(found, DataMember):
            return DataMember(found.description, annotation, settable)
        if found is None and annotated:
            return DataMember("an annotated attribute", annotation, settable)
        if found is None and self.dynamic is not None:
            return CallableMember(
                None,
                None,
                None,
                {},
                False,
                unreadable=self.dynamic,
                async_unknown=self.dynamic,
            )
        return found

    def _found(
        self, name: str, static: object, owner: type | None, mapping: Mapping[object, object]
    ) -> _Found:
        cls = self.cls
        if not self.is_type and has_instance_dict(cls) and not _is_data_descriptor(static):
            instance_dict: dict[str, Any] = object.__getattribute__(self.value, "__dict__")
            if name in instance_dict:
                value: object = instance_dict[name]
                if callable(value):
                    return _callable_member(value, drops_self=False, mapping={})
                return DataMember(f"an instance attribute of type {type_repr(type(value))}")
        if static is _EMPTY:
            return None
        if isinstance(static, (staticmethod, classmethod)):
            # Both wrappers keep the function in __func__; its own type is unknown here.
            function: object = typing.cast("staticmethod[..., object]", static).__func__
            return _callable_member(
                function, drops_self=isinstance(static, classmethod), mapping=mapping
            )
        if isinstance(static, types.FunctionType):
            return _callable_member(static, drops_self=True, mapping=mapping)
        if isinstance(static, property):
            return DataMember("a property")
        if isinstance(static, _FIELD_GETTER) and not self.is_type:
            # A NamedTuple field: reading it indexes the tuple, and runs nothing else.
            field_value: object = getattr(static, "__get__")(self.value, cls)  # noqa: B009
            if callable(field_value):
                return _callable_member(field_value, drops_self=False, mapping={})
            return DataMember(f"a field of type {type_repr(type(field_value))}")
        if _is_data_descriptor(static):
            return DataMember(f"a data descriptor of type {type_repr(type(static))}")
        if callable(static):
            # A callable stored on the class: a bound-on-access descriptor (builtin method) gets
            # self; an object without __get__ (a callable instance) does not, nor does a
            # functools.partial before 3.14 (3.13's __get__ only warns that it will bind).
            binds = hasattr(type(static), "__get__") and not (
                _is_partial(static) and sys.version_info < (3, 14)
            )
            return _callable_member(static, drops_self=binds, mapping=mapping)
        if hasattr(type(static), "__get__") and owner is not None:
            bound = getattr(cls, name)
            if callable(bound):
                return _callable_member(bound, drops_self=True, mapping=mapping)
        return DataMember(f"an attribute of type {type_repr(type(static))}")


def _read_only_field(cls: type, static: object) -> bool:
    """Whether a field cannot be assigned: of a frozen dataclass, or of a NamedTuple."""
    if isinstance(static, _FIELD_GETTER):
        return True
    parameters: object = getattr(cls, "__dataclass_params__", None)
    return bool(getattr(parameters, "frozen", False))


def _answers_unknown_names(cls: type) -> str | None:
    """Why names missing from *cls* may still resolve (``__getattr__``), or ``None``."""
    if issubclass(cls, weakref.ProxyTypes):
        return f"{cls.__qualname__} is a weak reference proxy: its attributes are its referent's"
    for klass in cls.__mro__[:-1]:
        if "__getattr__" in vars(klass):
            return (
                f"{cls.__qualname__} answers attribute lookups in __getattr__, which the "
                f"check does not call"
            )
        # C types list a slot wrapper even for the generic lookup; only Python code is news.
        if isinstance(vars(klass).get("__getattribute__"), types.FunctionType):
            return (
                f"{cls.__qualname__} overrides __getattribute__, so its attributes cannot be "
                f"read without running it"
            )
    return None


@dataclass(frozen=True)
class ProtocolSpec:
    """What a protocol asks for, precomputed once per (possibly subscripted) protocol."""

    name: str
    origin: type
    methods: Mapping[str, CallableMember]
    data: frozenset[str]
    members: frozenset[str]
    version: str | None
    # The data members' declarations (type, and whether the protocol lets callers set it).
    declarations: Mapping[str, DataMember] = field(default_factory=dict[str, DataMember])


_SPECS: dict[object, ProtocolSpec] = {}


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
    subject = Subject(protocol)
    methods: dict[str, CallableMember] = {}
    data: set[str] = set()
    declarations: dict[str, DataMember] = {}
    # A sub-protocol created after set_protocol_version() ran on its base counts the base's
    # __protocol_version__ as a member; it is metadata, never something to implement.
    members = typing_extensions.get_protocol_members(origin) - {"__protocol_version__"}
    for name in sorted(members):
        found = subject.lookup(name)
        # A protocol attribute annotated Callable[...] stays an attribute (data member).
        if isinstance(found, CallableMember) and found.signature is not None and not found.declared:
            methods[name] = found
        else:
            data.add(name)
            if isinstance(found, DataMember) and found.annotation is not _EMPTY:
                declarations[name] = found
    arguments = typing.get_args(protocol)
    shown = type_repr(protocol) if arguments else origin.__qualname__
    spec = ProtocolSpec(
        shown,
        origin,
        methods,
        frozenset(data),
        frozenset(members),
        protocol_version(origin),
        declarations,
    )
    _SPECS[protocol] = spec
    return spec
