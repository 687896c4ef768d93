"""Sending: claim queued messages, hand them to the SMS port several at once, record answers.

A message is claimed only while it is still wanted (`wanted`), in the transaction that
claims it: nothing goes to a volunteer who opted out or whose number the provider refused
(but the one confirmation of a STOP), and no alert goes to a paused volunteer or for an alert
already answered, withdrawn or stood down. Claims are taken only as a sender comes free for
them, so this is decided the moment before the provider is called: a STOP that came while
an alert waited for its turn (a large fan-out, a provider outage) wins.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import datetime

from sqlalchemy import exists, select, update

from dispatcher import metrics
from dispatcher.alerts import lifecycle
from dispatcher.errors import SmsSendError
from dispatcher.queue import ring
from dispatcher.runtime import Runtime
from dispatcher.sms.codes import NUMBER
from dispatcher.sms.failures import kind_of
from dispatcher.sms.switchboard import ProvidersDown
from dispatcher.store.models import Alert, Message, Responder

log = logging.getLogger(__name__)

# Responder statuses that take no more texts, and the one text that goes to them anyway.
UNREACHABLE = ("opted_out", "invalid_number")
CONFIRMATION = "reply"
# An alert's SMS still matters while its alert waits for an answer (or expired unanswered).
ALERT_STILL_ASKS = (*lifecycle.WAITING, lifecycle.EXPIRED)


def wanted(now: datetime):
    """Return the condition of an outgoing message that should still reach its volunteer.

    Each test looks up the message's own volunteer and alert by their keys (EXISTS, not
    IN over every volunteer or alert), so a claim costs the same in a registry of millions.
    """
    own = Responder.id == Message.responder_id
    gone = exists().where(own, Responder.status.in_(UNREACHABLE))
    paused = exists().where(own, Responder.paused_until > now)
    answered = exists().where(Alert.id == Message.alert_id,
                              Alert.state.not_in(ALERT_STILL_ASKS))
    return ~(
        ((Message.purpose != CONFIRMATION) & gone)
        | ((Message.purpose == "alert") & (paused | answered))
    )


def claim(rt: Runtime, message_ids: Iterable[int]) -> list[Message]:
    """Claim messages for sending (-> sending) in one transaction; return those won, by id.

    A message is won when it is queued, or when a claim on it has outlived its lease (the
    worker that held it died) and it still has no provider id: a message the provider has
    taken is never handed over again.
    """
    ids = sorted(set(message_ids))
    if not ids:
        return []
    now = rt.clock.now()
    with rt.transaction() as session:
        _withdraw_unwanted(session, ids, rt, now)
        won = session.scalars(
            update(Message)
            .where(Message.id.in_(ids), _claimable(rt, now))
            .values(status="sending", updated_at=now)
            .returning(Message.id)
        ).all()
        query = select(Message).where(Message.id.in_(won)).order_by(Message.id)
        return list(session.scalars(query))


def deliver(rt: Runtime, message_ids: Iterable[int]) -> list[tuple[int, SmsSendError]]:
    """Hand messages to the SMS provider, several at once; record its answers; return failures.

    Messages are claimed as a sender is free for them, in id order, so a claim's lease
    starts with its send and at most SEND_CONCURRENCY messages are with the provider and
    unrecorded at any moment: all a killed worker can leave to be sent twice. What a
    failure means for the alert is decided by the caller (`delivery.send`).
    """
    with rt.transaction() as session:
        waiting = list(session.scalars(
            select(Message.id)
            .where(Message.id.in_(sorted(set(message_ids))), _claimable(rt, rt.clock.now()))
            .order_by(Message.id)
        ))
    callback = rt.settings.sending.status_callback
    width = max(1, min(rt.settings.sending.concurrency, len(waiting)))
    failures: list[tuple[int, SmsSendError] | None] = []
    if width == 1:
        for message_id in waiting:
            failures += [_send_one(rt, m, callback) for m in claim(rt, [message_id])]
        return [f for f in failures if f is not None]
    with ThreadPoolExecutor(width, thread_name_prefix="sms") as pool:
        running: set[Future] = set()
        while waiting or running:
            free = width - len(running)
            if waiting and free:
                batch, waiting = waiting[:free], waiting[free:]
                running |= {pool.submit(_send_one, rt, m, callback) for m in claim(rt, batch)}
            if running:
                done, running = wait(running, return_when=FIRST_COMPLETED)
                failures += [_outcome(future) for future in done]
    return [f for f in failures if f is not None]


def _outcome(future: Future) -> tuple[int, SmsSendError] | None:
    """Return a send's failure; a send that crashed is logged and left to the sweeper."""
    try:
        return future.result()
    except Exception:  # noqa: BLE001 - one crash must not hide the other sends' failures
        # Its claim lapses after the lease, and the sweeper hands it out again.
        log.exception("a send crashed before its outcome was recorded")
        return None


