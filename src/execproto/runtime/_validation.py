"""The one check of each kind of constructor argument, so every message reads the same way.

Every public constructor of the runtime checks its arguments here. A wrong type is a
:class:`TypeError`, a value out of range a :class:`ValueError`, a component that does not
conform to its protocol a :class:`~execproto.errors.ConformanceError` (a ``TypeError`` too).
Each message names the constructor and the argument, says what was expected, shows the
value received with its type, and says how to fix it::

    ToolExecutor: max_workers must be an int >= 1, got '3' of type str; pass a whole
    number of threads, e.g. max_workers=4

The annotations of the constructors do not stop a caller without a type checker from
passing ``"3"`` or ``True``, hence every check takes ``object``. ``bool`` is never accepted
where a number is expected (``True`` is an ``int`` to Python, never a count to a user).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable
from itertools import pairwise
from typing import Any, Literal, TypeVar, cast, overload

from execproto.conformance import check, conforms
from execproto.errors import ConformanceError

__all__ = [
    "check_bool",
    "check_bounds",
    "check_callable",
    "check_choice",
    "check_component",
    "check_count",
    "check_instance",
    "check_number",
    "check_optional_component",
    "check_seconds",
    "check_str",
]

T = TypeVar("T")
P = TypeVar("P")


def _received(value: object) -> str:
    return f"got {value!r} of type {type(value).__name__}"


def _wrong_type(owner: str, name: str, expected: str, value: object, fix: str) -> TypeError:
    return TypeError(f"{owner}: {name} must be {expected}, {_received(value)}; {fix}")


def _out_of_range(owner: str, name: str, expected: str, value: object, fix: str) -> ValueError:
    return ValueError(f"{owner}: {name} must be {expected}, {_received(value)}; {fix}")


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_count(owner: str, name: str, value: object, *, minimum: int = 1, fix: str = "") -> int:
    """Return *value* if it is an ``int`` (not a ``bool``) of at least *minimum*.

    Raises:
        TypeError: *value* is not an int.
        ValueError: *value* is below *minimum*.
    """
    fix = fix or f"pass a whole number, e.g. {name}={max(minimum, 4)}"
    expected = f"an int >= {minimum}"
    if not isinstance(value, int) or isinstance(value, bool):
        raise _wrong_type(owner, name, expected, value, fix)
    count = int(value)  # an IntEnum member becomes the plain int it stands for
    if count < minimum:
        raise _out_of_range(owner, name, expected, value, fix)
    return count


def check_number(
    owner: str,
    name: str,
    value: object,
    *,
    minimum: float,
    inclusive: bool = True,
    fix: str,
) -> float:
    """Return *value* as a ``float`` if it is a finite number above (or at) *minimum*.

    Raises:
        TypeError: *value* is not an int or a float.
        ValueError: *value* is not finite or below *minimum*.
    """
    bound = f">= {minimum:g}" if inclusive else f"> {minimum:g}"
    expected = f"a finite number {bound}"
    if not _is_number(value):
        raise _wrong_type(owner, name, expected, value, fix)
    number = float(cast(float, value))
    if not (math.isfinite(number) and (number >= minimum if inclusive else number > minimum)):
        raise _out_of_range(owner, name, expected, value, fix)
    return number


@overload
def check_seconds(
    owner: str,
    name: str,
    value: object,
    *,
    optional: Literal[False],
    minimum: float = 0.0,
    inclusive: bool = False,
    why: str = "",
    fix: str = "",
) -> float: ...


@overload
def check_seconds(
    owner: str,
    name: str,
    value: object,
    *,
    optional: bool = True,
    minimum: float = 0.0,
    inclusive: bool = False,
    why: str = "",
    fix: str = "",
) -> float | None: ...


def check_seconds(
    owner: str,
    name: str,
    value: object,
    *,
    optional: bool = True,
    minimum: float = 0.0,
    inclusive: bool = False,
    why: str = "",
    fix: str = "",
) -> float | None:
    """Return *value* as seconds: a finite number above *minimum* (or ``None`` if *optional*).

    *why* explains an unusual *minimum* in the message (" (Redis expires in milliseconds)").

    Raises:
        TypeError: *value* is not a number (or ``None`` where allowed).
        ValueError: *value* is not finite or not above *minimum*.
    """
    if value is None and optional:
        return None
    bound = f">= {minimum:g}" if inclusive else f"> {minimum:g}"
    expected = f"a finite number of seconds {bound}{why}" + (" or None" if optional else "")
    fix = fix or (f"e.g. {name}=30" + (f", or {name}=None for no limit" if optional else ""))
    if not _is_number(value):
        raise _wrong_type(owner, name, expected, value, fix)
    seconds = float(cast(float, value))
    if not (math.isfinite(seconds) and (seconds >= minimum if inclusive else seconds > minimum)):
        raise _out_of_range(owner, name, expected, value, fix)
    return seconds


@overload
def check_bool(
    owner: str, name: str, value: object, *, optional: Literal[False] = False
) -> bool: ...


@overload
def check_bool(owner: str, name: str, value: object, *, optional: bool) -> bool | None: ...


def check_bool(owner: str, name: str, value: object, *, optional: bool = False) -> bool | None:
    """Return *value* if it is a ``bool`` (or ``None`` where *optional*).

    Raises:
        TypeError: *value* is not a bool (``1`` and ``"yes"`` included).
    """
    if value is None and optional:
        return None
    if not isinstance(value, bool):
        expected = "True or False" + (" or None" if optional else "")
        raise _wrong_type(owner, name, expected, value, f"pass {name}=True or {name}=False")
    return value


@overload
def check_str(
    owner: str,
    name: str,
    value: object,
    *,
    fix: str,
    optional: Literal[False] = False,
    empty: bool = False,
) -> str: ...


@overload
def check_str(
    owner: str, name: str, value: object, *, fix: str, optional: bool, empty: bool = False
) -> str | None: ...


def check_str(
    owner: str,
    name: str,
    value: object,
    *,
    fix: str,
    optional: bool = False,
    empty: bool = False,
) -> str | None:
    """Return *value* if it is a non-empty ``str`` (any ``str`` if *empty*; ``None`` if *optional*).

    Raises:
        TypeError: *value* is not a str (or ``None`` where allowed).
        ValueError: *value* is empty and *empty* is false.
    """
    if value is None and optional:
        return None
    expected = ("a str" if empty else "a non-empty str") + (" or None" if optional else "")
    if not isinstance(value, str):
        raise _wrong_type(owner, name, expected, value, fix)
    if not value and not empty:
        raise _out_of_range(owner, name, expected, value, fix)
    return value


def check_choice(owner: str, name: str, value: object, choices: Collection[T]) -> T:
    """Return *value* if it is one of *choices*.

    Raises:
        ValueError: *value* is not one of *choices*.
    """
    if value not in choices:
        shown = ", ".join(repr(choice) for choice in choices)
        raise _out_of_range(owner, name, f"one of {shown}", value, f"pass one of {shown}")
    return cast(T, value)


def check_callable(owner: str, name: str, value: object, *, shape: str) -> Callable[..., Any]:
    """Return *value* if it is callable; *shape* says how it is called (``"(seconds)"``).

    Raises:
        TypeError: *value* is not callable.
    """
    if not callable(value):
        raise _wrong_type(
            owner, name, f"a callable {shape}", value, f"pass a function called as {name}{shape}"
        )
    return value


def check_component(owner: str, name: str, value: object, protocol: Callable[..., P]) -> P:
    """Return *value* if it conforms to *protocol* (:func:`execproto.conformance.conforms`).

    The check is the conformance check, so a component whose async method is a plain
    ``def`` is refused here, at construction, instead of failing every call later.

    Raises:
        ConformanceError: *value* does not conform; ``error.report`` lists every problem.
    """
    if conforms(value, protocol):
        return cast(P, value)
    report = check(value, protocol)
    problems = "\n".join(f"  - {problem}" for problem in report.problems)
    raise ConformanceError(
        f"{owner}: {name} must conform to {report.protocol}, {_received(value)}:\n{problems}",
        report,
    )


def check_optional_component(
    owner: str, name: str, value: object, protocol: Callable[..., P]
) -> P | None:
    """Return *value* if it is ``None`` or conforms to *protocol*.

    Raises:
        ConformanceError: *value* is not ``None`` and does not conform.
    """
    return None if value is None else check_component(owner, name, value, protocol)


@overload
def check_instance(
    owner: str,
    name: str,
    value: object,
    cls: Callable[..., T],
    *,
    optional: Literal[False] = False,
    fix: str = "",
) -> T: ...


@overload
def check_instance(
    owner: str, name: str, value: object, cls: Callable[..., T], *, optional: bool, fix: str = ""
) -> T | None: ...


def check_instance(
    owner: str,
    name: str,
    value: object,
    cls: Callable[..., T],
    *,
    optional: bool = False,
    fix: str = "",
) -> T | None:
    """Return *value* if it is an instance of *cls* (or ``None`` where *optional*).

    For arguments whose type is a concrete class the constructor relies on beyond any
    protocol (a ``redis.Redis`` client, a ``Mapping`` of options); a component with a
    protocol is checked with :func:`check_component` instead.

    Raises:
        TypeError: *value* is not an instance of *cls* (or ``None`` where allowed).
    """
    if value is None and optional:
        return None
    # Callable[..., T], not type[T], so that an abstract class (Mapping) can be passed.
    kind = cast(type, cls)
    if not isinstance(value, kind):
        path = kind.__qualname__
        if kind.__module__ != "builtins":
            path = f"{kind.__module__}.{path}"
        expected = f"an instance of {path}" + (" or None" if optional else "")
        raise _wrong_type(owner, name, expected, value, fix or f"pass a {kind.__qualname__}")
    return cast(T, value)


def check_bounds(owner: str, name: str, value: object, *, fix: str) -> tuple[float, ...]:
    """Return *value* as floats if it is a non-empty, strictly increasing run of numbers > 0.

    For the upper bounds of histogram buckets, say; every bound must be finite.

    Raises:
        TypeError: *value* is not an iterable of numbers (a string is not one).
        ValueError: *value* is empty, not strictly increasing, or holds a number that is not
            finite and above 0.
    """
    expected = "a non-empty, strictly increasing sequence of finite numbers > 0"
    given = value  # shown as received, whatever the narrowing below makes of value
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise _wrong_type(owner, name, expected, given, fix)
    items = tuple(cast("Iterable[object]", value))
    if not all(_is_number(item) for item in items):
        raise _wrong_type(owner, name, expected, given, fix)
    bounds = tuple(float(cast(float, item)) for item in items)
    ordered = all(low < high for low, high in pairwise(bounds))
    if not bounds or not ordered or not all(0.0 < bound < math.inf for bound in bounds):
        raise _out_of_range(owner, name, expected, given, fix)
    return bounds
