"""Keep this process's spatial index and roster in step with the database.

Every write a search must know of carries a number of the change sequence
(`store.sequence`). A process loads the whole registry once, in bulk, when it starts (or
when it has fallen far behind), then applies only the rows numbered above the last number
it has seen, just before each search. Reads are bounded by the counter's committed value,
so two tables read one after the other can never skip a change between them.
"""

from __future__ import annotations

import gc
import logging
import time
from datetime import date

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatcher.domain.roster import Roster, StaticRow
from dispatcher.store import sequence
from dispatcher.store.models import Position as PositionRow
from dispatcher.store.models import Responder
from geo import Position, PositionChange, ResponderChange, ResponderIndex
from geo.columns import PositionRows, micros

log = logging.getLogger(__name__)

# Beyond this many changes to catch up, reloading everything in bulk is faster than
# applying them one by one (about 0.1 ms each against a few seconds for a million rows).
BULK_AFTER = 50_000
LOAD_BATCH = 50_000


def sync(index: ResponderIndex, session: Session, roster: Roster | None = None) -> int:
    """Apply every change written since the index last looked; return how many."""
    with index.updating:
        return _sync(index, session, roster)


def _sync(index: ResponderIndex, session: Session, roster: Roster | None) -> int:
    connection = session.connection()
    upto = sequence.current(connection)
    if upto <= index.last_seq:
        return 0
    if index.last_seq == 0 or upto - index.last_seq > BULK_AFTER:
        return _load(index, session, roster)
    since = index.last_seq
    positions = session.execute(
        select(PositionRow.id, PositionRow.responder_id, PositionRow.lat, PositionRow.lon,
               PositionRow.kind, PositionRow.schedule, PositionRow.observed_at,
               PositionRow.accuracy_m, PositionRow.seq, PositionRow.deleted)
        .where(PositionRow.seq > since, PositionRow.seq <= upto)
    ).all()
    responders = session.execute(
        select(Responder.id, Responder.travel_mode, Responder.seq, Responder.status,
               Responder.paused_until, Responder.birth_year, Responder.cert_expires)
        .where(Responder.seq > since, Responder.seq <= upto)
    ).all()
    if roster is not None:
        roster.update([StaticRow(r.id, r.status, r.paused_until, r.birth_year, r.cert_expires,
                                 r.seq) for r in responders])
    changes: list[PositionChange | ResponderChange] = [
        ResponderChange(seq=r.seq, responder_id=r.id, mode=_mode(index, r.travel_mode))
        for r in responders
    ]
    changes += [_change(row) for row in positions]
    applied = index.apply(changes)
    # A row written twice in one transaction keeps only its last number: the counter says
    # how far the changes reach.
    index.advance(upto)
    return applied


def load(index: ResponderIndex, session: Session, roster: Roster | None = None) -> int:
    """Load the whole registry into the index (and roster) in bulk; return the rows loaded."""
    with index.updating:
        return _load(index, session, roster)


def _load(index: ResponderIndex, session: Session, roster: Roster | None) -> int:
    started = time.monotonic()
    upto = sequence.current(session.connection())
    volunteers = session.execute(
        select(Responder.id, Responder.travel_mode, Responder.status, Responder.paused_until,
               Responder.birth_year, Responder.cert_expires, Responder.seq)
        .where(Responder.seq <= upto)
    ).all()
    ids = np.fromiter((r.id for r in volunteers), np.int64, len(volunteers))
    modes = [_mode(index, r.travel_mode) for r in volunteers]
    if roster is not None:
        roster.load(
            ids,
            np.fromiter((r.status == "active" for r in volunteers), np.bool_, len(volunteers)),
            np.fromiter((micros(r.paused_until) for r in volunteers), np.int64, len(volunteers)),
            np.fromiter((r.birth_year for r in volunteers), np.int16, len(volunteers)),
            np.fromiter((_ordinal(r.cert_expires) for r in volunteers), np.int32,
                        len(volunteers)),
            np.fromiter((r.seq for r in volunteers), np.int64, len(volunteers)),
        )
    del volunteers
    rows = _position_rows(session, upto)
    index.load(rows, ids, modes, upto)
    # The index is arrays and C trees; what is left for the collector is the app's own,
    # and freezing it keeps full collections from walking it again during searches.
    gc.collect()
    gc.freeze()
    log.info("spatial index loaded: %d positions, %d volunteers, in %.1f s",
             len(rows), len(ids), time.monotonic() - started)
    return len(rows)


def _position_rows(session: Session, upto: int) -> PositionRows:
    """Read every live position row numbered up to `upto`, in batches, into arrays."""
    parts: list[tuple] = []
    result = session.execute(
        select(PositionRow.id, PositionRow.responder_id, PositionRow.lat, PositionRow.lon,
               PositionRow.kind, PositionRow.schedule, PositionRow.observed_at,
               PositionRow.accuracy_m)
        .where(PositionRow.seq <= upto, PositionRow.deleted.is_(False)),
        execution_options={"yield_per": LOAD_BATCH},
    )
    for batch in result.partitions():
        columns = list(zip(*batch, strict=True))
        parts.append((
            np.asarray(columns[0], np.int64), np.asarray(columns[1], np.int64),
            np.asarray(columns[2], np.float64), np.asarray(columns[3], np.float64),
            list(columns[4]), list(columns[5]),
            np.fromiter((micros(at) for at in columns[6]), np.int64, len(batch)),
            np.asarray([np.nan if a is None else a for a in columns[7]], np.float64),
        ))
    if not parts:
        empty = np.zeros(0, np.int64)
        return PositionRows(empty, empty, np.zeros(0), np.zeros(0), [], [], empty, np.zeros(0))
    joined = list(zip(*parts, strict=True))
    return PositionRows(
        ids=np.concatenate(joined[0]), responder_ids=np.concatenate(joined[1]),
        lat=np.concatenate(joined[2]), lon=np.concatenate(joined[3]),
        kinds=[k for part in joined[4] for k in part],
        schedules=[s for part in joined[5] for s in part],
        observed_us=np.concatenate(joined[6]), accuracy_m=np.concatenate(joined[7]),
    )


def _change(row) -> PositionChange:
    """Turn a position row into an index change."""
    if row.deleted:
        return PositionChange(seq=row.seq, position=None, position_id=row.id, deleted=True)
    position = Position(
        id=row.id, responder_id=row.responder_id, lat=row.lat, lon=row.lon, kind=row.kind,
        schedule=row.schedule, observed_at=row.observed_at, accuracy_m=row.accuracy_m,
    )
    return PositionChange(seq=row.seq, position=position, position_id=row.id, deleted=False)


def _mode(index: ResponderIndex, mode: str) -> str:
    """Return a travel mode the index knows (an unknown one is searched as the first)."""
    return mode if mode in index.modes else index.modes[0]


def _ordinal(day: date | str) -> int:
    return (day if isinstance(day, date) else date.fromisoformat(day)).toordinal()
