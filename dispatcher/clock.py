"""The clock port: the system clock, and a settable one for tests and drills."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Something that tells the current time as timezone-aware UTC."""

    def now(self) -> datetime:
        """Return the current time, timezone-aware, in UTC."""


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        """Return the current UTC time."""
        return datetime.now(UTC)


class FixedClock:
    """A clock that stands still until told to move."""

    def __init__(self, at: datetime):
        if at.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware time")
        self._at = at.astimezone(UTC)

    def now(self) -> datetime:
        """Return the time the clock is set to."""
        return self._at

    def advance(self, **delta: float) -> datetime:
        """Move the clock forward by a timedelta's keyword arguments and return the new time."""
        self._at += timedelta(**delta)
        return self._at

    def set(self, at: datetime) -> None:
        """Set the clock to a timezone-aware time."""
        self._at = at.astimezone(UTC)
