"""Canonical cache keys: stable, type-aware, order-free, injective, refusing what they cannot encode."""

from __future__ import annotations

import enum
import hashlib
import json
import os
import struct
import subprocess
import sys
import textwrap
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from execproto.capabilities import KeyFunction
from execproto.errors import CacheKeyError
from execproto.runtime.keys import MAX_DEPTH, canonical_bytes, make_cache_key


def key(*args: Any, **kwargs: Any) -> str:
    return make_cache_key("tool.op", "user", "task", args, kwargs)


class Colour(enum.Enum):
    RED = 1
    CRIMSON = 1  # noqa: PIE796 -- a deliberate alias: the same member as RED
    BLUE = 2


class Level(enum.IntEnum):
    ONE = 1


# --- the defects of the AIECS implementation -------------------------------------------


def test_user_is_part_of_the_key() -> None:
    assert make_cache_key("t.op", "alice", "task", (), {}) != make_cache_key(
        "t.op", "bob", "task", (), {}
    )


def test_task_is_part_of_the_key() -> None:
    assert make_cache_key("t.op", "u", "task-1", (), {}) != make_cache_key(
        "t.op", "u", "task-2", (), {}
    )


def test_tool_name_is_part_of_the_key() -> None:
    assert make_cache_key("search.run", "u", "t", (1,), {}) != make_cache_key(
        "fetch.run", "u", "t", (1,), {}
    )


def test_scope_strings_do_not_run_into_each_other() -> None:
    assert make_cache_key("t.op", "ab", "c", (), {}) != make_cache_key("t.op", "a", "bc", (), {})


_SUBPROCESS_SCRIPT = textwrap.dedent(
    """
    from execproto.runtime.keys import make_cache_key
    calls = [
        ("t.op", "u", "t", (), {"tags": {"alpha", "beta", "gamma", "delta"}}),
        ("t.op", "u", "t", ("x", b"y"), {"b": 1, "a": 2.5, "c": frozenset({"k", b"k", 3})}),
        ("t.op", "u", "t", ({1: "a", "1": "b", (1, 2): None},), {"nested": [{"z": 1, "y": 2}]}),
    ]
    print("\\n".join(make_cache_key(*call) for call in calls))
    """
)


def test_the_key_format_is_pinned() -> None:
    # Shared caches (Redis) are read by processes of other versions and interpreters
    # (checked identical on CPython 3.10, 3.11 and 3.13): changing the encoding must be a
    # deliberate, versioned change, so this value is written down.
    call = ("t.op", "u", "t", ("x", b"y"), {"b": 1, "a": 2.5, "c": frozenset({"k", b"k", 3})})
    assert "30a49fac6ec9e1275274fe3d7c9a5e8c" == make_cache_key(*call)


def test_keys_are_identical_in_processes_with_different_hash_seeds() -> None:
    outputs = []
    for seed in ("0", "1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", _SUBPROCESS_SCRIPT],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        outputs.append(done.stdout)
    assert 3 == len(outputs[0].split())
    assert [outputs[0]] * 3 == outputs


def test_objects_without_a_canonical_encoding_are_refused_not_stringified() -> None:
    class Opaque:
        def __str__(self) -> str:
            return "same"

        __repr__ = __str__

    with pytest.raises(CacheKeyError, match="Opaque"):
        key(Opaque())
    with pytest.raises(CacheKeyError):
        key(payload=[1, {"deep": Opaque()}])


# --- types ------------------------------------------------------------------------------


def test_cache_key_error_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        key(object())


@pytest.mark.parametrize(
    "value",
    [
        lambda: None,
        object(),
        int,  # a type, not a value
        Ellipsis,
        memoryview(b"1"),
        range(3),
    ],
)
def test_values_outside_the_supported_types_raise(value: object) -> None:
    with pytest.raises(CacheKeyError):
        canonical_bytes(value)


