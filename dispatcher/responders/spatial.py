"""Keep this process's spatial index in step with the database, and find volunteers with it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatcher.domain import policy as rules
from dispatcher.store.models import Position as PositionRow
from dispatcher.store.models import Responder
from geo import Position, PositionChange, ResponderIndex

SYNC_BATCH = 5000


def sync(index: ResponderIndex, session: Session) -> int:
    """Apply every position change written since the index last looked; return how many."""
    applied = 0
    while True:
        rows = session.scalars(
            select(PositionRow)
            .where(PositionRow.seq > index.last_seq)
            .order_by(PositionRow.seq)
            .limit(SYNC_BATCH)
        ).all()
        if not rows:
            return applied
        applied += index.apply(_change(row) for row in rows)
        if len(rows) < SYNC_BATCH:
            return applied


def _change(row: PositionRow) -> PositionChange:
    """Turn a position row into an index change."""
    if row.deleted:
        return PositionChange(seq=row.seq, position=None, position_id=row.id, deleted=True)
    position = Position(
        id=row.id, responder_id=row.responder_id, lat=row.lat, lon=row.lon, kind=row.kind,
        schedule=row.schedule, observed_at=row.observed_at, accuracy_m=row.accuracy_m,
    )
    return PositionChange(seq=row.seq, position=position, position_id=row.id, deleted=False)


def nearby(
    index: ResponderIndex, session: Session, policy: rules.Policy, *, lat: float, lon: float,
    radius_m: float, now: datetime, local_now: datetime,
) -> list[rules.Candidate]:
    """Return the volunteers within the radius at their usable positions, best ETA first."""
    sync(index, session)

    def usable(position: Position) -> bool:
        live = index.live_position(position.responder_id)
        return rules.position_usable(
            position, now=now, local_now=local_now, live_ttl=policy.live_ttl,
            has_fresh_live=rules.is_fresh(live, now=now, live_ttl=policy.live_ttl),
        )

    hits = index.nearest_responders(lat, lon, radius_m, usable=usable)
    if not hits:
        return []
    modes = dict(
        session.execute(
            select(Responder.id, Responder.travel_mode).where(
                Responder.id.in_([h.responder_id for h in hits])
            )
        ).all()
    )
    return rules.rank(
        rules.candidate(h.responder_id, h.distance_m, h.position, modes.get(h.responder_id, "walk"))
        for h in hits
        if h.responder_id in modes
    )
