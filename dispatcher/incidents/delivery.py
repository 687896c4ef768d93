"""Getting messages to volunteers: send, follow delivery reports, retry once, replace on failure."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dispatcher.alerts import lifecycle
from dispatcher.incidents import records, waves
from dispatcher.messaging import outbound, sending
from dispatcher.runtime import Runtime
from dispatcher.sms import OPTED_OUT, PERMANENT_ERRORS
from dispatcher.store import inbox
from dispatcher.store.models import Alert, Message, Responder
from dispatcher.store.reports import DeliveryReport

log = logging.getLogger(__name__)

# Delivery states in the order they happen; a report never moves a message backwards.
RANK = {"queued": 0, "accepted": 0, "scheduled": 0, "sending": 1, "sent": 2,
        "delivered": 3, "undelivered": 3, "failed": 3, "read": 4}
FAILED = ("failed", "undelivered")


def send(rt: Runtime, message_ids: Iterable[int]) -> int:
    """Hand messages to the provider; deal with each failure; return how many failed.

    A failure may queue a retry or a replacement, whose doorbell rings a new delivery.
    """
    failures = sending.deliver(rt, message_ids)
    for message_id, error in failures:
        try:
            _after_failure(rt, message_id, error.provider_code, error.permanent)
        except Exception:  # noqa: BLE001 - one failure's trouble must not strand the others
            # The alert stays as it was; its wave's end expires and replaces it.
            log.exception("sms %s: handling its failure failed", message_id)
    return len(failures)


def receive_status(rt: Runtime, sid: str, status: str, error_code: int | None) -> bool:
    """Store a provider's delivery report, then ring for it to be applied.

    Returns False for a report not stored: an unknown status word, or one stored before.
    Raises when it could not be stored, so the webhook can answer 5xx.
    """
    report_id = store_report(rt, sid, status, error_code)
    if report_id is None:
        return False
    inbox.ring(rt.queue, "report", report_id)
    return True


def store_report(rt: Runtime, sid: str, status: str, error_code: int | None) -> int | None:
    """Write a delivery report once per SID and status; return its id, None when not stored."""
    status = status.lower()
    if status not in RANK or not sid:
        return None
    try:
        with rt.transaction() as session:
            if session.scalar(select(DeliveryReport.id).where(
                    DeliveryReport.sid == sid, DeliveryReport.status == status)) is not None:
                return None
            report = DeliveryReport(sid=sid, status=status, error_code=error_code,
                                    received_at=rt.clock.now())
            session.add(report)
            session.flush()
            return report.id
    except IntegrityError:
        return None  # the same report arrived twice at once; the other one stored it


def apply_report(rt: Runtime, report_id: int) -> bool:
    """Apply a stored delivery report once (the `report` job); False for a stale one.

    A report never moves a message backwards, so reports stored out of order end in the
    same state. One whose SID is not recorded yet (the provider can report before the send
    is) is tried again while that is likely, then ignored.
    """
    applied = inbox.process_once(rt.transaction, rt.clock.now, rt.settings.inbound,
                                 DeliveryReport, report_id, lambda s, r: _apply(rt, s, r))
    if applied is inbox.SKIPPED or applied is None:
        return False
    message_id, status, error_code = applied
    if status in FAILED:
        # 30003 (unreachable) and other delivery failures are worth one more try.
        _after_failure(rt, message_id, error_code, error_code in PERMANENT_ERRORS)
    return True


def _apply(rt: Runtime, session: Session, report: DeliveryReport):
    """Move the message on as a report says; return what a failure needs, None if stale."""
    status, error_code = report.status, report.error_code
    message = session.scalars(
        select(Message).where(Message.sid == report.sid).with_for_update()
    ).one_or_none()
    if message is None:
        if report.received_at > rt.clock.now() - rt.settings.sending.lease:
            raise inbox.Later
        return None
    if RANK[status] <= RANK.get(message.status, 0):
        return None
    message.status, message.updated_at = status, rt.clock.now()
    message.error_code = error_code or message.error_code
    if status == "delivered" and message.purpose == "alert" and message.alert_id:
        lifecycle.mark_delivered(session.get(Alert, message.alert_id), rt.clock.now())
    return message.id, status, error_code


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
