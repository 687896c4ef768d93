"""Getting messages to volunteers: send, follow delivery reports, retry once, replace on failure."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy import func, select

from dispatcher.alerts import lifecycle
from dispatcher.incidents import records, waves
from dispatcher.messaging import outbound
from dispatcher.runtime import Runtime
from dispatcher.sms import OPTED_OUT, PERMANENT_ERRORS
from dispatcher.store.models import Alert, Message, Responder

log = logging.getLogger(__name__)

# Delivery states in the order they happen; a report never moves a message backwards.
RANK = {"queued": 0, "accepted": 0, "scheduled": 0, "sending": 1, "sent": 2,
        "delivered": 3, "undelivered": 3, "failed": 3, "read": 4}
FAILED = ("failed", "undelivered")


def send(rt: Runtime, message_ids: Iterable[int]) -> int:
    """Hand messages to the provider; deal with each failure; return how many failed.

    A failure may queue a retry or a replacement, whose doorbell rings a new delivery.
    """
    failures = outbound.deliver(rt, message_ids)
    for message_id, error in failures:
        try:
            _after_failure(rt, message_id, error.provider_code, error.permanent)
        except Exception:  # noqa: BLE001 - one failure's trouble must not strand the others
            # The alert stays as it was; its wave's end expires and replaces it.
            log.exception("sms %s: handling its failure failed", message_id)
    return len(failures)


def receive_status(rt: Runtime, sid: str, status: str, error_code: int | None) -> bool:
    """Apply a provider's delivery report; return False for an unknown SID or a stale report."""
    status = status.lower()
    if status not in RANK:
        return False
    with rt.transaction() as session:
        message = session.scalars(
            select(Message).where(Message.sid == sid).with_for_update()
        ).one_or_none()
        if message is None or RANK[status] <= RANK.get(message.status, 0):
            return False
        message.status, message.updated_at = status, rt.clock.now()
        message.error_code = error_code or message.error_code
        if status == "delivered" and message.purpose == "alert" and message.alert_id:
            lifecycle.mark_delivered(session.get(Alert, message.alert_id), rt.clock.now())
        message_id = message.id
    if status in FAILED:
        # 30003 (unreachable) and other delivery failures are worth one more try.
        _after_failure(rt, message_id, error_code, error_code in PERMANENT_ERRORS)
    return True


def _mark_unreachable(responder: Responder, code: int | None, now) -> None:
    """Stop alerting a volunteer the provider will never reach: opted out or a bad number.

    21610 means they sent STOP to the provider: they are opted out, as after a STOP to us
    (a START lifts it). 21211 (not a valid number) and 21614 (not a mobile) mean the number
    on file cannot take a text; the volunteer stays registered, marked `invalid_number`,
    and is passed over until a coordinator corrects the number.
    """
    if code == OPTED_OUT:
        log.info("provider reports an opt-out; volunteer %s marked opted out", responder.ref)
        responder.status, responder.opted_out_at = "opted_out", now
    elif code in PERMANENT_ERRORS:
        log.info("provider cannot text volunteer %s (error %s); marked invalid_number",
                 responder.ref, code)
        responder.status = "invalid_number"
    responder.updated_at = now


def _after_failure(rt: Runtime, message_id: int, code: int | None, permanent: bool) -> int:
    """Honour an opt-out, retry a transient failure once, else replace the volunteer.

    Returns how many volunteers were asked in their place.
    """
    now = rt.clock.now()
    with rt.transaction() as session:
        message = session.get(Message, message_id)
        responder = session.get(Responder, message.responder_id) if message.responder_id else None
        if responder is not None and code in PERMANENT_ERRORS and responder.status == "active":
            _mark_unreachable(responder, code, now)
        if message.purpose != "alert" or message.alert_id is None:
            return 0
        alert = session.get(Alert, message.alert_id)
        # Decide on the alert as of the incident's lock: a wave's end or a reply may have
        # changed it since it was read.
        incident = lifecycle.lock(session, alert)
        tries = session.scalar(
            select(func.count()).where(Message.alert_id == alert.id, Message.purpose == "alert")
        )
        if not permanent and tries < 2 and alert.state in lifecycle.WAITING:
            retry = outbound.queue_message(rt, session, responder, message.body,
                                           purpose="alert", alert=alert)
            if retry is not None:
                return 0  # tried once more; its failure decides again
        if not lifecycle.fail(alert, now, code):
            return 0  # answered, expired or stood down meanwhile: nobody to replace
        records.note(session, incident, "alert.failed", now, ref=responder.ref, code=code)
        return waves.replace_volunteers(rt, session, incident, 1, "not reachable")
