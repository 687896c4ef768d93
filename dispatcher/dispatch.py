"""Use cases of an incident's life: open it and alert volunteers, update it, end it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from dispatcher import outbound, waves
from dispatcher import policy as rules
from dispatcher.errors import IncidentConflict, UnknownIncident
from dispatcher.incidents import OPEN_ALERT_STATES, find_incident, note
from dispatcher.models import Client, Incident
from dispatcher.runtime import Runtime
from dispatcher.schema import Created, Ended, Updated
from dispatcher.sms.templates import render


def open_incident(
    rt: Runtime, session: Session, client: Client, data: Created, reported_at: datetime
) -> tuple[Incident, list[int]]:
    """Store a new incident and alert the first wave; return it and the messages to send.

    A redelivery of the same incident changes nothing; the same id with other content is
    a conflict.
    """
    digest = data.digest()
    existing = find_incident(session, client, data.id)
    if existing is not None:
        if existing.created_digest != digest:
            raise IncidentConflict(f"incident {data.id} already exists with different content")
        return existing, []
    now = rt.clock.now()
    incident = Incident(
        client_id=client.id,
        external_id=data.id,
        kind=data.kind,
        lat=data.location.lat,
        lon=data.location.lon,
        accuracy_m=data.location.accuracy_m,
        address=data.address,
        notes=data.notes,
        patient_age=data.patient_age,
        flags=list(data.flags),
        ems_eta_s=data.ems_eta_s,
        reported_at=reported_at,
        state="open",
        created_digest=digest,
        created_at=now,
        updated_at=now,
    )
    session.add(incident)
    session.flush()
    note(session, incident, "incident.created", now, kind=data.kind)
    reason = rules.exclusion(rt.policy, data.kind, data.patient_age, data.flags)
    if reason:
        incident.dispatch_status, incident.reason = "not_dispatched", reason
        note(session, incident, "not_dispatched", now, reason=reason)
        return incident, []
    return incident, waves.alert_wave(
        rt, session, incident, wave=1, radius_m=rt.policy.radius_start_m
    )


def update_incident(
    rt: Runtime, session: Session, client: Client, data: Updated
) -> tuple[Incident, list[int]]:
    """Apply a control room's correction to an open incident."""
    incident = _open_incident(session, client, data.id)
    changed = []
    if data.location is not None:
        incident.lat, incident.lon = data.location.lat, data.location.lon
        incident.accuracy_m = data.location.accuracy_m
        changed.append("location")
    for name in ("address", "notes", "ems_eta_s"):
        value = getattr(data, name)
        if value is not None and value != getattr(incident, name):
            setattr(incident, name, value)
            changed.append(name)
    now = rt.clock.now()
    incident.updated_at = now
    note(session, incident, "incident.updated", now, fields=changed)
    return incident, []


def end_incident(
    rt: Runtime, session: Session, client: Client, data: Ended, state: str
) -> tuple[Incident, list[int]]:
    """Cancel or close an incident and stand down everyone still alerted or going."""
    incident = find_incident(session, client, data.id)
    if incident is None:
        raise UnknownIncident(f"no incident {data.id}")
    if incident.state != "open":
        return incident, []  # a repeated end changes nothing
    now = rt.clock.now()
    incident.state, incident.closed_at, incident.updated_at = state, now, now
    active = [a for a in incident.alerts if a.state in OPEN_ALERT_STATES]
    unsent = outbound.unsent_alert_ids(session, [a.id for a in active])
    outbound.cancel_queued(session, unsent)
    template = "stand_down_cancelled" if state == "cancelled" else "stand_down_closed"
    message_ids = []
    for alert in active:
        alert.state, alert.updated_at = "stood_down", now
        if alert.id in unsent:
            continue  # they never heard of it: no stand-down to send
        body = render(template, alert.responder.language, code=alert.code)
        message = outbound.queue_message(
            rt, session, alert.responder, body, purpose="stand_down", alert=alert
        )
        if message:
            message_ids.append(message.id)
    note(
        session,
        incident,
        f"incident.{state}",
        now,
        reason=data.reason,
        stood_down=len(active),
    )
    return incident, message_ids


def _open_incident(session: Session, client: Client, external_id: str) -> Incident:
    """Return an incident that may still change, or raise."""
    incident = find_incident(session, client, external_id)
    if incident is None:
        raise UnknownIncident(f"no incident {external_id}")
    if incident.state != "open":
        raise IncidentConflict(f"incident {external_id} is {incident.state}")
    return incident
