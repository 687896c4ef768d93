"""Work that comes from outside, stored first and processed once by a job.

An inbound SMS (`models.Message`, direction "in") or a delivery report
(`models.DeliveryReport`) is written in its own transaction before anything is done about
it, so nothing is lost when acting on it fails. Its job then processes it:

1. **Claim** (`claim`): a conditional UPDATE counts the attempt and sets `next_attempt_at`
   for the next one. A row already processed or given up, or whose next attempt is not due
   (another worker has it in hand), is not claimed: a second ring does nothing.
2. **Apply** (`process_once`): the row is locked and read again, acted on, and marked
   processed in the same transaction as what it causes, so it is applied exactly once.
3. **Failure**: the transaction rolls back and the row stays unprocessed for the sweeper
   (`due`), which rings again once `next_attempt_at` has come, the wait doubling each time.
   After the last attempt the row is given up (`gave_up_at`) and logged at ERROR with its
   table and id only, never its content.

An attempt is counted when it starts, so a worker killed mid-way counts it too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session

from dispatcher.settings import InboundSettings

log = logging.getLogger(__name__)

# How many rows of a table one sweep rings for at most.
SWEEP_BATCH = 500
# What process_once returns when it applied nothing: not claimed, already done, failed.
SKIPPED: Any = object()

Transaction = Callable[[], AbstractContextManager[Session]]


class Later(Exception):  # noqa: N818 - it reads as what it asks for
    """The row cannot be applied yet (what it refers to is not there): try it again later."""


def claim(session: Session, model: type, row_id: int, now: datetime,
          limits: InboundSettings) -> int | None:
    """Count an attempt at a row nobody has in hand; return its number, None when not ours."""
    attempt = session.execute(
        update(model)
        .where(model.id == row_id, model.processed_at.is_(None), model.gave_up_at.is_(None),
               or_(model.next_attempt_at.is_(None), model.next_attempt_at <= now))
        .values(attempts=model.attempts + 1, next_attempt_at=now + limits.retry)
        .returning(model.attempts)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if attempt is not None and attempt > 1:
        session.execute(
            update(model).where(model.id == row_id)
            .values(next_attempt_at=now + limits.backoff(attempt))
            .execution_options(synchronize_session=False)
        )
    return attempt


def process_once(transaction: Transaction, clock: Callable[[], datetime],
                 limits: InboundSettings, model: type, row_id: int,
                 apply: Callable[[Session, Any], Any]) -> Any:
    """Claim a stored row, apply it under its lock and mark it processed; return what
    `apply` returned, or SKIPPED when nothing was applied.

    A failure leaves the row for a later attempt, or gives it up after the last one.
    """
    name = f"{model.__tablename__} {row_id}"
    with transaction() as session:
        attempt = claim(session, model, row_id, clock(), limits)
    if attempt is None:
        return SKIPPED
    if attempt > limits.max_attempts:  # the last attempt's worker died before it could say
        _give_up(transaction, clock, model, row_id, name, attempt - 1)
        return SKIPPED
    try:
        with transaction() as session:
            row = session.scalars(
                select(model)
                .where(model.id == row_id, model.processed_at.is_(None),
                       model.gave_up_at.is_(None))
                .with_for_update()
            ).one_or_none()
            if row is None:
                return SKIPPED  # applied by another worker whose attempt outlived its wait
            value = apply(session, row)
            row.processed_at = clock()
        return value
    except Later:
        log.info("%s not applicable yet (attempt %d of %d)", name, attempt, limits.max_attempts)
    except Exception:
        if _processed(transaction, model, row_id):
            raise  # it was applied and committed; what failed came after, and is not ours
        log.warning("%s: attempt %d of %d failed", name, attempt, limits.max_attempts,
                    exc_info=True)
    if attempt >= limits.max_attempts:
        _give_up(transaction, clock, model, row_id, name, attempt)
    return SKIPPED


def due(session: Session, model: type, received: InstrumentedAttribute,
        *where: ColumnElement[bool], now: datetime, idle: timedelta,
        limit: int = SWEEP_BATCH) -> list[int]:
    """Return the rows to ring for, oldest first: never tried and older than `idle`, or due
    for a retry. At most `limit`, so a backlog is rung for a batch at a time."""
    return list(session.scalars(
        select(model.id).where(
            *where, model.processed_at.is_(None), model.gave_up_at.is_(None),
            or_(model.next_attempt_at <= now,
                model.next_attempt_at.is_(None) & (received <= now - idle)),
        ).order_by(model.id).limit(limit)
    ))


def ring(queue: Any, job: str, row_id: int) -> None:
    """Ring for a stored row's job; a doorbell that fails is left to the sweeper."""
    try:
        queue.enqueue(job, row_id)
    except Exception:  # noqa: BLE001 - the row is stored; the sweeper rings again
        log.exception("job %s for row %s could not be rung; the sweeper will", job, row_id)


def _processed(transaction: Transaction, model: type, row_id: int) -> bool:
    """Say whether a row is marked processed."""
    with transaction() as session:
        return session.scalar(select(model.processed_at).where(model.id == row_id)) is not None


def _give_up(transaction: Transaction, clock: Callable[[], datetime], model: type,
             row_id: int, name: str, attempts: int) -> None:
    """Mark a row given up, so that nothing tries it again, and say so at ERROR."""
    with transaction() as session:
        gave_up = session.execute(
            update(model)
            .where(model.id == row_id, model.processed_at.is_(None),
                   model.gave_up_at.is_(None))
            .values(gave_up_at=clock())
            .execution_options(synchronize_session=False)
        ).rowcount
    if gave_up:
        log.error("%s given up after %d failed attempts; it will not be processed", name,
                  attempts)


def insert_once(transaction: Transaction, write: Callable[[Session], Any]) -> int | None:
    """Store one row in its own transaction; return its id, None for one stored before.

    `write` returns the new row, or None when it finds the row there already; a concurrent
    write of the same row, refused by a unique constraint, also gives None.
    """
    try:
        with transaction() as session:
            row = write(session)
            if row is None:
                return None
            session.add(row)
            session.flush()
            return row.id
    except IntegrityError:
        return None  # the same row arrived twice at once; the other one stored it
