"""RedisCacheProvider against a real redis-server started for the session."""

from __future__ import annotations

import math
import os
import pickle
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("redis", reason="the redis extra is not installed")

import redis

from execproto.capabilities import SupportsAsyncLookup, SupportsLookup
from execproto.conformance import conforms
from execproto.context import execution_context
from execproto.integrations.redis import (
    CacheUnavailableWarning,
    RedisCacheProvider,
    decode_value,
    encode_value,
)
from execproto.protocols import ICacheProvider
from execproto.runtime.executor import ToolExecutor
from execproto.runtime.keys import make_cache_key
from execproto.runtime.registry import operation
from execproto.testing import CacheProviderContract
from execproto.typed import IAsyncCacheProvider
from tests._servers import RedisServer, redis_server

pytestmark = pytest.mark.redis

# No server listens here: keys are made without connecting, so the cross-process key check
# can build a cache in a fresh interpreter that knows nothing of the test's server.
OFFLINE_URL = "redis://127.0.0.1:9/0"


def make_offline_cache() -> RedisCacheProvider:
    """A cache for key generation only; importable by the contract's subprocess."""
    return RedisCacheProvider(OFFLINE_URL)


@pytest.fixture(scope="session")
def server() -> Iterator[RedisServer]:
    with redis_server() as running:
        yield running


def _fresh(server: RedisServer, **options: Any) -> RedisCacheProvider:
    # A namespace per cache: every test (and hypothesis example) starts from an empty cache.
    return RedisCacheProvider(server.url, namespace=f"test-{uuid.uuid4().hex}", **options)


@pytest.fixture
def cache(server: RedisServer) -> Iterator[RedisCacheProvider]:
    with _fresh(server) as provider:
        yield provider


class TestRedisCacheContract(CacheProviderContract):
    memory_bound = "Redis' maxmemory with maxmemory-policy allkeys-lru (set on the test server)"
    cache_factory = f"{__name__}:make_offline_cache"
    redis: RedisServer

    @pytest.fixture(autouse=True)
    def _server(self, server: RedisServer) -> None:
        self.redis = server

    def make_cache(self) -> RedisCacheProvider:
        return _fresh(self.redis)


class Counter:
    def __init__(self) -> None:
        self.runs = 0

    @operation(idempotent=True)
    def nothing(self) -> None:
        self.runs += 1

    @operation(idempotent=True)
    def square(self, x: int) -> int:
        self.runs += 1
        return x * x


def test_conforms_to_the_cache_protocols(cache: RedisCacheProvider) -> None:
    assert [True, True, True, True] == [
        conforms(cache, ICacheProvider),
        conforms(cache, IAsyncCacheProvider),
        isinstance(cache, SupportsLookup),
        isinstance(cache, SupportsAsyncLookup),
    ]


def test_a_cached_none_is_a_hit(cache: RedisCacheProvider) -> None:
    key = cache.generate_cache_key("t.op", "u", "t", (), {})
    assert (False, None) == cache.lookup(key)
    cache.add_to_cache(key, None)
    assert (True, None) == cache.lookup(key)


def test_executor_serves_a_cached_none_without_running_again(cache: RedisCacheProvider) -> None:
    counter = Counter()
    with ToolExecutor(cache=cache) as executor:
        assert [None, None] == [executor.execute(counter, "nothing") for _ in range(2)]
    assert 1 == counter.runs


@pytest.mark.parametrize(
    "value",
    [
        (1, "a", (2.5, None)),
        b"\x00\xffbytes",
        {1: "int key", (1, 2): "tuple key", "s": {"nested": [1, (2,)]}},
        {1, "x", (2, 3)},
        frozenset({b"a", 2}),
        2**200,
        -(2**64),
        math.inf,
        -math.inf,
        -0.0,
        {"l": [1], "d": {"~": 1}},
        "\ud800 lone surrogate",
    ],
    ids=repr,
)
def test_values_round_trip_with_their_types(cache: RedisCacheProvider, value: Any) -> None:
    key = cache.generate_cache_key("t.echo", "u", "t", (), {"v": repr(value)})
    cache.add_to_cache(key, value)
    found = cache.get_from_cache(key)
    assert value == found
    assert type(value) is type(found)
    if isinstance(value, float):
        assert math.copysign(1, value) == math.copysign(1, found)


def test_nan_round_trips() -> None:
    assert math.isnan(decode_value(encode_value(math.nan)))


