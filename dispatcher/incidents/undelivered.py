"""What a message that did not get through means, by whose fault and for which purpose.

- The provider is down for everyone (every breaker open): the message waits, unspent, and
  no volunteer pays for it (`messaging.sending.hold`).
- The number is at fault (opted out at the provider, not a mobile, unknown...): the
  volunteer is marked, so coordinators see why, and is passed over from now on.
- An alert that failed while the provider works for others is tried once more; then, or at
  once when the number is at fault, its volunteer is replaced by the next one. While the
  provider is held, the wave waits for its texts (`escalation.wave_due`).
- Every other message that matters (the briefing after YES, a corrected address, a
  stand-down, the follow-up question) is tried again with doubling waits and jitter. A
  briefing that has not got through within BRIEFING_DEADLINE_S withdraws its volunteer
  (they do not know where to go) and the next is asked; others are given up after
  RETRY_FOR_S, with a warning in the log.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dispatcher.alerts import lifecycle
from dispatcher.incidents import records, waves, withdrawals
from dispatcher.messaging import outbound, sending
from dispatcher.queue import ring
from dispatcher.runtime import Runtime
from dispatcher.sms import OPTED_OUT
from dispatcher.sms.codes import NUMBER, TRANSIENT
from dispatcher.store.models import Alert, Message, Responder

log = logging.getLogger(__name__)

BRIEFINGS = ("details",)


def after_failure(rt: Runtime, message_id: int, code: int | None, kind: str = TRANSIENT) -> int:
    """Deal with one message that did not get through; return how many were asked instead."""
    if kind != NUMBER and sending.holding(rt):
        sending.hold(rt, message_id, sending.retry_at(rt), f"provider held (error {code})")
        return 0
    now = rt.clock.now()
    with rt.transaction() as session:
        message = session.get(Message, message_id)
        responder = session.get(Responder, message.responder_id) if message.responder_id else None
        if responder is not None and kind == NUMBER and responder.status == "active":
            _mark_unreachable(responder, code, now)
        if message.alert_id is None:
            return _retry(rt, session, message, now, kind)
        alert = session.get(Alert, message.alert_id)
        # Decide as of the incident's lock: a wave's end or a reply may have changed it.
        incident = lifecycle.lock(session, alert)
        if message.purpose == "alert":
            return _alert_failed(rt, session, message, alert, incident, code, kind, now)
        if message.purpose in BRIEFINGS and alert.state == lifecycle.ACCEPTED:
            deadline = (alert.responded_at or message.created_at) + \
                rt.settings.sending.briefing_deadline
            if kind == NUMBER or now >= deadline:
                why = "number unreachable" if kind == NUMBER else "briefing undeliverable"
                log.warning("sms %s: the briefing did not get through; volunteer withdrawn",
                            message.id)
                before = _alerted(session, incident.id)
                withdrawals.withdraw(rt, session, incident, alert, reason=why)
                return _alerted(session, incident.id) - before
            _again(rt, session, message, now, until=deadline)
            return 0
        return _retry(rt, session, message, now, kind)


def _alert_failed(rt, session, message, alert, incident, code, kind, now) -> int:
    """Try a failed alert once more unless the number is at fault; else replace the volunteer."""
    tries = session.scalar(
        select(func.count()).where(Message.alert_id == alert.id, Message.purpose == "alert")
    )
    if kind != NUMBER and tries < 2 and alert.state in lifecycle.WAITING:
        retry = outbound.queue_message(rt, session, alert.responder, message.body,
                                       purpose="alert", alert=alert)
        if retry is not None:
            return 0  # tried once more; its failure decides again
    if not lifecycle.fail(alert, now, code):
        return 0  # answered, expired or stood down meanwhile: nobody to replace
    records.note(session, incident, "alert.failed", now, ref=alert.responder.ref, code=code)
    return waves.replace_volunteers(rt, session, incident, 1, "not reachable")


def _retry(rt: Runtime, session: Session, message: Message, now: datetime, kind: str) -> int:
    """Try a message again later, unless the number is at fault or it has been tried enough."""
    give_up = message.created_at + rt.settings.sending.retry_for
    if kind == NUMBER or now >= give_up:
        log.warning("sms %s (%s) given up: %s", message.id, message.purpose,
                    "the number cannot take texts" if kind == NUMBER else "tried long enough")
        return 0
    _again(rt, session, message, now, until=give_up)
    return 0


def _again(rt: Runtime, session: Session, message: Message, now: datetime, *,
           until: datetime) -> None:
    """Send a message again after a doubling wait with jitter (never past `until`).

    One the provider never took is queued again itself; one it took and then reported
    undelivered is written anew (a provider id is never reused), keeping its first time so
    that its retry window is not reset.
    """
    attempts = (message.attempts or 0) + 1
    wait = rt.settings.sending.backoff(attempts) * random.uniform(0.8, 1.2)
    at = min(now + wait, until)
    if message.sid is not None:
        responder = session.get(Responder, message.responder_id)
        alert = session.get(Alert, message.alert_id) if message.alert_id else None
        again = outbound.queue_message(rt, session, responder, message.body,
                                       purpose=message.purpose, alert=alert)
        if again is None:
            return  # they cannot be texted any more
        again.created_at, message = message.created_at, again
    message.attempts, message.status, message.next_attempt_at = attempts, "queued", at
    message.updated_at = now
    ring(session, "deliver", message.id, at=at)


def _alerted(session: Session, incident_id: int) -> int:
    """Return how many alerts the incident has."""
    return session.scalar(select(func.count()).where(Alert.incident_id == incident_id))


def _mark_unreachable(responder: Responder, code: int | None, now: datetime) -> None:
    """Stop alerting a volunteer the provider will never reach: opted out or a bad number.

    21610 means they sent STOP to the provider: they are opted out, as after a STOP to us
    (a START lifts it). The other faults of the number (not valid, not a mobile, unknown
    handset, a landline...) mean the number on file cannot take a text; the volunteer stays
    registered, marked `invalid_number`, and is passed over until a coordinator corrects it.
    """
    if code == OPTED_OUT:
        log.info("provider reports an opt-out; volunteer %s marked opted out", responder.ref)
        responder.status, responder.opted_out_at = "opted_out", now
    else:
        log.info("provider cannot text volunteer %s (error %s); marked invalid_number",
                 responder.ref, code)
        responder.status = "invalid_number"
    responder.updated_at = now
