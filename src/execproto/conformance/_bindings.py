"""Type variables and what they stand for: per class, from the subject's arguments and bases.

``ITypedToolExecutor[Calc, int]`` binds the protocol's ``T_contra`` and ``R_co``; an instance
of a generic implementation ``Executor[Calc]()`` binds its class's parameter (in
``__orig_class__``); ``class Mine(Executor[Calc])`` binds it through ``__orig_bases__``, also
for the methods ``Mine`` inherits. :func:`bindings` follows all three down the MRO, so a
member's annotations can be read with the type variables of the class that *defines* it.

A class's own type parameter that nothing binds stands for ``Any``, as a checker reads an
unparametrised generic. A type variable that is no class's parameter belongs to a generic
method and is left as it is (the comparison says it cannot tell).
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from typing import Any, TypeVar

__all__ = ["arguments_of", "bindings", "substitute"]


def _parameters(cls: object) -> tuple[object, ...]:
    parameters: object = getattr(cls, "__parameters__", ())
    return typing.cast("tuple[object, ...]", parameters) if isinstance(parameters, tuple) else ()


def arguments_of(subject: object) -> tuple[type | None, tuple[object, ...]]:
    """The class of *subject* (a class, a subscripted generic, an instance) and its arguments.

    An instance of a subscripted generic class (``Executor[Calc]()``) carries its arguments in
    ``__orig_class__``, read from the instance's ``__dict__`` so that no ``__getattr__`` runs.
    """
    if isinstance(subject, type):
        return subject, ()
    origin = typing.get_origin(subject)
    if isinstance(origin, type):
        return origin, typing.get_args(subject)
    try:
        instance_dict: object = object.__getattribute__(subject, "__dict__")
    except AttributeError:
        return type(subject), ()
    alias: object = None
    if isinstance(instance_dict, dict):
        alias = typing.cast("dict[str, object]", instance_dict).get("__orig_class__")
    if alias is not None and typing.get_origin(alias) is type(subject):
        return type(subject), typing.get_args(alias)
    return type(subject), ()


def bindings(cls: type, arguments: tuple[object, ...] = ()) -> dict[type, dict[object, object]]:
    """For *cls* and each class in its MRO, what that class's own type parameters stand for.

    *arguments* bind *cls*'s own parameters (from a subscripted alias or ``__orig_class__``);
    each class's ``__orig_bases__`` binds its bases' parameters, in terms of its own.
    """
    own = dict(zip(_parameters(cls), arguments, strict=False))
    result: dict[type, dict[object, object]] = {cls: own}
    for klass in cls.__mro__:
        mapping = result.setdefault(klass, {})
        for parameter in _parameters(klass):
            mapping.setdefault(parameter, Any)
        # Only the class's own __orig_bases__: the attribute is inherited otherwise.
        for base in vars(klass).get("__orig_bases__", ()):
            origin = typing.get_origin(base)
            if not isinstance(origin, type) or origin in result:
                continue
            result[origin] = {
                parameter: substitute(argument, mapping)
                for parameter, argument in zip(
                    _parameters(origin), typing.get_args(base), strict=False
                )
            }
    return result


def substitute(annotation: object, mapping: Mapping[object, object]) -> object:
    """*annotation* with the type variables in *mapping* replaced (nested ones too)."""
    if not mapping:
        return annotation
    if isinstance(annotation, TypeVar):
        return mapping.get(annotation, annotation)
    parameters = _parameters(annotation)
    if not parameters or not any(p in mapping for p in parameters):
        return annotation
    try:
        return annotation[tuple(mapping.get(p, p) for p in parameters)]  # type: ignore[index]
    except TypeError:
        # Not every alias can be re-subscripted (a ParamSpec in the way, say): left as it is,
        # so the comparison sees a type variable and says it cannot tell.
        return annotation
