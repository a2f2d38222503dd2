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
* **Huge integers** are encoded in hexadecimal, never in decimal, whose digit limit
  (``sys.set_int_max_str_digits``) varies per process.
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
import struct
from collections.abc import Mapping
from typing import Any

from execproto.capabilities import KeyFunction
from execproto.errors import CacheKeyError

__all__ = ["MAX_DEPTH", "KeyFunction", "canonical_bytes", "make_cache_key"]

MAX_DEPTH = 200
"""Deepest nesting :func:`canonical_bytes` encodes; deeper values raise CacheKeyError.

Kept well below Python's default recursion limit so that encoding never exhausts the
stack, also when the caller is itself deep in a call chain.
"""

# The encoding is built as text pieces and encoded to UTF-8 once: cheaper than encoding
# every string on its own. A byte string or a float enters the text as Latin-1 (one code
# point per byte, so nothing is lost). The version line makes a change of encoding change
# every key, so a shared cache never mixes keys of two versions.
_VERSION = "execproto.key.v1\n"
_DIGEST_SIZE = 16

_pack_double = struct.Struct(">d").pack
_pack_complex = struct.Struct(">dd").pack

# Length prefixes of short strings and containers, and small ints, made once: formatting an
# int is the most expensive step of encoding a short string.
_STR_PREFIX = tuple(f"s{n}:" for n in range(256))
_LIST_PREFIX = tuple(f"l{n}:" for n in range(32))
_TUPLE_PREFIX = tuple(f"t{n}:" for n in range(32))
_DICT_PREFIX = tuple(f"d{n}:" for n in range(32))
_SMALL_INTS = tuple(f"i{n:x};" for n in range(256))


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
    if type(operation_type) is not str or type(user_id) is not str or type(task_id) is not str:
        raise _bad_scope(operation_type, user_id, task_id)
    scope = (operation_type, user_id, task_id)
    head = _heads.get(scope)
    if head is None:
        head = _head(scope)
    out = [head]
    try:
        if type(args) is tuple and not args:  # the usual case: keyword arguments only
            out.append("t0:")
        else:
            _encode(args, out, 0)
        if type(kwargs) is dict:
            keywords: dict[Any, Any] = kwargs  # pyright: ignore[reportUnknownVariableType]
            _encode_dict(keywords, out, 1)
        else:
            _encode(kwargs, out, 0)
    except RecursionError as err:
        raise _stack_exhausted() from err
    text = "".join(out)
    try:
        data = text.encode()
    except UnicodeEncodeError:
        data = _utf8(text)
    return hashlib.blake2b(data, digest_size=_DIGEST_SIZE).hexdigest()


# The version line and the three scope strings, encoded, for the scopes seen lately: one
# operation in one task makes many calls. Cleared when full, which bounds it.
_MAX_HEADS = 1024
_heads: dict[tuple[str, str, str], str] = {}


def _head(scope: tuple[str, str, str]) -> str:
    out = [_VERSION]
    for part in scope:
        n = len(part)
        out.append(_STR_PREFIX[n] if n < 256 else f"s{n}:")
        out.append(part)
    head = "".join(out)
    if len(_heads) >= _MAX_HEADS:
        _heads.clear()
    _heads[scope] = head
    return head


def canonical_bytes(value: Any) -> bytes:
    """Return the canonical encoding of *value*: equal bytes exactly for equal typed values.

    Useful to build another :class:`KeyFunction` (hash it with the digest of your choice),
    or to check whether a value can be cached at all.

    Raises:
        CacheKeyError: *value*, or something inside it, has no canonical encoding, is nested
            deeper than :data:`MAX_DEPTH` levels or contains itself.
    """
    out: list[str] = []
    _encode_checked(value, out)
    return _utf8("".join(out))


def _utf8(text: str) -> bytes:
    try:
        return text.encode()
    except UnicodeEncodeError:
        # Lone surrogates: "surrogatepass" gives the same bytes as plain UTF-8 for every
        # other code point, so one text still has one encoding; it is just slower.
        return text.encode("utf-8", "surrogatepass")


def _encode_checked(value: Any, out: list[str]) -> None:
    try:
        _encode(value, out, 0)
    except RecursionError as err:
        raise _stack_exhausted() from err


# Grammar of the encoding; every node is self-delimiting, so a sequence of nodes is too:
#   s<n>:<n code points>  str          b<n>:<n bytes>  bytes       y<n>:<n bytes>  bytearray
#   i<hex>;               int          f<8 bytes>      float       c<16 bytes>     complex
#   T F N                 True False None
#   l<n>: t<n>:           list, tuple of n nodes
#   d<n>:                 dict with str keys: n (s-node, value node) pairs in key order
#   D<n>: S<n>: Z<n>:     other dict, set, frozenset: n encodings sorted as strings
#   e<s-node><s-node><s-node>   Enum member: module, qualified class name, member name
# Ints are hexadecimal: unlike decimal, it has no per-process digit limit
# (sys.set_int_max_str_digits), so a huge int is encoded the same everywhere.