def test_reads_return_new_objects(cache: RedisCacheProvider) -> None:
    key = cache.generate_cache_key("t.op", "u", "t", (), {})
    stored = {"items": [1, 2]}
    cache.add_to_cache(key, stored)
    stored["items"].append(3)
    first = cache.get_from_cache(key)
    first["items"].append(4)
    assert {"items": [1, 2]} == cache.get_from_cache(key)


class Opaque:
    pass


def _nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    "value",
    [Opaque(), {"ok": Opaque()}, _nested(150)],
    ids=["object", "dict of object", "150 levels deep"],
)
def test_values_that_cannot_be_encoded_are_not_cached(
    cache: RedisCacheProvider, value: Any
) -> None:
    key = cache.generate_cache_key("t.op", "u", "t", (), {})
    cache.add_to_cache(key, value)
    assert (False, None) == cache.lookup(key)


def test_foreign_data_is_a_miss_and_never_unpickled(
    cache: RedisCacheProvider, server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    key = cache.generate_cache_key("t.op", "u", "t", (), {})
    raw = redis.Redis.from_url(server.url)
    try:
        raw.set(cache.redis_key(key), pickle.dumps(Opaque()))
        assert (False, None) == cache.lookup(key)
        raw.set(cache.redis_key(key), b"[2, 1]")
        assert (False, None) == cache.lookup(key)
    finally:
        raw.close()
    assert 2 == sum("unreadable cache entry" in message for message in caplog.messages)


def test_ttl_is_set_on_the_server(server: RedisServer) -> None:
    with _fresh(server, ttl=30.0) as cache:
        key = cache.generate_cache_key("t.op", "u", "t", (), {})
        cache.add_to_cache(key, 1)
        raw = redis.Redis.from_url(server.url)
        try:
            remaining = raw.pttl(cache.redis_key(key))
        finally:
            raw.close()
    assert 0 < remaining <= 30_000


def test_ttl_is_checked() -> None:
    with pytest.raises(ValueError, match="ttl"):
        RedisCacheProvider(OFFLINE_URL, ttl=0)
    with pytest.raises(TypeError, match="ttl"):
        RedisCacheProvider(OFFLINE_URL, ttl="60")  # type: ignore[arg-type]


def test_a_ttl_below_a_millisecond_is_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match=r"\(Redis expires in milliseconds\)") as caught:
        RedisCacheProvider(OFFLINE_URL, ttl=0.0005)

    assert str(caught.value).startswith(
        "RedisCacheProvider: ttl must be a finite number of seconds >= 0.001 (Redis expires "
        "in milliseconds) or None, got 0.0005 of type float; "
    )
    assert 0.001 == RedisCacheProvider(OFFLINE_URL, ttl=0.001).ttl


@pytest.mark.parametrize(
    ("argument", "value", "expected"),
    [
        ("url", None, "url must be a non-empty str, got None of type NoneType"),
        ("ttl", True, "ttl must be a finite number of seconds >= 0.001"),
        ("namespace", b"ns", "namespace must be a non-empty str, got b'ns' of type bytes"),
        ("client", "redis://x", "client must be an instance of redis.client.Redis or None"),
        ("async_client", redis.Redis(), "async_client must be an instance of redis.asyncio."),
        ("socket_timeout", None, "socket_timeout must be a finite number of seconds > 0, got"),
        ("warn_interval", "1m", "warn_interval must be a finite number of seconds >= 0, got"),
    ],
)
def test_an_argument_of_the_wrong_type_is_a_type_error_naming_it(
    argument: str, value: object, expected: str
) -> None:
    options = {"url": OFFLINE_URL, argument: value}
    with pytest.raises(TypeError) as caught:
        RedisCacheProvider(**options)

    assert str(caught.value).startswith(f"RedisCacheProvider: {expected}")
    assert f"of type {type(value).__name__}; " in str(caught.value)


@pytest.mark.parametrize(
    ("argument", "value", "expected"),
    [
        ("url", "", "url must be a non-empty str, got '' of type str"),
        ("namespace", "", "namespace must be a non-empty str, got '' of type str"),
        ("ttl", math.inf, "ttl must be a finite number of seconds >= 0.001"),
        ("socket_timeout", 0, "socket_timeout must be a finite number of seconds > 0, got 0"),
        ("warn_interval", -1, "warn_interval must be a finite number of seconds >= 0, got -1"),
    ],
)
def test_an_argument_out_of_range_is_a_value_error_naming_it(
    argument: str, value: object, expected: str
) -> None:
    options = {"url": OFFLINE_URL, argument: value}
    with pytest.raises(ValueError, match=r"^RedisCacheProvider: ") as caught:
        RedisCacheProvider(**options)

    assert str(caught.value).startswith(f"RedisCacheProvider: {expected}")


