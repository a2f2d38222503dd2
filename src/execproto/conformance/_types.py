"""Assignability of annotations: whether a value of one type fits another, as a checker says.

:func:`assignable` answers ``True``, ``False``, or :class:`Unknown` with the reason it cannot
tell. It follows the typing spec where the runtime can see enough: ``Any`` fits both ways,
unions member by member, ``Literal`` by value, ``tuple`` by position, ``Callable`` by
position (parameters contravariant, result covariant), classes by subclassing with ``int``
fitting ``float`` and ``complex``, and the type arguments of a generic by the variance of
its parameters (``list`` and ``dict`` are invariant, ``Sequence`` and ``Mapping``'s values
covariant, ...), after mapping the source's arguments onto the target's class
(``list[int]`` is an ``Iterable[int]``, ``dict[str, int]`` a ``Mapping[str, int]``). A
protocol target is checked structurally, with :func:`execproto.conformance.check`.

It says :class:`Unknown` rather than guess: for a type variable of a generic method, a
``TypedDict``, a string that was never resolved, a class it cannot map onto the target's
parameters. A caller reports that as "cannot verify", never as a rejection.
"""

from __future__ import annotations

import collections
import collections.abc as abc
import contextlib
import contextvars
import inspect
import types
import typing
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeVar, Union

import typing_extensions

from execproto.conformance._bindings import bindings, substitute

__all__ = ["Unknown", "assignable", "type_repr"]


@dataclass(frozen=True)
class Unknown:
    """The comparison cannot tell; *reason* says why, for a "cannot verify" warning."""

    reason: str


Fit: typing_extensions.TypeAlias = "bool | Unknown"

# Variance of each parameter of the generic builtins and ABCs: "+" covariant, "-"
# contravariant, "=" invariant (as typeshed declares them).
_VARIANCE: dict[object, str] = {
    list: "=",
    dict: "==",
    set: "=",
    frozenset: "+",
    type: "+",
    collections.deque: "=",
    collections.defaultdict: "==",
    collections.OrderedDict: "==",
    collections.ChainMap: "==",
    collections.Counter: "=",
    abc.Iterable: "+",
    abc.Iterator: "+",
    abc.Reversible: "+",
    abc.Container: "+",
    abc.Collection: "+",
    abc.Sequence: "+",
    abc.MutableSequence: "=",
    abc.Set: "+",
    abc.MutableSet: "=",
    abc.Mapping: "=+",
    abc.MutableMapping: "==",
    abc.KeysView: "+",
    abc.ValuesView: "+",
    abc.ItemsView: "++",
    abc.Awaitable: "+",
    abc.Coroutine: "+-+",
    types.CoroutineType: "+-+",
    abc.AsyncIterable: "+",
    abc.AsyncIterator: "+",
    abc.Generator: "+-+",
    abc.AsyncGenerator: "+-",
    contextlib.AbstractContextManager: "++",
    contextlib.AbstractAsyncContextManager: "++",
}

# Classes whose one type argument is the element type, and those whose two are key and value.
_ELEMENTS = frozenset(
    {
        list,
        set,
        frozenset,
        collections.deque,
        collections.Counter,
        abc.Iterable,
        abc.Iterator,
        abc.Reversible,
        abc.Container,
        abc.Collection,
        abc.Sequence,
        abc.MutableSequence,
        abc.Set,
        abc.MutableSet,
        abc.KeysView,
    }
)
_MAPPINGS = frozenset(
    {
        dict,
        collections.defaultdict,
        collections.OrderedDict,
        collections.ChainMap,
        abc.Mapping,
        abc.MutableMapping,
    }
)
# Index of the argument that a coroutine or generator class passes on to the simpler one.
_PROJECTIONS: dict[tuple[object, object], int] = {
    (abc.Coroutine, abc.Awaitable): 2,
    (types.CoroutineType, abc.Awaitable): 2,
    (types.CoroutineType, abc.Coroutine): -1,
    (abc.Generator, abc.Iterator): 0,
    (abc.Generator, abc.Iterable): 0,
    (types.GeneratorType, abc.Iterator): 0,
    (types.GeneratorType, abc.Iterable): 0,
    (abc.AsyncGenerator, abc.AsyncIterator): 0,
    (abc.AsyncGenerator, abc.AsyncIterable): 0,
}
# Non-generic builtins that are sequences of something.
_ITEMS: dict[type, type] = {str: str, bytes: int, bytearray: int, memoryview: int}

