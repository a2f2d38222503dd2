"""MemoryCacheProvider: LRU within maxsize, TTL, isolation of values, thread safety."""

from __future__ import annotations

import copy
import threading
from collections.abc import Mapping, Sized
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from execproto.capabilities import SupportsAsyncLookup, SupportsLookup
from execproto.errors import CacheKeyError, ConformanceError
from execproto.protocols import ICacheProvider
from execproto.runtime.cache import CacheStats, MemoryCacheProvider
from execproto.runtime.keys import make_cache_key
from execproto.testing import ManualClock
from execproto.typed import IAsyncCacheProvider

# --- protocols --------------------------------------------------------------------------


def test_conforms_to_the_sync_async_and_lookup_protocols() -> None:
    cache = MemoryCacheProvider()
    assert isinstance(cache, ICacheProvider)
    assert isinstance(cache, IAsyncCacheProvider)
    assert isinstance(cache, SupportsLookup)
    assert isinstance(cache, SupportsAsyncLookup)


def test_a_plain_dict_cache_does_not_support_lookup() -> None:
    class SeedCache:
        def get_from_cache(self, cache_key: str) -> Any: ...

    assert not isinstance(SeedCache(), SupportsLookup)


# --- hits, misses, None -----------------------------------------------------------------


def test_a_cached_none_is_a_hit() -> None:
    cache = MemoryCacheProvider()
    cache.add_to_cache("k", None)
    assert (True, None) == cache.lookup("k")
    assert (False, None) == cache.lookup("other")
    assert CacheStats(1, 1, 0, 0, 1, 1024) == cache.stats()


def test_get_from_cache_returns_none_on_a_miss_and_the_value_on_a_hit() -> None:
    cache = MemoryCacheProvider()
    assert cache.get_from_cache("k") is None
    cache.add_to_cache("k", 42)
    assert 42 == cache.get_from_cache("k")


async def test_async_methods_share_the_sync_behaviour() -> None:
    cache = MemoryCacheProvider()
    await cache.add_to_cache_async("k", None)
    assert (True, None) == await cache.lookup_async("k")
    assert await cache.get_from_cache_async("k") is None
    await cache.add_to_cache_async("k", [1])
    assert [1] == await cache.get_from_cache_async("k")
    assert (False, None) == await cache.lookup_async("missing")


# --- keys -------------------------------------------------------------------------------


def test_keys_come_from_make_cache_key_by_default() -> None:
    cache = MemoryCacheProvider()
    expected = make_cache_key("t.op", "u", "t", (1,), {"a": 2})
    assert expected == cache.generate_cache_key("t.op", "u", "t", (1,), {"a": 2})


def test_the_key_function_is_replaceable() -> None:
    calls: list[tuple[Any, ...]] = []

    def my_key(
        op: str, user: str, task: str, args: tuple[Any, ...], kwargs: Mapping[str, Any], /
    ) -> str:
        calls.append((op, user, task, args, dict(kwargs)))
        return f"{op}|{user}|{task}"

    cache = MemoryCacheProvider(key_function=my_key)
    assert "t.op|u|t" == cache.generate_cache_key("t.op", "u", "t", (), {"x": 1})
    assert [("t.op", "u", "t", (), {"x": 1})] == calls


def test_unencodable_arguments_raise_cache_key_error() -> None:
    with pytest.raises(CacheKeyError):
        MemoryCacheProvider().generate_cache_key("t.op", "u", "t", (object(),), {})


def test_scopes_get_different_keys_and_do_not_share_results() -> None:
    cache = MemoryCacheProvider()
    alice = cache.generate_cache_key("t.op", "alice", "task", (), {"q": 1})
    bob = cache.generate_cache_key("t.op", "bob", "task", (), {"q": 1})
    cache.add_to_cache(alice, "alice's result")
    assert (False, None) == cache.lookup(bob)


# --- LRU --------------------------------------------------------------------------------


