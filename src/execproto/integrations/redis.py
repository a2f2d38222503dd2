"""A cache of operation results shared between processes and machines, on Redis.

:class:`RedisCacheProvider` implements :class:`~execproto.protocols.ICacheProvider` and
:class:`~execproto.typed.IAsyncCacheProvider` with redis-py (``pip install
'execproto[redis]'``)::

    cache = RedisCacheProvider("redis://cache.internal:6379/0", ttl=300.0, namespace="search")
    executor = ToolExecutor(registry, cache=cache)

What a caller must know:

* **Keys** are those of :mod:`execproto.runtime.keys` (the same canonical digest as
  :class:`~execproto.runtime.cache.MemoryCacheProvider`), stored under ``"<namespace>:<key>"``: a key
  computed in one process hits in every other, whatever their ``PYTHONHASHSEED``. The
  namespace keeps applications (or versions of one) sharing a Redis apart.
* **Values** are stored as JSON inside a small type-tagged envelope, never pickled: reading
  a cache that someone else can write must not run their code. What round-trips exactly:
  ``None``, ``bool``, ``int`` (any size), ``float`` (also ``-0.0``, infinities and NaN),
  ``str``, ``bytes``, ``list``, ``tuple``, ``dict`` (any keys of these types), ``set`` and
  ``frozenset``, nested up to :data:`MAX_DEPTH` levels; exact types only. Any other value
  (a dataclass, a model, a subclass of ``dict``) is **not cached**: ``add_to_cache`` stores
  nothing and the next call simply recomputes. Every read returns a new object, so callers
  cannot change what others read.
* **A cached None is a hit**: :meth:`RedisCacheProvider.lookup` (and ``lookup_async``)
  return ``(True, None)``, as :class:`~execproto.capabilities.SupportsLookup` requires.
* **Expiry** is Redis' own (``SET ... PX``): with *ttl*, an entry is gone *ttl* seconds
  after it was last stored, in every process at once.
* **Memory** is bounded by Redis, not by this class: run the server with ``maxmemory`` and
  an evicting ``maxmemory-policy`` — ``allkeys-lru`` for a server that only caches,
  ``volatile-lru``/``volatile-ttl`` (with a *ttl*) for one shared with data that must not be
  evicted. Under the default ``noeviction`` a full server refuses writes; this cache then
  stores nothing (and warns) but keeps returning results.
* **A cache never fails an operation.** When Redis cannot be reached (or refuses a
  command), a read is a miss and a write is skipped, with a :class:`RuntimeWarning`
  (:class:`CacheUnavailableWarning`) at most once per *warn_interval* seconds; the operation
  runs and its result is returned as if there were no cache. Short socket timeouts
  (*socket_timeout*, default 1 s) bound how long a dead server can delay a call.
* The synchronous methods use a ``redis.Redis`` client; the ``_async`` ones a
  ``redis.asyncio.Redis`` client per event loop (a redis-py async connection belongs to
  the loop that opened it). :meth:`close` closes the synchronous client, :meth:`aclose`
  both (the async one of the running loop).
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import math
import threading
import time
import warnings
import weakref
from collections.abc import Iterator, Mapping
from typing import Any, cast

import redis
import redis.asyncio
from typing_extensions import Self

from execproto.capabilities import KeyFunction
from execproto.runtime._validation import (
    check_component,
    check_instance,
    check_seconds,
    check_str,
)
from execproto.runtime.keys import make_cache_key

__all__ = [
    "MAX_DEPTH",
    "CacheUnavailableWarning",
    "RedisCacheProvider",
    "decode_value",
    "encode_value",
]

_log = logging.getLogger(__name__)

#: Deepest nesting a value may have to be cached; deeper values are not cached.
MAX_DEPTH = 100

# The first element of every stored document: a change of envelope changes it, and a
# document of another version is read as a miss rather than misread.
_FORMAT = 1
_MISS: tuple[bool, Any] = (False, None)
_SMALL_INT = 2**63
# Redis and socket failures: the cache degrades, the operation goes on.
_UNAVAILABLE: tuple[type[BaseException], ...] = (redis.RedisError, OSError)


class CacheUnavailableWarning(RuntimeWarning):
    """The Redis cache could not be used; calls go on uncached until it is back."""


class _Unencodable(Exception):
    pass


def _encode(value: Any, depth: int) -> Any:
    # Exact types only: a subclass may carry state or equality the envelope would lose.
    # Every JSON object in the output is a one-key tag, so no user dict can pose as one.
    kind = cast("type[object]", type(value))
    if value is None or kind is bool or kind is str:
        return value
    if kind is int:
        return value if -_SMALL_INT <= value < _SMALL_INT else {"I": format(value, "x")}
    if kind is float:
        return value if math.isfinite(value) else {"F": repr(value)}
    if depth >= MAX_DEPTH:
        raise _Unencodable(f"nested deeper than {MAX_DEPTH} levels")
    if kind is list:
        return {"l": [_encode(item, depth + 1) for item in value]}
    if kind is dict:
        if all(type(key) is str for key in value):
            return {"d": {key: _encode(item, depth + 1) for key, item in value.items()}}
        return {
            "D": [
                [_encode(key, depth + 1), _encode(item, depth + 1)] for key, item in value.items()
            ]
        }
    if kind is tuple:
        return {"t": [_encode(item, depth + 1) for item in value]}
    if kind is bytes:
        return {"b": base64.b64encode(value).decode("ascii")}
    if kind is set:
        return {"s": [_encode(item, depth + 1) for item in value]}
    if kind is frozenset:
        return {"z": [_encode(item, depth + 1) for item in value]}
    raise _Unencodable(f"{kind.__module__}.{kind.__qualname__} is not a supported type")


def _decode(data: Any) -> Any:
    if not isinstance(data, dict):
        return data
    [(tag, body)] = cast("dict[str, Any]", data).items()
    if tag == "l":
        return [_decode(item) for item in body]
    if tag == "d":
        return {key: _decode(item) for key, item in body.items()}
    if tag == "D":
        return {_decode(key): _decode(item) for key, item in body}
    if tag == "t":
        return tuple(_decode(item) for item in body)
    if tag == "I":
        return int(body, 16)
    if tag == "F":
        return float(body)
    if tag == "b":
        return base64.b64decode(body)
    if tag == "s":
        return {_decode(item) for item in body}
    if tag == "z":
        return frozenset(_decode(item) for item in body)
    raise ValueError(f"unknown tag {tag!r}")


def encode_value(value: Any) -> bytes:
    """Return the stored form of *value*: JSON of ``[format, tagged value]``.

    Raises:
        TypeError: *value* (or something inside it) is not of a supported type or is
            nested deeper than :data:`MAX_DEPTH`; such a value is not cached.
    """
    try:
        return json.dumps([_FORMAT, _encode(value, 0)], separators=(",", ":")).encode()
    except (_Unencodable, RecursionError) as err:
        raise TypeError(
            f"expected a value built of None, bool, int, float, str, bytes, list, tuple, "
            f"dict, set and frozenset (at most {MAX_DEPTH} levels deep), got a "
            f"{type(value).__name__} that cannot be stored: {err}; convert it (a dataclass "
            f"to a dict) if it should be cached"
        ) from err


def decode_value(data: bytes | str) -> Any:
    """Return the value :func:`encode_value` stored as *data*.

    Raises:
        ValueError: *data* is not a document of this format (written by something else,
            or by another version).
    """
    try:
        document: Any = json.loads(data)
        # Anything but a pair fails to unpack (TypeError, ValueError) or has no format 1.
        version, body = document
        if type(version) is not int or version != _FORMAT:
            raise ValueError(f"format {version!r}, expected {_FORMAT}")
        return _decode(body)
    except (ValueError, TypeError, AttributeError, RecursionError, KeyError) as err:
        raise ValueError(
            f"expected a cache document of format {_FORMAT} written by RedisCacheProvider, "
            f"got {bytes(data[:80]) if isinstance(data, bytes) else data[:80]!r}: {err}"
        ) from err


class RedisCacheProvider:
    """A shared cache of operation results in Redis: TTL, safe values, never fails a call.

    *url* names the server (``redis://host:6379/0``, ``rediss://`` for TLS, ``unix://``);
    or pass ready clients as *client* (``redis.Redis``) and *async_client*
    (``redis.asyncio.Redis``, used on the loop it belongs to), which the provider does not
    close. *ttl* in seconds (``None``: entries live until Redis evicts them); *namespace*
    prefixes every key; *key_function* makes keys (:func:`~execproto.runtime.keys.make_cache_key`
    by default, so keys match every other execproto cache). *socket_timeout* bounds each
    Redis call; *warn_interval* is the least time between two
    :class:`CacheUnavailableWarning`.

    See the module documentation for keys, values, eviction and failure behaviour. Thread
    safe (redis-py clients use a connection pool).

    Raises:
        TypeError: *url* or *namespace* not a str, *ttl*, *socket_timeout* or
            *warn_interval* not a number, *client* or *async_client* not a client of its
            kind; *key_function* not a :class:`~execproto.capabilities.KeyFunction`
            (:class:`~execproto.errors.ConformanceError`).
        ValueError: *ttl* below a millisecond, *socket_timeout* not above 0, *warn_interval*
            negative (or any of them not finite), or an empty *url* or *namespace*.
    """

    def __init__(
        self,
        url: str = "redis://localhost:6379/0",
        *,
        ttl: float | None = None,
        namespace: str = "execproto",
        key_function: KeyFunction = make_cache_key,
        client: redis.Redis | None = None,
        async_client: redis.asyncio.Redis | None = None,
        socket_timeout: float = 1.0,
        warn_interval: float = 60.0,
    ) -> None:
        owner = "RedisCacheProvider"
        check_str(owner, "url", url, fix="pass a Redis URL, e.g. url='redis://localhost:6379/0'")
        self._url = url
        self._ttl = check_seconds(
            owner,
            "ttl",
            ttl,
            minimum=0.001,
            inclusive=True,
            why=" (Redis expires in milliseconds)",
            fix="e.g. ttl=300, or ttl=None for entries that live until Redis evicts them",
        )
        self._px = None if self._ttl is None else max(1, round(self._ttl * 1000))
        self._namespace = check_str(
            owner,
            "namespace",
            namespace,
            fix="pass a name that keeps this application's keys apart, e.g. namespace='search'",
        )
        self._prefix = f"{namespace}:"
        self._key_function = check_component(owner, "key_function", key_function, KeyFunction)
        check_instance(
            owner,
            "client",
            client,
            redis.Redis,
            optional=True,
            fix="pass a redis.Redis client, or a url and no client",
        )
        check_instance(
            owner,
            "async_client",
            async_client,
            redis.asyncio.Redis,
            optional=True,
            fix="pass a redis.asyncio.Redis client, or None for one per event loop from url",
        )
        self._socket_timeout = check_seconds(
            owner,
            "socket_timeout",
            socket_timeout,
            optional=False,
            fix="e.g. socket_timeout=1.0, which bounds how long a dead server delays a call",
        )
        self._warn_interval = check_seconds(
            owner,
            "warn_interval",
            warn_interval,
            optional=False,
            inclusive=True,
            fix="e.g. warn_interval=60, or warn_interval=0 to warn about every failure",
        )
        self._owns_client = client is None
        self._client: redis.Redis = (
            client
            if client is not None
            else redis.Redis.from_url(  # pyright: ignore[reportUnknownMemberType]
                url, socket_timeout=socket_timeout, socket_connect_timeout=socket_timeout
            )
        )
        self._given_async = async_client
        self._async_clients: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, redis.asyncio.Redis
        ] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()
        self._last_warning = -math.inf
        self._suppressed = 0

    @property
    def ttl(self) -> float | None:
        """Seconds an entry lives after it is stored, or ``None`` (until evicted)."""
        return self._ttl

    @property
    def namespace(self) -> str:
        """The prefix of every key this cache stores (``"<namespace>:<key>"``)."""
        return self._namespace

    def redis_key(self, cache_key: str) -> str:
        """Return the Redis key *cache_key* is stored under."""
        return self._prefix + cache_key

    def generate_cache_key(
        self,
        operation_type: str,
        user_id: str,
        task_id: str,
        args: tuple[Any, ...],
        kwargs: Mapping[str, Any],
    ) -> str:
        """Return the key of one call of *operation_type* in a task; the same in any process.

        Raises:
            CacheKeyError: an argument has no canonical encoding (a :class:`TypeError`); do
                not cache this call.
        """
        return self._key_function(operation_type, user_id, task_id, args, kwargs)

    def _unavailable(self, action: str, err: BaseException) -> None:
        """Warn that Redis failed, at most once per warn_interval."""
        now = time.monotonic()
        with self._lock:
            if now - self._last_warning < self._warn_interval:
                self._suppressed += 1
                return
            self._last_warning = now
            suppressed, self._suppressed = self._suppressed, 0
        more = f" ({suppressed} more failure(s) since the last warning)" if suppressed else ""
        warnings.warn(
            CacheUnavailableWarning(
                f"the Redis cache at {self._where()} could not {action}: "
                f"{type(err).__name__}: {err}{more}; calls run uncached until it is back "
                f"(check that the server is up and reachable)"
            ),
            stacklevel=3,
        )

    def _where(self) -> str:
        kwargs = self._client.connection_pool.connection_kwargs
        if "path" in kwargs:
            return str(kwargs["path"])
        return f"{kwargs.get('host', '?')}:{kwargs.get('port', '?')}"

    def _found(self, cache_key: str, data: bytes | None) -> tuple[bool, Any]:
        if data is None:
            return _MISS
        try:
            return True, decode_value(data)
        except ValueError as err:
            _log.warning(
                "ignoring the unreadable cache entry %s: %s", self.redis_key(cache_key), err
            )
            return _MISS

    def _encoded(self, cache_key: str, value: Any) -> bytes | None:
        try:
            return encode_value(value)
        except TypeError as err:
            _log.debug("not caching %s: %s", cache_key, err)
            return None

    def lookup(self, cache_key: str, /) -> tuple[bool, Any]:
        """Return ``(True, value)`` for a stored value (``None`` included), else ``(False, None)``.

        Redis failures and unreadable entries are misses (see the module documentation).
        """
        try:
            data = cast("bytes | None", self._client.get(self.redis_key(cache_key)))
        except _UNAVAILABLE as err:
            self._unavailable("be read", err)
            return _MISS
        return self._found(cache_key, data)

    def get_from_cache(self, cache_key: str) -> Any | None:
        """Return the value under *cache_key*, or ``None`` on a miss.

        A cached ``None`` is returned as ``None`` too; use :meth:`lookup` to tell them apart.
        """
        return self.lookup(cache_key)[1]

    def add_to_cache(self, cache_key: str, value: Any) -> None:
        """Store *value* under *cache_key* (restarting its time to live).

        A value of an unsupported type is not stored; a Redis failure skips the write with
        a warning. Neither raises.
        """
        data = self._encoded(cache_key, value)
        if data is None:
            return
        try:
            self._client.set(self.redis_key(cache_key), data, px=self._px)
        except _UNAVAILABLE as err:
            self._unavailable("store a value", err)

    def clear(self) -> int:
        """Delete every key of this namespace; return how many were deleted.

        Raises:
            redis.RedisError: Redis cannot be reached (clearing is not degraded to a no-op).
        """
        deleted = 0
        batch: list[bytes] = []
        keys = cast(
            "Iterator[bytes]",
            self._client.scan_iter(  # pyright: ignore[reportUnknownMemberType]
                match=self._prefix + "*", count=500
            ),
        )
        for key in keys:
            batch.append(key)
            if len(batch) >= 500:
                deleted += self._client.delete(*batch)
                batch = []
        if batch:
            deleted += self._client.delete(*batch)
        return deleted

    def _async_client(self) -> redis.asyncio.Redis:
        if self._given_async is not None:
            return self._given_async
        loop = asyncio.get_running_loop()
        with self._lock:
            client = self._async_clients.get(loop)
            if client is None:
                client = self._async_clients[loop] = redis.asyncio.Redis.from_url(  # pyright: ignore[reportUnknownMemberType]
                    self._url,
                    socket_timeout=self._socket_timeout,
                    socket_connect_timeout=self._socket_timeout,
                )
            return client

    async def lookup_async(self, cache_key: str, /) -> tuple[bool, Any]:
        """Like :meth:`lookup`, on the ``redis.asyncio`` client of the running loop."""
        try:
            data = cast("bytes | None", await self._async_client().get(self.redis_key(cache_key)))
        except _UNAVAILABLE as err:
            self._unavailable("be read", err)
            return _MISS
        return self._found(cache_key, data)

    async def get_from_cache_async(self, cache_key: str) -> Any | None:
        """Like :meth:`get_from_cache`, without blocking the event loop."""
        return (await self.lookup_async(cache_key))[1]

    async def add_to_cache_async(self, cache_key: str, value: Any) -> None:
        """Like :meth:`add_to_cache`, without blocking the event loop."""
        data = self._encoded(cache_key, value)
        if data is None:
            return
        try:
            await self._async_client().set(self.redis_key(cache_key), data, px=self._px)
        except _UNAVAILABLE as err:
            self._unavailable("store a value", err)

    def close(self) -> None:
        """Close the synchronous client (if the provider created it); idempotent."""
        if self._owns_client:
            self._client.close()

    async def aclose(self) -> None:
        """Close the synchronous client and this loop's async client (if created here)."""
        self.close()
        loop = asyncio.get_running_loop()
        with self._lock:
            client = self._async_clients.pop(loop, None)
        if client is not None:
            await client.aclose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __getstate__(self) -> dict[str, Any]:
        # Shipped to other processes (Dask workers) as its configuration; each process
        # opens its own connections.
        if not self._owns_client or self._given_async is not None:
            raise TypeError(
                f"{self!r} was given its Redis client(s) and cannot be pickled; build it "
                f"from a URL to ship it to other processes"
            )
        return {
            "url": self._url,
            "ttl": self._ttl,
            "namespace": self._namespace,
            "key_function": self._key_function,
            "socket_timeout": self._socket_timeout,
            "warn_interval": self._warn_interval,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        RedisCacheProvider.__init__(self, **state)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self._url!r}, ttl={self._ttl!r}, "
            f"namespace={self._namespace!r})"
        )