def _claimable(rt: Runtime, now: datetime):
    """Return the condition of a message that may be claimed now.

    A queued message may wait for a time (`next_attempt_at`: a retry's backoff, a held
    provider's next probe).
    """
    lease = rt.settings.sending.lease
    due = Message.next_attempt_at.is_(None) | (Message.next_attempt_at <= now)
    return (
        Message.sid.is_(None) & (Message.direction == "out")
        & (((Message.status == "queued") & due)
           | ((Message.status == "sending") & (Message.updated_at <= now - lease)))
    )


def _send_one(rt: Runtime, message: Message, callback: str) -> tuple[int, SmsSendError] | None:
    """Send one claimed message and record the answer; return the failure, if any."""
    try:
        result = rt.sms.send(message.address, message.body, status_callback=callback)
    except SmsSendError as exc:
        if isinstance(exc, ProvidersDown) or (kind_of(exc) != NUMBER and holding(rt)):
            # Nobody's fault but the provider's: the message waits, no volunteer is spent.
            metrics.count(metrics.SMS_FAILED, message.purpose, "held")
            hold(rt, message.id, getattr(exc, "retry_at", None) or retry_at(rt), exc)
            return None
        metrics.count(metrics.SMS_FAILED, message.purpose, kind_of(exc))
        _record_failure(rt, message.id, exc)
        return message.id, exc
    except Exception as exc:  # noqa: BLE001 - an adapter bug must not strand the message
        log.exception("sms %s: the provider adapter failed unexpectedly", message.id)
        error = SmsSendError(f"provider adapter failed: {type(exc).__name__}")
        metrics.count(metrics.SMS_FAILED, message.purpose, "adapter")
        _record_failure(rt, message.id, error)
        return message.id, error
    with rt.transaction() as session:
        row = session.get(Message, message.id)
        # Our "queued" means not yet handed over; whatever the provider calls it, it has it now.
        status = "delivered" if result.status == "delivered" else "sent"
        row.sid, row.status, row.updated_at = result.sid, status, rt.clock.now()
        row.provider = result.provider or row.provider
        if row.alert_id and row.purpose == "alert":
            lifecycle.mark_sent(session, row.alert_id, rt.clock.now())
    metrics.count(metrics.SMS_SENT, message.purpose)
    return None


def hold(rt: Runtime, message_id: int, until: datetime, why: SmsSendError | str) -> None:
    """Put a message back in the queue, unspent, to be tried again at a time."""
    log.warning("sms %s held until %s: %s", message_id, f"{until:%H:%M:%S}",
                why.message if isinstance(why, SmsSendError) else why)
    with rt.transaction() as session:
        row = session.get(Message, message_id)
        if row.sid is not None or row.status not in ("sending", "failed", "queued"):
            return  # taken meanwhile, or withdrawn
        row.status, row.next_attempt_at, row.updated_at = "queued", until, rt.clock.now()
        if isinstance(why, SmsSendError):
            row.error_code = why.provider_code
        ring(session, "deliver", message_id, at=until)


def holding(rt: Runtime) -> bool:
    """Tell whether every provider is held open (sends wait instead of failing)."""
    holding = getattr(rt.sms, "holding", None)
    return bool(holding and holding())


def retry_at(rt: Runtime) -> datetime:
    """Return when a held message should be tried again."""
    retry_at = getattr(rt.sms, "retry_at", None)
    return retry_at() if retry_at else rt.clock.now()


def _record_failure(rt: Runtime, message_id: int, exc: SmsSendError) -> None:
    """Mark a message failed with the provider's error code."""
    log.warning("sms %s not sent: %s", message_id, exc.message)
    with rt.transaction() as session:
        row = session.get(Message, message_id)
        row.status, row.error_code, row.updated_at = "failed", exc.provider_code, rt.clock.now()


def _withdraw_unwanted(session, ids: list[int], rt: Runtime, now: datetime) -> int:
    """Cancel those of these unsent messages that nobody should get any more; return how many."""
    cancelled = session.execute(
        update(Message)
        .where(Message.id.in_(ids), Message.sid.is_(None), Message.direction == "out",
               Message.status.in_(("queued", "sending")), ~wanted(now))
        .values(status="cancelled", updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if cancelled:
        log.info("%d unsent message(s) withdrawn: no longer wanted", cancelled)
    return cancelled
