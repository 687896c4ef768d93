"""Outgoing SMS as rows: written with the change that causes them, withdrawn when unsent."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from dispatcher.queue import ring
from dispatcher.runtime import Runtime
from dispatcher.sms import address_for
from dispatcher.store.models import Alert, Message, Responder

log = logging.getLogger(__name__)


def queue_message(
    rt: Runtime, session: Session, responder: Responder, body: str, *, purpose: str,
    alert: Alert | None = None,
) -> Message | None:
    """Write an outgoing message in the caller's transaction; None if they cannot be texted.

    Nothing goes to a volunteer who opted out or whose number the provider refused as
    invalid. The queue is rung for the message once the transaction commits.
    """
    written = queue_messages(rt, session, [(responder, body, alert)], purpose=purpose)
    return written[0] if written else None


def queue_messages(
    rt: Runtime, session: Session, texts: list[tuple[Responder, str, Alert | None]], *,
    purpose: str,
) -> list[Message]:
    """Write several outgoing messages in one flush, as `queue_message` does each."""
    now = rt.clock.now()
    messages = [
        Message(
            direction="out", channel=responder.channel,
            address=address_for(responder.phone, responder.channel), body=body, purpose=purpose,
            responder_id=responder.id, alert_id=alert.id if alert else None,
            provider=rt.sms.name, status="queued", created_at=now, updated_at=now,
        )
        for responder, body, alert in texts
        if responder.status not in ("opted_out", "invalid_number")
    ]
    session.add_all(messages)
    session.flush()
    for message in messages:
        ring(session, "deliver", message.id)
    return messages


def cancel_queued(session: Session, alert_ids: Iterable[int]) -> int:
    """Withdraw alert messages not yet handed to the provider; return how many."""
    ids = list(alert_ids)
    if not ids:
        return 0
    return session.execute(
        update(Message)
        .where(Message.alert_id.in_(ids), Message.status == "queued", Message.sid.is_(None))
        .values(status="cancelled")
    ).rowcount


def unsent_alert_ids(session: Session, alert_ids: Iterable[int]) -> set[int]:
    """Return which of these alerts have had no message handed to the provider yet."""
    ids = list(alert_ids)
    if not ids:
        return set()
    sent = set(
        session.scalars(
            select(Message.alert_id).where(
                Message.alert_id.in_(ids),
                Message.purpose == "alert",
                Message.sid.is_not(None) | Message.status.not_in(("queued", "cancelled")),
            )
        )
    )
    return set(ids) - sent


def waiting_to_be_sent(session: Session, alert_ids: Iterable[int]) -> set[int]:
    """Return which of these alerts have a text queued or being sent, not yet with the provider."""
    ids = list(alert_ids)
    if not ids:
        return set()
    return set(session.scalars(
        select(Message.alert_id).where(
            Message.alert_id.in_(ids), Message.purpose == "alert", Message.sid.is_(None),
            Message.status.in_(("queued", "sending")),
        )
    ))
