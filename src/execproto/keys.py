"""Canonical, process-stable cache keys.

A cache key is the BLAKE2b digest (128 bits, hex) of a *canonical encoding* of one call:
``(operation_type, user_id, task_id, args, kwargs)``. The encoding is tagged and
length-prefixed, so it is injective by construction: two calls get the same key only when
their arguments are the same values of the same types. Key making lives in this small module
so a cache can be handed another :class:`KeyFunction`::

    MemoryCacheProvider(key_function=my_key_function)

What the canonical encoding decides, and why:

* **Stable across processes and interpreter runs.** The builtin ``hash()`` is salted per
  process for ``str`` and ``bytes`` (``PYTHONHASHSEED``), and ``id()`` is an address: keys
  built from either differ in every process, so a shared cache (Redis) never hits, and two
  different objects may even share an ``id`` over time. Neither is used.
* **No ``str()``/``repr()`` fallback.** Two different objects often print the same (every
  object whose class does not define ``__repr__`` prints ``<Foo object at 0x...>`` modulo the
  address, and many define a lossy ``__str__``): one key for two different calls serves one
  caller the other's result. A value of a type not listed below raises
  :class:`~execproto.errors.CacheKeyError` (a :class:`TypeError`), and the call is then simply
  not cached.
* **Not ``json.dumps``.** JSON loses types (``1``, ``1.0`` and ``True`` stay apart, but a
  tuple and a list both become an array, ``bytes`` cannot be encoded, a dict with keys
  ``1`` and ``"1"`` becomes ``{"1": ..., "1": ...}``) and ``sort_keys`` fails on mixed key
  types. It also accepts ``NaN`` and emits it, which is not JSON.
* **Type-aware.** ``1``, ``1.0``, ``True``, ``"1"`` and ``b"1"`` are all different keys, even
  though ``1 == 1.0 == True``: a function may well tell them apart (``isinstance``,
  ``repr``, integer division), so treating them as one could serve a wrong result. For the
  same reason a ``list`` and a ``tuple`` with equal items differ, and so do a ``set`` and a
  ``frozenset``. The cost of this choice is only a missed hit when a caller switches types.
* **Order-free for mappings and sets.** ``{"a": 1, "b": 2}`` and ``{"b": 2, "a": 1}`` give
  one key; sets give the same key whatever their (salted) iteration order.
* **Floats by their bits.** ``0.0`` and ``-0.0`` differ (``math.copysign``, ``1 / x`` and
  ``str`` tell them apart). ``NaN`` raises :class:`~execproto.errors.CacheKeyError`: it is
  not equal to itself, there are many NaN bit patterns, and a call with NaN is better not
  cached than cached under a guess. Infinities are encoded like any other float.
* **Strings as code points, not normalised.** ``"é"`` composed (U+00E9) and decomposed
  (``"e\\u0301"``) differ: they are different strings to Python (``len`` differs) and a
  function may treat them differently. Normalise before calling if that matters to you.
  Lone surrogates are encoded (``surrogatepass``) rather than refused.
* **Huge integers** are encoded by their two's-complement bytes, never through ``str()``,
  whose digit limit (``sys.set_int_max_str_digits``) varies per process.
* **Depth.** Values nested deeper than :data:`MAX_DEPTH` levels, and values that contain
  themselves, raise :class:`~execproto.errors.CacheKeyError` instead of crashing with
  :class:`RecursionError`.

Supported values: ``None``, ``bool``, ``int``, ``float``, ``complex``, ``str``, ``bytes``,
``bytearray``, ``tuple``, ``list``, ``dict``, ``set``, ``frozenset`` (exact types, nested
freely) and :class:`enum.Enum` members (encoded by their class's module, qualified name and
the member's name). Other subclasses of these types are refused: a subclass may redefine
equality or carry state the encoding would not see. Convert such values first, or pass your
own :class:`KeyFunction`.
"""

from __future__ import annotations

import enum
import hashlib
import math
import struct
from collections.abc import Callable, Mapping
from typing import Any, cast

from typing_extensions import Protocol, runtime_checkable

from execproto.errors import CacheKeyError

__all__ = ["MAX_DEPTH", "KeyFunction", "canonical_bytes", "make_cache_key"]

MAX_DEPTH = 200
"""Deepest nesting :func:`canonical_bytes` encodes; deeper values raise CacheKeyError.

Kept well below Python's default recursion limit so that encoding never exhausts the
stack, also when the caller is itself deep in a call chain.
"""