def test_subclasses_of_supported_types_are_refused() -> None:
    class MyStr(str):
        pass

    class MyDict(dict[str, int]):
        pass

    for value in (MyStr("a"), MyDict(a=1)):
        with pytest.raises(CacheKeyError):
            canonical_bytes(value)


def test_numbers_strings_and_bytes_that_compare_equal_get_different_keys() -> None:
    values: list[Any] = [1, 1.0, True, "1", b"1", bytearray(b"1"), 1 + 0j, Level.ONE]
    assert len(values) == len({key(v) for v in values})


def test_list_and_tuple_differ_set_and_frozenset_differ() -> None:
    assert key([1, 2]) != key((1, 2))
    assert key({1, 2}) != key(frozenset({1, 2}))


def test_dict_with_int_key_differs_from_dict_with_str_key() -> None:
    assert key({1: "a"}) != key({"1": "a"})


def test_mappings_are_order_free() -> None:
    assert key(a=1, b=2) == make_cache_key("tool.op", "user", "task", (), {"b": 2, "a": 1})
    assert key({1: "x", "1": "y", (2,): None}) == key({(2,): None, "1": "y", 1: "x"})


def test_sets_are_order_free() -> None:
    # 8 and 16 share a slot in a small set, so insertion order decides iteration order.
    forward, backward = {8}, {16}
    forward.add(16)
    backward.add(8)
    assert list(forward) != list(backward)
    assert key(forward) == key(backward)
    assert key(frozenset(forward)) == key(frozenset(backward))


def test_positional_and_keyword_arguments_differ() -> None:
    assert make_cache_key("t.op", "u", "t", ("a",), {}) != make_cache_key(
        "t.op", "u", "t", (), {"x": "a"}
    )


def test_concatenated_strings_never_collide() -> None:
    assert key("ab", "c") != key("a", "bc")
    # With tags but no lengths, both would read "s" "a" "s" "sb" == "s" "as" "s" "b".
    assert key("a", "sb") != key("as", "b")
    assert key(b"a", b"bb") != key(b"ab", b"b")
    assert canonical_bytes(("ab", "c")) != canonical_bytes(("a", "bc"))
    assert key(["a", ["b"]]) != key([["a"], "b"])


def test_negative_zero_differs_from_zero() -> None:
    assert key(-0.0) != key(0.0)


def test_infinities_are_encoded() -> None:
    assert key(float("inf")) != key(float("-inf"))


@pytest.mark.parametrize("value", [float("nan"), complex(0, float("nan")), [1, float("nan")]])
def test_nan_is_refused(value: object) -> None:
    with pytest.raises(CacheKeyError, match="NaN"):
        key(value)


def test_composed_and_decomposed_unicode_differ() -> None:
    assert key("\u00e9") != key("e\u0301")


def test_lone_surrogates_are_encoded() -> None:
    assert key("\ud800") != key("\ud801")


def test_huge_integers_are_encoded_without_str_digit_limits() -> None:
    huge = 10**5000
    assert key(huge) != key(huge + 1)
    assert key(-huge) != key(huge)
    assert key(2**63 - 1) != key(2**63)


@pytest.mark.skipif(
    not hasattr(sys, "set_int_max_str_digits"), reason="the digit limit exists from 3.11"
)
def test_huge_integer_keys_do_not_depend_on_the_process_digit_limit() -> None:
    huge = 10**5000
    before = key(huge)
    limit = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(640)
    try:
        assert before == key(huge)
    finally:
        sys.set_int_max_str_digits(limit)


def test_small_and_large_integers_never_collide() -> None:
    values = [*range(-3, 300), 2**64, -(2**64)]
    assert len(values) == len({key(v) for v in values})


def test_bytes_text_and_floats_sharing_code_points_differ() -> None:
    # Bytes and float bits enter the encoding as Latin-1 text: their tags keep them apart.
    assert key(b"\xe9") != key("\xe9")
    assert key(b"\x00" * 8) != key(0.0)


def test_enum_members_are_encoded_by_name_and_aliases_agree() -> None:
    assert key(Colour.RED) == key(Colour.CRIMSON)
    assert key(Colour.RED) != key(Colour.BLUE)
    assert key(Level.ONE) != key(1)


