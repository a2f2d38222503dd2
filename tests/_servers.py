"""Real servers for the scale-out tests: a redis-server process and Dask LocalClusters.

Missing servers skip the tests on a developer machine and fail them in CI (``CI`` set), so
a CI image without redis-server cannot pass by skipping everything.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

# How long a freshly started redis-server may take to accept connections; a bound on a
# hang, never a measured expectation.
_REDIS_START_TIMEOUT = 20.0


def require(what: str, how: str) -> None:
    """Skip the test (or fail it when ``CI`` is set) because *what* is missing."""
    message = f"{what} is not available; {how}"
    if os.environ.get("CI"):
        pytest.fail(f"{message} (CI is set, so this is a failure, not a skip)")
    pytest.skip(message)


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class RedisServer:
    """A redis-server process started by :func:`redis_server`."""

    process: subprocess.Popen[bytes]
    port: int

    @property
    def url(self) -> str:
        """The ``redis://`` URL of the server."""
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        """Whether the process is still alive."""
        return self.process.poll() is None

    def stop(self) -> None:
        """Stop the server by its pid and wait until it has exited."""
        if self.running:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=_REDIS_START_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()


def _wait_until_accepting(server: RedisServer) -> None:
    deadline = time.monotonic() + _REDIS_START_TIMEOUT
    while time.monotonic() < deadline:
        if not server.running:
            raise RuntimeError(f"redis-server exited with code {server.process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=1.0) as conn:
                conn.sendall(b"PING\r\n")
                if conn.recv(16).startswith(b"+PONG"):
                    return
        except OSError:
            pass
        time.sleep(0.05)  # polling a port another process opens; no event to wait on
    raise RuntimeError(f"redis-server did not accept connections on port {server.port}")


@contextmanager
def redis_server() -> Iterator[RedisServer]:
    """Start ``redis-server`` on a free port of 127.0.0.1, without persistence; stop it after.

    Skips (fails under ``CI``) when the binary is missing.
    """
    binary = shutil.which("redis-server")
    if binary is None:
        require("redis-server", "install it (apt-get install redis-server) to run these tests")
    assert binary is not None
    port = free_port()
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--maxmemory",
            "64mb",
            "--maxmemory-policy",
            "allkeys-lru",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = RedisServer(process, port)
    try:
        _wait_until_accepting(server)
        yield server
    finally:
        server.stop()
