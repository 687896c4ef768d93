"""Waves of alerts: pick the best eligible volunteers near an incident and text them."""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatcher.alerts import lifecycle
from dispatcher.domain import policy as rules
from dispatcher.domain import roles
from dispatcher.domain.templates import render_alert
from dispatcher.incidents import candidates
from dispatcher.incidents.records import ALERTING, note
from dispatcher.messaging import outbound
from dispatcher.queue import ring
from dispatcher.runtime import Runtime
from dispatcher.store.models import Alert, Incident, Responder
from geo import bearing_deg, compass_point


def alert_wave(
    rt: Runtime,
    session: Session,
    incident: Incident,
    policy: rules.Policy,
    *,
    wave: int,
    radius_m: int,
    size: int | None = None,
    why: str = "wave",
) -> int:
    """Alert the best eligible volunteers within the radius; return how many were alerted.

    `size` limits how many (a replacement asks one); `why` says in the timeline why they
    were asked.
    """
    policy = policy if size is None else replace(policy, wave_size=size)
    now = rt.clock.now()
    local_now = now.astimezone(rt.timezone)
    already = set(
        session.scalars(select(Alert.responder_id).where(Alert.incident_id == incident.id))
    )
    room = max(0, min(policy.wave_size, policy.max_alerted - len(already)))
    picked = candidates.pick(
        rt, session, policy, lat=incident.lat, lon=incident.lon, radius_m=radius_m, room=room,
        now=now, local_now=local_now, exclude=already,
    )
    chosen = picked.chosen
    incident.radius_m = radius_m
    _alert(rt, session, incident, chosen, wave, now, policy)
    note(
        session,
        incident,
        "replacement" if size is not None else "wave",
        now,
        why=why,
        wave=wave,
        radius_m=radius_m,
        looked_at=picked.looked_at,
        alerted=len(chosen),
        passed_over=picked.passed_over,
    )
    if chosen:
        incident.dispatch_status, incident.reason = ALERTING, None
    return len(chosen)


def _alert(
    rt: Runtime,
    session: Session,
    incident: Incident,
    chosen: list[rules.Candidate],
    wave: int,
    now: datetime,
    policy: rules.Policy,
) -> None:
    """Write the alerts and their messages, a few statements for the whole wave."""
    if not chosen:
        return
    responders = {r.id: r for r in session.scalars(
        select(Responder).where(Responder.id.in_([c.responder_id for c in chosen])))}
    alerts = lifecycle.create_many(session, now, [dict(
        incident_id=incident.id,
        responder_id=c.responder_id,
        wave=wave,
        code=f"{1000 + secrets.randbelow(9000)}",
        distance_m=round(c.distance_m, 1),
        eta_s=round(c.eta_s, 1),
        position_kind=c.position.kind,
        origin_lat=c.position.lat,
        origin_lon=c.position.lon,
        expires_at=now + policy.wave_timeout,
    ) for c in chosen])
    texts = []
    for c, alert in zip(chosen, alerts, strict=True):
        responder = responders[c.responder_id]
        compass = compass_point(bearing_deg(c.position.lat, c.position.lon, incident.lat,
                                            incident.lon))
        body = render_alert(responder.language, distance_m=c.distance_m, compass=compass,
                            area=incident.area, code=alert.code)
        texts.append((responder, body, alert))
    outbound.queue_messages(rt, session, texts, purpose="alert")


def replace_volunteers(
    rt: Runtime, session: Session, incident: Incident, count: int, why: str
) -> int:
    """Ask the next eligible volunteers in place of those who said no or could not be reached.

    Returns how many were asked.

    They are looked for within the current radius; widening it is the wave timer's call.
    When no wave is running (the targets were met, or the search had ended) and someone
    drops out, the wave timer starts again, so the search goes on if the gap stays open.
    """
    if count <= 0 or incident.state != "open" or incident.radius_m is None:
        return 0
    policy = rt.policy_for(session, incident)
    if roles.targets_met(policy, lifecycle.going_roles(session, incident.id)):
        return 0
    wave = max(incident.wave, 1)
    asked = alert_wave(
        rt, session, incident, policy, wave=wave, radius_m=incident.radius_m,
        size=count, why=why,
    )
    if incident.next_wave_at is None:
        incident.wave = wave
        incident.next_wave_at = rt.clock.now() + policy.wave_timeout
        incident.dispatch_status, incident.reason = ALERTING, None
        ring(session, "wave", incident.id, wave, at=incident.next_wave_at)
    return asked