_CALLABLE: object = abc.Callable
# typing_extensions has its own NewType class before 3.12 (and typing's own from 3.10).
_NEW_TYPES = (typing.NewType, typing_extensions.NewType)

_IN_PROGRESS: contextvars.ContextVar[frozenset[tuple[int, int]]] = contextvars.ContextVar(
    "execproto_structural_checks", default=frozenset()
)


def type_repr(annotation: object) -> str:
    """An annotation as a report shows it: builtins bare, ``typing.`` prefixes dropped."""
    if annotation is type(None) or annotation is None:
        return "None"
    if annotation is Ellipsis:
        return "..."
    if isinstance(annotation, type) and not typing.get_args(annotation):
        if annotation.__module__ == "builtins":
            return annotation.__qualname__
        return f"{annotation.__module__}.{annotation.__qualname__}"
    if isinstance(annotation, list):
        items = typing.cast("list[object]", annotation)
        return "[" + ", ".join(type_repr(item) for item in items) + "]"
    return (
        repr(annotation)
        .replace("typing_extensions.", "")
        .replace("typing.", "")
        .replace("collections.abc.", "")
    )


def assignable(source: object, target: object) -> Fit:
    """Whether a value of type *source* fits where *target* is declared."""
    source, target = _normal(source), _normal(target)
    if source is target or source == target:
        return True
    if source is Any or target is Any or target is object:
        return True
    if source is typing.NoReturn or source is typing_extensions.Never:
        return True
    if isinstance(target, _NEW_TYPES):
        return False  # only the NewType itself fits it, and that was answered above
    if isinstance(source, _NEW_TYPES):
        return assignable(typing.cast(Any, source).__supertype__, target)
    for side in (source, target):
        unknown = _opaque(side)
        if unknown is not None:
            return unknown
    source_members = _union_members(source)
    if source_members is not None:
        return _all(assignable(member, target) for member in source_members)
    target_members = _union_members(target)
    if target_members is not None:
        return _any(assignable(source, member) for member in target_members)
    if typing.get_origin(source) is typing.Literal or typing.get_origin(target) is typing.Literal:
        return _literal(source, target)
    target_origin: object = typing.get_origin(target) or target
    if target_origin is _CALLABLE:
        return _callable(source, target)
    source_origin: object = typing.get_origin(source) or source
    if source_origin is _CALLABLE:
        return _callable_to_class(source, target, target_origin)
    if not (isinstance(source_origin, type) and isinstance(target_origin, type)):
        return Unknown(_cannot(source, target))
    if typing_extensions.is_typeddict(source_origin) or typing_extensions.is_typeddict(
        target_origin
    ):
        return Unknown(f"{_cannot(source, target)} (TypedDict)")
    if target_origin is tuple or (source_origin is tuple and target_origin is tuple):
        return _tuple(source, target) if source_origin is tuple else False
    if typing_extensions.is_protocol(target_origin) and target_origin not in source_origin.__mro__:
        return _structural(source_origin, target)
    if not _is_subclass(source_origin, target_origin):
        return False
    target_arguments = typing.get_args(target)
    if not target_arguments:
        return True
    source_arguments = _arguments_as(source, target_origin)
    if isinstance(source_arguments, Unknown):
        return source_arguments
    if source_arguments is None:
        return True  # an unparametrised generic: its arguments are Any
    return _by_variance(target_origin, source_arguments, target_arguments)


def _normal(annotation: object) -> object:
    if annotation is None:
        return type(None)
    if typing.get_origin(annotation) is typing_extensions.Annotated:
        return _normal(typing.get_args(annotation)[0])
    return annotation


def _opaque(annotation: object) -> Unknown | None:
    if isinstance(annotation, TypeVar):
        return Unknown(f"{annotation!r} is a type variable of a generic method")
    if isinstance(annotation, (str, typing.ForwardRef)):
        return Unknown(f"the annotation {annotation!r} was not resolved")
    if isinstance(annotation, typing_extensions.ParamSpec):
        return Unknown(f"{annotation!r} is a ParamSpec")
    return None


def _cannot(source: object, target: object) -> str:
    return f"cannot tell whether {type_repr(source)} fits {type_repr(target)}"


