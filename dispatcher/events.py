"""Events back to the control room: written with the change, pushed signed, retried until taken.

Each event is a row written in the transaction that causes it (the outbox). A push job
sends the incident's oldest pending event first and stops at the first failure, so a
control room receives each incident's events in order; a failure is retried with
exponential backoff and the same webhook-id, until the event is older than the maximum age.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatcher.clients import sign
from dispatcher.errors import EventPostError
from dispatcher.models import Client, Incident, OutgoingEvent
from dispatcher.queue import ring
from dispatcher.runtime import Runtime

log = logging.getLogger(__name__)

TYPES = ("responder.accepted", "responder.arrived", "incident.targets_met",
         "incident.no_responders")


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
    webhook_id = f"msg_{uuid.uuid4().hex}"
    payload = {"type": type_, "timestamp": iso(now),
               "data": {"id": incident.external_id, **data}}
    session.add(OutgoingEvent(
        client_id=client.id, incident_id=incident.id, webhook_id=webhook_id, type=type_,
        payload=payload, state="pending", attempts=0, next_attempt_at=now, created_at=now,
    ))
    ring(session, "push", incident.id)


def backoff(rt: Runtime, attempts: int) -> timedelta:
    """Return the wait before the next try after `attempts` failed ones (doubling, capped)."""
    base = float(rt.settings["EVENTS_RETRY_BASE_S"])
    cap = float(rt.settings["EVENTS_RETRY_MAX_S"])
    return timedelta(seconds=min(cap, base * 2 ** max(attempts - 1, 0)))


def push(rt: Runtime, incident_id: int) -> int:
    """Send the incident's due events in order; return how many were delivered.

    The oldest pending event goes first; a failure stops the round and schedules a retry,
    so a later event never overtakes an earlier one.
    """
    delivered = 0
    while True:
        now = rt.clock.now()
        with rt.transaction() as session:
            event = session.scalars(
                select(OutgoingEvent)
                .where(OutgoingEvent.incident_id == incident_id,
                       OutgoingEvent.state == "pending")
                .order_by(OutgoingEvent.id).limit(1).with_for_update()
            ).first()
            if event is None or (event.next_attempt_at and event.next_attempt_at > now):
                return delivered
            client = session.get(Client, event.client_id)
            max_age = timedelta(hours=float(rt.settings["EVENTS_MAX_AGE_H"]))
            if not client.events_url or now - event.created_at > max_age:
                event.state = "abandoned"
                log.warning("event %s abandoned after %d attempts", event.webhook_id,
                            event.attempts)
                continue
            body = json.dumps(event.payload, separators=(",", ":"))
            headers = {**sign(client.secret, event.webhook_id, now, body),
                       "content-type": "application/json"}
            url, event_id = client.events_url, event.id
            # Claim it for one lease so a parallel push waits instead of sending it twice.
            event.next_attempt_at = now + timedelta(
                seconds=float(rt.settings["EVENTS_TIMEOUT_S"]) * 2)
        try:
            status = rt.poster.post(url, headers, body)
            error = None if 200 <= status < 300 else f"HTTP {status}"
        except EventPostError as exc:
            status, error = None, exc.message
        with rt.transaction() as session:
            event = session.get(OutgoingEvent, event_id)
            event.attempts += 1
            event.last_status, event.last_error = status, error
            if error is None:
                event.state, event.delivered_at, event.next_attempt_at = "delivered", now, None
                delivered += 1
                continue
            event.next_attempt_at = rt.clock.now() + backoff(rt, event.attempts)
            log.info("event %s not taken (%s); retry at %s", event.webhook_id, error,
                     iso(event.next_attempt_at))
            ring(session, "push", incident_id, at=event.next_attempt_at)
            return delivered


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
