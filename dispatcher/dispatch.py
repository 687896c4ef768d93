"""Use cases of an incident's life: open it and alert volunteers, update it, end it."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dispatcher import outbound, spatial
from dispatcher import policy as rules
from dispatcher.errors import IncidentConflict, UnknownIncident
from dispatcher.models import Alert, Client, Incident, Responder, TimelineEvent
from dispatcher.runtime import Runtime
from dispatcher.schema import Created, Ended, Updated
from dispatcher.sms.templates import render, render_alert
from geo import bearing_deg, compass_point

# An alert in one of these states keeps its volunteer busy while the incident is open.
OPEN_ALERT_STATES = ("pending", "sent", "delivered", "accepted")
CANDIDATE_CHUNK = 200


def find_incident(session: Session, client: Client, external_id: str) -> Incident | None:
    """Return one of a client's incidents by the control room's id."""
    return session.scalars(
        select(Incident).where(Incident.client_id == client.id, Incident.external_id == external_id)
    ).one_or_none()


def note(session: Session, incident: Incident, event: str, at: datetime, **detail) -> None:
    """Add an entry to an incident's timeline (no personal data in the detail)."""
    session.add(TimelineEvent(incident_id=incident.id, at=at, event=event, detail=detail))


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
    return incident, alert_wave(rt, session, incident, wave=1, radius_m=rt.policy.radius_start_m)


def alert_wave(
    rt: Runtime, session: Session, incident: Incident, *, wave: int, radius_m: int
) -> list[int]:
    """Alert the best eligible volunteers within the radius; return the queued message ids."""
    now = rt.clock.now()
    local_now = now.astimezone(rt.timezone)
    found = spatial.nearby(
        rt.index,
        session,
        rt.policy,
        lat=incident.lat,
        lon=incident.lon,
        radius_m=radius_m,
        now=now,
        local_now=local_now,
    )
    already = set(
        session.scalars(select(Alert.responder_id).where(Alert.incident_id == incident.id))
    )
    found = [c for c in found if c.responder_id not in already]
    chosen: list[rules.Candidate] = []
    skipped: dict[str, int] = {}
    for start in range(0, len(found), CANDIDATE_CHUNK):
        chunk = found[start : start + CANDIDATE_CHUNK]
        volunteers = volunteers_for(session, [c.responder_id for c in chunk], now)
        picked, passed = rules.select_wave(
            rt.policy,
            chunk,
            volunteers,
            on=local_now.date(),
            now=now,
            already_alerted=len(already),
            in_wave=len(chosen),
        )
        chosen += picked
        for reason, count in passed.items():
            skipped[reason] = skipped.get(reason, 0) + count
        if (
            len(chosen) >= rt.policy.wave_size
            or len(already) + len(chosen) >= rt.policy.max_alerted
        ):
            break
    incident.radius_m = radius_m
    message_ids = [_alert(rt, session, incident, c, wave, now) for c in chosen]
    note(
        session,
        incident,
        "wave",
        now,
        wave=wave,
        radius_m=radius_m,
        found=len(found),
        alerted=len(chosen),
        passed_over=skipped,
    )
    if chosen:
        incident.dispatch_status, incident.reason = "alerting", None
    elif not already:
        incident.dispatch_status = "no_candidates"
        incident.reason = f"no eligible volunteer within {radius_m} m"
    return [m for m in message_ids if m is not None]


def volunteers_for(
    session: Session, responder_ids: Iterable[int], now: datetime
) -> dict[int, rules.Volunteer]:
    """Load what eligibility needs for these volunteers, in three set queries."""
    ids = list(responder_ids)
    engaged = set(
        session.scalars(
            select(Alert.responder_id)
            .join(Incident, Incident.id == Alert.incident_id)
            .where(
                Alert.responder_id.in_(ids),
                Alert.state.in_(OPEN_ALERT_STATES),
                Incident.state == "open",
            )
        )
    )
    recent = dict(
        session.execute(
            select(Alert.responder_id, func.count())
            .where(
                Alert.responder_id.in_(ids),
                Alert.created_at >= now - timedelta(hours=24),
                Alert.state != "failed",  # a text that never reached them did not tire them
            )
            .group_by(Alert.responder_id)
        ).all()
    )
    return {
        r.id: rules.Volunteer(
            id=r.id,
            birth_year=r.birth_year,
            cert_expires=r.cert_expires,
            status=r.status,
            paused_until=r.paused_until,
            engaged=r.id in engaged,
            alerts_24h=recent.get(r.id, 0),
            travel_mode=r.travel_mode,
        )
        for r in session.scalars(select(Responder).where(Responder.id.in_(ids)))
    }


def _alert(
    rt: Runtime,
    session: Session,
    incident: Incident,
    c: rules.Candidate,
    wave: int,
    now: datetime,
) -> int | None:
    """Write one alert and its message; return the message id."""
    responder = session.get(Responder, c.responder_id)
    alert = Alert(
        incident_id=incident.id,
        responder_id=responder.id,
        wave=wave,
        state="pending",
        code=f"{1000 + secrets.randbelow(9000)}",
        distance_m=round(c.distance_m, 1),
        eta_s=round(c.eta_s, 1),
        position_kind=c.position.kind,
        created_at=now,
        updated_at=now,
    )
    session.add(alert)
    session.flush()
    compass = compass_point(bearing_deg(c.position.lat, c.position.lon, incident.lat, incident.lon))
    body = render_alert(
        responder.language, distance_m=c.distance_m, compass=compass, area=None, code=alert.code
    )
    message = outbound.queue_message(rt, session, responder, body, purpose="alert", alert=alert)
    return message.id if message else None


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
