"""Events back to the control room: written with the change, pushed signed, retried until taken.

Each event is a row written in the transaction that causes it (the outbox). A push job
sends the incident's oldest pending event first and stops at the first failure, so a
control room receives each incident's events in order; a failure is retried with
exponential backoff and the same webhook-id, until the event is older than the maximum age.

Delivery is at least once: a push claims the event it sends for a lease (a row lock on
PostgreSQL, the write lock of BEGIN IMMEDIATE on SQLite), so a second push waits rather than
sending it too; one whose lease ran out (a worker that died mid-post) is sent again by the
next push, with the same webhook-id, for the receiver to drop.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dispatcher.control_rooms.clients import sign
from dispatcher.errors import EventPostError
from dispatcher.queue import ring
from dispatcher.runtime import Runtime
from dispatcher.store.models import Client, Incident, OutgoingEvent

log = logging.getLogger(__name__)

TYPES = ("responder.accepted", "responder.arrived", "responder.withdrawn",
         "incident.targets_met", "incident.no_responders")

# An endpoint answering 410 Gone says it will never take this event: it is not retried.
GONE = 410


def iso(value: datetime) -> str:
    """Write a time as ISO 8601 UTC with a Z."""
    return value.isoformat().replace("+00:00", "Z")


def emit(rt: Runtime, session: Session, incident: Incident, type_: str, **data) -> None:
    """Write an event for the incident's control room, if it gave a URL, and ring for a push."""
    if type_ not in TYPES:
        raise ValueError(f"unknown event type {type_!r}")
    client = session.get(Client, incident.client_id)
    if client is None or not client.events_url:
        return
    now = rt.clock.now()
    payload = {"type": type_, "timestamp": iso(now),
               "data": {"id": incident.external_id, **data}}
    session.add(OutgoingEvent(
        client_id=client.id, incident_id=incident.id, webhook_id=f"msg_{uuid.uuid4().hex}",
        type=type_, payload=payload, state="pending", attempts=0, next_attempt_at=now,
        created_at=now,
    ))
    ring(session, "push", incident.id)


def backoff(rt: Runtime, attempts: int) -> timedelta:
    """Return the wait before the next try after `attempts` failed ones (doubling, capped)."""
    base, cap = rt.settings.events.retry_base_s, rt.settings.events.retry_max_s
    return timedelta(seconds=min(cap, base * 2 ** max(attempts - 1, 0)))


@dataclass(frozen=True)
class Attempt:
    """One claimed event, signed and ready to post."""

    event_id: int
    webhook_id: str
    url: str
    headers: dict[str, str]
    body: str
    lease_until: datetime


def push(rt: Runtime, incident_id: int) -> int:
    """Send the incident's due events in order; return how many were delivered.

    The oldest pending event goes first; a failure stops the round and schedules a retry,
    so a later event never overtakes an earlier one.
    """
    delivered = 0
    while True:
        attempt = _claim(rt, incident_id)
        if attempt is None:
            return delivered
        try:
            status = rt.poster.post(attempt.url, attempt.headers, attempt.body)
            error = None if 200 <= status < 300 else f"HTTP {status}"
        except EventPostError as exc:
            status, error = None, exc.message
        if not _record(rt, incident_id, attempt, status, error):
            return delivered
        if error is None:
            delivered += 1


def _claim(rt: Runtime, incident_id: int) -> Attempt | None:
    """Claim the incident's oldest pending event if it is due; None when there is none.

    Events that can no longer be sent (too old, or the client took its URL away) are
    abandoned on the way, so they stop holding back the ones after them.
    """
    max_age = rt.settings.events.max_age
    lease = timedelta(seconds=3 * rt.settings.events.timeout_s)
    with rt.transaction() as session:
        while True:
            now = rt.clock.now()
            event = session.scalars(
                select(OutgoingEvent)
                .where(OutgoingEvent.incident_id == incident_id,
                       OutgoingEvent.state == "pending")
                .order_by(OutgoingEvent.id).limit(1).with_for_update()
            ).first()
            if event is None or (event.next_attempt_at and event.next_attempt_at > now):
                return None
            client = session.get(Client, event.client_id)
            if not client.events_url:
                _abandon(event, "the client has no events URL any more")
                continue
            if now - event.created_at > max_age:
                last = f" (last: {event.last_error})" if event.last_error else ""
                hours = max_age.total_seconds() / 3600
                _abandon(event, f"not taken within {hours:g} h{last}")
                continue
            body = json.dumps(event.payload, separators=(",", ":"))
            # Signed now, not when written: the receiver rejects timestamps 5 minutes off.
            headers = {**sign(client.secret, event.webhook_id, now, body),
                       "content-type": "application/json"}
            event.next_attempt_at = now + lease
            return Attempt(event.id, event.webhook_id, client.events_url, headers, body,
                           event.next_attempt_at)


def _record(rt: Runtime, incident_id: int, attempt: Attempt, status: int | None,
            error: str | None) -> bool:
    """Write down one post's outcome; True when the push may go on to the next event."""
    with rt.transaction() as session:
        event = session.scalars(
            select(OutgoingEvent).where(OutgoingEvent.id == attempt.event_id).with_for_update()
        ).one()
        event.attempts += 1
        if error is None:
            if event.state != "delivered":
                event.state, event.delivered_at = "delivered", rt.clock.now()
                event.next_attempt_at, event.last_status, event.last_error = None, status, None
            return True
        if event.state != "pending" or event.next_attempt_at != attempt.lease_until:
            return False  # another push took the event over after the lease; it owns the retry
        event.last_status, event.last_error = status, error[:200]
        if status == GONE:
            _abandon(event, "the endpoint answered 410 Gone")
            return True
        event.next_attempt_at = rt.clock.now() + backoff(rt, event.attempts)
        log.info("event %s not taken (%s); retry at %s", event.webhook_id, error,
                 iso(event.next_attempt_at))
        ring(session, "push", incident_id, at=event.next_attempt_at)
        return False


def _abandon(event: OutgoingEvent, why: str) -> None:
    """Give up on an event for good."""
    event.state, event.next_attempt_at, event.last_error = "abandoned", None, why[:200]
    log.warning("event %s abandoned after %d attempts: %s", event.webhook_id, event.attempts,
                why)


def due_incidents(session: Session, by: datetime) -> list[int]:
    """Return the incidents whose oldest pending event was due by `by` (for the sweeper).

    An event waiting behind an older one that is backing off is not due: only the head of
    each incident's queue counts.
    """
    head = (
        select(func.min(OutgoingEvent.id).label("id"))
        .where(OutgoingEvent.state == "pending").group_by(OutgoingEvent.incident_id)
        .subquery()
    )
    return list(session.scalars(
        select(OutgoingEvent.incident_id).join(head, head.c.id == OutgoingEvent.id)
        .where(OutgoingEvent.next_attempt_at <= by).order_by(OutgoingEvent.incident_id)
    ))


def log_for(session: Session, incident_id: int) -> list[dict]:
    """Return the delivery log of an incident's events, for its status."""
    rows = session.scalars(
        select(OutgoingEvent).where(OutgoingEvent.incident_id == incident_id)
        .order_by(OutgoingEvent.id)
    ).all()
    return [
        {"webhook_id": e.webhook_id, "type": e.type, "state": e.state, "attempts": e.attempts,
         "last_status": e.last_status, "last_error": e.last_error,
         "created_at": iso(e.created_at),
         "delivered_at": iso(e.delivered_at) if e.delivered_at else None,
         "next_attempt_at": iso(e.next_attempt_at)
         if e.next_attempt_at and e.state == "pending" else None}
        for e in rows
    ]
