"""The switchboard: every send goes through the first provider whose circuit breaker is closed.

A provider that refuses our account or sender, or fails for many numbers at once, is down
for everyone: spending volunteers on it helps nobody. Its breaker opens, and sends go to the
second provider if one is configured, else they are held (`ProvidersDown`) and the caller
keeps the message queued. An open breaker lets one probe through after a wait that doubles
up to a cap; a probe that gets through closes it. Each process keeps its own breakers: every
worker sees an outage for itself within a few sends.
"""

from __future__ import annotations

import logging
import random
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from dispatcher import metrics
from dispatcher.clock import Clock
from dispatcher.errors import SmsSendError
from dispatcher.sms import ProviderMessage, SmsSender
from dispatcher.sms.codes import ACCOUNT, HANDSET_CODES, NUMBER
from dispatcher.sms.failures import kind_of

log = logging.getLogger(__name__)

# The breaker opens when more than RATIO of the last WINDOW sends (of those seen, while fewer)
# failed for want of the provider, across at least MIN_NUMBERS numbers, or at once on an
# account or sender error. A fresh process whose first three sends to three numbers fail is
# looking at an outage, and must not spend the volunteers behind them.
WINDOW, RATIO, MIN_NUMBERS = 10, 0.5, 3


class ProvidersDown(SmsSendError):
    """No provider may be tried now: every breaker is open. The message waits, unspent."""

    def __init__(self, retry_at: datetime):
        super().__init__(f"every SMS provider is held; next probe at {retry_at:%H:%M:%S}")
        self.retry_at = retry_at


@dataclass
class Breaker:
    """One provider's health as this process has seen it: closed, or open until a probe."""

    name: str
    first_wait: timedelta = timedelta(seconds=2)
    max_wait: timedelta = timedelta(seconds=60)
    opened_at: datetime | None = None
    probe_at: datetime | None = None
    reason: str = ""
    _wait: timedelta = timedelta(0)
    _probing: bool = False
    _recent: deque = field(default_factory=lambda: deque(maxlen=WINDOW))

    def __post_init__(self):
        """Show the breaker closed in the metrics from the start."""
        metrics.set_to(metrics.BREAKER_OPEN, 0, self.name)

    @property
    def is_open(self) -> bool:
        """Tell whether sends to this provider are held."""
        return self.opened_at is not None

    def allows(self, now: datetime) -> bool:
        """Tell whether a send may go now; an open breaker lets one probe through when due."""
        if self.opened_at is None:
            return True
        if self._probing or now < self.probe_at:
            return False
        self._probing = True
        return True

    def succeeded(self, address: str) -> None:
        """Record a send the provider took (or refused for the number alone): it works."""
        self._recent.append((True, address))
        if self.opened_at is not None:
            log.error("SMS provider %s answers again; breaker closed", self.name)
            metrics.set_to(metrics.BREAKER_OPEN, 0, self.name)
        self.opened_at = self.probe_at = None
        self._probing, self._wait, self.reason = False, timedelta(0), ""

    def failed(self, address: str, kind: str, now: datetime, why: str) -> bool:
        """Record a send that failed for want of the provider; return True if it opened now."""
        self._recent.append((False, address))
        if self.opened_at is not None:
            self._probing = False
            self._wait = min(self._wait * 2, self.max_wait)
            self.probe_at = now + _jitter(self._wait)
            return False
        failing = [a for ok, a in self._recent if not ok]
        outage = (len(failing) > RATIO * len(self._recent)
                  and len(set(failing)) >= MIN_NUMBERS)
        if kind != ACCOUNT and not outage:
            return False
        self.opened_at, self.reason = now, why
        self._wait = self.first_wait
        self.probe_at = now + _jitter(self._wait)
        metrics.set_to(metrics.BREAKER_OPEN, 1, self.name)
        log.error("SMS provider %s is failing (%s); breaker open, sends held or moved", self.name,
                  why)
        return True


class Switchboard:
    """An SmsSender that picks, for each send, the first provider whose breaker allows it."""

    def __init__(self, primary: SmsSender, secondary: SmsSender | None = None, *,
                 clock: Clock, first_wait: timedelta = timedelta(seconds=2),
                 max_wait: timedelta = timedelta(seconds=60)):
        self.primary, self.secondary, self._clock = primary, secondary, clock
        self.name = primary.name
        self.breakers = {p.name: Breaker(p.name, first_wait, max_wait)
                         for p in (primary, secondary) if p is not None}
        self._lock = threading.Lock()

    def send(self, to: str, body: str, *, status_callback: str | None = None) -> ProviderMessage:
        """Send through the first provider that may be tried; raise ProvidersDown if none may."""
        for provider in (self.primary, self.secondary):
            if provider is None:
                continue
            breaker = self.breakers[provider.name]
            with self._lock:
                if not breaker.allows(self._clock.now()):
                    continue
            # Delivery reports come back only from the primary, to the callback it signs.
            callback = status_callback if provider is self.primary else None
            try:
                result = provider.send(to, body, status_callback=callback)
            except SmsSendError as exc:
                kind = kind_of(exc)
                with self._lock:
                    if kind == NUMBER or exc.provider_code in HANDSET_CODES:
                        breaker.succeeded(to)
                    else:
                        breaker.failed(to, kind, self._clock.now(), exc.message)
                    moved = self.secondary is not None and breaker.is_open
                if moved and provider is self.primary:
                    continue  # the primary just proved down: the second provider takes it
                raise
            with self._lock:
                breaker.succeeded(to)
            return ProviderMessage(result.sid, result.status, provider.name)
        raise ProvidersDown(self.retry_at())

    def holding(self) -> bool:
        """Tell whether every provider's breaker is open: sends are held, not spent."""
        with self._lock:
            return all(b.is_open for b in self.breakers.values())

    def retry_at(self) -> datetime:
        """Return when the next probe may go (now when a provider is up)."""
        with self._lock:
            due = [b.probe_at for b in self.breakers.values() if b.is_open]
            if len(due) < len(self.breakers):
                return self._clock.now()
            return min(due)

    def check(self) -> None:
        """Check every provider's credentials where the adapter can (raises when refused)."""
        for provider in (self.primary, self.secondary):
            if provider is not None and hasattr(provider, "check"):
                provider.check()


def _jitter(wait: timedelta) -> timedelta:
    """Spread a wait by up to a fifth either way, so workers do not probe in step."""
    return wait * random.uniform(0.8, 1.2)
