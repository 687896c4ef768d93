"""Escalation: waves over time, each wider than the last, until the targets are met.

The wave timer is the incident's `next_wave_at`, kept in the database. The queue rings
at that time, and the sweeper rings again for any timer left overdue (a restart, a queue
that was down); the wave number makes a second ring for the same wave do nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dispatcher.alerts import lifecycle
from dispatcher.control_rooms import events
from dispatcher.domain import policy as rules
from dispatcher.domain import roles
from dispatcher.incidents import records, waves
from dispatcher.messaging import outbound
from dispatcher.queue import ring
from dispatcher.runtime import Runtime
from dispatcher.store.models import Alert, Incident

log = logging.getLogger(__name__)


def start(rt: Runtime, session: Session, incident: Incident, policy: rules.Policy) -> None:
    """Alert the first wave, widening at once while nobody is found within the radius."""
    advance(rt, session, incident, policy, min(policy.radius_start_m, policy.radius_max_m),
            "first wave")


def advance(
    rt: Runtime, session: Session, incident: Incident, policy: rules.Policy, radius_m: int,
    why: str,
) -> None:
    """Alert the next wave from `radius_m`, widening step by step while it finds nobody new.

    Sets the wave timer when someone was alerted. With nobody new to ask up to the maximum
    radius or the cap on alerts, the search is exhausted, unless alerts are still waiting
    for an answer: then the running wave's timer decides.
    """
    now = rt.clock.now()
    wave = incident.wave + 1
    while True:
        alerted = _alerted(session, incident.id)
        if alerted >= policy.max_alerted:
            break
        waves.alert_wave(rt, session, incident, policy, wave=wave, radius_m=radius_m, why=why)
        if _alerted(session, incident.id) > alerted:
            incident.wave = wave
            incident.next_wave_at = now + policy.wave_timeout
            ring(session, "wave", incident.id, wave, at=incident.next_wave_at)
            return
        wider = policy.next_radius(radius_m)
        if wider is None:
            break
        why = f"nobody new within {radius_m} m"
        radius_m = wider
    if lifecycle.waiting(session, incident.id):
        return  # the running wave may still bring someone; its timer decides
    _exhausted(rt, session, incident, policy, now)


def wave_due(rt: Runtime, incident_id: int, wave: int) -> bool:
    """End a wave whose time is up: expire its silence and send the next wave if needed.

    Does nothing (and returns False) unless this is the incident's current wave and its
    time has come, so a repeated or late ring runs the wave's end once.
    """
    now = rt.clock.now()
    with rt.transaction() as session:
        incident = records.lock_incident(session, incident_id)
        if (incident.state != "open" or incident.wave != wave or incident.next_wave_at is None
                or incident.next_wave_at > now):
            return False
        policy = rt.policy_for(session, incident)
        waiting = lifecycle.waiting(session, incident.id)
        unsent = outbound.waiting_to_be_sent(session, [a.id for a in waiting])
        if unsent:
            # A wave's time runs from its texts going out: while the provider holds them (an
            # outage), the wave waits with them, and nobody is given up or asked instead.
            incident.next_wave_at = now + policy.wave_timeout
            ring(session, "wave", incident.id, wave, at=incident.next_wave_at)
            records.note(session, incident, "wave.held", now, wave=wave, unsent=len(unsent),
                         why="texts not yet with the provider")
            log.error("incident %s: wave %s held, %d alert texts not yet sent", incident.id,
                      wave, len(unsent))
            return False
        incident.next_wave_at = None
        expired = lifecycle.expire(waiting, now)
        if expired:
            records.note(session, incident, "alerts.expired", now, wave=wave, count=expired)
        going = lifecycle.going_roles(session, incident.id)
        if roles.targets_met(policy, going):
            reached_targets(rt, session, incident, len(going))
            return True
        # The area's maximum may have shrunk since (a corrected location in another area).
        radius = min(incident.radius_m or policy.radius_start_m, policy.radius_max_m)
        radius = policy.next_radius(radius) or radius
        summary = f"{going.count(roles.CPR)} CPR and {going.count(roles.AED)} AED going"
        advance(rt, session, incident, policy, radius,
                f"targets unmet after wave {wave} ({summary})")
        return True


def reached_targets(rt: Runtime, session: Session, incident: Incident, going: int) -> None:
    """Record that the targets are met: stop the wave timer; tell the control room once.

    The targets can be met again after someone dropped out and the search went on; the
    timer stops again then, but the event and the timeline entry are not repeated.
    """
    now = rt.clock.now()
    incident.next_wave_at = None
    incident.dispatch_status, incident.reason = records.TARGETS_MET, None
    if incident.targets_met_at is not None:
        return
    incident.targets_met_at = now
    records.note(session, incident, "targets_met", now, going=going)
    events.emit(rt, session, incident, "incident.targets_met", going=going)


def _exhausted(
    rt: Runtime, session: Session, incident: Incident, policy: rules.Policy, now: datetime
) -> None:
    """Record that nobody more can be asked; tell the control room if nobody is going."""
    incident.next_wave_at = None
    alerted = _alerted(session, incident.id)
    if alerted >= policy.max_alerted:
        reason = f"all {policy.max_alerted} volunteers the policy allows have been alerted"
    else:
        reason = f"no more eligible volunteers within {policy.radius_max_m} m"
    records.note(session, incident, "search.exhausted", now, reason=reason, alerted=alerted)
    if lifecycle.going_roles(session, incident.id):
        return
    incident.dispatch_status, incident.reason = records.NO_RESPONDERS, reason
    if incident.no_responders_at is None:
        incident.no_responders_at = now
        events.emit(rt, session, incident, "incident.no_responders", reason=reason,
                    alerted=alerted)
    if not alerted:
        log.info("incident %s: no eligible volunteer within %s m", incident.id,
                 policy.radius_max_m)


def _alerted(session: Session, incident_id: int) -> int:
    """Return how many volunteers the incident has alerted so far."""
    return session.scalar(
        select(func.count()).select_from(Alert).where(Alert.incident_id == incident_id)
    )
