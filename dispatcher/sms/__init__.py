"""The SMS port: send a message to a channel-qualified address, get the provider's id back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from dispatcher.settings import Settings

__all__ = ["OPTED_OUT", "PERMANENT_ERRORS", "ProviderMessage", "SmsSender", "address_for",
           "build_sender"]

# Provider error codes that no retry can fix: opted out, invalid number, not a mobile.
# They mean the same whether the send is refused at once or a delivery report says so.
OPTED_OUT = 21610
PERMANENT_ERRORS = frozenset({OPTED_OUT, 21211, 21614})


@dataclass(frozen=True)
class ProviderMessage:
    """What a provider says about a message it accepted."""

    sid: str
    status: str  # queued | sent | delivered


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
