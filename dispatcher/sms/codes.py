"""What a provider's error means for the volunteer, the account, or neither: one table.

Every Twilio error code the service can meet when it creates a message (the REST API's
answer) or in a delivery report (the status callback's `ErrorCode`) is in `TWILIO_CODES`,
classified into one of three kinds:

``number``
    Permanent for this number. No retry can help: the volunteer is marked (opted out, or
    `invalid_number`) and passed over until a coordinator corrects the number; the reason
    is what coordinators see.
``account``
    Permanent for the account or the sender. Every number would fail the same way, so the
    provider's circuit breaker opens and the message is held, never charged to a volunteer.
``transient``
    Worth another try later, with backoff: the provider, a carrier or a handset is busy or
    briefly away. So is any code the table does not know, and any failure to get an answer.

Source: Twilio's Error and Warning Dictionary, https://www.twilio.com/docs/api/errors, one
page per code (https://www.twilio.com/docs/api/errors/30005 and so on); each group below
names the pages its decisions rest on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["ACCOUNT", "ACCOUNT_ERRORS", "HANDSET_CODES", "KINDS", "NUMBER", "NUMBER_ERRORS",
           "TRANSIENT", "TWILIO_CODES", "Classification", "classify"]

NUMBER = "number"
ACCOUNT = "account"
TRANSIENT = "transient"
KINDS = (NUMBER, ACCOUNT, TRANSIENT)

# code: (kind, reason). A reason is shown to coordinators: it names the fault, never a person.
TWILIO_CODES: Mapping[int, tuple[str, str]] = {
    # --- Permanent for the number -------------------------------------------------------
    # The number on file cannot take a text from us, whichever account sends it; only a
    # new number (or the volunteer's START) helps. Sources: .../errors/21211, 21614, 21610,
    # 21612, 21408, 21635, 30004, 30005, 30006, 63003, 63024.
    21211: (NUMBER, "not a valid phone number"),
    21614: (NUMBER, "not a mobile number: it cannot receive SMS"),
    21635: (NUMBER, "a landline: it cannot receive SMS"),
    21610: (NUMBER, "opted out: the volunteer sent STOP to our sender"),
    21612: (NUMBER, "no route from our sender to this number"),
    # Geo permissions are set per country on the account; one number abroad must not stop
    # the alerts to everyone else, so it counts against the number, with the fix named.
    21408: (NUMBER, "texts to this number's country are not enabled on the account"),
    30004: (NUMBER, "blocked: the number or its carrier refuses our messages"),
    30005: (NUMBER, "unknown number: not in service with any carrier"),
    30006: (NUMBER, "a landline, or a carrier that cannot be reached"),
    63003: (NUMBER, "not reachable on this channel (no such WhatsApp user)"),
    63024: (NUMBER, "not a valid recipient on this channel"),
    # --- Permanent for the account or the sender ----------------------------------------
    # Credentials, billing, the sender and its registration: every message would fail the
    # same way until someone changes the account. Sources: .../errors/20003, 20403, 20404,
    # 20005, 30002, 21608, 21606, 21603, 21212, 21601, 21660, 21703, 30032, 30034, 30010,
    # 30023, 30024, 30007, 21602, 21604, 21617.
    20003: (ACCOUNT, "Twilio refused the account SID or auth token"),
    20005: (ACCOUNT, "the Twilio account is not active"),
    20403: (ACCOUNT, "the Twilio account lacks permission (suspended or closed)"),
    20404: (ACCOUNT, "Twilio does not know this account or resource"),
    30002: (ACCOUNT, "the Twilio account is suspended"),
    21608: (ACCOUNT, "a trial account may only text verified numbers"),
    21606: (ACCOUNT, "our sender cannot send SMS to this destination"),
    21603: (ACCOUNT, "no sender: set TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID"),
    21212: (ACCOUNT, "our sender number is not valid"),
    21601: (ACCOUNT, "our sender is not an SMS-capable number of this account"),
    21660: (ACCOUNT, "our sender does not belong to this account"),
    21703: (ACCOUNT, "the messaging service has no senders"),
    30032: (ACCOUNT, "our toll-free sender is not verified"),
    30034: (ACCOUNT, "our sender is not registered for A2P 10DLC"),
    30010: (ACCOUNT, "the price exceeds the account's maximum price"),
    30023: (ACCOUNT, "the account's daily message cap is reached"),
    30024: (ACCOUNT, "our sender ID needs registration in this country"),
    # Filtering judges our sender and our text, which are the same for every volunteer:
    # another provider may carry it, retrying this one will not.
    30007: (ACCOUNT, "carriers filtered our message as unwanted"),
    # The request itself is wrong (a service fault): every message built the same way fails.
    21602: (ACCOUNT, "the message body is missing"),
    21604: (ACCOUNT, "the recipient is missing"),
    21617: (ACCOUNT, "the message body is too long"),
    # --- Transient -----------------------------------------------------------------------
    # A busy or briefly absent provider, carrier or handset. Sources: .../errors/20429,
    # 20500, 20503, 21611, 30001, 30003, 30008, 30009, 30022, 30410, 30450, 63018.
    20429: (TRANSIENT, "Twilio asked us to slow down"),
    20500: (TRANSIENT, "Twilio had an internal error"),
    20503: (TRANSIENT, "Twilio is temporarily unavailable"),
    21611: (TRANSIENT, "our sender's queue is full"),
    30001: (TRANSIENT, "the carrier's queue overflowed"),
    # Often a phone that is off or out of coverage: a retry is right, marking them is not.
    30003: (TRANSIENT, "the handset is unreachable (off or out of coverage)"),
    30008: (TRANSIENT, "the carrier reported an unknown error"),
    30009: (TRANSIENT, "a part of the message went missing"),
    30022: (TRANSIENT, "our sender's throughput limit was exceeded"),
    30410: (TRANSIENT, "a downstream provider timed out"),
    30450: (TRANSIENT, "delivery to this number is held for a few minutes (fraud guard)"),
    63018: (TRANSIENT, "the channel's rate limit was exceeded"),
}

NUMBER_ERRORS = frozenset(c for c, (kind, _) in TWILIO_CODES.items() if kind == NUMBER)
ACCOUNT_ERRORS = frozenset(c for c, (kind, _) in TWILIO_CODES.items() if kind == ACCOUNT)


@dataclass(frozen=True)
class Classification:
    """What one failure means: its kind (number, account, transient) and why, in words."""

    kind: str
    reason: str
    code: int | None = None

    @property
    def permanent(self) -> bool:
        """Return whether the failure is the number's: never retried, the volunteer marked."""
        return self.kind == NUMBER


# Transient faults of one handset, not of the provider: off or out of coverage (30003), held
# by a fraud guard (30450). They count against the volunteer's alert (tried once more, then
# the next is asked), never toward a provider outage.
HANDSET_CODES = frozenset({30003, 30450})

def classify(code: int | None, http_status: int | None = None) -> Classification:
    """Classify a Twilio error code, or failing that the HTTP status of the answer.

    >>> classify(30005).kind
    'number'
    >>> classify(None, 401).kind
    'account'
    >>> classify(99999, 400).kind
    'transient'
    """
    if code is not None and code in TWILIO_CODES:
        kind, reason = TWILIO_CODES[code]
        return Classification(kind, reason, code)
    if http_status in (401, 403):
        return Classification(ACCOUNT, "the provider refused our credentials", code)
    if http_status == 429:
        return Classification(TRANSIENT, "the provider asked us to slow down", code)
    if http_status is not None and http_status >= 500:
        return Classification(TRANSIENT, "the provider had trouble of its own", code)
    if code is None and http_status is None:
        return Classification(TRANSIENT, "no answer from the provider", None)
    return Classification(TRANSIENT, "an error the table does not know; retried", code)
