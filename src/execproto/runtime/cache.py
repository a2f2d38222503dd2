"""An in-process cache of operation results: LRU, optional TTL, thread safe.

:class:`MemoryCacheProvider` implements :class:`~execproto.protocols.ICacheProvider` and
:class:`~execproto.typed.IAsyncCacheProvider`::

    cache = MemoryCacheProvider(maxsize=1024, ttl=300.0)
    key = cache.generate_cache_key("search.query", user_id, task_id, (), {"q": "x"})
    found, value = cache.lookup(key)   # tells a cached None from a miss
    cache.add_to_cache(key, result)

``get_from_cache`` returns ``None`` on a miss, as the protocol says, so a cached ``None``
looks like a miss through it. Executors that care use :meth:`MemoryCacheProvider.lookup`,
found through the :class:`~execproto.capabilities.SupportsLookup` protocol.

Values are isolated: the cache keeps its own copy of a mutable value and hands out a copy,
so neither the caller that stored it nor one that read it can change what the next caller
gets. Immutable values (numbers, strings, bytes, ``None``, and tuples and frozensets of
those) are never copied. A ``dict``, ``list`` or ``set`` of immutable values costs one
shallow copy; a JSON-like tree of dicts, lists, sets and tuples a copy of its containers
(sub-containers shared inside one value come back as independent copies); anything else a
:func:`copy.deepcopy`, which costs a few microseconds per read. The choice of copy is made
once, when the value is stored (the private ``_isolation`` module). Pass
``copy_values=False`` if every caller promises not to mutate what it stores or reads.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, NamedTuple

from execproto.capabilities import KeyFunction
from execproto.runtime._isolation import Copier, isolate
from execproto.runtime._validation import (
    check_bool,
    check_callable,
    check_component,
    check_count,
    check_seconds,
)
from execproto.runtime.keys import make_cache_key

__all__ = ["CacheStats", "MemoryCacheProvider"]


@dataclass(frozen=True)
class CacheStats:
    """Counters of a :class:`MemoryCacheProvider`, read at one instant.

    ``hits + misses`` is the number of lookups; an expired entry found by a lookup counts as
    a miss and as an expiry. ``evictions`` counts entries dropped to stay within
    ``maxsize``. ``size`` includes expired entries not yet removed.
    """

    hits: int
    misses: int
    evictions: int
    expirations: int
    size: int
    maxsize: int


class _Entry(NamedTuple):
    value: Any
    # time.monotonic() deadline, or None for "never": kept in the entry itself, so expiry
    # data leaves with the entry and no side structure can outgrow the cache.
    expires_at: float | None
    # How to hand out a private copy of value; None for values that need no copy.
    copier: Copier | None


_MISS: tuple[bool, Any] = (False, None)


class MemoryCacheProvider:
    """An LRU cache of operation results with an optional time to live, safe across threads.

    At most *maxsize* entries are kept; adding one more drops the least recently used
    (looked up or stored) entry, whether or not it has expired. With *ttl* (seconds), an
    entry is never returned more than *ttl* seconds after it was stored (measured with
    *clock*, :func:`time.monotonic` by default, so wall-clock changes do not matter); an
    expired entry is removed when it is next looked up, by :meth:`expire`, or by eviction.
    Memory is bounded by *maxsize* whatever keys are used.

    Keys come from *key_function* (:func:`execproto.runtime.keys.make_cache_key` by default), which
    raises :class:`~execproto.errors.CacheKeyError` for arguments that have no canonical
    encoding: such a call is not cacheable.

    With *copy_values* (the default) a mutable value is copied when stored and when read,
    so callers cannot change what others read; see the module documentation for the cost.

    Every method may be called from several threads at once; one lock guards the entries and
    is held only for dictionary operations (copies are made outside it). The ``_async``
    methods do no I/O and share the synchronous code.

    Raises:
        TypeError: *maxsize* is not an int, *ttl* not a number, *copy_values* not a bool or
            *clock* not callable.
        ConformanceError: *key_function* is not a
            :class:`~execproto.capabilities.KeyFunction` (a ``TypeError`` too).
        ValueError: *maxsize* < 1 or *ttl* not a positive finite number.
    """

    #: Its synchronous methods do no I/O and hold the lock only for dictionary operations
    #: (:class:`~execproto.capabilities.NonblockingCache`): called on the event loop.
    __execproto_nonblocking__: ClassVar[Literal[True]] = True

    def __init__(
        self,
        maxsize: int = 1024,
        ttl: float | None = None,
        *,
        key_function: KeyFunction = make_cache_key,
        copy_values: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        owner = "MemoryCacheProvider"
        self._maxsize = check_count(owner, "maxsize", maxsize, fix="e.g. maxsize=1024")
        self._ttl = check_seconds(
            owner, "ttl", ttl, fix="e.g. ttl=300, or ttl=None for entries that never expire"
        )
        self._key_function = check_component(owner, "key_function", key_function, KeyFunction)
        self._copy_values = check_bool(owner, "copy_values", copy_values)
        self._clock: Callable[[], float] = check_callable(owner, "clock", clock, shape="()")
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._hits = 0
        self._misses = 0
        self._evictions = 0
        self._expirations = 0

    @property
    def maxsize(self) -> int:
        """The most entries the cache holds."""
        return self._maxsize

    @property
    def ttl(self) -> float | None:
        """Seconds an entry stays valid after it is stored, or ``None`` for no expiry."""
        return self._ttl

    def generate_cache_key(
        self,
        operation_type: str,
        user_id: str,
        task_id: str,
        args: tuple[Any, ...],
        kwargs: Mapping[str, Any],
    ) -> str:
        """Return the key of one call of *operation_type* (``"tool.operation"``) in a task.

        Raises:
            CacheKeyError: an argument has no canonical encoding (a :class:`TypeError`); do
                not cache this call.
        """
        return self._key_function(operation_type, user_id, task_id, args, kwargs)

    def lookup(self, cache_key: str, /) -> tuple[bool, Any]:
        """Return ``(True, value)`` if *cache_key* holds an unexpired value, else ``(False, None)``.

        A hit makes the entry the most recently used. The value is a private copy when it
        is mutable and *copy_values* is on.
        """
        with self._lock:
            entry = self._entries.get(cache_key)
            if entry is None:
                self._misses += 1
                return _MISS
            if entry.expires_at is not None and entry.expires_at <= self._clock():
                del self._entries[cache_key]
                self._expirations += 1
                self._misses += 1
                return _MISS
            self._entries.move_to_end(cache_key)
            self._hits += 1
        if entry.copier is None:
            return True, entry.value
        return True, entry.copier(entry.value)

    def get_from_cache(self, cache_key: str) -> Any | None:
        """Return the value under *cache_key*, or ``None`` on a miss or expiry.

        A cached ``None`` is returned as ``None`` too; use :meth:`lookup` to tell them apart.
        """
        return self.lookup(cache_key)[1]

    def add_to_cache(self, cache_key: str, value: Any) -> None:
        """Store *value* under *cache_key*, dropping the least recently used entry if full.

        Storing under an existing key replaces its value and restarts its time to live.

        Raises:
            TypeError: *copy_values* is on and *value* cannot be deep-copied (a lock, a
                socket, ...); nothing is stored. Store it with ``copy_values=False`` or do
                not cache it.
        """
        copier = None
        if self._copy_values:
            try:
                value, copier = isolate(value)
            except Exception as err:
                raise TypeError(
                    f"expected a value the cache can copy to keep it isolated from callers, "
                    f"got {value!r} of type {type(value).__name__}, which copy.deepcopy "
                    f"refuses ({err}); do not cache it, or use copy_values=False if no "
                    f"caller mutates cached values"
                ) from err
        expires_at = None if self._ttl is None else self._clock() + self._ttl
        entry = _Entry(value, expires_at, copier)
        with self._lock:
            entries = self._entries
            entries[cache_key] = entry
            entries.move_to_end(cache_key)
            if len(entries) > self._maxsize:
                entries.popitem(last=False)
                self._evictions += 1

    async def lookup_async(self, cache_key: str, /) -> tuple[bool, Any]:
        """Like :meth:`lookup`; the cache is in memory, so this never waits."""
        return self.lookup(cache_key)

    async def get_from_cache_async(self, cache_key: str) -> Any | None:
        """Like :meth:`get_from_cache`; the cache is in memory, so this never waits."""
        return self.lookup(cache_key)[1]

    async def add_to_cache_async(self, cache_key: str, value: Any) -> None:
        """Like :meth:`add_to_cache`; the cache is in memory, so this never waits.

        Raises:
            TypeError: *value* cannot be copied (see :meth:`add_to_cache`).
        """
        self.add_to_cache(cache_key, value)

    def expire(self) -> int:
        """Remove every expired entry now and return how many were removed.

        Never needed for correctness (expired entries are never returned) or for bounded
        memory (``maxsize`` holds); useful to release memory early.
        """
        if self._ttl is None:
            return 0
        with self._lock:
            now = self._clock()
            expired = [
                key
                for key, entry in self._entries.items()
                if entry.expires_at is not None and entry.expires_at <= now
            ]
            for key in expired:
                del self._entries[key]
            self._expirations += len(expired)
        return len(expired)

    def clear(self) -> None:
        """Remove every entry; the counters are kept."""
        with self._lock:
            self._entries.clear()

    def stats(self) -> CacheStats:
        """Return the hit, miss, eviction and expiry counters and the current size."""
        with self._lock:
            return CacheStats(
                hits=self._hits,
                misses=self._misses,
                evictions=self._evictions,
                expirations=self._expirations,
                size=len(self._entries),
                maxsize=self._maxsize,
            )

    def __len__(self) -> int:
        """Return the number of stored entries, including expired ones not yet removed."""
        return len(self._entries)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(maxsize={self._maxsize!r}, ttl={self._ttl!r}, "
            f"size={len(self._entries)})"
        )
