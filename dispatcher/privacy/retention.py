"""The retention purge: erase or coarsen personal data older than the retention period.

After RETENTION_DAYS an incident keeps what statistics need (kind, area, counts, roles,
distances, ETAs and every time) and loses what identifies a place or a person: its
address, notes and exact location, the volunteers' starting points, the text and phone
number of every message, the control room's free-text reasons and the events' payloads;
delivery reports are deleted.
An incident still open after the retention period is purged too: a stale incident must
not keep its data forever. Live positions are deleted after LIVE_POSITION_RETENTION_H.

Each step works in batches of its own transaction, so a large purge never holds locks
for long, and picks only rows not yet purged, so running it again does nothing.
docs/privacy.md describes what is kept and what is erased.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, delete, func, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from dispatcher.responders import registry
from dispatcher.runtime import Runtime
from dispatcher.store import sequence
from dispatcher.store.models import (
    Alert,
    Incident,
    Message,
    OutgoingEvent,
    Position,
    TimelineEvent,
    WebhookReceipt,
)
from dispatcher.store.reports import DeliveryReport

log = logging.getLogger(__name__)

BATCH = 500
# Two decimals of a degree: about 1.1 km north-south, and 0.55 km east-west at 60 degrees
# north. Enough for statistics by district, too coarse to find a door.
COARSE_DECIMALS = 2
# Timeline entries whose detail carries the control room's free text.
_FREE_TEXT_EVENTS = ("incident.cancelled", "incident.closed")
_UNSENT = ("queued", "sending")


@dataclass(frozen=True)
class PurgeReport:
    """How many rows a purge changed (or, in a dry run, would change)."""

    incidents: int = 0
    alerts: int = 0
    messages: int = 0
    events: int = 0
    receipts: int = 0
    reports: int = 0
    live_positions: int = 0
    tombstones: int = 0
    dry_run: bool = False

    def counts(self) -> dict[str, int]:
        """Return the counts by name, without the dry-run flag."""
        counts = asdict(self)
        counts.pop("dry_run")
        return counts


def cutoffs(rt: Runtime) -> tuple[datetime, datetime]:
    """Return the cutoffs for incident data and for live positions; refuse periods below 1."""
    kept = rt.settings.retention
    if kept.incident_data < timedelta(days=1) or kept.live_positions < timedelta(hours=1):
        raise ValueError(
            "DISPATCHER_RETENTION_DAYS and DISPATCHER_LIVE_POSITION_RETENTION_H must be at "
            "least 1: a shorter period would erase incidents still in progress"
        )
    now = rt.clock.now()
    return now - kept.incident_data, now - kept.live_positions


def purge(rt: Runtime, *, dry_run: bool = False, batch: int = BATCH) -> PurgeReport:
    """Erase what the retention period no longer allows keeping; return what was done.

    With `dry_run` nothing changes and the report says what a purge would do now.
    """
    cutoff, live_cutoff = cutoffs(rt)
    now = rt.clock.now()
    due = _incidents_due(cutoff)
    old_incidents = select(Incident.id).where(Incident.created_at < cutoff)
    old_alerts = select(Alert.id).where(Alert.incident_id.in_(old_incidents))

    def run(key: InstrumentedAttribute, query: Select, apply: Callable,
            positions: bool = False) -> int:
        if dry_run:
            return _count(rt, query)
        return _in_batches(rt, key, query, apply, batch, positions)

    # Events and free-text reasons go before their incidents are marked purged.
    events = run(OutgoingEvent.id, select(OutgoingEvent.id).where(
        OutgoingEvent.incident_id.in_(due)), _erase_events)
    if not dry_run:
        run(TimelineEvent.id, select(TimelineEvent.id).where(
            TimelineEvent.incident_id.in_(due), TimelineEvent.event.in_(_FREE_TEXT_EVENTS)),
            _erase_reasons)
    report = PurgeReport(
        events=events,
        incidents=run(Incident.id, due, lambda s, ids: _erase_incidents(s, ids, now)),
        alerts=run(Alert.id, select(Alert.id).where(
            Alert.incident_id.in_(old_incidents),
            or_(Alert.origin_lat.is_not(None), Alert.origin_lon.is_not(None))), _erase_origins),
        messages=run(Message.id, select(Message.id).where(
            or_(Message.created_at < cutoff, Message.alert_id.in_(old_alerts)),
            or_(Message.body != "", Message.address != "")),
            lambda s, ids: _erase_messages(s, ids, now)),
        receipts=run(WebhookReceipt.id, select(WebhookReceipt.id).where(
            WebhookReceipt.received_at < cutoff), _delete_receipts),
        reports=run(DeliveryReport.id, select(DeliveryReport.id).where(
            DeliveryReport.received_at < cutoff), _delete_reports),
        live_positions=run(Position.id, select(Position.id).where(
            Position.kind == "live", Position.deleted.is_(False),
            Position.observed_at < live_cutoff), _delete_live, positions=True),
        tombstones=run(Position.id, select(Position.id).where(
            Position.deleted.is_(True),
            or_(Position.lat != 0, Position.lon != 0, Position.accuracy_m.is_not(None))),
            _wipe_tombstones),
        dry_run=dry_run,
    )
    log.info("retention purge%s: %s", " (dry run)" if dry_run else "",
             ", ".join(f"{k}={v}" for k, v in report.counts().items()))
    return report


def _incidents_due(cutoff: datetime) -> Select:
    """Select incidents past the cutoff not yet purged, or given new details since they were.

    A stale open incident can still be updated after its purge; the changed time or the
    details themselves show it.
    """
    return select(Incident.id).where(
        Incident.created_at < cutoff,
        or_(
            Incident.purged_at.is_(None), Incident.updated_at > Incident.purged_at,
            Incident.address != "", Incident.notes != "", Incident.accuracy_m.is_not(None),
        ),
    )


def _count(rt: Runtime, query: Select) -> int:
    """Count the rows a query selects."""
    with rt.transaction() as session:
        return session.scalar(select(func.count()).select_from(query.subquery()))


def _in_batches(
    rt: Runtime, key: InstrumentedAttribute, query: Select,
    apply: Callable[[Session, list[int]], None], batch: int, positions: bool = False,
) -> int:
    """Apply a change to the selected rows, a batch per transaction, in key order.

    The rows of a batch are locked while it is changed; going by key means every row is
    looked at once, even one the change leaves selected. Position rows are locked only
    after the change counter, in the order every position writer takes them: a purge and
    a live report for the same volunteer must not wait for each other the other way round.
    """
    done, last = 0, None
    while True:
        page = query.order_by(key).limit(batch).with_for_update()
        with rt.transaction() as session:
            if positions:
                sequence.hold(session.connection())
            ids = list(session.scalars(page if last is None else page.where(key > last)))
            if ids:
                apply(session, ids)
        done += len(ids)
        if len(ids) < batch:
            return done
        last = ids[-1]


def _erase_incidents(session: Session, ids: list[int], now: datetime) -> None:
    """Erase address, notes and the exact location; mark the incidents purged."""
    for incident in session.scalars(select(Incident).where(Incident.id.in_(ids))):
        incident.address, incident.notes = "", ""
        incident.lat = round(incident.lat, COARSE_DECIMALS)
        incident.lon = round(incident.lon, COARSE_DECIMALS)
        incident.accuracy_m = None
        # A hash of the address and notes would let a guess at them be confirmed. A later
        # incident.created with the same id now conflicts instead of being a redelivery.
        incident.created_digest = ""
        incident.purged_at = now


def _erase_events(session: Session, ids: list[int]) -> None:
    """Erase the payloads of events to the control room; one never sent is given up."""
    session.execute(
        update(OutgoingEvent)
        .where(OutgoingEvent.id.in_(ids), OutgoingEvent.state == "pending")
        .values(state="abandoned", next_attempt_at=None, last_error="retention period passed")
    )
    session.execute(update(OutgoingEvent).where(OutgoingEvent.id.in_(ids)).values(payload={}))


def _erase_reasons(session: Session, ids: list[int]) -> None:
    """Erase the control room's free-text reason from cancelled and closed entries."""
    for entry in session.scalars(select(TimelineEvent).where(TimelineEvent.id.in_(ids))):
        if entry.detail.get("reason") is not None:
            entry.detail = {**entry.detail, "reason": None}


