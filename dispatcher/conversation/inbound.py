"""A volunteer's SMS in: YES, NO, HERE, STOP, START, HELP, PAUSE and RESUME.

A YES or NO (1 or 2) is about the volunteer's open alert when they have one; otherwise it may
answer the follow-up question asked after an incident (see `followup.question_for`).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import phonenumbers
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dispatcher.control_rooms import events
from dispatcher.domain import briefing, roles
from dispatcher.domain.replies import Reply, parse_reply
from dispatcher.domain.templates import render
from dispatcher.incidents import escalation, followup, records, waves
from dispatcher.messaging import outbound
from dispatcher.runtime import Runtime
from dispatcher.store.models import Alert, Incident, Message, Responder

log = logging.getLogger(__name__)

# A reply without a reference code applies to the newest alert of this long ago at most.
REPLY_WINDOW = timedelta(hours=24)
WAITING = ("pending", "sent", "delivered")


def find_responder(session: Session, address: str, region: str) -> Responder | None:
    """Return the volunteer behind a channel-qualified address ("+E164", "whatsapp:+E164")."""
    number = address.split(":", 1)[-1].strip()
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return None
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return session.scalars(select(Responder).where(Responder.phone == e164)).one_or_none()


def receive(rt: Runtime, *, sid: str, address: str, body: str, provider: str) -> bool:
    """Apply one inbound SMS exactly once; False for a repeat or an unknown sender."""
    try:
        with rt.transaction() as session:
            if session.scalar(select(Message.id).where(Message.sid == sid)) is not None:
                return False
            responder = find_responder(session, address, rt.settings["DEFAULT_REGION"])
            if responder is None:
                log.info("inbound SMS from an unregistered number ignored")
                return False
            now = rt.clock.now()
            record = Message(
                direction="in", channel=responder.channel, address=address, body=body[:1600],
                purpose="reply", responder_id=responder.id, provider=provider, sid=sid,
                status="received", created_at=now, updated_at=now,
            )
            session.add(record)
            session.flush()
            outgoing = _act(rt, session, responder, parse_reply(body), record)
    except IntegrityError:
        return False  # the same MessageSid arrived twice at once; the other one applied it
    log.debug("inbound SMS applied, %d messages queued", len(outgoing))
    return True


def _act(
    rt: Runtime, session: Session, responder: Responder, reply: Reply, record: Message
) -> list[int]:
    """Carry out what the reply means; return the messages to send."""
    now = rt.clock.now()

    def say(template: str, **values) -> list[int]:
        body = render(template, responder.language, **values)
        message = outbound.queue_message(rt, session, responder, body, purpose="reply")
        return [message.id] if message else []

    if reply.intent == "stop":
        said = say("stopped")  # the one confirmation, written before the opt-out takes effect
        responder.status, responder.opted_out_at, responder.updated_at = "opted_out", now, now
        return said + _withdraw(rt, session, responder, now)
    if responder.status == "invalid_number":
        # The provider called the number unable to take texts; one just came from it.
        log.info("volunteer %s texted in: number marked valid again", responder.ref)
        responder.status, responder.updated_at = "active", now
    if responder.status == "opted_out":
        if reply.intent != "start":
            return []  # nothing goes to an opted-out number until it says START
        responder.status, responder.opted_out_at, responder.updated_at = "active", None, now
        return say("started")
    if reply.intent in ("start", "help", "unknown"):
        return say({"start": "started", "help": "help", "unknown": "unknown"}[reply.intent])
    if reply.intent == "pause":
        hours = reply.hours or float(rt.settings["PAUSE_DEFAULT_H"])
        responder.paused_until, responder.updated_at = now + timedelta(hours=hours), now
        return say("paused", until=_local(rt, responder.paused_until, now))
    if reply.intent == "resume":
        responder.paused_until, responder.updated_at = None, now
        return say("resumed")
    if reply.intent in followup.ANSWERS and not _engaged(session, responder, now):
        question = followup.question_for(session, responder, reply.code, now)
        if question is not None:
            record.alert_id = question.id
            choice = followup.ANSWERS[reply.intent]
            return followup.answer(rt, session, responder, question, choice, now)
    alert = _alert_for(session, responder, reply.code, now)
    if alert is None:
        return say("no_open_alert")
    record.alert_id = alert.id
    incident = records.lock_incident(session, alert.incident_id)
    session.refresh(alert)  # its state as of the lock, not as first read
    # One told "enough" who went anyway and says HERE is there: their arrival is recorded.
    if incident.state != "open" or (alert.state == "stood_down" and reply.intent != "arrived"):
        return say("no_longer_needed", code=alert.code)
    if reply.intent == "decline":
        return _decline(rt, session, incident, alert, now) + say("declined")
    if alert.state == "accepted":
        if reply.intent == "arrived" and alert.arrived_at is None:
            _arrived(rt, session, incident, alert, now)
            return say("arrived")
        return say("arrived") if reply.intent == "arrived" else _brief(rt, session, incident, alert)
    return _accept(rt, session, incident, alert, now, arrived=reply.intent == "arrived")


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
               Alert.state.in_((*records.OPEN_ALERT_STATES, "expired")),
               Incident.state == "open")
        .limit(1)
    ) is not None


def _accept(
    rt: Runtime, session: Session, incident: Incident, alert: Alert, now: datetime, *,
    arrived: bool,
) -> list[int]:
    """Give a role to a volunteer who said YES, unless enough are going already."""
    responder = alert.responder
    policy = rt.policy_for(session, incident)
    going = waves.going_roles(session, incident.id)
    if roles.targets_met(policy, going) and not arrived:
        alert.state, alert.responded_at, alert.updated_at = "stood_down", now, now
        records.note(session, incident, "responder.surplus", now, ref=responder.ref)
        body = render("enough", responder.language, code=alert.code)
        message = outbound.queue_message(rt, session, responder, body, purpose="reply")
        return [message.id] if message else []
    patient = (incident.lat, incident.lon)
    origin = (alert.origin_lat, alert.origin_lon) if alert.origin_lat is not None else patient
    local_now = now.astimezone(rt.timezone)
    aeds = []
    if not arrived and going.count(roles.CPR) >= policy.target_cpr:
        radius = roles.aed_search_radius(policy, alert.distance_m)
        taken = set(
            session.scalars(
                select(Alert.aed_id).where(
                    Alert.incident_id == incident.id, Alert.state == "accepted",
                    Alert.aed_id.is_not(None),
                )
            )
        )
        # One runner per AED: a second runner to the same cabinet would find it empty.
        aeds = [
            a for a in rt.aeds.open_near(session, incident.lat, incident.lon, radius, local_now)
            if a.id not in taken
        ]
    elapsed = (now - incident.created_at).total_seconds()
    ems_left = (incident.ems_eta_s or policy.default_ems_eta_s) - elapsed
    role = roles.assign(
        policy, going=going, origin=origin, patient=patient, mode=responder.travel_mode,
        aeds=aeds, ems_left_s=ems_left,
    )
    alert.state, alert.role, alert.aed_id = "accepted", role.role, role.aed_id
    alert.eta_s, alert.responded_at, alert.updated_at = round(role.eta_s, 1), now, now
    records.note(session, incident, "responder.accepted", now, ref=responder.ref, role=role.role)
    if incident.dispatch_status == "no_responders":
        # A late YES after the search gave up: someone is going after all.
        incident.dispatch_status, incident.reason = "alerting", None
    aed = rt.aeds.get(alert.aed_id) if alert.aed_id else None
    events.emit(rt, session, incident, "responder.accepted", responder=responder.ref,
                role=role.role, distance_m=round(alert.distance_m), eta_s=round(alert.eta_s),
                aed=aed.name if aed else None)
    if arrived:
        _arrived(rt, session, incident, alert, now)
    if roles.targets_met(policy, [*going, role.role]):
        escalation.reached_targets(rt, session, incident, len(going) + 1)
    return _brief(rt, session, incident, alert)


def _arrived(rt: Runtime, session: Session, incident: Incident, alert: Alert, now: datetime):
    """Record that a volunteer is on scene and tell the control room."""
    alert.arrived_at = now
    records.note(session, incident, "responder.arrived", now, ref=alert.responder.ref)
    events.emit(rt, session, incident, "responder.arrived", responder=alert.responder.ref,
                role=alert.role, arrived_at=events.iso(now))


def _brief(rt: Runtime, session: Session, incident: Incident, alert: Alert) -> list[int]:
    """Send the volunteer their task, the address, access notes and a map link."""
    responder = alert.responder
    aed = rt.aeds.get(alert.aed_id) if alert.aed_id else None
    body = briefing.details(
        language=responder.language, incident=incident, alert=alert, aed=aed,
        map_template=rt.settings["MAP_LINK_TEMPLATE"],
        local_now=rt.clock.now().astimezone(rt.timezone),
    )
    message = outbound.queue_message(rt, session, responder, body, purpose="details", alert=alert)
    return [message.id] if message else []


def _decline(
    rt: Runtime, session: Session, incident: Incident, alert: Alert, now: datetime
) -> list[int]:
    """Record a NO (also a change of mind after YES) and ask someone else in their place."""
    was = alert.state
    alert.state, alert.role, alert.aed_id = "declined", None, None
    alert.responded_at, alert.updated_at = now, now
    records.note(session, incident, "responder.declined", now, ref=alert.responder.ref)
    if was in ("expired", "declined", "failed"):
        return []  # someone was already asked in their place
    return waves.replace_volunteers(rt, session, incident, 1, "declined")


def _withdraw(rt: Runtime, session: Session, responder: Responder, now: datetime) -> list[int]:
    """Treat a STOP as a NO to every alert the volunteer has not answered yet."""
    waiting = session.scalars(
        select(Alert)
        .join(Incident, Incident.id == Alert.incident_id)
        .where(Alert.responder_id == responder.id, Alert.state.in_(WAITING),
               Incident.state == "open")
    ).all()
    outgoing: list[int] = []
    for alert in waiting:
        incident = records.lock_incident(session, alert.incident_id)
        session.refresh(alert)  # a wave's end may have expired it meanwhile
        if alert.state in WAITING:
            outgoing += _decline(rt, session, incident, alert, now)
    return outgoing


def _local(rt: Runtime, when: datetime, now: datetime) -> str:
    """Write a time as the volunteer reads it: "18:30", or "24/11 18:30" on another day."""
    local, today = when.astimezone(rt.timezone), now.astimezone(rt.timezone).date()
    return f"{local:%H:%M}" if local.date() == today else f"{local:%d/%m %H:%M}"
