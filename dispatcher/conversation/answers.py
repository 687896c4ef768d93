"""A volunteer's answer: YES, NO or HERE to an alert, or 1 and 2 to the follow-up question.

An answer applies to the volunteer's newest alert of the last REPLY_WINDOW, or to the one
whose code it quotes. When they have no open alert, a YES or NO (1 or 2) may answer the
question asked after an incident (see `followup.question_for`). Every answer is decided
with the incident locked and the alert read again (`lifecycle.lock`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatcher.alerts import lifecycle
from dispatcher.control_rooms import events
from dispatcher.domain import briefing, roles
from dispatcher.domain.replies import Reply
from dispatcher.domain.templates import render
from dispatcher.incidents import escalation, followup, records, waves, withdrawals
from dispatcher.messaging import outbound
from dispatcher.runtime import Runtime
from dispatcher.store.models import Alert, Incident, Message, Responder

# A reply without a reference code applies to the newest alert of this long ago at most.
REPLY_WINDOW = timedelta(hours=24)


Handler = Callable[[Runtime, Session, Responder, Reply, Message], None]


def _answering(act: Callable[[Runtime, Session, Incident, Alert], None]) -> Handler:
    """Make a reply's handler of a use case on the alert it answers, found and locked."""

    @functools.wraps(act)
    def handle(rt: Runtime, session: Session, responder: Responder, reply: Reply,
               record: Message) -> None:
        found = _alert_answered(rt, session, responder, reply, record)
        if found is not None:
            act(rt, session, *found)

    return handle


@_answering
def accept(rt: Runtime, session: Session, incident: Incident, alert: Alert) -> None:
    """Take a YES: give a role and the details, or thank them when enough are going."""
    if alert.state == lifecycle.ACCEPTED:
        _brief(rt, session, incident, alert)  # a second YES: the details again
        return
    _take_yes(rt, session, incident, alert, arrived=False)


@_answering
def decline(rt: Runtime, session: Session, incident: Incident, alert: Alert) -> None:
    """Take a NO (also a change of mind after YES) and ask someone else in their place."""
    _decline(rt, session, incident, alert)
    say(rt, session, alert.responder, "declined")


@_answering
def arrive(rt: Runtime, session: Session, incident: Incident, alert: Alert) -> None:
    """Take a HERE: record the arrival; one on scene without a YES first is going too."""
    if alert.state != lifecycle.ACCEPTED:
        _take_yes(rt, session, incident, alert, arrived=True)
        return
    if alert.arrived_at is None:
        _arrived(rt, session, incident, alert)
    say(rt, session, alert.responder, "arrived")


def withdraw(rt: Runtime, session: Session, responder: Responder, now: datetime) -> None:
    """Treat a STOP as a NO to every open alert, also one they said YES to: they are not going.

    One who was going is withdrawn: they no longer count toward the targets, the next
    volunteer is asked, and the control room is told (`responder.withdrawn`).
    """
    open_alerts = session.scalars(
        select(Alert)
        .join(Incident, Incident.id == Alert.incident_id)
        .where(Alert.responder_id == responder.id, Alert.state.in_(lifecycle.ENGAGED),
               Incident.state == "open")
    ).all()
    for alert in open_alerts:
        incident = lifecycle.lock(session, alert)  # a wave's end may have expired it meanwhile
        if alert.state in lifecycle.ENGAGED:
            _decline(rt, session, incident, alert, why="opted out")


def say(rt: Runtime, session: Session, responder: Responder, template: str, **values) -> None:
    """Queue a short reply to the volunteer in their language."""
    body = render(template, responder.language, **values)
    outbound.queue_message(rt, session, responder, body, purpose="reply")


def _answers_follow_up(rt: Runtime, session: Session, responder: Responder, reply: Reply,
                       record: Message) -> bool:
    """Apply a 1 or 2 to the follow-up question when no open alert claims it first."""
    now = rt.clock.now()
    if reply.intent not in followup.ANSWERS or _engaged(session, responder, now):
        return False
    question = followup.question_for(session, responder, reply.code, now)
    if question is None:
        return False
    record.alert_id = question.id
    followup.answer(rt, session, responder, question, followup.ANSWERS[reply.intent], now)
    return True


def _alert_answered(rt: Runtime, session: Session, responder: Responder, reply: Reply,
                    record: Message) -> tuple[Incident, Alert] | None:
    """Find and lock the alert a reply answers; say so when there is none or it is over.

    A YES or NO (1 or 2) with no open alert to claim it answers the follow-up question, if
    one was asked: that is applied here, and there is no alert to answer.
    """
    if _answers_follow_up(rt, session, responder, reply, record):
        return None
    alert = _alert_for(session, responder, reply.code, rt.clock.now())
    if alert is None:
        say(rt, session, responder, "no_open_alert")
        return None
    record.alert_id = alert.id
    incident = lifecycle.lock(session, alert)
    # One told "enough" who went anyway and says HERE is there: their arrival is recorded.
    if incident.state != "open" or (alert.state == lifecycle.STOOD_DOWN
                                    and reply.intent != "arrived"):
        say(rt, session, responder, "no_longer_needed", code=alert.code)
        return None
    return incident, alert


