"""What a control room reads back about an incident."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatcher.alerts import lifecycle
from dispatcher.control_rooms import events as events_out
from dispatcher.domain.inputs import checked_parameter
from dispatcher.errors import UnknownIncident
from dispatcher.incidents.records import find_incident
from dispatcher.incidents.schema import ID_MAX
from dispatcher.store.models import Aed, Alert, Client, Incident, TimelineEvent


def _iso(value):
    """Write a time as ISO 8601 UTC with a Z, or None."""
    return value.isoformat().replace("+00:00", "Z") if value else None


def describe(session: Session, incident: Incident) -> dict:
    """Return the status document of an incident (public references only, no phone numbers)."""
    alerts = session.scalars(
        select(Alert).where(Alert.incident_id == incident.id).order_by(Alert.id)
    ).all()
    events = session.scalars(
        select(TimelineEvent)
        .where(TimelineEvent.incident_id == incident.id)
        .order_by(TimelineEvent.id)
    ).all()
    counts = {
        "alerted": len(alerts),
        "pending": sum(a.state in lifecycle.WAITING for a in alerts),
        "accepted": sum(a.role is not None or a.state == lifecycle.ACCEPTED for a in alerts),
        "declined": sum(a.state == lifecycle.DECLINED for a in alerts),
        "failed": sum(a.state == lifecycle.FAILED for a in alerts),
    }
    accepted = []
    for a in alerts:
        if a.responded_at is None or a.role is None:
            continue
        entry = {
            "ref": a.responder.ref,
            "role": a.role,
            "distance_m": round(a.distance_m),
            "eta_s": round(a.eta_s),
            "accepted_at": _iso(a.responded_at),
            "arrived_at": _iso(a.arrived_at),
            "active": a.state in lifecycle.ENGAGED,
            "follow_up": a.follow_up,
        }
        if a.role == "aed" and a.aed_id:
            entry["aed"] = session.get(Aed, a.aed_id).name
        accepted.append(entry)
    return {
        "id": incident.external_id,
        "state": incident.state,
        "dispatch": {"status": incident.dispatch_status, "reason": incident.reason},
        "area": incident.area,
        "wave": incident.wave,
        "next_wave_at": _iso(incident.next_wave_at),
        "radius_m": incident.radius_m,
        "counts": counts,
        "responders": accepted,
        "timeline": [{"at": _iso(e.at), "event": e.event, "detail": e.detail} for e in events],
        "events": events_out.log_for(session, incident.id),
        "created_at": _iso(incident.created_at),
        "updated_at": _iso(incident.updated_at),
        "closed_at": _iso(incident.closed_at),
    }


def read(session: Session, client: Client, external_id: str) -> dict:
    """Return the status of one of the client's own incidents; others' do not exist for it."""
    external_id = checked_parameter("id", external_id, ID_MAX)
    incident = find_incident(session, client, external_id)
    if incident is None:
        raise UnknownIncident(f"no incident {external_id}")
    return describe(session, incident)
