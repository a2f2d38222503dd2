"""Scale-out (issue 8): the Dask engine against raw ``client.submit``, and a Redis cache hit
written by another process against a raw ``GET`` + ``json.loads``.

No DESIGN target: these rows show what execproto adds on top of the network round trip
that any use of the cluster or the server pays. The servers are real: a ``LocalCluster``
started once for the Dask row, and a ``redis-server`` on a free port of 127.0.0.1, stopped
by its pid at the end. What cannot be started (no ``distributed``, no ``redis-server``) is
listed as not available with the reason.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Generator
from contextlib import ExitStack, contextmanager
from typing import Any

from benchmarks._anchors import Calculator
from benchmarks._harness import RowResult, Subject, async_call_timer, call_timer, measure
from benchmarks._profiles import Profile
from benchmarks._rows import (
    CACHE_KWARGS,
    CACHED_VALUE,
    OptionalSubjects,
    event_loop,
    execproto_attr,
)

__all__ = ["redis_server", "row_dask", "row_redis_cache_hit"]

# Bounds on a hang (a server that never comes up), never a measured expectation.
_START_TIMEOUT = 30.0

#: The call whose result the other process caches: the cache-key row's call.
_CALL: tuple[str, str, str, tuple[Any, ...], dict[str, Any]] = (
    "search.query",
    "user-1",
    "task-1",
    (),
    CACHE_KWARGS,
)

# Run by a separate interpreter: computes the key itself (its own PYTHONHASHSEED) and
# stores the value, so a hit here proves that keys and values cross processes.
_WRITER = """
import json, sys
from execproto.integrations.redis import RedisCacheProvider

url, namespace, call, value = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]
operation, user, task, args, kwargs = call
with RedisCacheProvider(url, namespace=namespace) as cache:
    key = cache.generate_cache_key(operation, user, task, tuple(args), kwargs)
    cache.add_to_cache(key, json.loads(value))
print(key)
"""


def row_dask(profile: Profile) -> list[RowResult]:
    """One Dask engine operation against a raw ``client.submit(...).result()``, same cluster."""
    kind = "worker processes" if profile.dask_processes else "worker threads (in-process)"
    row = RowResult(
        name="dask-engine",
        section="scale-out",
        title="Dask engine overhead per operation",
        anchor="client.submit(tool.add, a=1, b=2, pure=False).result()",
        target=None,
        note=(
            f"LocalCluster: 2 {kind}, 1 thread each; op: async def add(a, b); the engine "
            "validates here, ships the tool once and runs it through the worker's ToolExecutor"
        ),
    )
    try:
        distributed: Any = importlib.import_module("distributed")
    except ImportError as err:
        row.unavailable["distributed"] = f"ImportError: {err}; pip install 'execproto[dask]'"
        return [row]
    tool = Calculator()
    with ExitStack() as stack:
        try:
            cluster = stack.enter_context(
                distributed.LocalCluster(
                    n_workers=2,
                    threads_per_worker=1,
                    processes=profile.dask_processes,
                    dashboard_address=":0",
                )
            )
            client = stack.enter_context(distributed.Client(cluster))
        except Exception as err:
            row.unavailable["LocalCluster"] = f"{type(err).__name__}: {err}"
            return [row]

        def raw_submit() -> Any:
            future = client.submit(tool.add, a=1, b=2, pure=False)
            try:
                return future.result()
            finally:
                # The engine releases each future as soon as it is read: so does the anchor.
                future.release()

        assert 3 == raw_submit(), "raw client.submit gave a wrong answer"
        anchors = [
            Subject(
                "raw client.submit(...).result()",
                "anchor",
                call_timer(raw_submit),
            )
        ]
        loop = stack.enter_context(event_loop())
        optional = OptionalSubjects(row)
        engines: list[Any] = []

        def engine() -> Any:
            if not engines:
                registry = execproto_attr("runtime.registry", "ToolRegistry")()
                registry.register("calc", tool)
                executor_cls = execproto_attr("runtime.executor", "ToolExecutor")
                executor = stack.enter_context(executor_cls())
                dask_engine = execproto_attr("engines.dask", "DaskEngine")(
                    registry, executor, client=client, worker_executor=executor_cls
                )
                engines.append(stack.enter_context(dask_engine))
            return engines[0]

        name = "execproto DaskEngine.execute"
        optional.add(
            name,
            lambda: Subject(name, "subject", call_timer(engine().execute, tool, "add", a=1, b=2)),
            lambda: 3 == engine().execute(tool, "add", a=1, b=2),
        )
        async_name = "execproto DaskEngine.execute_async"
        optional.add(
            async_name,
            lambda: Subject(
                async_name,
                "subject",
                async_call_timer(loop, engine().execute_async, tool, "add", a=1, b=2),
            ),
            lambda: 3 == loop.run_until_complete(engine().execute_async(tool, "add", a=1, b=2)),
        )
        row.measurements = measure([*anchors, *optional.subjects], profile.remote)
    return [row]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=_START_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()


@contextmanager
def redis_server(binary: str) -> Generator[str, None, None]:
    """Start *binary* (``redis-server``) on a free port of 127.0.0.1, without persistence,
    and yield its ``redis://`` URL; stop it by its pid afterwards.

    Raises:
        RuntimeError: the server exited or did not accept connections in time.
    """
    port = _free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + _START_TIMEOUT
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"redis-server exited with code {process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1.0) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not accept connections on port {port}")
            time.sleep(0.05)  # polling a port another process opens; no event to wait on
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        _stop(process)


def _write_from_another_process(url: str, namespace: str) -> str:
    """Cache ``CACHED_VALUE`` for ``_CALL`` from a new interpreter; return the key it used."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            _WRITER,
            url,
            namespace,
            json.dumps(_CALL),
            json.dumps(CACHED_VALUE),
        ],
        capture_output=True,
        text=True,
        timeout=_START_TIMEOUT * 2,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"the writer process exited with {done.returncode}: {done.stderr.strip()[-500:]}"
        )
    return done.stdout.strip()