def test_big_payloads_are_encoded() -> None:
    payload = {"rows": [{"id": i, "name": f"row{i}"} for i in range(5000)], "blob": b"x" * 10**6}
    assert 32 == len(key(payload=payload))


def test_keys_are_32_hex_digits() -> None:
    k = key(1)
    assert 32 == len(k)
    assert k == k.lower()
    int(k, 16)


def test_nesting_up_to_the_limit_is_encoded_and_deeper_raises() -> None:
    ok: Any = 0
    for _ in range(MAX_DEPTH):
        ok = [ok]
    canonical_bytes(ok)
    too_deep = [ok]
    with pytest.raises(CacheKeyError, match="nested"):
        canonical_bytes(too_deep)


def test_very_deep_nesting_raises_cache_key_error_not_recursion_error() -> None:
    value: Any = 0
    for _ in range(100_000):
        value = {"k": value}
    with pytest.raises(CacheKeyError):
        key(value)


def test_self_containing_values_raise() -> None:
    looped: list[Any] = []
    looped.append(looped)
    with pytest.raises(CacheKeyError, match="contains itself"):
        key(looped)


def test_shallow_stack_limit_is_reported_as_cache_key_error() -> None:
    value: Any = 0
    for _ in range(MAX_DEPTH - 1):
        value = [value]
    frame, stack_depth = sys._getframe(), 0
    while frame is not None:
        frame, stack_depth = frame.f_back, stack_depth + 1
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(stack_depth + 60)
    try:
        with pytest.raises(CacheKeyError):
            key(value)
    finally:
        sys.setrecursionlimit(limit)


@pytest.mark.parametrize("field", [0, 1, 2])
def test_scope_arguments_must_be_strings(field: int) -> None:
    scope: list[Any] = ["t.op", "u", "t"]
    scope[field] = 42
    with pytest.raises(CacheKeyError, match="must be a str"):
        make_cache_key(scope[0], scope[1], scope[2], (), {})


def test_make_cache_key_is_a_key_function() -> None:
    function: KeyFunction = make_cache_key
    assert isinstance(function, KeyFunction)


def test_any_dict_key_type_mix_is_accepted() -> None:
    assert key({1: 1, "a": 2, None: 3, (1,): 4}) != key({1: 1, "a": 2, None: 3, (2,): 4})


def test_seed_json_collisions_are_avoided() -> None:
    # Pairs the seed's json.dumps keys could not tell apart.
    pairs: list[tuple[Any, Any]] = [((1, 2), [1, 2]), ({1: "a"}, {"1": "a"})]
    for left, right in pairs:
        assert json.dumps(left) == json.dumps(right)
        assert key(left) != key(right)


# --- key equality iff canonical equality (hypothesis) ----------------------------------

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=6),
    st.binary(max_size=6),
)
_hashables = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.tuples(inner, inner),
        st.frozensets(inner, max_size=3),
    ),
    max_leaves=6,
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(_hashables, inner, max_size=3),
        st.dictionaries(st.text(max_size=3), inner, max_size=3),
        st.sets(_hashables, max_size=3),
        st.frozensets(_hashables, max_size=3),
    ),
    max_leaves=10,
)


def _oracle(value: Any) -> Any:
    """A type-tagged normal form written independently of keys.py: trees of tuples."""
    kind = type(value)
    if kind is float:
        # float.hex tells -0.0 from 0.0, unlike ==.
        return ("float", value.hex())
    if kind in (type(None), bool, int, str, bytes):
        return (kind.__name__, value)
    if kind in (list, tuple):
        return (kind.__name__, tuple(_oracle(item) for item in value))
    if kind is dict:
        return ("dict", frozenset((_oracle(k), _oracle(v)) for k, v in value.items()))
    if kind in (set, frozenset):
        return (kind.__name__, frozenset(_oracle(item) for item in value))
    raise AssertionError(f"the strategy produced {value!r}")


