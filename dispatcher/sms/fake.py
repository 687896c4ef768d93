"""A recording fake of the SMS port, for tests."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from dispatcher.errors import SmsSendError
from dispatcher.sms import ProviderMessage


@dataclass(frozen=True)
class SentSms:
    """One message the fake was asked to send."""

    to: str
    body: str
    sid: str


@dataclass
class RecordingSender:
    """Keep every message instead of sending it; fail on demand for chosen addresses or all.

    `down`, when set, is raised for every send (an outage); `tried` lists every address a
    send was attempted to, failed or not.
    """

    name: str = "fake"
    sent: list[SentSms] = field(default_factory=list)
    failures: dict[str, SmsSendError] = field(default_factory=dict)
    down: SmsSendError | None = None
    tried: list[str] = field(default_factory=list)
    check_error: Exception | None = None  # what `check` raises, as a refused account would
    _numbers: itertools.count = field(default_factory=lambda: itertools.count(1), repr=False)

    def send(self, to: str, body: str, *, status_callback: str | None = None) -> ProviderMessage:
        """Record the message, or raise the failure set for that address (or for all)."""
        self.tried.append(to)
        if self.down is not None:
            raise self.down
        if to in self.failures:
            raise self.failures[to]
        sid = f"SMfake{next(self._numbers):026d}"
        self.sent.append(SentSms(to=to, body=body, sid=sid))
        return ProviderMessage(sid=sid, status="queued")

    def check(self) -> None:
        """Pass, or raise the error set for the credential check."""
        if self.check_error is not None:
            raise self.check_error

    def to(self, address: str) -> list[str]:
        """Return the bodies sent to one address, oldest first."""
        return [m.body for m in self.sent if m.to == address]

    def clear(self) -> None:
        """Forget what was sent."""
        self.sent.clear()
