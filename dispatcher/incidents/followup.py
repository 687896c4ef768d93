"""After an incident: ask those who went whether they are OK, and flag who wants a call.

FOLLOW_UP_AFTER_MIN after an incident ends, everyone who went (accepted and kept a role, even
if stood down at the close) gets one SMS: reply 1 if fine, 2 for a call. A 1 (or YES in any
language) records "fine"; a 2 (or NO) records "call_me", a flag coordinators see through
`GET /api/v1/follow-ups` and `flask follow-ups list` until one of them resolves it.

Answers are taken for ANSWER_WINDOW after the question. Within it a volunteer who said 1 may
still say 2, and gets the call. A 2 is never taken back by a later 1: a call that turns out
unneeded costs a coordinator a minute, a withdrawn call for help might cost much more. A 2
after the call was resolved opens the flag again.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from dispatcher.alerts import lifecycle
from dispatcher.domain.templates import render
from dispatcher.errors import InvalidPayload, UnknownFollowUp
from dispatcher.incidents import records
from dispatcher.messaging import outbound
from dispatcher.runtime import Runtime
from dispatcher.store.models import Alert, Client, Incident, Responder

log = logging.getLogger(__name__)

# How long after the question a 1 or 2 still answers it. A follow-up whose doorbell was lost
# for longer than this (a long outage) is not sent at all: "are you OK?" a week late helps nobody.
ANSWER_WINDOW = timedelta(days=7)
# What a reply's intent means as an answer to the question.
ANSWERS = {"accept": "fine", "decline": "call_me"}
STATES = ("open", "resolved", "all")
DEFAULT_LIMIT, MAX_LIMIT = 100, 1000
_MAX_ID = 2**31 - 1  # ids beyond an integer column are unknown, not a database error


def ask(rt: Runtime, incident_id: int) -> int:
    """Ask everyone who went to the incident whether they are OK; return how many were asked.

    Runs once per incident: a repeated or early ring does nothing.
    """
    now = rt.clock.now()
    with rt.transaction() as session:
        incident = session.scalars(
            select(Incident).where(Incident.id == incident_id).with_for_update()
        ).one_or_none()
        if (incident is None or incident.follow_up_at is None or incident.follow_up_at > now
                or incident.followed_up_at is not None):
            return 0
        incident.followed_up_at = now
        if now - incident.follow_up_at > ANSWER_WINDOW:
            records.note(session, incident, "follow_up.skipped", now, reason="overdue")
            log.warning("follow-up for incident %s is overdue by more than %s; not sent",
                        incident.id, ANSWER_WINDOW)
            return 0
        went = session.scalars(
            select(Alert).where(Alert.incident_id == incident.id, Alert.role.is_not(None),
                                Alert.responded_at.is_not(None)).order_by(Alert.id)
        ).all()
        asked = 0
        for alert in went:
            body = render("follow_up", alert.responder.language, code=alert.code)
            message = outbound.queue_message(rt, session, alert.responder, body,
                                             purpose="follow_up", alert=alert)
            if message is None:
                continue  # opted out since: nothing goes to them
            alert.follow_up, alert.follow_up_asked_at, alert.updated_at = "asked", now, now
            asked += 1
        records.note(session, incident, "follow_up.asked", now, asked=asked,
                       not_asked=len(went) - asked)
    log.info("follow-up for incident %s: %d asked", incident_id, asked)
    return asked


def question_for(
    session: Session, responder: Responder, code: str | None, now: datetime
) -> Alert | None:
    """Return the alert whose follow-up question a 1 or 2 answers now, or None.

    That is the newest question asked within ANSWER_WINDOW (or the one whose alert has the
    reply's code) while it is unanswered, or answered with nothing asked of the volunteer
    since. The caller gives an open alert precedence over any question.
    """
    asked = (
        select(Alert)
        .where(Alert.responder_id == responder.id,
               Alert.follow_up_asked_at >= now - ANSWER_WINDOW)
        .order_by(Alert.follow_up_asked_at.desc(), Alert.id.desc())
        .limit(1)
    )
    if code:
        coded = session.scalars(asked.where(Alert.code == code)).first()
        if coded is not None:
            return coded
    question = session.scalars(asked).first()
    if question is None or question.follow_up == "asked":
        return question
    # Once answered, a YES or NO after a newer alert is about that alert, not this question.
    alerted_since = session.scalar(
        select(Alert.id).where(Alert.responder_id == responder.id,
                               Alert.created_at >= question.follow_up_asked_at).limit(1)
    )
    return question if alerted_since is None else None


def answer(
    rt: Runtime, session: Session, responder: Responder, alert: Alert, choice: str,
    now: datetime,
) -> None:
    """Record a volunteer's answer ("fine" or "call_me") and reply."""
    if choice not in ANSWERS.values():
        raise ValueError(f"unknown follow-up answer {choice!r}")
    incident = lifecycle.lock(session, alert)  # its answer as of the lock, not as first read
    flagged = alert.follow_up == "call_me" and alert.follow_up_resolved_at is None
    if choice == "call_me" and not flagged:
        alert.follow_up, alert.follow_up_answered_at = "call_me", now
        alert.follow_up_resolved_at, alert.updated_at = None, now
        records.note(session, incident, "follow_up.call_requested", now, ref=responder.ref)
        log.info("follow-up: a volunteer asked for a call after incident %s", incident.id)
        flagged = True
    elif choice == "fine" and alert.follow_up == "asked":
        alert.follow_up, alert.follow_up_answered_at, alert.updated_at = "fine", now, now
    # A standing request for a call stays: the reply says the call is coming.
    body = render("follow_up_call" if flagged else "follow_up_fine", responder.language)
    outbound.queue_message(rt, session, responder, body, purpose="reply", alert=alert)


def flags(session: Session, state: str = "open", limit: int | str = DEFAULT_LIMIT) -> list[dict]:
    """List volunteers' requests for a call, newest answer first: open, resolved or all."""
    if state not in STATES:
        raise InvalidPayload("unknown follow-up state",
                             fields={"state": f"must be one of {', '.join(STATES)}"})
    try:
        limit = int(limit)
    except (TypeError, ValueError):
        limit = 0
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidPayload("limit is out of range",
                             fields={"limit": f"must be a whole number from 1 to {MAX_LIMIT}"})
    query = select(Alert).where(Alert.follow_up == "call_me").options(
        selectinload(Alert.responder), selectinload(Alert.incident))
    if state == "open":
        query = query.where(Alert.follow_up_resolved_at.is_(None))
    elif state == "resolved":
        query = query.where(Alert.follow_up_resolved_at.is_not(None))
    query = query.order_by(Alert.follow_up_answered_at.desc(), Alert.id.desc()).limit(limit)
    return [describe(session, alert) for alert in session.scalars(query)]


def open_flags(session: Session) -> list[dict]:
    """List the requests for a call that no coordinator has resolved yet, newest first."""
    return flags(session, "open", MAX_LIMIT)


def resolve(session: Session, flag_id: int | str, now: datetime, *, by: str | None = None) -> dict:
    """Mark a request for a call as dealt with (again: no change); return the flag.

    Raises UnknownFollowUp when no request for a call has that id.
    """
    alert = _flag(session, flag_id)
    incident = lifecycle.lock(session, alert)  # an answer may have come in meanwhile
    if alert.follow_up_resolved_at is None:
        alert.follow_up_resolved_at, alert.updated_at = now, now
        records.note(session, incident, "follow_up.resolved", now, ref=alert.responder.ref,
                       by=by)
        log.info("follow-up %s resolved", alert.id)
    return describe(session, alert)


def get(session: Session, flag_id: int | str) -> dict:
    """Return one request for a call; raise UnknownFollowUp when there is none with that id."""
    return describe(session, _flag(session, flag_id))


def describe(session: Session, alert: Alert) -> dict:
    """Return what a coordinator needs to call the volunteer back."""
    responder, incident = alert.responder, alert.incident
    return {
        "id": alert.id,
        "state": "open" if alert.follow_up_resolved_at is None else "resolved",
        "ref": responder.ref,
        "name": responder.name,
        "phone": responder.phone,
        "language": responder.language,
        "control_room": session.get(Client, incident.client_id).name,
        "incident": incident.external_id,
        "incident_closed_at": _iso(incident.closed_at),
        "role": alert.role,
        "asked_at": _iso(alert.follow_up_asked_at),
        "answered_at": _iso(alert.follow_up_answered_at),
        "resolved_at": _iso(alert.follow_up_resolved_at),
    }


def _flag(session: Session, flag_id: int | str) -> Alert:
    """Find the alert behind a flag id from a path or a command line, or raise UnknownFollowUp."""
    text = str(flag_id).strip()
    # At most 10 digits: the ids of an integer column, and never too long a number to read.
    number = int(text) if text.isascii() and text.isdigit() and len(text) <= 10 else 0
    alert = session.get(Alert, number) if 1 <= number <= _MAX_ID else None
    if alert is None or alert.follow_up != "call_me":
        raise UnknownFollowUp(f"no request for a call with id {flag_id}")
    return alert


def _iso(value: datetime | None) -> str | None:
    """Write a time as ISO 8601 UTC with a Z, or None."""
    return value.isoformat().replace("+00:00", "Z") if value else None