def _shuffled(value: Any) -> Any:
    """The same value with every mapping rebuilt in reverse insertion order."""
    if type(value) is dict:
        return {k: _shuffled(value[k]) for k in reversed(list(value))}
    if type(value) is list:
        return [_shuffled(item) for item in value]
    if type(value) is tuple:
        return tuple(_shuffled(item) for item in value)
    return value


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_keys_are_equal_exactly_when_values_are_canonically_equal(data: st.DataObject) -> None:
    left = data.draw(_values)
    right = data.draw(st.one_of(_values, st.just(_shuffled(left))))
    assert (_oracle(left) == _oracle(right)) == (key(left) == key(right))
    assert (_oracle(left) == _oracle(right)) == (canonical_bytes(left) == canonical_bytes(right))


@settings(max_examples=200, deadline=None)
@given(_values)
def test_rebuilding_mappings_in_another_order_keeps_the_key(value: Any) -> None:
    assert key(value) == key(_shuffled(value))


@settings(max_examples=100, deadline=None)
@given(
    st.tuples(st.text(max_size=4), st.text(max_size=4), st.text(max_size=4)),
    st.tuples(st.text(max_size=4), st.text(max_size=4), st.text(max_size=4)),
    _values,
)
def test_any_difference_in_scope_changes_the_key(
    first: tuple[str, str, str], second: tuple[str, str, str], argument: Any
) -> None:
    same = first == second
    assert same == (
        make_cache_key(*first, (argument,), {}) == make_cache_key(*second, (argument,), {})
    )


def _grammar(value: Any) -> str:
    """The encoding, written from the grammar in keys.py alone (no fast paths): the text
    whose UTF-8 (surrogates passed) is hashed."""
    kind = type(value)
    if kind is str:
        return f"s{len(value)}:{value}"
    if kind is bool:
        return "T" if value else "F"
    if kind is int:
        return f"i{value:x};"
    if value is None:
        return "N"
    if kind is float:
        return "f" + struct.pack(">d", value).decode("latin-1")
    if kind is bytes:
        return f"b{len(value)}:" + value.decode("latin-1")
    if kind in (list, tuple):
        tag = "l" if kind is list else "t"
        return f"{tag}{len(value)}:" + "".join(_grammar(item) for item in value)
    if kind is dict and all(type(k) is str for k in value):
        pairs = (_grammar(k) + _grammar(value[k]) for k in sorted(value))
        return f"d{len(value)}:" + "".join(pairs)
    if kind is dict:
        encoded = sorted(_grammar(k) + _grammar(v) for k, v in value.items())
        return f"D{len(value)}:" + "".join(encoded)
    if kind in (set, frozenset):
        tag = "S" if kind is set else "Z"
        return f"{tag}{len(value)}:" + "".join(sorted(_grammar(item) for item in value))
    raise AssertionError(f"the strategy produced {value!r}")


_long_texts = st.text(min_size=250, max_size=300)


@settings(max_examples=150, deadline=None)
@given(
    st.tuples(st.text(max_size=4), st.text(max_size=4), st.text(max_size=4)),
    st.lists(st.one_of(_values, _long_texts), max_size=3).map(tuple),
    st.dictionaries(
        st.one_of(st.text(max_size=4), _long_texts),
        st.one_of(_values, _long_texts, st.lists(st.one_of(_scalars, _long_texts), max_size=3)),
        max_size=4,
    ),
)
def test_keys_are_the_digest_of_the_documented_grammar(
    scope: tuple[str, str, str], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    # The encoder inlines common shapes (empty args, str-keyed dicts, short strings and
    # small ints); the bytes must stay exactly those of the grammar, or every stored key
    # would change.
    text = "execproto.key.v1\n" + "".join(map(_grammar, (*scope, args, kwargs)))
    expected = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16)

    assert expected.hexdigest() == make_cache_key(*scope, args, kwargs)
    assert _grammar(kwargs).encode("utf-8", "surrogatepass") == canonical_bytes(kwargs)
