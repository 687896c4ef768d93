"""Redis for the queue tests: the shared server the tests require, or a private one to stop."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time

import pytest
from redis import Redis
from redis.exceptions import RedisError

REDIS_URL = os.environ.get("DISPATCHER_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def require_redis(url: str = REDIS_URL) -> str:
    """Return the URL of the Redis the tests share, or fail the run when it cannot be reached."""
    try:
        Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2).ping()
    except RedisError as exc:
        pytest.fail(
            f"Redis is required for the queue tests on PostgreSQL and is not reachable at {url} "
            f"({type(exc).__name__}). Start it (scripts/services.sh) or set "
            f"DISPATCHER_TEST_DATABASES=sqlite to leave it out on purpose.",
            pytrace=False,
        )
    return url


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A redis-server of the test's own, on a free port, that the test can stop and start."""

    def __init__(self):
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is required for the queue tests and is not installed",
                        pytrace=False)
        self._binary = binary
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen | None = None

    def start(self) -> RedisServer:
        """Start the server (in memory only) and wait until it answers."""
        self._process = subprocess.Popen(
            [self._binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        client = Redis(port=self.port, socket_connect_timeout=1)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except RedisError:
                if time.monotonic() > deadline or self._process.poll() is not None:
                    pytest.fail(f"redis-server did not start on port {self.port}", pytrace=False)
                time.sleep(0.02)
        client.close()
        return self

    def stop(self) -> None:
        """Stop the server; whatever it held is gone."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(10)
        self._process = None