# The personalisation string separates execproto keys from any other BLAKE2b digest of the
# same bytes, and names the encoding version: a change of encoding changes every key, so a
# shared cache never mixes keys of two versions.
_PERSON = b"execproto.key.v1"
_DIGEST_SIZE = 16

_pack_double = struct.Struct(">d").pack
_pack_complex = struct.Struct(">dd").pack

# Integers in this range are written in decimal, which is fast; larger ones by their bytes,
# because the decimal form of a huge int is refused by processes with a low digit limit.
# The choice depends on the value only, so one value always has one encoding.
_SMALL_INT_MIN = -(2**63)
_SMALL_INT_MAX = 2**63 - 1


@runtime_checkable
class KeyFunction(Protocol):
    """Makes a cache key for one call of an operation in a user's task.

    An implementation must guarantee:

    * The same call gives the same key in every process and interpreter run.
    * Calls that differ in operation (which includes the tool, ``"tool.operation"``), user,
      task, a positional or a keyword argument give different keys.
    * An argument it cannot encode canonically raises :class:`TypeError`
      (:class:`~execproto.errors.CacheKeyError`); it never falls back to ``str()``, ``repr()``,
      ``hash()`` or ``id()``.
    * It is safe to call from several threads at once.

    Parameters are positional-only, so a function with any parameter names conforms.
    """

    def __call__(
        self,
        operation_type: str,
        user_id: str,
        task_id: str,
        args: tuple[Any, ...],
        kwargs: Mapping[str, Any],
        /,
    ) -> str:
        """Return the key for this call.

        Raises:
            TypeError: an argument has no canonical encoding.
        """
        ...


def make_cache_key(
    operation_type: str,
    user_id: str,
    task_id: str,
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
    /,
) -> str:
    """Return the cache key (32 hex digits) of one call of *operation_type* in a user's task.

    *operation_type* must name the tool as well as the operation (``"search.query"``): two
    tools with an operation of the same name must not share results. *user_id* and *task_id*
    scope the key, so one user's result is never another's hit; the empty string is a scope
    of its own. The key is the BLAKE2b digest of the canonical encoding described in this
    module's documentation: identical in every process, different for any difference in
    the call's values or their types.

    Raises:
        CacheKeyError: an argument (or one of the scope strings) has no canonical encoding;
            the message names the offending value. It is a :class:`TypeError`.
    """
    for name, scope in (
        ("operation_type", operation_type),
        ("user_id", user_id),
        ("task_id", task_id),
    ):
        if type(scope) is not str:
            raise CacheKeyError(
                f"{name} must be a str, got {scope!r} of type {type(scope).__name__}; "
                f"convert identifiers with str() before asking for a cache key"
            )
    out: list[bytes] = []
    _encode_checked((operation_type, user_id, task_id, args, kwargs), out)
    return hashlib.blake2b(b"".join(out), digest_size=_DIGEST_SIZE, person=_PERSON).hexdigest()


def canonical_bytes(value: Any) -> bytes:
    """Return the canonical encoding of *value*: equal bytes exactly for equal typed values.

    Useful to build another :class:`KeyFunction` (hash it with the digest of your choice),
    or to check whether a value can be cached at all.

    Raises:
        CacheKeyError: *value*, or something inside it, has no canonical encoding, is nested
            deeper than :data:`MAX_DEPTH` levels or contains itself.
    """
    out: list[bytes] = []
    _encode_checked(value, out)
    return b"".join(out)


def _encode_checked(value: Any, out: list[bytes]) -> None:
    try:
        _encode(value, out, 0)
    except RecursionError as err:
        # The caller may already be deep in its own stack; report it like a too-deep value.
        raise CacheKeyError(
            f"expected a value nested at most {MAX_DEPTH} levels deep, but encoding it "
            f"exhausted the interpreter's stack; flatten the arguments or call from a "
            f"shallower stack"
        ) from err