def test_the_least_recently_used_entry_is_evicted() -> None:
    cache = MemoryCacheProvider(maxsize=2)
    cache.add_to_cache("a", 1)
    cache.add_to_cache("b", 2)
    cache.lookup("a")
    cache.add_to_cache("c", 3)
    assert (False, None) == cache.lookup("b")
    assert (True, 1) == cache.lookup("a")
    assert (True, 3) == cache.lookup("c")
    assert 1 == cache.stats().evictions


def test_replacing_a_value_does_not_grow_the_cache() -> None:
    cache = MemoryCacheProvider(maxsize=2)
    for value in range(10):
        cache.add_to_cache("a", value)
    assert 1 == len(cache)
    assert (True, 9) == cache.lookup("a")
    assert 0 == cache.stats().evictions


def test_memory_stays_bounded_whatever_the_key_stream() -> None:
    # The AIECS cache kept expiry times in a side map that only grew: every attribute of the
    # cache that holds items must stay within maxsize.
    cache = MemoryCacheProvider(maxsize=10, ttl=60.0)
    for i in range(5000):
        cache.add_to_cache(f"key-{i}", i)
        cache.lookup(f"key-{i - 3}")
    sizes = {
        name: len(value)
        for name, value in vars(cache).items()
        if isinstance(value, Sized) and not isinstance(value, (str, bytes))
    }
    assert sizes, "the cache should hold its entries in a sized attribute"
    assert {name: min(size, 10) for name, size in sizes.items()} == sizes
    assert 10 == len(cache)


# --- TTL --------------------------------------------------------------------------------


def test_an_entry_is_never_returned_after_its_ttl() -> None:
    clock = ManualClock(1000.0)
    cache = MemoryCacheProvider(ttl=10.0, clock=clock)
    cache.add_to_cache("k", "v")
    clock.advance(9.999)
    assert (True, "v") == cache.lookup("k")
    clock.advance(0.001)
    assert (False, None) == cache.lookup("k")
    assert 0 == len(cache)
    assert CacheStats(hits=1, misses=1, evictions=0, expirations=1, size=0, maxsize=1024) == (
        cache.stats()
    )


def test_storing_again_restarts_the_ttl() -> None:
    clock = ManualClock(1000.0)
    cache = MemoryCacheProvider(ttl=10.0, clock=clock)
    cache.add_to_cache("k", 1)
    clock.advance(8)
    cache.add_to_cache("k", 2)
    clock.advance(8)
    assert (True, 2) == cache.lookup("k")


def test_expire_removes_expired_entries_only() -> None:
    clock = ManualClock(1000.0)
    cache = MemoryCacheProvider(ttl=10.0, clock=clock)
    cache.add_to_cache("old", 1)
    clock.advance(5)
    cache.add_to_cache("new", 2)
    clock.advance(5)
    assert 1 == cache.expire()
    assert 1 == len(cache)
    assert (True, 2) == cache.lookup("new")


def test_without_ttl_entries_do_not_expire() -> None:
    clock = ManualClock(1000.0)
    cache = MemoryCacheProvider(clock=clock)
    cache.add_to_cache("k", 1)
    clock.advance(10**9)
    assert 0 == cache.expire()
    assert (True, 1) == cache.lookup("k")


# --- isolation of values ----------------------------------------------------------------


def test_mutating_a_read_value_does_not_change_the_cache() -> None:
    cache = MemoryCacheProvider()
    cache.add_to_cache("k", {"rows": [1, 2], "meta": {"n": 2}})
    _, first = cache.lookup("k")
    first["rows"].append(3)
    first["meta"]["n"] = 99
    first["new"] = True
    assert (True, {"rows": [1, 2], "meta": {"n": 2}}) == cache.lookup("k")


def test_mutating_a_stored_value_afterwards_does_not_change_the_cache() -> None:
    cache = MemoryCacheProvider()
    result = {"a": 1}
    cache.add_to_cache("k", result)
    result["a"] = 2
    assert (True, {"a": 1}) == cache.lookup("k")


