"""Incidents as records: their dispatch statuses; find one, lock one, write its timeline."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatcher.store.locks import lock_incident  # noqa: F401 - re-exported
from dispatcher.store.models import Client, Incident, TimelineEvent

# What the search for volunteers has come to, as the control room reads it in
# `dispatch.status`: volunteers are being alerted; the policy keeps the incident from
# volunteers (with the reason); enough are going; or nobody more can be asked and nobody is
# going (with the reason).
ALERTING, NOT_DISPATCHED, TARGETS_MET, NO_RESPONDERS = (
    "alerting", "not_dispatched", "targets_met", "no_responders")
DISPATCH_STATUSES = (ALERTING, NOT_DISPATCHED, TARGETS_MET, NO_RESPONDERS)


def find_incident(session: Session, client: Client, external_id: str) -> Incident | None:
    """Return one of a client's incidents by the control room's id."""
    return session.scalars(
        select(Incident).where(Incident.client_id == client.id, Incident.external_id == external_id)
    ).one_or_none()


def note(session: Session, incident: Incident, event: str, at: datetime, **detail) -> None:
    """Add an entry to an incident's timeline (no personal data in the detail)."""
    session.add(TimelineEvent(incident_id=incident.id, at=at, event=event, detail=detail))
