"""A recording fake of the queue port: it keeps every job and runs them when told."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Job:
    """One job asked of the queue."""

    job: str
    args: tuple
    at: datetime | None


@dataclass
class RecordingQueue:
    """Record jobs; run those without a time at once when `eager`, the rest on `run_due`.

    Eager jobs run after the one running finishes, never inside it, as a real queue would.
    """

    eager: bool = True
    name: str = "recording"
    jobs: list[Job] = field(default_factory=list)
    done: list[Job] = field(default_factory=list)
    runner: Callable[[str, tuple], Any] | None = None
    down: bool = False  # a queue that cannot be reached takes no jobs
    _running: bool = False
    _waiting: list[Job] = field(default_factory=list)
    _ran: set[int] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def bind(self, run: Callable[[str, tuple], Any], jobs: list[str]) -> None:
        """Take the function that runs jobs."""
        self.runner = run

    def enqueue(self, job: str, *args: Any, at: datetime | None = None) -> bool:
        """Record the job; run it now when eager and it has no time."""
        if self.down:
            return False
        entry = Job(job, tuple(args), at)
        self.jobs.append(entry)
        if self.eager and at is None and self.runner is not None:
            self._waiting.append(entry)
            self._drain()
        return True

    def ping(self) -> None:
        """Raise ConnectionError while the queue is down."""
        if self.down:
            raise ConnectionError("the recording queue is down")

    def due(self, now: datetime) -> list[Job]:
        """Return the timed jobs due by `now` that have not run."""
        return [j for j in self.jobs if j.at is not None and j.at <= now and id(j) not in self._ran]

    def run_due(self, now: datetime) -> int:
        """Run every timed job due by `now` (and what they ring); return how many ran."""
        ready = self.due(now)
        self._waiting.extend(ready)
        self._drain()
        return len(ready)

    def named(self, job: str) -> list[Job]:
        """Return the recorded jobs with this name, oldest first."""
        return [j for j in self.jobs if j.job == job]

    def _drain(self) -> None:
        """Run waiting jobs one after another (a job's own doorbells wait their turn)."""
        with self._lock:
            if self._running or self.runner is None:
                return
            self._running = True
        try:
            while self._waiting:
                entry = self._waiting.pop(0)
                self._ran.add(id(entry))
                self.done.append(entry)
                self.runner(entry.job, entry.args)
        finally:
            self._running = False