@pytest.mark.parametrize("value", [[1, "a"], {1, 2}, {"a": (1, 2)}])
def test_flat_containers_are_copied_too(value: Any) -> None:
    cache = MemoryCacheProvider()
    cache.add_to_cache("k", value)
    _, read = cache.lookup("k")
    assert value == read
    assert read is not cache.lookup("k")[1]


@pytest.mark.parametrize("value", [1, "s", b"b", None, 1.5, (1, ("a", b"b")), frozenset({1})])
def test_immutable_values_are_returned_without_copying(value: Any) -> None:
    cache = MemoryCacheProvider()
    cache.add_to_cache("k", value)
    assert cache.lookup("k")[1] is cache.lookup("k")[1]


def test_tuples_holding_mutable_values_are_copied() -> None:
    cache = MemoryCacheProvider()
    cache.add_to_cache("k", ([1],))
    cache.lookup("k")[1][0].append(2)
    assert (True, ([1],)) == cache.lookup("k")


def _mutate_everything(value: Any) -> None:
    """Clear every mutable container inside *value*, however deep."""
    if isinstance(value, (list, tuple, set, frozenset)) or type(value) is dict:
        children = list(value.values()) if type(value) is dict else list(value)
        for child in children:
            _mutate_everything(child)
        if isinstance(value, (list, set, dict)):
            value.clear()


@pytest.mark.parametrize(
    "value",
    [
        {"rows": [[1, 2], [3]], "tags": {"a", "b"}, "pair": ([1], (2, [3]))},
        [{"a": {"b": {"c": [1]}}}],
        ({"a": 1}, [2]),
    ],
)
def test_nested_trees_are_copied_at_every_level(value: Any) -> None:
    cache = MemoryCacheProvider()
    expected = copy.deepcopy(value)
    cache.add_to_cache("k", value)
    _mutate_everything(cache.lookup("k")[1])
    _mutate_everything(value)
    assert (True, expected) == cache.lookup("k")


_trees = st.recursive(
    st.one_of(st.none(), st.integers(), st.text(max_size=4), st.floats(allow_nan=False)),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.text(max_size=4), children, max_size=4),
        st.lists(children, max_size=3).map(tuple),
        st.sets(st.integers(), max_size=3),
    ),
    max_leaves=24,
)


@settings(max_examples=60, deadline=None)
@given(_trees, st.integers(min_value=1, max_value=3))
def test_reads_of_any_plain_tree_are_equal_and_independent(value: Any, reads: int) -> None:
    # Trees with up to 32 containers get a copier made for their shape, bigger ones the
    # generic tree copy: both must isolate every read from the stored value.
    for tree in (value, [value] * 40):
        cache = MemoryCacheProvider()
        expected = copy.deepcopy(tree)
        cache.add_to_cache("k", tree)
        for _ in range(reads):
            _mutate_everything(cache.lookup("k")[1])
        assert (True, expected) == cache.lookup("k")


def test_self_containing_values_are_copied() -> None:
    looped: list[Any] = [1]
    looped.append(looped)
    cache = MemoryCacheProvider()
    cache.add_to_cache("k", looped)
    read = cache.lookup("k")[1]
    assert read[1] is read
    assert read is not looped


def test_objects_are_deep_copied() -> None:
    class Box:
        def __init__(self) -> None:
            self.items: list[int] = []

    cache = MemoryCacheProvider()
    cache.add_to_cache("k", Box())
    cache.lookup("k")[1].items.append(1)
    assert [] == cache.lookup("k")[1].items


def test_copy_values_false_hands_out_the_stored_object() -> None:
    cache = MemoryCacheProvider(copy_values=False)
    value = {"a": [1]}
    cache.add_to_cache("k", value)
    assert value is cache.lookup("k")[1]


def test_a_value_that_cannot_be_copied_is_refused_and_not_stored() -> None:
    cache = MemoryCacheProvider()
    with pytest.raises(TypeError, match="copy_values=False") as caught:
        cache.add_to_cache("k", threading.Lock())
    assert caught.value.__cause__ is not None
    assert (False, None) == cache.lookup("k")


