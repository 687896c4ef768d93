"""The queue port: ring a doorbell for a job now or at a time; the database holds the work.

Every job names work whose truth is in the database (a queued message, an incident's wave
deadline, an undelivered event), so a lost doorbell delays work but never loses it: the
sweeper finds what is overdue and rings again.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from dispatcher.settings import QueueSettings

__all__ = ["JobQueue", "build_queue", "ring", "take_doorbells"]


class JobQueue(Protocol):
    """Anything that can run a named job soon or at a given time."""

    name: str

    def enqueue(self, job: str, *args: Any, at: datetime | None = None) -> bool:
        """Ask for `job(*args)` to run now or at `at`; False when the queue could not be told."""

    def bind(self, run: Callable[[str, tuple], Any], jobs: list[str]) -> None:
        """Learn the jobs there are and how to run one (`run(job, args)`)."""

    def ping(self) -> None:
        """Ask the queue's store for a sign of life; raise when it cannot be reached."""


def build_queue(settings: QueueSettings, instance_path: str) -> JobQueue:
    """Build the huey queue the settings select with QUEUE_URL."""
    from dispatcher.queue.huey import HueyQueue

    url = settings.url or "sqlite:///" + os.path.join(instance_path, "queue.db")
    return HueyQueue.from_url(url, name=settings.name, poll_max_s=settings.poll_max_s)


def ring(session: Any, job: str, *args: Any, at: datetime | None = None) -> None:
    """Ask for a job once the session's transaction commits (never for one rolled back)."""
    session.info.setdefault("doorbells", []).append((job, args, at))


def take_doorbells(session: Any) -> list[tuple[str, tuple, datetime | None]]:
    """Return the session's doorbells, once each; messages to deliver at one time, one job."""
    bells = session.info.pop("doorbells", [])
    deliveries: dict[datetime | None, set[int]] = {}
    for job, args, at in bells:
        if job == "deliver":
            deliveries.setdefault(at, set()).add(args[0])
    out: list[tuple[str, tuple, datetime | None]] = [
        ("deliver", (sorted(ids),), at) for at, ids in deliveries.items()]
    for bell in bells:
        if bell[0] != "deliver" and bell not in out:
            out.append(bell)
    return out
