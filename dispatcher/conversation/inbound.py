"""A volunteer's text in: store it once, read what it means, and route it to its use case.

What a reply means is the pure grammar's call (`domain.replies`); what is done about it is
decided by the handler its intent is routed to in ROUTES: the volunteer's own standing
(`account`) or their answer to an alert or a follow-up question (`answers`).
"""

from __future__ import annotations

import logging

import phonenumbers
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dispatcher.conversation import account, answers
from dispatcher.domain.replies import Reply, parse_reply
from dispatcher.runtime import Runtime
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
    """Apply one inbound SMS exactly once; False for a repeat or an unknown sender."""
    try:
        with rt.transaction() as session:
            if session.scalar(select(Message.id).where(Message.sid == sid)) is not None:
                return False
            responder = find_responder(session, address, rt.settings.conversation.default_region)
            if responder is None:
                log.info("inbound SMS from an unregistered number ignored")
                return False
            now = rt.clock.now()
            record = Message(
                direction="in", channel=responder.channel, address=address, body=body[:1600],
                purpose="reply", responder_id=responder.id, provider=provider, sid=sid,
                status="received", created_at=now, updated_at=now,
            )
            session.add(record)
            session.flush()
            route(rt, session, responder, parse_reply(body), record)
    except IntegrityError:
        return False  # the same MessageSid arrived twice at once; the other one applied it
    return True


def route(rt: Runtime, session: Session, responder: Responder, reply: Reply,
          record: Message) -> None:
    """Hand a reply to the use case for its intent, once the volunteer may be answered.

    STOP is always heard. Any text from a number the provider called invalid shows that it
    works. An opted-out volunteer is answered only when they say START.
    """
    if reply.intent != "stop":
        account.heard_from(rt, responder)
        if responder.status == "opted_out" and reply.intent != "start":
            return  # nothing goes to an opted-out number until it says START
    ROUTES[reply.intent](rt, session, responder, reply, record)