# --- housekeeping -----------------------------------------------------------------------


def test_clear_empties_the_cache_and_keeps_the_counters() -> None:
    cache = MemoryCacheProvider()
    cache.add_to_cache("k", 1)
    cache.lookup("k")
    cache.clear()
    assert 0 == len(cache)
    assert (False, None) == cache.lookup("k")
    assert CacheStats(1, 1, 0, 0, 0, 1024) == cache.stats()


def test_repr_shows_the_configuration() -> None:
    cache = MemoryCacheProvider(maxsize=3, ttl=2)
    assert "MemoryCacheProvider(maxsize=3, ttl=2.0, size=0)" == repr(cache)
    assert (3, 2.0) == (cache.maxsize, cache.ttl)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"maxsize": 0}, ValueError),
        ({"maxsize": -1}, ValueError),
        ({"maxsize": 1.5}, TypeError),
        ({"maxsize": True}, TypeError),
        ({"ttl": 0}, ValueError),
        ({"ttl": -1.0}, ValueError),
        ({"ttl": float("inf")}, ValueError),
        ({"ttl": float("nan")}, ValueError),
        ({"ttl": "60"}, TypeError),
        ({"ttl": True}, TypeError),
    ],
)
def test_bad_configuration_is_refused(kwargs: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        MemoryCacheProvider(**kwargs)


# --- threads ----------------------------------------------------------------------------


def test_threads_hammering_one_cache_keep_it_consistent() -> None:
    cache = MemoryCacheProvider(maxsize=16, ttl=1000.0)
    threads_count, rounds = 6, 1500
    start = threading.Barrier(threads_count)
    errors: list[BaseException] = []
    lookups = [0] * threads_count
    oversize: list[int] = []

    def hammer(index: int) -> None:
        try:
            start.wait()
            for i in range(rounds):
                key = f"k{(i * (index + 1)) % 40}"
                if i % 3 == 0:
                    cache.add_to_cache(key, {"i": i, "rows": [index]})
                else:
                    found, value = cache.lookup(key)
                    lookups[index] += 1
                    if found:
                        assert 1 == len(value["rows"]), "another reader's append leaked in"
                        value["rows"].append(-1)
                size = len(cache)
                if size > 16:
                    oversize.append(size)
        except BaseException as err:  # reported below, in the main thread
            errors.append(err)

    threads = [threading.Thread(target=hammer, args=(n,)) for n in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [] == errors
    assert [] == oversize
    stats = cache.stats()
    assert sum(lookups) == stats.hits + stats.misses
    assert stats.size <= 16


# --- the cache against a plain dict model -----------------------------------------------

_KEYS = st.sampled_from([f"k{i}" for i in range(6)])
_VALUES = st.one_of(
    st.none(),
    st.integers(),
    st.text(max_size=3),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=2), st.lists(st.integers(), max_size=2), max_size=2),
)