def _encode(value: Any, out: list[str], depth: int) -> None:
    # The hot path: dispatch on the exact type, most common first, without isinstance
    # (which would also accept subclasses, and bool as int).
    typed: object = value  # for type(); typing.cast would be a call per value
    kind = type(typed)
    if kind is str:
        n = len(value)
        out.append(_STR_PREFIX[n] if n < 256 else f"s{n}:")
        out.append(value)
    elif kind is int:
        number: int = value
        if 0 <= number < 256:
            out.append(_SMALL_INTS[number])
        else:
            out.append("i%x;" % number)  # noqa: UP031 -- measured faster than format()
    elif kind is bool:
        out.append("T" if value else "F")
    elif value is None:
        out.append("N")
    elif kind is float:
        if value != value:
            raise _nan(value)
        out.append("f" + _pack_double(value).decode("latin-1"))
    elif kind is dict:
        if depth >= MAX_DEPTH:
            raise _too_deep(value)
        _encode_dict(value, out, depth + 1)
    elif kind is list or kind is tuple:
        # Inlined rather than a helper: lists and tuples are the commonest containers.
        if depth >= MAX_DEPTH:
            raise _too_deep(value)
        n = len(value)
        if kind is list:
            out.append(_LIST_PREFIX[n] if n < 32 else f"l{n}:")
        else:
            out.append(_TUPLE_PREFIX[n] if n < 32 else f"t{n}:")
        for item in value:
            # Short strings inlined: the commonest items, and a call costs as much.
            if type(item) is str and len(item) < 256:
                out.append(_STR_PREFIX[len(item)])
                out.append(item)
            else:
                _encode(item, out, depth + 1)
    elif kind is set or kind is frozenset:
        if depth >= MAX_DEPTH:
            raise _too_deep(value)
        _encode_set(value, out, depth + 1)
    elif kind is bytes or kind is bytearray:
        out.append(("b%d:" if kind is bytes else "y%d:") % len(value))
        out.append(value.decode("latin-1"))
    elif kind is complex:
        if value != value:
            raise _nan(value)
        out.append("c" + _pack_complex(value.real, value.imag).decode("latin-1"))
    elif isinstance(value, enum.Enum):
        out.append("e")
        for part in (kind.__module__, kind.__qualname__, value.name):
            _encode(part, out, depth)
    else:
        raise CacheKeyError(
            f"expected None, bool, int, float, complex, str, bytes, bytearray, tuple, list, "
            f"dict, set, frozenset or an Enum member, got {value!r} of type "
            f"{kind.__module__}.{kind.__qualname__}, which has no canonical encoding; "
            f"convert it to those types first (a dataclass to a dict, say), or give the "
            f"cache a key_function that knows it"
        )


def _encode_dict(value: dict[Any, Any], out: list[str], depth: int) -> None:
    # A dict whose keys are all str (keyword arguments, JSON objects) is written in code
    # point order of its keys, which is total and the same in every process. Any other dict
    # is written as the sorted encodings of its items. The two forms have their own tags,
    # and which one a dict gets depends on its content only.
    mark = len(out)
    try:
        keys = sorted(value)
    except TypeError:  # keys of mixed types: only the general form can order them
        keys = None
    if keys is not None:
        add = out.append
        n = len(keys)
        add(_DICT_PREFIX[n] if n < 32 else f"d{n}:")
        for key in keys:
            if type(key) is not str:
                del out[mark:]
                break
            add(_STR_PREFIX[len(key)] if len(key) < 256 else f"s{len(key)}:")
            add(key)
            # The commonest values inlined (what _encode would append): a call per value
            # costs as much as encoding it.
            item: Any = value[key]
            typed: object = item
            kind = type(typed)
            if kind is str and len(item) < 256:
                add(_STR_PREFIX[len(item)])
                add(item)
            elif kind is int and 0 <= item < 256:
                number: int = item
                add(_SMALL_INTS[number])
            elif kind is dict:
                if depth >= MAX_DEPTH:
                    raise _too_deep(item)
                _encode_dict(item, out, depth + 1)
            else:
                _encode(item, out, depth)
        else:
            return
    items: list[str] = []
    for key, item in value.items():
        pair: list[str] = []
        _encode(key, pair, depth)
        _encode(item, pair, depth)
        items.append("".join(pair))
    items.sort()
    out.append(f"D{len(items)}:")
    out.extend(items)


def _encode_set(value: set[Any] | frozenset[Any], out: list[str], depth: int) -> None:
    # Each element's encoding is self-delimiting, so the sorted concatenation determines the
    # set; sorting the encodings (not the elements) works for mixed element types.
    items: list[str] = []
    for item in value:
        encoded: list[str] = []
        _encode(item, encoded, depth)
        items.append("".join(encoded))
    items.sort()
    out.append(("S%d:" if type(value) is set else "Z%d:") % len(items))
    out.extend(items)


def _bad_scope(operation_type: object, user_id: object, task_id: object) -> CacheKeyError:
    for name, scope in (
        ("operation_type", operation_type),
        ("user_id", user_id),
        ("task_id", task_id),
    ):
        if type(scope) is not str:
            return CacheKeyError(
                f"{name} must be a str, got {scope!r} of type {type(scope).__name__}; "
                f"convert identifiers with str() before asking for a cache key"
            )
    raise AssertionError("_bad_scope called with three strings")  # pragma: no cover


def _stack_exhausted() -> CacheKeyError:
    # The caller may already be deep in its own stack; report it like a too-deep value.
    return CacheKeyError(
        f"expected a value nested at most {MAX_DEPTH} levels deep, but encoding it "
        f"exhausted the interpreter's stack; flatten the arguments or call from a "
        f"shallower stack"
    )


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
