"""Use cases of an incident's life: open it and alert volunteers, update it, end it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from dispatcher.alerts import lifecycle
from dispatcher.areas.directory import Placement
from dispatcher.domain import briefing, roles
from dispatcher.domain import policy as rules
from dispatcher.domain.templates import render
from dispatcher.errors import IncidentConflict, UnknownIncident
from dispatcher.incidents import escalation
from dispatcher.incidents.records import NOT_DISPATCHED, find_incident, note
from dispatcher.incidents.schema import Created, Ended, Updated
from dispatcher.messaging import outbound
from dispatcher.queue import ring
from dispatcher.runtime import Runtime
from dispatcher.store.models import Client, Incident


def open_incident(
    rt: Runtime, session: Session, client: Client, data: Created, reported_at: datetime
) -> Incident:
    """Store a new incident and alert the first wave; return it.

    A redelivery of the same incident changes nothing; the same id with other content is
    a conflict.
    """
    digest = data.digest()
    existing = find_incident(session, client, data.id)
    if existing is not None:
        if existing.created_digest != digest:
            raise IncidentConflict(f"incident {data.id} already exists with different content")
        return existing
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
    place = rt.place(session, incident.lat, incident.lon)
    incident.area = place.policy.area
    note(session, incident, "incident.created", now, kind=data.kind, area=incident.area)
    reason = _not_for_volunteers(rt, place, incident, now)
    if reason:
        incident.dispatch_status, incident.reason = NOT_DISPATCHED, reason
        note(session, incident, "not_dispatched", now, reason=reason)
        return incident
    escalation.start(rt, session, incident, place.policy)
    return incident


def update_incident(
    rt: Runtime, session: Session, client: Client, data: Updated
) -> Incident:
    """Apply a control room's correction to an open incident."""
    incident = _open_incident(session, client, data.id)
    changed = []
    if data.location is not None:
        if (data.location.lat, data.location.lon) != (incident.lat, incident.lon):
            changed.append("location")
        elif data.location.accuracy_m != incident.accuracy_m:
            changed.append("accuracy_m")  # the same spot, better known: nothing to redo
        incident.lat, incident.lon = data.location.lat, data.location.lon
        incident.accuracy_m = data.location.accuracy_m
    for name in ("address", "notes", "ems_eta_s"):
        value = getattr(data, name)
        if value is not None and value != getattr(incident, name):
            setattr(incident, name, value)
            changed.append(name)
    now = rt.clock.now()
    incident.updated_at = now
    note(session, incident, "incident.updated", now, fields=changed)
    if "location" in changed:
        _search_again(rt, session, incident, now)
    if {"location", "address", "notes"} & set(changed):
        _tell_the_going(rt, session, incident)
    return incident


def end_incident(
    rt: Runtime, session: Session, client: Client, data: Ended, state: str
) -> Incident:
    """Cancel or close an incident and stand down everyone still alerted or going."""
    incident = find_incident(session, client, data.id)
    if incident is None:
        raise UnknownIncident(f"no incident {data.id}")
    if incident.state != "open":
        return incident  # a repeated end changes nothing
    now = rt.clock.now()
    incident.state, incident.closed_at, incident.updated_at = state, now, now
    incident.next_wave_at = None
    went = [a for a in incident.alerts if a.role is not None and a.responded_at is not None]
    if went:
        # Those who went are asked later whether they are OK.
        incident.follow_up_at = now + rt.settings.conversation.follow_up_after
        ring(session, "follow_up", incident.id, at=incident.follow_up_at)
    active = [a for a in incident.alerts if a.state in lifecycle.ENGAGED]
    unsent = outbound.unsent_alert_ids(session, [a.id for a in active])
    outbound.cancel_queued(session, unsent)
    template = "stand_down_cancelled" if state == "cancelled" else "stand_down_closed"
    for alert in active:
        lifecycle.stand_down(alert, now, f"the incident was {state}")
        if alert.id in unsent:
            continue  # they never heard of it: no stand-down to send
        body = render(template, alert.responder.language, code=alert.code)
        outbound.queue_message(rt, session, alert.responder, body, purpose="stand_down",
                               alert=alert)
    note(
        session,
        incident,
        f"incident.{state}",
        now,
        reason=data.reason,
        stood_down=len(active),
    )
    return incident


def _not_for_volunteers(
    rt: Runtime, place: Placement, incident: Incident, now: datetime
) -> str | None:
    """Return why the incident, where it is now, is not for volunteers; None when it is."""
    if place.exclusion_zone:
        return f"in the exclusion zone {place.exclusion_zone}"
    return rules.exclusion(place.policy, incident.kind, incident.patient_age,
                           incident.flags or [], now.astimezone(rt.timezone))


def _search_again(rt: Runtime, session: Session, incident: Incident, now: datetime) -> None:
    """Search from a corrected location: its area's policy applies, and a wave goes at once.

    Volunteers who are now beyond the radius keep their alerts; the new wave asks the
    nearest to the new location, unless enough are going already. The policy's verdict is
    given again when it may differ: the incident was not dispatched, or it moved into an
    exclusion zone or another area. A location where volunteers may not be sent stops the
    search.
    """
    place = rt.place(session, incident.lat, incident.lon)
    judged_again = (incident.dispatch_status == NOT_DISPATCHED or place.exclusion_zone
                    or place.policy.area != incident.area)
    incident.area = place.policy.area
    reason = _not_for_volunteers(rt, place, incident, now) if judged_again else None
    if reason:
        incident.next_wave_at = None
        note(session, incident, "search.stopped", now, reason=reason)
        if incident.wave == 0:
            incident.dispatch_status, incident.reason = NOT_DISPATCHED, reason
        return
    going = lifecycle.going_roles(session, incident.id)
    if roles.targets_met(place.policy, going):
        return
    radius = max(incident.radius_m or 0, place.policy.radius_start_m)
    escalation.advance(rt, session, incident, place.policy, min(radius, place.policy.radius_max_m),
                       "location corrected")


def _tell_the_going(rt: Runtime, session: Session, incident: Incident) -> None:
    """Send the corrected address and notes to every volunteer who is going."""
    for alert in incident.alerts:
        if alert.state != lifecycle.ACCEPTED:
            continue
        texts = briefing.update(
            language=alert.responder.language, incident=incident, alert=alert,
            map_template=rt.settings.conversation.map_link_template,
        )
        for body in texts:  # one, or two when the address and notes need a text of their own
            outbound.queue_message(rt, session, alert.responder, body, purpose="update",
                                   alert=alert)


def _open_incident(session: Session, client: Client, external_id: str) -> Incident:
    """Return an incident that may still change, or raise."""
    incident = find_incident(session, client, external_id)
    if incident is None:
        raise UnknownIncident(f"no incident {external_id}")
    if incident.state != "open":
        raise IncidentConflict(f"incident {external_id} is {incident.state}")
    return incident
