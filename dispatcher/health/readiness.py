"""Readiness: whether this process can take work now, check by check.

A process is ready when its database answers, its queue answers (Redis, or the SQLite file
of the embedded queue), and its spatial index is loaded and at most READY_MAX_INDEX_LAG
position changes behind the database's change sequence. A check that fails says why in a
few words of its own: never a URL, a secret, or an exception's text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dispatcher.runtime import Runtime
from dispatcher.store import sequence

__all__ = ["Check", "Readiness", "change_seq", "check", "index_lag"]


@dataclass(frozen=True)
class Check:
    """The outcome of one check: its name, whether it passed, and the facts behind it."""

    name: str
    ok: bool
    reason: str = ""
    facts: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """Return the check as the JSON body shows it."""
        body: dict[str, Any] = {"ok": self.ok, **self.facts}
        if self.reason:
            body["reason"] = self.reason
        return body


@dataclass(frozen=True)
class Readiness:
    """Every check of one look at the process's readiness."""

    checks: list[Check]

    @property
    def ready(self) -> bool:
        """Tell whether every check passed."""
        return all(c.ok for c in self.checks)

    @property
    def failed(self) -> list[str]:
        """Return the names of the checks that failed, in order."""
        return [c.name for c in self.checks if not c.ok]

    def as_json(self) -> dict[str, Any]:
        """Return the machine-readable body of /readyz."""
        return {"status": "ready" if self.ready else "not_ready", "failed": self.failed,
                "checks": {c.name: c.as_json() for c in self.checks}}


def change_seq(rt: Runtime) -> int:
    """Return the database's position change sequence: the last number handed out."""
    with rt.engine.connect() as conn:
        return sequence.current(conn)


def index_lag(rt: Runtime, seq: int) -> int:
    """Return how many position changes this process's index is behind the sequence."""
    return max(0, seq - rt.index.last_seq)


def check(rt: Runtime) -> Readiness:
    """Check the database, the queue and the index; return every outcome."""
    seq: int | None = None
    try:
        seq = change_seq(rt)
        database = Check("database", True)
    except Exception as exc:  # noqa: BLE001 - whatever the failure, the database is not there
        database = Check("database", False, _unreachable(exc))
    try:
        rt.queue.ping()
        queue = Check("queue", True, facts={"backend": rt.queue.name})
    except Exception as exc:  # noqa: BLE001 - whatever the failure, the queue is not there
        queue = Check("queue", False, _unreachable(exc), {"backend": rt.queue.name})
    return Readiness([database, queue, _index(rt, seq)])


def _index(rt: Runtime, seq: int | None) -> Check:
    """Check that the index has loaded and is within the bound of the database."""
    bound = rt.settings.ready_max_index_lag
    if not rt.index_ready.is_set():
        return Check("index", False, "not loaded yet")
    if seq is None:
        return Check("index", False, "lag unknown: the database did not answer")
    lag = index_lag(rt, seq)
    facts = {"lag": lag, "max_lag": bound}
    if lag > bound:
        return Check("index", False, "too far behind the database", facts)
    return Check("index", True, facts=facts)


def _unreachable(exc: Exception) -> str:
    """Name a failure by its type alone: the text may carry a URL or a host."""
    return f"no answer ({type(exc).__name__})"
