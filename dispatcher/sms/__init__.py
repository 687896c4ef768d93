"""The SMS port: send a message to a channel-qualified address, get the provider's id back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from dispatcher.settings import Settings
from dispatcher.sms.codes import ACCOUNT_ERRORS, NUMBER_ERRORS

__all__ = ["ACCOUNT_ERRORS", "FAILOVER_BACKENDS", "OPTED_OUT", "PERMANENT_ERRORS",
           "ProviderMessage", "SmsSender", "address_for", "build_failover_sender",
           "build_sender"]

# Provider error codes that no retry can fix, for this number: opted out, not a valid
# number, not a mobile, unknown to every carrier, a landline... (the `number` kind of
# dispatcher.sms.codes). They mean the same whether the send is refused at once or a
# delivery report says so. ACCOUNT_ERRORS are the account's or sender's: every number
# fails alike, and no volunteer is to blame.
OPTED_OUT = 21610
PERMANENT_ERRORS = NUMBER_ERRORS
FAILOVER_BACKENDS = ("", "46elks")


@dataclass(frozen=True)
class ProviderMessage:
    """What a provider says about a message it accepted."""

    sid: str
    status: str  # queued | sent | delivered
    provider: str = ""  # which provider took it, when a switchboard chose


class SmsSender(Protocol):
    """Anything that can hand one message to a provider."""

    name: str

    def send(self, to: str, body: str, *, status_callback: str | None = None) -> ProviderMessage:
        """Send `body` to `to` ("+E164" or "whatsapp:+E164"); raise SmsSendError on failure."""


def address_for(phone: str, channel: str = "sms") -> str:
    """Return the channel-qualified address of a phone number: SMS is the bare E.164 number."""
    return phone if channel == "sms" else f"{channel}:{phone}"


def build_sender(settings: Settings) -> SmsSender:
    """Build the sender the settings select with SMS_BACKEND."""
    backend = settings.sms_backend
    if backend == "outbox":
        from dispatcher.sms.outbox import OutboxSender

        return OutboxSender()
    if backend == "twilio":
        from dispatcher.sms.twilio import TwilioSender

        # Every queue worker may be fanning out at once.
        pool = settings.sending.concurrency * settings.queue.workers
        return TwilioSender.from_settings(settings.twilio, pool_size=pool)
    raise ValueError(f"DISPATCHER_SMS_BACKEND must be 'outbox' or 'twilio', not {backend!r}")


def build_failover_sender(settings: Settings) -> SmsSender | None:
    """Build the second provider SMS_FAILOVER_BACKEND selects, or None when there is none."""
    backend = settings.sms_failover_backend
    if backend == "":
        return None
    if backend == "46elks":
        from dispatcher.sms.elks import ElksSender

        pool = settings.sending.concurrency * settings.queue.workers
        return ElksSender.from_settings(settings.elks, pool_size=pool)
    raise ValueError(f"DISPATCHER_SMS_FAILOVER_BACKEND must be '' or '46elks', not {backend!r}")