def _erase_origins(session: Session, ids: list[int]) -> None:
    """Erase where the volunteers were when alerted; distance, ETA and role stay."""
    session.execute(
        update(Alert).where(Alert.id.in_(ids)).values(origin_lat=None, origin_lon=None)
    )


def _erase_messages(session: Session, ids: list[int], now: datetime) -> None:
    """Erase message texts and phone numbers; purpose, status, error and times stay.

    A message never handed to the provider is cancelled first, so it is never sent empty;
    an inbound one never processed is given up, so it is never acted on empty.
    """
    session.execute(
        update(Message)
        .where(Message.id.in_(ids), Message.sid.is_(None), Message.status.in_(_UNSENT))
        .values(status="cancelled")
    )
    session.execute(
        update(Message)
        .where(Message.id.in_(ids), Message.direction == "in", Message.processed_at.is_(None),
               Message.gave_up_at.is_(None))
        .values(gave_up_at=now)
    )
    session.execute(update(Message).where(Message.id.in_(ids)).values(body="", address=""))


def _delete_receipts(session: Session, ids: list[int]) -> None:
    """Delete webhook receipts: a repeat that old is refused for its timestamp anyway."""
    session.execute(delete(WebhookReceipt).where(WebhookReceipt.id.in_(ids)))


def _delete_reports(session: Session, ids: list[int]) -> None:
    """Delete delivery reports: their messages' texts and numbers are gone by now too."""
    session.execute(delete(DeliveryReport).where(DeliveryReport.id.in_(ids)))


def _delete_live(session: Session, ids: list[int]) -> None:
    """Delete live positions through the registry, leaving tombstones without coordinates.

    The tombstone keeps its change number, so every process's index drops the position,
    and its observed_at, so an older report arriving late cannot bring it back.
    """
    for position in session.scalars(
        select(Position).where(Position.id.in_(ids)).order_by(Position.id)
    ):
        registry.remove_position(session, position)
        position.lat, position.lon, position.accuracy_m = 0.0, 0.0, None


def _wipe_tombstones(session: Session, ids: list[int]) -> None:
    """Zero the coordinates of deleted positions: an index reads only their ids."""
    session.execute(
        update(Position)
        .where(Position.id.in_(ids), Position.deleted.is_(True))
        .values(lat=0.0, lon=0.0, accuracy_m=None)
    )