def _alert_for(session: Session, responder: Responder, code: str | None, now: datetime):
    """Pick the alert a reply means: the one with its code, else the newest recent one."""
    query = select(Alert).where(
        Alert.responder_id == responder.id, Alert.created_at >= now - REPLY_WINDOW
    )
    newest = query.order_by(Alert.id.desc()).limit(1)
    if code:
        coded = session.scalars(newest.where(Alert.code == code)).first()
        if coded is not None:
            return coded
    return session.scalars(newest).first()


def _engaged(session: Session, responder: Responder, now: datetime) -> bool:
    """Tell whether the volunteer has an open alert, which a YES or NO is always about."""
    return session.scalar(
        select(Alert.id)
        .join(Incident, Incident.id == Alert.incident_id)
        .where(Alert.responder_id == responder.id, Alert.created_at >= now - REPLY_WINDOW,
               # An expired alert of an open incident may still be taken up by a late YES.
               Alert.state.in_((*lifecycle.ENGAGED, lifecycle.EXPIRED)),
               Incident.state == "open")
        .limit(1)
    ) is not None


def _take_yes(rt: Runtime, session: Session, incident: Incident, alert: Alert, *,
              arrived: bool) -> None:
    """Give a role to a volunteer who said YES (or HERE), unless enough are going already."""
    now = rt.clock.now()
    responder = alert.responder
    policy = rt.policy_for(session, incident)
    going = lifecycle.going_roles(session, incident.id)
    if roles.targets_met(policy, going) and not arrived:
        lifecycle.turn_away(alert, now)
        records.note(session, incident, "responder.surplus", now, ref=responder.ref)
        say(rt, session, responder, "enough", code=alert.code)
        return
    patient = (incident.lat, incident.lon)
    origin = (alert.origin_lat, alert.origin_lon) if alert.origin_lat is not None else patient
    aeds = []
    if not arrived and roles.wants_aed_runner(policy, going):
        radius = roles.aed_search_radius(policy, alert.distance_m)
        aeds = rt.aeds.open_near(session, incident.lat, incident.lon, radius,
                                 now.astimezone(rt.timezone))
    elapsed = (now - incident.created_at).total_seconds()
    role = roles.assign(
        policy, going=going, origin=origin, patient=patient, mode=responder.travel_mode,
        aeds=aeds, taken=lifecycle.taken_aeds(session, incident.id),
        ems_left_s=(incident.ems_eta_s or policy.default_ems_eta_s) - elapsed, on_scene=arrived,
    )
    lifecycle.accept(alert, now, role=role.role, aed_id=role.aed_id, eta_s=round(role.eta_s, 1))
    records.note(session, incident, "responder.accepted", now, ref=responder.ref,
                 role=role.role)
    if incident.dispatch_status == records.NO_RESPONDERS:
        # A late YES after the search gave up: someone is going after all.
        incident.dispatch_status, incident.reason = records.ALERTING, None
    aed = rt.aeds.get(alert.aed_id) if alert.aed_id else None
    events.emit(rt, session, incident, "responder.accepted", responder=responder.ref,
                role=role.role, distance_m=round(alert.distance_m), eta_s=round(alert.eta_s),
                aed=aed.name if aed else None)
    if arrived:
        _arrived(rt, session, incident, alert)
    if roles.targets_met(policy, [*going, role.role]):
        escalation.reached_targets(rt, session, incident, len(going) + 1)
    _brief(rt, session, incident, alert)


def _arrived(rt: Runtime, session: Session, incident: Incident, alert: Alert) -> None:
    """Record that a volunteer is on scene and tell the control room."""
    now = rt.clock.now()
    alert.arrived_at = now
    records.note(session, incident, "responder.arrived", now, ref=alert.responder.ref)
    events.emit(rt, session, incident, "responder.arrived", responder=alert.responder.ref,
                role=alert.role, arrived_at=events.iso(now))


def _brief(rt: Runtime, session: Session, incident: Incident, alert: Alert) -> None:
    """Send the volunteer their task, the address, access notes and a map link."""
    aed = rt.aeds.get(alert.aed_id) if alert.aed_id else None
    texts = briefing.details(
        language=alert.responder.language, incident=incident, alert=alert, aed=aed,
        map_template=rt.settings.conversation.map_link_template,
        local_now=rt.clock.now().astimezone(rt.timezone),
    )
    # One text, or two when the address and notes need one of their own. Only the first
    # carries where to go: it alone withdraws the volunteer if it never gets through; the
    # second (what to do, the map link) is retried like any other message.
    for number, body in enumerate(texts):
        purpose = "details" if number == 0 else "details_more"
        outbound.queue_message(rt, session, alert.responder, body, purpose=purpose, alert=alert)


def _decline(rt: Runtime, session: Session, incident: Incident, alert: Alert, *,
             why: str = "declined") -> None:
    """Record a NO and, unless someone was already asked in their place, ask the next one.

    A NO (or a STOP) from one who had said YES withdraws them, and the control room is told.
    """
    now = rt.clock.now()
    records.note(session, incident, "responder.declined", now, ref=alert.responder.ref)
    if alert.state == lifecycle.ACCEPTED:
        reason = why if why != "declined" else "declined after accepting"
        withdrawals.withdraw(rt, session, incident, alert, reason=reason)
        return
    was = alert.state
    lifecycle.decline(alert, now, why)
    if was not in (lifecycle.EXPIRED, lifecycle.DECLINED, lifecycle.FAILED):
        waves.replace_volunteers(rt, session, incident, 1, why)