def row_redis_cache_hit(profile: Profile) -> list[RowResult]:
    """A hit on a value another process cached in Redis, against a raw GET + ``json.loads``."""
    row = RowResult(
        name="redis-cache-hit",
        section="scale-out",
        title="Redis cache hit, value written by another process",
        anchor="json.loads(redis.Redis.get(key))",
        target=None,
        note=(
            f"local redis-server over TCP, no persistence; value {CACHED_VALUE!r}, cached by a "
            "separate interpreter through RedisCacheProvider under its own key"
        ),
    )
    binary = shutil.which("redis-server")
    if binary is None:
        row.unavailable["redis-server"] = (
            "not found on PATH; install it (apt-get install redis-server) for this row"
        )
        return [row]
    try:
        import redis
    except ImportError as err:
        row.unavailable["redis"] = f"ImportError: {err}; pip install 'execproto[redis]'"
        return [row]
    namespace = f"bench-{os.getpid()}"
    with ExitStack() as stack:
        try:
            url = stack.enter_context(redis_server(binary))
            key = _write_from_another_process(url, namespace)
        except Exception as err:
            row.unavailable["redis-server"] = f"{type(err).__name__}: {err}"
            return [row]
        raw = stack.enter_context(redis.Redis.from_url(url))  # pyright: ignore[reportUnknownMemberType]
        raw_key = f"{namespace}:{key}"

        def raw_get() -> Any:
            return json.loads(raw.get(raw_key))  # pyright: ignore[reportArgumentType]

        assert raw_get() is not None, f"the other process stored nothing under {raw_key!r}"
        anchors = [Subject("raw GET + json.loads", "anchor", call_timer(raw_get))]
        optional = OptionalSubjects(row)
        caches: list[Any] = []

        def cache() -> Any:
            if not caches:
                provider = execproto_attr("integrations.redis", "RedisCacheProvider")(
                    url, namespace=namespace
                )
                caches.append(stack.enter_context(provider))
            return caches[0]

        def same_key_here() -> bool:
            # The key computed in this process must be the one the writer computed.
            return bool(key == cache().generate_cache_key(*_CALL))

        lookup = "execproto RedisCacheProvider.lookup"
        optional.add(
            lookup,
            lambda: Subject(lookup, "subject", call_timer(cache().lookup, key)),
            lambda: same_key_here() and (True, CACHED_VALUE) == cache().lookup(key),
        )
        get = "execproto RedisCacheProvider.get_from_cache"
        optional.add(
            get,
            lambda: Subject(get, "subject", call_timer(cache().get_from_cache, key)),
            lambda: CACHED_VALUE == cache().get_from_cache(key),
        )
        row.measurements = measure([*anchors, *optional.subjects], profile.micro)
    return [row]
