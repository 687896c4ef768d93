"""Getting messages to volunteers: the send job, and delivery reports stored, then applied."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatcher import metrics
from dispatcher.alerts import lifecycle
from dispatcher.incidents import undelivered
from dispatcher.messaging import sending
from dispatcher.runtime import Runtime
from dispatcher.sms.codes import classify
from dispatcher.sms.failures import kind_of
from dispatcher.store import inbox
from dispatcher.store.models import Alert, Message
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
            undelivered.after_failure(rt, message_id, error.provider_code, kind_of(error))
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

    def write(session: Session) -> DeliveryReport | None:
        if session.scalar(select(DeliveryReport.id).where(
                DeliveryReport.sid == sid, DeliveryReport.status == status)) is not None:
            return None
        return DeliveryReport(sid=sid, status=status, error_code=error_code,
                              received_at=rt.clock.now())

    return inbox.insert_once(rt.transaction, write)


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
        # 30003 (unreachable) and other delivery failures are worth one more try; an
        # account's or sender's code (30007 filtering, say) holds sends, no volunteer pays.
        undelivered.after_failure(rt, message_id, error_code, classify(error_code).kind)
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
    if status in FAILED:
        metrics.count(metrics.SMS_FAILED, message.purpose, classify(error_code).kind)
    if status == "delivered" and message.purpose == "alert" and message.alert_id:
        lifecycle.mark_delivered(session.get(Alert, message.alert_id), rt.clock.now())
    return message.id, status, error_code
