"""Broken caches, each failing the :class:`CacheProviderContract` checks it names."""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Callable
from typing import Any, ClassVar

from examples.contract_example import LruTtlCache, _encode

from execproto.testing import CacheProviderContract
from tests.testing.gallery._exhibit import Exhibit, exhibit

MAXSIZE = 8
TTL = 30.0


class CacheSuite(CacheProviderContract):
    """Builds ``implementation(maxsize=8, ttl=30.0)``, with the suite's clock when asked."""

    implementation: ClassVar[Callable[..., Any]] = LruTtlCache
    maxsize = MAXSIZE
    ttl = TTL

    def make_cache(self) -> Any:
        return self.implementation(maxsize=MAXSIZE, ttl=TTL)

    def make_cache_with_clock(self, clock: Callable[[], float]) -> Any:
        return self.implementation(maxsize=MAXSIZE, ttl=TTL, clock=clock)


def make_lru_cache() -> LruTtlCache:
    """The baseline, importable in a fresh interpreter (``cache_factory``)."""
    return LruTtlCache(maxsize=MAXSIZE, ttl=TTL)


class MissIsAKeyError(LruTtlCache):
    """Reading a key never stored raises :class:`KeyError`, as a dict's ``[]`` does (an
    evicted or expired one reads ``None``)."""

    def __init__(
        self, maxsize: int = 256, ttl: float = 300.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__(maxsize, ttl, clock)
        self._stored: set[str] = set()

    def add_to_cache(self, cache_key: str, value: Any) -> None:
        self._stored.add(cache_key)
        super().add_to_cache(cache_key, value)

    def get_from_cache(self, cache_key: str) -> Any | None:
        if cache_key not in self._stored:
            raise KeyError(cache_key)
        return super().get_from_cache(cache_key)


class DropsLargeValues(LruTtlCache):
    """Silently stores nothing for a value whose ``repr`` is over 10 000 characters (an
    item size limit)."""

    def add_to_cache(self, cache_key: str, value: Any) -> None:
        if len(repr(value)) <= 10_000:
            super().add_to_cache(cache_key, value)


class KeepsTheFirstValue(LruTtlCache):
    """Storing under a key that holds a value does nothing."""

    def add_to_cache(self, cache_key: str, value: Any) -> None:
        if self.get_from_cache(cache_key) is None:
            super().add_to_cache(cache_key, value)


class KeepsOnlyTheLatestEntry(LruTtlCache):
    """Evicts everything else on each store, though it claims room for eight."""

    def add_to_cache(self, cache_key: str, value: Any) -> None:
        with self._lock:
            self._entries.clear()
        super().add_to_cache(cache_key, value)


class OrderSensitiveKeys(LruTtlCache):
    """Encodes keyword arguments in the order they were given."""

    def generate_cache_key(
        self,
        operation_type: str,
        user_id: str,
        task_id: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> str:
        named = [[name, _encode(value)] for name, value in kwargs.items()]
        encoded = _encode([operation_type, user_id, task_id, tuple(args)]), named
        return hashlib.sha256(json.dumps(encoded).encode()).hexdigest()


class IgnoresTheUser(LruTtlCache):
    """Leaves the user out of the key: one user reads another's results."""

    def generate_cache_key(
        self,
        operation_type: str,
        user_id: str,
        task_id: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> str:
        return super().generate_cache_key(operation_type, "", task_id, args, kwargs)


def _seed_key(
    operation_type: str, user_id: str, task_id: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> str:
    data = {
        "operation_type": operation_type,
        "user_id": user_id,
        "task_id": task_id,
        "args": args,
        "kwargs": kwargs,
    }
    return hashlib.md5(json.dumps(data, sort_keys=True).encode()).hexdigest()


class SeedJsonKeys(LruTtlCache):
    """The seed's key: ``md5(json.dumps(..., sort_keys=True))``, where a tuple and a list
    are the same JSON array."""

    def generate_cache_key(
        self,
        operation_type: str,
        user_id: str,
        task_id: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> str:
        return _seed_key(operation_type, user_id, task_id, args, kwargs)


class ReprFallback(LruTtlCache):
    """Falls back to ``repr()`` for an argument it cannot encode: identity-dependent keys."""

    def generate_cache_key(
        self,
        operation_type: str,
        user_id: str,
        task_id: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> str:
        try:
            return super().generate_cache_key(operation_type, user_id, task_id, args, kwargs)
        except TypeError:
            text = repr([operation_type, user_id, task_id, args, kwargs])
            return hashlib.sha256(text.encode()).hexdigest()


class UnlockedLruCache(LruTtlCache):
    """The LRU cache with its lock taken out: a read can lose its entry to another thread's
    eviction between finding it and moving it to the end."""

    def __init__(
        self, maxsize: int = 256, ttl: float = 300.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__(maxsize, ttl, clock)
        self._lock = contextlib.nullcontext()  # type: ignore[assignment]


class NeverEvicts(LruTtlCache):
    """Ignores its size bound."""

    def add_to_cache(self, cache_key: str, value: Any) -> None:
        self.maxsize = 10**9
        super().add_to_cache(cache_key, value)


class NeverExpires(LruTtlCache):
    """Ignores the clock it is given, so entries never expire under the suite's clock."""

    def __init__(
        self, maxsize: int = 256, ttl: float = 300.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__(maxsize, ttl)


class StaleNegativeEntries(LruTtlCache):
    """Remembers misses (a negative cache) and forgets to clear one when the key is stored
    later: the key keeps reading ``None``."""

    def __init__(
        self, maxsize: int = 256, ttl: float = 300.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__(maxsize, ttl, clock)
        self._misses: set[str] = set()
        self._stored: set[str] = set()

    def add_to_cache(self, cache_key: str, value: Any) -> None:
        self._stored.add(cache_key)
        super().add_to_cache(cache_key, value)

    def get_from_cache(self, cache_key: str) -> Any | None:
        if cache_key in self._misses:
            return None
        if cache_key not in self._stored:
            self._misses.add(cache_key)
        return super().get_from_cache(cache_key)


class SaltedHashKeys(LruTtlCache):
    """Keys are ``str(hash(...))``: salted per interpreter run."""

    def generate_cache_key(
        self,
        operation_type: str,
        user_id: str,
        task_id: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> str:
        return str(hash(super().generate_cache_key(operation_type, user_id, task_id, args, kwargs)))


def make_salted_cache() -> SaltedHashKeys:
    """:class:`SaltedHashKeys`, importable in a fresh interpreter (``cache_factory``)."""
    return SaltedHashKeys(maxsize=MAXSIZE, ttl=TTL)


class SeedSketchCache:
    """The seed document's sketch: ``md5(json.dumps(...))`` keys, a dict evicting its first
    entry when full, no lock, no expiry (its suite declares no ``ttl``)."""

    def __init__(self, maxsize: int = 1000, ttl: float | None = None) -> None:
        self._cache: dict[str, Any] = {}
        self._cache_size = maxsize

    def generate_cache_key(
        self,
        operation_type: str,
        user_id: str,
        task_id: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> str:
        return _seed_key(operation_type, user_id, task_id, args, kwargs)

    def get_from_cache(self, cache_key: str) -> Any | None:
        return self._cache.get(cache_key)

    def add_to_cache(self, cache_key: str, value: Any) -> None:
        if len(self._cache) >= self._cache_size:
            oldest_key = next(iter(self._cache))
            del self._cache[oldest_key]
        self._cache[cache_key] = value


_DICT = ("test_the_cache_behaves_like_a_dict_of_its_keys",)

EXHIBITS: list[Exhibit] = [
    exhibit(
        CacheSuite,
        LruTtlCache,
        why="correct: the baseline",
        cache_factory=f"{__name__}:make_lru_cache",
    ),
    exhibit(
        CacheSuite,
        MissIsAKeyError,
        "test_get_from_cache_returns_none_for_a_key_never_stored",
        *_DICT,
        why="a key never stored raises KeyError",
    ),
    exhibit(
        CacheSuite,
        DropsLargeValues,
        "test_a_stored_value_is_read_back_equal",
        why="large values are silently not stored",
    ),
    exhibit(
        CacheSuite,
        KeepsTheFirstValue,
        "test_add_to_cache_replaces_the_value_under_a_key",
        *_DICT,
        why="a second store under a key does nothing",
    ),
    exhibit(
        CacheSuite,
        KeepsOnlyTheLatestEntry,
        "test_values_under_different_keys_are_kept_apart",
        why="keeps one entry though it claims room for eight",
    ),
    exhibit(
        CacheSuite,
        OrderSensitiveKeys,
        "test_equal_inputs_give_equal_string_keys",
        why="keyword order changes the key",
    ),
    exhibit(
        CacheSuite,
        IgnoresTheUser,
        "test_the_key_changes_with_every_part_of_the_context",
        "test_different_contexts_get_different_keys",
        *_DICT,
        why="the user is not part of the key",
    ),
    exhibit(
        CacheSuite,
        SeedJsonKeys,
        "test_the_key_tells_argument_types_apart",
        why="the seed's JSON keys: (1,) and [1] collide",
    ),
    exhibit(
        CacheSuite,
        ReprFallback,
        "test_an_argument_without_canonical_encoding_raises_type_error",
        why="repr() for what it cannot encode",
    ),
    exhibit(
        CacheSuite,
        UnlockedLruCache,
        "test_the_cache_is_safe_from_several_threads_at_once",
        why="an LRU cache without its lock",
    ),
    exhibit(
        CacheSuite,
        LruTtlCache,
        "test_the_suite_declares_a_memory_bound",
        why="a suite that declares no bound",
        label="unbounded",
        maxsize=None,
        ttl=None,
    ),
    exhibit(
        CacheSuite,
        NeverEvicts,
        "test_the_cache_holds_at_most_maxsize_entries_and_keeps_the_newest",
        why="never evicts",
    ),
    exhibit(
        CacheSuite,
        NeverExpires,
        "test_entries_expire_after_ttl",
        why="ignores the clock",
    ),
    exhibit(
        CacheSuite,
        StaleNegativeEntries,
        *_DICT,
        why="a remembered miss outlives the store that follows it",
    ),
    exhibit(
        CacheSuite,
        SaltedHashKeys,
        "test_keys_are_the_same_in_another_process",
        why="salted hash() keys",
        cache_factory=f"{__name__}:make_salted_cache",
    ),
    exhibit(
        CacheSuite,
        SeedSketchCache,
        "test_the_key_tells_argument_types_apart",
        "test_the_cache_is_safe_from_several_threads_at_once",
        why="the seed's sketch: JSON keys, no lock",
        ttl=None,
    ),
    exhibit(
        CacheSuite,
        SeedSketchCache,
        "test_the_cache_is_safe_from_several_threads_at_once",
        why="the seed's sketch breaks the seed's own promise of thread safety",
        label="seed",
        profile="seed",
        ttl=None,
    ),
]