class CacheModel(RuleBasedStateMachine):
    """Holds MemoryCacheProvider against a dict of (value, deadline) in recency order."""

    MAXSIZE = 4
    TTL = 10.0

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock(1000.0)
        self.cache = MemoryCacheProvider(maxsize=self.MAXSIZE, ttl=self.TTL, clock=self.clock)
        # Plain dict, insertion order = recency order (re-inserted on every use).
        self.model: dict[str, tuple[Any, float]] = {}
        self.hits = 0
        self.misses = 0

    def _use(self, key: str, value: Any, deadline: float) -> None:
        self.model.pop(key, None)
        self.model[key] = (value, deadline)

    @rule(key=_KEYS, value=_VALUES)
    def add(self, key: str, value: Any) -> None:
        self.cache.add_to_cache(key, value)
        # The model keeps its own copy, so a cache that handed out the stored object would
        # be caught by the reader's mutation in lookup().
        self._use(key, copy.deepcopy(value), self.clock() + self.TTL)
        if len(self.model) > self.MAXSIZE:
            del self.model[next(iter(self.model))]

    @rule(key=_KEYS)
    def lookup(self, key: str) -> None:
        found, value = self.cache.lookup(key)
        entry = self.model.get(key)
        if entry is not None and entry[1] <= self.clock():
            del self.model[key]
            entry = None
        if entry is None:
            self.misses += 1
            assert (False, None) == (found, value)
        else:
            self.hits += 1
            assert (True, entry[0]) == (found, value)
            self._use(key, *entry)
            if isinstance(value, (list, dict)):
                value.clear()  # a reader's mutation must not reach the next reader

    @rule(seconds=st.floats(min_value=0.0, max_value=12.0))
    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @rule()
    def expire(self) -> None:
        now = self.clock()
        expired = [key for key, (_, deadline) in self.model.items() if deadline <= now]
        for key in expired:
            del self.model[key]
        assert len(expired) == self.cache.expire()

    @precondition(lambda self: len(self.model) > 0)
    @rule()
    def clear(self) -> None:
        self.cache.clear()
        self.model.clear()

    @invariant()
    def same_size_and_counters(self) -> None:
        assert len(self.model) == len(self.cache)
        assert len(self.cache) <= self.MAXSIZE
        stats = self.cache.stats()
        assert (self.hits, self.misses) == (stats.hits, stats.misses)


CacheModel.TestCase.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)
test_cache_behaves_like_a_dict_model = CacheModel.TestCase


@pytest.mark.parametrize("ttl", [0, -1.0, float("inf"), float("nan")])
def test_a_ttl_that_is_not_a_positive_finite_number_is_refused(ttl: float) -> None:
    with pytest.raises(ValueError, match=r"ttl must be a finite number of seconds > 0"):
        MemoryCacheProvider(ttl=ttl)


@pytest.mark.parametrize("ttl", ["60", True])
def test_a_ttl_that_is_not_a_number_is_refused(ttl: object) -> None:
    with pytest.raises(TypeError, match=r"ttl must be a finite number of seconds > 0 or None"):
        MemoryCacheProvider(ttl=ttl)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("argument", "value", "expected"),
    [
        ("maxsize", 1.5, "maxsize must be an int >= 1, got 1.5 of type float"),
        ("maxsize", "10", "maxsize must be an int >= 1, got '10' of type str"),
        ("ttl", "60", "ttl must be a finite number of seconds > 0 or None, got '60' of type str"),
        ("copy_values", 1, "copy_values must be True or False, got 1 of type int"),
        ("copy_values", None, "copy_values must be True or False, got None of type NoneType"),
        ("clock", 1000.0, "clock must be a callable (), got 1000.0 of type float"),
    ],
)
def test_an_argument_of_the_wrong_type_is_a_type_error_naming_it(
    argument: str, value: object, expected: str
) -> None:
    with pytest.raises(TypeError) as caught:
        MemoryCacheProvider(**{argument: value})

    assert str(caught.value).startswith(f"MemoryCacheProvider: {expected}; ")


@pytest.mark.parametrize(
    ("argument", "value", "expected"),
    [
        ("maxsize", 0, "maxsize must be an int >= 1, got 0 of type int; e.g. maxsize=1024"),
        ("ttl", -1, "ttl must be a finite number of seconds > 0 or None, got -1 of type int"),
    ],
)
def test_an_argument_out_of_range_is_a_value_error_naming_it(
    argument: str, value: object, expected: str
) -> None:
    with pytest.raises(ValueError, match=r"^MemoryCacheProvider: ") as caught:
        MemoryCacheProvider(**{argument: value})

    assert str(caught.value).startswith(f"MemoryCacheProvider: {expected}")


def test_a_key_function_that_is_not_one_is_refused_with_the_protocol_named() -> None:
    with pytest.raises(ConformanceError) as caught:
        MemoryCacheProvider(key_function="make_cache_key")  # type: ignore[arg-type]

    assert isinstance(caught.value, TypeError)
    assert str(caught.value).startswith(
        "MemoryCacheProvider: key_function must conform to KeyFunction, got 'make_cache_key' "
        "of type str"
    )
