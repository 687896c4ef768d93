"""Waves of alerts: pick the best eligible volunteers near an incident and text them."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from dispatcher.alerts import lifecycle
from dispatcher.domain import policy as rules
from dispatcher.domain import roles
from dispatcher.domain.templates import render_alert
from dispatcher.incidents.records import ALERTING, note
from dispatcher.messaging import outbound
from dispatcher.queue import ring
from dispatcher.responders import spatial
from dispatcher.runtime import Runtime
from dispatcher.store.models import Alert, Incident, Responder
from geo import bearing_deg, compass_point

CANDIDATE_CHUNK = 200


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
    found = spatial.nearby(
        rt.index,
        session,
        policy,
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
        volunteers = volunteers_for(session, [c.responder_id for c in chunk], now,
                                    policy.rest_after_incident)
        picked, passed = rules.select_wave(
            policy,
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
        if len(chosen) >= policy.wave_size or len(already) + len(chosen) >= policy.max_alerted:
            break
    incident.radius_m = radius_m
    for candidate in chosen:
        _alert(rt, session, incident, candidate, wave, now, policy)
    note(
        session,
        incident,
        "replacement" if size is not None else "wave",
        now,
        why=why,
        wave=wave,
        radius_m=radius_m,
        found=len(found),
        alerted=len(chosen),
        passed_over=skipped,
    )
    if chosen:
        incident.dispatch_status, incident.reason = ALERTING, None
    return len(chosen)


def volunteers_for(
    session: Session, responder_ids: Iterable[int], now: datetime,
    rest: timedelta = timedelta(hours=4),
) -> dict[int, rules.Volunteer]:
    """Load what eligibility and ranking need for these volunteers, in four set queries.

    `rest` is how far back an incident they went to counts (the policy's rest period).
    Alerts that never reached a volunteer count neither towards fatigue nor as their
    latest alert.
    """
    ids = list(responder_ids)
    engaged = set(
        session.scalars(
            select(Alert.responder_id)
            .join(Incident, Incident.id == Alert.incident_id)
            .where(
                Alert.responder_id.in_(ids),
                Alert.state.in_(lifecycle.ENGAGED),
                Incident.state == "open",
            )
        )
    )
    day_ago = now - timedelta(hours=24)
    recent = {
        rid: (int(count or 0), last)
        for rid, count, last in session.execute(
            select(
                Alert.responder_id,
                func.sum(case((Alert.created_at >= day_ago, 1), else_=0)),
                func.max(Alert.created_at),
            )
            .where(Alert.responder_id.in_(ids), Alert.state != lifecycle.FAILED)
            .group_by(Alert.responder_id)
        ).all()
    }
    # They rest from the end of the incident they went to (or from their YES, while the
    # incident has not been ended).
    ended = func.coalesce(Incident.closed_at, Alert.responded_at)
    went = dict(
        session.execute(
            select(Alert.responder_id, func.max(ended))
            .join(Incident, Incident.id == Alert.incident_id)
            .where(Alert.responder_id.in_(ids), Alert.role.is_not(None),
                   Alert.responded_at.is_not(None), ended >= now - rest)
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
            alerts_24h=recent.get(r.id, (0, None))[0],
            travel_mode=r.travel_mode,
            last_alerted_at=_aware(recent.get(r.id, (0, None))[1]),
            last_went_at=_aware(went.get(r.id)),
        )
        for r in session.scalars(select(Responder).where(Responder.id.in_(ids)))
    }


def _aware(value: datetime | None) -> datetime | None:
    """Read an aggregate time as aware UTC (SQLite gives aggregates back as naive text)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _alert(
    rt: Runtime,
    session: Session,
    incident: Incident,
    c: rules.Candidate,
    wave: int,
    now: datetime,
    policy: rules.Policy,
) -> None:
    """Write one alert and its message."""
    responder = session.get(Responder, c.responder_id)
    alert = lifecycle.create(
        session,
        now,
        incident_id=incident.id,
        responder_id=responder.id,
        wave=wave,
        code=f"{1000 + secrets.randbelow(9000)}",
        distance_m=round(c.distance_m, 1),
        eta_s=round(c.eta_s, 1),
        position_kind=c.position.kind,
        origin_lat=c.position.lat,
        origin_lon=c.position.lon,
        expires_at=now + policy.wave_timeout,
    )
    compass = compass_point(bearing_deg(c.position.lat, c.position.lon, incident.lat, incident.lon))
    body = render_alert(
        responder.language, distance_m=c.distance_m, compass=compass, area=incident.area,
        code=alert.code,
    )
    outbound.queue_message(rt, session, responder, body, purpose="alert", alert=alert)


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
