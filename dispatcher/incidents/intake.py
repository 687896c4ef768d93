"""Receiving a control room's signed event: verify, replay repeats, apply once."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from dispatcher.control_rooms import clients
from dispatcher.domain.inputs import checked_parameter
from dispatcher.errors import IdempotencyMismatch
from dispatcher.incidents import dispatch, status
from dispatcher.incidents.schema import Event, parse_event
from dispatcher.runtime import Runtime
from dispatcher.store.models import Client, WebhookReceipt

log = logging.getLogger(__name__)

# As long as Stripe's idempotency keys; a longer webhook-id is refused, never cut.
WEBHOOK_ID_MAX = 255

HANDLERS = {
    "incident.created": lambda rt, s, c, e: dispatch.open_incident(rt, s, c, e.data, e.timestamp),
    "incident.updated": lambda rt, s, c, e: dispatch.update_incident(rt, s, c, e.data),
    "incident.cancelled": lambda rt, s, c, e: dispatch.end_incident(rt, s, c, e.data, "cancelled"),
    "incident.closed": lambda rt, s, c, e: dispatch.end_incident(rt, s, c, e.data, "closed"),
}


@dataclass(frozen=True)
class Answer:
    """The HTTP status and JSON body to answer an event with."""

    status: int
    body: dict


def receive(rt: Runtime, headers: Mapping[str, str], body: bytes) -> Answer:
    """Handle one delivery of a signed event; a repeated webhook-id gets the first answer again."""
    headers = {k.lower(): v for k, v in headers.items()}
    with rt.transaction() as session:
        client, webhook_id = clients.verify(
            session, headers, body, now=rt.clock.now(),
            tolerance=rt.settings.signature_tolerance,
        )
        # A signature proves who sent the event, not that they may post events at all.
        clients.require_scope(client, clients.EVENTS)
        webhook_id = checked_parameter("webhook-id", webhook_id, WEBHOOK_ID_MAX)
        client_id = client.id
        digest = hashlib.sha256(body).hexdigest()
        earlier = _receipt(session, client_id, webhook_id, digest)
    if earlier is not None:
        return earlier
    event = parse_event(body)
    # Two tries: a concurrent delivery of the same event may win the race for the unique rows.
    for attempt in (1, 2):
        try:
            answer = _apply(rt, client_id, webhook_id, digest, event)
            break
        except IntegrityError:
            with rt.transaction() as session:
                earlier = _receipt(session, client_id, webhook_id, digest)
            if earlier is not None:
                return earlier
            if attempt == 2:
                raise
    log.info("event %s applied", event.type)
    return answer


def _apply(rt: Runtime, client_id: int, webhook_id: str, digest: str, event: Event) -> Answer:
    """Apply the event and store the answer under its webhook-id, in one transaction."""
    with rt.transaction() as session:
        client = session.get(Client, client_id)
        incident = HANDLERS[event.type](rt, session, client, event)
        session.flush()
        answer = Answer(202, status.describe(session, incident))
        session.add(
            WebhookReceipt(
                client_id=client_id, webhook_id=webhook_id, status_code=answer.status,
                response=answer.body, received_at=rt.clock.now(), body_digest=digest,
            )
        )
    return answer


def _receipt(session, client_id: int, webhook_id: str, digest: str) -> Answer | None:
    """Return the answer already given to this webhook-id, if any.

    The same id with another body is refused, as Stripe refuses a reused idempotency key:
    replaying the first answer would tell the control room that something was applied
    (an incident closed, say) when nothing was.
    """
    receipt = session.scalars(
        select(WebhookReceipt).where(
            WebhookReceipt.client_id == client_id, WebhookReceipt.webhook_id == webhook_id
        )
    ).one_or_none()
    if receipt is None:
        return None
    if receipt.body_digest is not None and receipt.body_digest != digest:
        raise IdempotencyMismatch(f"webhook-id {webhook_id} was used before with another body")
    return Answer(receipt.status_code, receipt.response)
