"""Boundary checks: :func:`conforms` and its verdict cache, :func:`ensure`, :func:`implements`.

:func:`conforms` answers from a table of verdicts by (protocol, type), filled from
:func:`~execproto.conformance.check` on first use; what the table assumes is in the
:mod:`execproto.conformance` docstring. :func:`ensure` and :func:`implements` raise
:class:`~execproto.errors.ConformanceError` with the full report.
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from typing import Generic, TypeVar

from execproto.conformance._check import check
from execproto.conformance._members import has_instance_dict, spec_of
from execproto.errors import ConformanceError

__all__ = ["clear_cache", "conforms", "ensure", "implements"]

P = TypeVar("P")
P_contra = TypeVar("P_contra", contravariant=True)
C = TypeVar("C")

_MAX_TYPES_PER_PROTOCOL = 4096
_MAX_PROTOCOLS = 256


class _Shadowable:
    """A cached verdict for a type whose instances have a ``__dict__`` that may shadow.

    For a generic class, ``names`` also holds ``__orig_class__`` (an instance made as
    ``Executor[Calc]()`` carries its type arguments there), and ``by_alias`` caches the
    verdict per subscripted class.
    """

    __slots__ = ("by_alias", "members", "names", "ok")

    def __init__(self, ok: bool, members: frozenset[str], generic: bool) -> None:
        self.ok = ok
        self.members = members
        self.names = members | {"__orig_class__"} if generic else members
        self.by_alias: dict[object, bool] = {}


class _Verdicts(dict[type, "bool | _Shadowable"]):
    """The verdicts for one protocol, by type; holds the protocol so its id stays unique."""

    __slots__ = ("protocol",)

    def __init__(self, protocol: object) -> None:
        super().__init__()
        self.protocol = protocol


# Keyed by id(protocol), not the protocol: typing_extensions' protocol metaclass (and generic
# aliases) define __hash__ in Python, which would cost more than the whole rest of the
# lookup. Each table keeps its protocol alive, so an id cannot be reused while it is here.
_VERDICTS: dict[int, _Verdicts] = {}


def conforms(obj: object, protocol: object) -> bool:
    """Return whether *obj* conforms to *protocol*, as :func:`check` would decide.

    The verdict for ``type(obj)`` is computed on the first call and cached, so later calls
    cost about what ``isinstance`` against an ABC costs, for conforming and non-conforming
    objects alike. An instance whose ``__dict__`` holds a protocol member's name is checked
    on its own, uncached. See the :mod:`execproto.conformance` docstring for what the cache
    assumes, and :func:`clear_cache`. *obj* is an instance; to ask about a class, use
    ``check(cls, protocol).ok``.

    Raises:
        TypeError: *protocol* is not a Protocol class or a subscripted one.
    """
    try:
        verdict = _VERDICTS[id(protocol)][type(obj)]
    except KeyError:
        return _conforms_first(obj, protocol)
    if verdict is True or verdict is False:
        return verdict
    # No isinstance() here: it would cost a tenth of the whole call. Only _Shadowable remains.
    # The emptiness test first: isdisjoint() builds an iterator even over an empty dict.
    instance_dict = obj.__dict__
    if not instance_dict or verdict.names.isdisjoint(instance_dict):
        return verdict.ok
    return _conforms_shadowed(obj, protocol, verdict, instance_dict)


def _conforms_shadowed(
    obj: object, protocol: object, verdict: _Shadowable, instance_dict: dict[str, object]
) -> bool:
    if not verdict.members.isdisjoint(instance_dict):
        return check(obj, protocol).ok
    # Only __orig_class__: the verdict depends on the type arguments, not on this instance.
    alias = instance_dict["__orig_class__"]
    try:
        return verdict.by_alias[alias]
    except KeyError:
        ok = check(obj, protocol).ok
    except TypeError:  # an unhashable type argument
        return check(obj, protocol).ok
    if len(verdict.by_alias) >= _MAX_TYPES_PER_PROTOCOL:
        verdict.by_alias.clear()
    verdict.by_alias[alias] = ok
    return ok


def _conforms_first(obj: object, protocol: object) -> bool:
    spec = spec_of(protocol)
    cls = type(obj)
    ok = check(cls, protocol).ok
    verdicts = _VERDICTS.get(id(protocol))
    if verdicts is None:
        if len(_VERDICTS) >= _MAX_PROTOCOLS:
            _VERDICTS.clear()
        verdicts = _VERDICTS[id(protocol)] = _Verdicts(protocol)
    elif len(verdicts) >= _MAX_TYPES_PER_PROTOCOL:
        verdicts.clear()
    if has_instance_dict(cls):
        verdict = verdicts[cls] = _Shadowable(ok, spec.members, _is_generic(cls))
        instance_dict: dict[str, object] = object.__getattribute__(obj, "__dict__")
        if not verdict.names.isdisjoint(instance_dict):
            return _conforms_shadowed(obj, protocol, verdict, instance_dict)
        return ok
    verdicts[cls] = ok
    return ok


def _is_generic(cls: type) -> bool:
    parameters: object = getattr(cls, "__parameters__", ())
    return isinstance(parameters, tuple) and len(typing.cast("tuple[object, ...]", parameters)) > 0


def clear_cache() -> None:
    """Forget every cached verdict of :func:`conforms` (call it after changing a class)."""
    _VERDICTS.clear()


def ensure(obj: object, protocol: Callable[..., P]) -> P:
    """Return *obj*, typed as *protocol*, if it conforms; raise with the full report if not.

    Raises:
        ConformanceError: *obj* does not conform; ``error.report`` lists every problem.
        TypeError: *protocol* is not a Protocol class or a subscripted one.
    """
    if conforms(obj, protocol):
        return typing.cast(P, obj)
    report = check(obj, protocol)
    raise ConformanceError(report.format(), report)


class _Implements(Generic[P_contra]):
    """The decorator :func:`implements` returns; generic so the checkers verify the class."""

    __slots__ = ("_protocol",)

    def __init__(self, protocol: object) -> None:
        self._protocol = protocol

    # `self: _Implements[C]` with P_contra contravariant means the checker must find a C with
    # `cls <: C <: protocol`, which exists exactly when the class conforms statically.
    def __call__(self: _Implements[C], cls: type[C], /) -> type[C]:
        report = check(cls, self._protocol)
        if not report.ok:
            raise ConformanceError(report.format(), report)
        return cls


def implements(protocol: Callable[..., P_contra]) -> _Implements[P_contra]:
    """Class decorator: fail at class definition unless the class conforms to *protocol*.

    The class is checked as :func:`check` checks a class. mypy and pyright also check the
    decorated class against *protocol* statically (an incompatible class is an
    ``arg-type`` / ``reportArgumentType`` error on the decorator line). pyright then types
    the decorated name as ``type[protocol]``; mypy keeps the class's own type.

    Raises:
        ConformanceError: (when applied) the class does not conform; ``error.report`` lists
            every problem.
        TypeError: *protocol* is not a Protocol class or a subscripted one.
    """
    spec_of(protocol)
    return _Implements(protocol)
