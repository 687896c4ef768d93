"""A volunteer's text in: store it once, then read what it means and route it to its use case.

The webhook only stores the text (`receive`); the `reply` job acts on it (`process`), once,
and a failure leaves it for the sweeper to try again (`store.inbox`).

What a reply means is the pure grammar's call (`domain.replies`); what is done about it is
decided by the handler its intent is routed to in ROUTES: the volunteer's own standing
(`account`) or their answer to an alert or a follow-up question (`answers`).
"""

from __future__ import annotations

import logging
import uuid

import phonenumbers
from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatcher import metrics
from dispatcher.conversation import account, answers
from dispatcher.domain.inputs import strip_controls
from dispatcher.domain.replies import Reply, parse_reply
from dispatcher.runtime import Runtime
from dispatcher.sms import address_for
from dispatcher.store import inbox
from dispatcher.store.models import Message, Responder

log = logging.getLogger(__name__)

# Each intent of the reply grammar and the use case that acts on it.
ROUTES: dict[str, answers.Handler] = {
    "stop": account.stop,
    "start": account.start,
    "help": account.help_text,
    "unknown": account.not_understood,
    "pause": account.pause,
    "resume": account.resume,
    "accept": answers.accept,
    "decline": answers.decline,
    "arrived": answers.arrive,
}


def find_responder(session: Session, address: str, region: str) -> Responder | None:
    """Return the volunteer behind a channel-qualified address ("+E164", "whatsapp:+E164")."""
    number = address.split(":", 1)[-1].strip()
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return None
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return session.scalars(select(Responder).where(Responder.phone == e164)).one_or_none()


def receive(rt: Runtime, *, sid: str, address: str, body: str, provider: str) -> bool:
    """Store one inbound SMS in its own transaction, then ring for it to be acted on.

    Returns False for a MessageSid stored before. Raises when it could not be stored, so
    the webhook can answer 5xx and Twilio try its fallback URL. A text from a number that is
    no volunteer's is kept without number or text, only as a sign that it came.
    """
    message_id = store(rt, sid=sid, address=address, body=body, provider=provider)
    if message_id is None:
        return False
    inbox.ring(rt.queue, "reply", message_id)
    return True


def store(rt: Runtime, *, sid: str, address: str, body: str, provider: str) -> int | None:
    """Write an inbound SMS once; return its id, None for a repeat."""
    now = rt.clock.now()

    def write(session: Session) -> Message | None:
        if session.scalar(select(Message.id).where(Message.sid == sid)) is not None:
            return None
        responder = find_responder(session, address, rt.settings.conversation.default_region)
        record = Message(direction="in", provider=provider, sid=sid, status="received",
                         created_at=now, updated_at=now)
        if responder is None:
            log.info("inbound SMS from an unregistered number kept without number or text")
            record.channel, record.address, record.body = "sms", "", ""
            record.purpose, record.processed_at = "inbound", now  # nothing to act on
        else:
            channel = "whatsapp" if address.startswith("whatsapp:") else "sms"
            record.channel, record.address = channel, address_for(responder.phone, channel)
            # Never refused: a reply with a stray control character still counts.
            record.body = strip_controls(body)[:1600]
            record.purpose, record.responder_id = "reply", responder.id
        return record

    return inbox.insert_once(rt.transaction, write)


def process(rt: Runtime, message_id: int) -> bool:
    """Act on a stored inbound SMS exactly once (the `reply` job); True when this call did."""

    def act(session: Session, record: Message) -> bool:
        responder = session.get(Responder, record.responder_id) if record.responder_id else None
        if responder is not None:
            route(rt, session, responder, parse_reply(record.body), record)
        record.updated_at = rt.clock.now()
        return True

    done = inbox.process_once(rt.transaction, rt.clock.now, rt.settings.inbound, Message,
                              message_id, act)
    return done is not inbox.SKIPPED


def route(rt: Runtime, session: Session, responder: Responder, reply: Reply,
          record: Message) -> None:
    """Hand a reply to the use case for its intent, once the volunteer may be answered.

    STOP is always heard. Any text from a number the provider called invalid shows that it
    works. An opted-out volunteer is answered only when they say START.
    """
    metrics.count(metrics.REPLIES, reply.intent)
    if reply.intent != "stop":
        account.heard_from(rt, responder)
        if responder.status == "opted_out" and reply.intent != "start":
            return  # nothing goes to an opted-out number until it says START
    ROUTES[reply.intent](rt, session, responder, reply, record)


def take_now(rt: Runtime, *, address: str, body: str) -> bool:
    """Store a text typed on a virtual phone and act on it here and now (demos and drills).

    The answer is then in the thread as soon as the page or the command shows it; should
    acting on it fail, it stays stored and the sweeper tries again.
    """
    message_id = store(rt, sid=f"VP{uuid.uuid4().hex}", address=address, body=body,
                       provider="outbox")
    return message_id is not None and process(rt, message_id)