def test_a_key_function_that_is_not_callable_is_refused() -> None:
    with pytest.raises(TypeError, match="key_function must conform to KeyFunction"):
        RedisCacheProvider(OFFLINE_URL, key_function=None)  # type: ignore[arg-type]


def test_namespaces_keep_caches_apart_and_clear_only_their_own(server: RedisServer) -> None:
    with _fresh(server) as first, _fresh(server) as second:
        key = first.generate_cache_key("t.op", "u", "t", (), {})
        first.add_to_cache(key, "first")
        second.add_to_cache(key, "second")
        assert 1 == first.clear()
        assert [(False, None), (True, "second")] == [first.lookup(key), second.lookup(key)]


def test_a_key_computed_in_another_process_hits_here(server: RedisServer) -> None:
    namespace = f"test-{uuid.uuid4().hex}"
    arguments = ("calc.square", "u1", "t1", (), {"x": 12, "opts": {"b": [1.5], "a": None}})
    script = (
        "import sys\n"
        "from execproto.integrations.redis import RedisCacheProvider\n"
        "cache = RedisCacheProvider(sys.argv[1], namespace=sys.argv[2])\n"
        f"cache.add_to_cache(cache.generate_cache_key(*{arguments!r}), 144)\n"
        "cache.close()\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script, server.url, namespace],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONHASHSEED": "7"},
        check=False,
    )
    assert 0 == completed.returncode, completed.stderr
    with RedisCacheProvider(server.url, namespace=namespace) as cache:
        assert (True, 144) == cache.lookup(make_cache_key(*arguments))


async def test_async_methods_share_the_store_with_the_sync_ones(server: RedisServer) -> None:
    async with _fresh(server) as cache:
        key = cache.generate_cache_key("t.op", "u", "t", (), {})
        assert (False, None) == await cache.lookup_async(key)
        await cache.add_to_cache_async(key, None)
        assert (True, None) == await cache.lookup_async(key)
        assert (True, None) == cache.lookup(key)
        cache.add_to_cache(key, [1, "x"])
        assert [1, "x"] == await cache.get_from_cache_async(key)


def test_the_provider_pickles_as_its_configuration(server: RedisServer) -> None:
    with _fresh(server, ttl=10.0) as cache:
        key = cache.generate_cache_key("t.op", "u", "t", (), {})
        cache.add_to_cache(key, "shared")
        with pickle.loads(pickle.dumps(cache)) as copy:
            assert (copy.namespace, copy.ttl) == (cache.namespace, cache.ttl)
            assert (True, "shared") == copy.lookup(key)


# -- a server that goes away -----------------------------------------------------------------


@pytest.fixture
def doomed_server() -> Iterator[RedisServer]:
    with redis_server() as running:
        yield running


def test_a_stopped_server_degrades_to_misses_without_losing_results(
    doomed_server: RedisServer,
) -> None:
    counter = Counter()
    with (
        _fresh(doomed_server, socket_timeout=2.0) as cache,
        ToolExecutor(cache=cache) as executor,
        execution_context(user_id="u", task_id="t"),
    ):
        assert [16, 16] == [executor.execute(counter, "square", x=4) for _ in range(2)]
        assert 1 == counter.runs, "the second call was not served by Redis"
        doomed_server.stop()
        with pytest.warns(CacheUnavailableWarning, match="could not be read") as caught:
            assert [25, 25, 16] == [executor.execute(counter, "square", x=x) for x in (5, 5, 4)]
    assert 4 == counter.runs, "every call ran once Redis was gone"
    assert 1 == len(caught), "warnings are rate-limited: one per interval"
    assert "more failure" not in str(caught[0].message)


async def test_a_stopped_server_degrades_on_the_async_path_too(
    doomed_server: RedisServer,
) -> None:
    counter = Counter()
    async with _fresh(doomed_server, socket_timeout=2.0) as cache:
        with ToolExecutor(cache=cache) as executor:
            assert 9 == await executor.execute_async(counter, "square", x=3)
            doomed_server.stop()
            with pytest.warns(CacheUnavailableWarning):
                assert 9 == await executor.execute_async(counter, "square", x=3)
    assert 2 == counter.runs