def _all(fits: Iterable[Fit]) -> Fit:
    unknown: Unknown | None = None
    for fit in fits:
        if fit is False:
            return False
        if isinstance(fit, Unknown) and unknown is None:
            unknown = fit
    return True if unknown is None else unknown


def _any(fits: Iterable[Fit]) -> Fit:
    unknown: Unknown | None = None
    for fit in fits:
        if fit is True:
            return True
        if isinstance(fit, Unknown) and unknown is None:
            unknown = fit
    return False if unknown is None else unknown


def _union_members(annotation: object) -> tuple[object, ...] | None:
    origin = typing.get_origin(annotation)
    if origin is Union or origin is types.UnionType:
        return typing.get_args(annotation)
    return None


def _literal(source: object, target: object) -> Fit:
    if typing.get_origin(source) is typing.Literal:
        values: tuple[object, ...] = typing.get_args(source)
        if typing.get_origin(target) is typing.Literal:
            targets: tuple[object, ...] = typing.get_args(target)
            wanted = {(type(value), value) for value in targets}
            return all((type(value), value) in wanted for value in values)
        return _all(assignable(type(value), target) for value in values)
    return False  # a plain type does not fit a Literal (Any was answered before)


def _callable(source: object, target: object) -> Fit:
    if (typing.get_origin(source) or source) is not _CALLABLE:
        return Unknown(_cannot(source, target))
    source_parameters, source_result = _callable_parts(source)
    target_parameters, target_result = _callable_parts(target)
    result = assignable(source_result, target_result)
    if source_parameters is None or target_parameters is None:
        return result  # Callable[..., R] accepts any call
    if len(source_parameters) != len(target_parameters):
        return False
    # Parameters are contravariant: what the target's callers pass must fit the source's.
    return _all(
        [
            result,
            *(assignable(t, s) for s, t in zip(source_parameters, target_parameters, strict=True)),
        ]
    )


def _callable_to_class(source: object, target: object, target_origin: object) -> Fit:
    """A ``Callable[...]`` where a class is declared: a callback protocol, or no fit."""
    if not isinstance(target_origin, type):
        return Unknown(_cannot(source, target))
    if not typing_extensions.is_protocol(target_origin):
        return False  # a function is no instance of a plain class (object was answered)
    if typing_extensions.get_protocol_members(target_origin) != frozenset({"__call__"}):
        return Unknown(_cannot(source, target))
    parameters, result = _callable_parts(source)
    if parameters is not None:
        return Unknown(f"{_cannot(source, target)} (its __call__ is not compared by position)")
    call: object = inspect.getattr_static(target_origin, "__call__")
    try:
        hints = typing_extensions.get_type_hints(call)
    except Exception:
        return Unknown(_cannot(source, target))
    if "return" not in hints:
        return True
    mapping = bindings(target_origin, typing.get_args(target))[target_origin]
    return assignable(result, substitute(hints["return"], mapping))


def _callable_parts(annotation: object) -> tuple[list[object] | None, object]:
    """The parameter types of a ``Callable[...]`` (``None`` for ``...``) and its result."""
    arguments: tuple[object, ...] = typing.get_args(annotation)
    if not arguments:
        return None, Any
    parameters, result = arguments[0], arguments[-1]
    if isinstance(parameters, (list, tuple)):
        return list(typing.cast("list[object]", parameters)), result
    return None, result


def _tuple(source: object, target: object) -> Fit:
    source_items, source_variadic = _tuple_parts(source)
    target_items, target_variadic = _tuple_parts(target)
    if target_variadic:
        return _all(assignable(item, target_items[0]) for item in source_items)
    if source_variadic or len(source_items) != len(target_items):
        return False
    return _all(assignable(s, t) for s, t in zip(source_items, target_items, strict=True))


def _tuple_parts(annotation: object) -> tuple[tuple[object, ...], bool]:
    arguments = typing.get_args(annotation)
    if not arguments:
        return (Any,), True
    if len(arguments) == 2 and arguments[1] is Ellipsis:
        return (arguments[0],), True
    if arguments == ((),):
        return (), False
    return arguments, False


def _is_subclass(source: type, target: type) -> bool:
    if target is float and source is int:
        return True
    if target is complex and source in (int, float):
        return True
    try:
        return issubclass(source, target)
    except TypeError:
        return target in source.__mro__