def _encode(value: Any, out: list[bytes], depth: int) -> None:
    # The hot path: dispatch on the exact type, most common first, without isinstance
    # (which would also accept subclasses, and bool as int).
    kind = cast("type[object]", type(value))
    if kind is str:
        data = value.encode("utf-8", "surrogatepass")
        out.append(b"s%d:" % len(data))
        out.append(data)
    elif kind is int:
        out.append(_encode_int(value))
    elif kind is bool:
        out.append(b"T" if value else b"F")
    elif value is None:
        out.append(b"N")
    elif kind is float:
        out.append(_encode_float(value))
    elif kind is dict or kind is list or kind is tuple or kind is set or kind is frozenset:
        if depth >= MAX_DEPTH:
            raise _too_deep(value)
        _ENCODE_CONTAINER[kind](value, out, depth + 1)
    elif kind is bytes:
        out.append(b"b%d:" % len(value))
        out.append(value)
    elif kind is bytearray:
        out.append(b"y%d:" % len(value))
        out.append(bytes(value))
    elif kind is complex:
        if math.isnan(value.real) or math.isnan(value.imag):
            raise _nan(value)
        out.append(b"c" + _pack_complex(value.real, value.imag))
    elif isinstance(value, enum.Enum):
        for part in (kind.__module__, kind.__qualname__, value.name):
            data = part.encode("utf-8", "surrogatepass")
            out.append(b"e%d:" % len(data))
            out.append(data)
    else:
        raise CacheKeyError(
            f"expected None, bool, int, float, complex, str, bytes, bytearray, tuple, list, "
            f"dict, set, frozenset or an Enum member, got {value!r} of type "
            f"{kind.__module__}.{kind.__qualname__}, which has no canonical encoding; "
            f"convert it to those types first (a dataclass to a dict, say), or give the "
            f"cache a key_function that knows it"
        )


def _encode_int(value: int) -> bytes:
    if _SMALL_INT_MIN <= value <= _SMALL_INT_MAX:
        return b"i%d;" % value
    data = value.to_bytes((value.bit_length() + 8) // 8, "big", signed=True)
    return b"I%d:" % len(data) + data


def _encode_float(value: float) -> bytes:
    if value != value:
        raise _nan(value)
    return b"f" + _pack_double(value)


def _encode_list(value: list[Any], out: list[bytes], depth: int) -> None:
    out.append(b"l%d:" % len(value))
    for item in value:
        _encode(item, out, depth)


def _encode_tuple(value: tuple[Any, ...], out: list[bytes], depth: int) -> None:
    out.append(b"t%d:" % len(value))
    for item in value:
        _encode(item, out, depth)


def _encode_dict(value: dict[Any, Any], out: list[bytes], depth: int) -> None:
    # A dict whose keys are all str (keyword arguments, JSON objects) is written in code
    # point order of its keys, which is total and the same in every process. Any other dict
    # is written as the byte-sorted encodings of its items. The two forms have their own
    # tags, and which one a dict gets depends on its content only.
    if all(type(key) is str for key in value):
        out.append(b"d%d:" % len(value))
        for key in sorted(value):
            data = key.encode("utf-8", "surrogatepass")
            out.append(b"s%d:" % len(data))
            out.append(data)
            _encode(value[key], out, depth)
        return
    items: list[bytes] = []
    for key, item in value.items():
        pair: list[bytes] = []
        _encode(key, pair, depth)
        _encode(item, pair, depth)
        items.append(b"".join(pair))
    items.sort()
    out.append(b"D%d:" % len(items))
    out.extend(items)


def _encode_set(value: set[Any] | frozenset[Any], out: list[bytes], depth: int) -> None:
    # Each element's encoding is self-delimiting, so the sorted concatenation determines the
    # set; sorting the encodings (not the elements) works for mixed element types.
    items: list[bytes] = []
    for item in value:
        encoded: list[bytes] = []
        _encode(item, encoded, depth)
        items.append(b"".join(encoded))
    items.sort()
    out.append((b"S%d:" if type(value) is set else b"Z%d:") % len(items))
    out.extend(items)


_ENCODE_CONTAINER: dict[type[Any], Callable[[Any, list[bytes], int], None]] = {
    dict: _encode_dict,
    list: _encode_list,
    tuple: _encode_tuple,
    set: _encode_set,
    frozenset: _encode_set,
}


def _too_deep(value: Any) -> CacheKeyError:
    kind = type(value).__name__
    return CacheKeyError(
        f"expected a value nested at most {MAX_DEPTH} levels deep, got a {kind} nested "
        f"deeper (or one that contains itself, which has no finite encoding); pass a "
        f"flatter or acyclic value, or do not cache this call"
    )


def _nan(value: float | complex) -> CacheKeyError:
    return CacheKeyError(
        f"expected a number that equals itself, got {value!r} of type "
        f"{type(value).__name__}; NaN has no canonical encoding (it is not equal to itself "
        f"and has many bit patterns), so a call with NaN is not cached"
    )
