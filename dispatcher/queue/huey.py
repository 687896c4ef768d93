"""The huey adapter of the queue port: SqliteHuey embedded, RedisHuey at scale."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

from huey import Huey, RedisHuey, SqliteHuey, crontab
from huey.consumer import Consumer
from redis import ConnectionPool

log = logging.getLogger(__name__)

REDIS_SOCKET_TIMEOUT_S = 2.0
REDIS_READ_TIMEOUT_S = 1


class HueyQueue:
    """Ring huey for jobs; each job is a huey task of the same name."""

    def __init__(self, huey: Huey, *, poll_max_s: float = 0.1):
        self.huey = huey
        self.name = type(huey).__name__
        self._poll_max_s = poll_max_s
        self._tasks: dict[str, Any] = {}

    @classmethod
    def from_url(cls, url: str, *, name: str, poll_max_s: float = 0.1) -> HueyQueue:
        """Build SqliteHuey for sqlite:///path, RedisHuey for redis://host:port/db."""
        scheme = urlparse(url).scheme
        if scheme == "sqlite":
            path = url[len("sqlite:///"):]
            return cls(SqliteHuey(name, filename=path, results=False), poll_max_s=poll_max_s)
        if scheme in ("redis", "rediss", "unix"):
            # Short socket timeouts: a Redis that is down must not hold up intake. Workers
            # block on the queue for at most READ_TIMEOUT_S, well inside the socket timeout.
            pool = ConnectionPool.from_url(
                url, socket_timeout=REDIS_SOCKET_TIMEOUT_S, socket_connect_timeout=1
            )
            huey = RedisHuey(name, connection_pool=pool, results=False, blocking=True,
                             read_timeout=REDIS_READ_TIMEOUT_S)
            return cls(huey, poll_max_s=poll_max_s)
        raise ValueError(f"DISPATCHER_QUEUE_URL must be sqlite:///path or redis://..., not {url!r}")

    def bind(self, run: Callable[[str, tuple], Any], jobs: list[str]) -> None:
        """Register one huey task per job name, each calling `run(job, args)`."""
        for job in jobs:
            def task(*args, _job=job):
                return run(_job, args)
            self._tasks[job] = self.huey.task(name=job)(task)
        if "purge" in jobs:
            # The retention purge runs every hour, at a minute no other hourly job likes.
            self.huey.periodic_task(crontab(minute="17"), name="purge.hourly")(
                lambda: run("purge", ())
            )

    def enqueue(self, job: str, *args: Any, at: datetime | None = None) -> bool:
        """Enqueue the task now or at `at`; log and return False when the queue is unreachable."""
        task = self._tasks[job]
        try:
            if at is None:
                task(*args)
            else:
                # An aware time: huey reads a naive one as local time and drops its
                # fraction of a second, ringing up to a second before the work is due.
                task.schedule(args=args, eta=at.astimezone(UTC))
        except Exception as exc:  # noqa: BLE001 - a doorbell failure must never fail the caller
            log.warning("queue unreachable (%s); job %s left to the sweeper",
                        type(exc).__name__, job)
            return False
        return True

    def ping(self) -> None:
        """Count the jobs waiting (one cheap call to Redis or the SQLite file); raise if down."""
        self.huey.storage.queue_size()

    def consumer(self, workers: int) -> Consumer:
        """Return a huey consumer with thread workers, polling often enough for alerts."""
        return self.huey.create_consumer(
            workers=workers, worker_type="thread", initial_delay=0.01, backoff=1.5,
            max_delay=self._poll_max_s, periodic=True, check_worker_health=True,
        )