def _structural(source: type, target: object) -> Fit:
    """Whether *source* satisfies the protocol *target*, by the full check (cycles: yes)."""
    # A cycle: check() compares annotations with this module.
    from execproto.conformance._check import check

    key = (id(source), id(target))
    in_progress = _IN_PROGRESS.get()
    if key in in_progress:
        return True  # assumed while it is being decided, as checkers do for recursive types
    token = _IN_PROGRESS.set(in_progress | {key})
    try:
        report = check(source, target)
    except TypeError as error:
        return Unknown(f"{_cannot(source, target)}: {error}")
    finally:
        _IN_PROGRESS.reset(token)
    return report.ok


def _arguments_as(source: object, target_origin: type) -> tuple[object, ...] | Unknown | None:
    """*source*'s type arguments as arguments of its base *target_origin*; None if unbound."""
    source_origin = typing.get_origin(source) or source
    assert isinstance(source_origin, type)
    arguments = typing.get_args(source)
    if source_origin is target_origin:
        return arguments or None
    if source_origin in _ITEMS:
        return (_ITEMS[source_origin],)
    if source_origin is tuple:
        if not arguments:
            return None
        if target_origin not in _ELEMENTS:
            return Unknown(f"{_cannot(source, target_origin)}")
        items, _ = _tuple_parts(source)
        return (Union[items] if items else typing_extensions.Never,)  # noqa: UP007
    if not arguments and not getattr(source_origin, "__orig_bases__", None):
        return None
    projected = _project(source_origin, arguments, target_origin)
    if projected is not None:
        return projected
    for base in vars(source_origin).get("__orig_bases__", ()):
        base_origin = typing.get_origin(base)
        if not isinstance(base_origin, type) or not _is_subclass(base_origin, target_origin):
            continue
        mapping = bindings(source_origin, arguments)[source_origin]
        base_arguments = tuple(substitute(a, mapping) for a in typing.get_args(base))
        return _arguments_as(base_origin[base_arguments], target_origin)  # type: ignore[index]
    if not arguments:
        return None
    return Unknown(
        f"cannot tell which arguments of {type_repr(target_origin)} {type_repr(source)} has"
    )


def _project(
    source_origin: type, arguments: tuple[object, ...], target_origin: type
) -> tuple[object, ...] | None:
    if not arguments:
        return None
    if (
        source_origin in _ELEMENTS
        and target_origin in _ELEMENTS
        and (source_origin is collections.Counter or len(arguments) == 1)
    ):
        return arguments[:1]
    if source_origin in _MAPPINGS:
        if target_origin in _MAPPINGS:
            return arguments[:2]
        if target_origin in _ELEMENTS:
            return arguments[:1]
    index = _PROJECTIONS.get((source_origin, target_origin))
    if index is not None:
        return arguments if index == -1 else (arguments[index],)
    return None


def _by_variance(
    origin: type, source_arguments: tuple[object, ...], target_arguments: tuple[object, ...]
) -> Fit:
    if len(source_arguments) != len(target_arguments):
        return Unknown(f"{type_repr(origin)} takes another number of type arguments here")
    variances: str | Unknown | None = _VARIANCE.get(origin)
    if variances is None:
        variances = _declared_variance(origin)
    if isinstance(variances, Unknown):
        return variances
    if len(variances) != len(target_arguments):
        return Unknown(f"cannot tell the variance of {type_repr(origin)}'s parameters")
    fits: list[Fit] = []
    for variance, s, t in zip(variances, source_arguments, target_arguments, strict=True):
        if variance == "+":
            fits.append(assignable(s, t))
        elif variance == "-":
            fits.append(assignable(t, s))
        else:
            fits.append(_all([assignable(s, t), assignable(t, s)]))
    return _all(fits)


def _declared_variance(origin: type) -> str | Unknown:
    variances: list[str] = []
    for parameter in getattr(origin, "__parameters__", ()):
        if getattr(parameter, "__infer_variance__", False) or not isinstance(parameter, TypeVar):
            return Unknown(f"cannot tell the variance of {parameter!r} in {type_repr(origin)}")
        if parameter.__covariant__:
            variances.append("+")
        elif parameter.__contravariant__:
            variances.append("-")
        else:
            variances.append("=")
    return "".join(variances)
