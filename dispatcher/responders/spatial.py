"""Keep this process's spatial index and roster in step with the database.

Every write a search must know of carries a number of the change sequence
(`store.sequence`). A process loads the whole registry once, in bulk, when it starts (or
when it has fallen far behind: `sync` decides), then applies only the rows numbered above
the last number it has seen, just before each search. Reads are bounded by the counter's
committed value, so two tables read one after the other can never skip a change between them.
"""

from __future__ import annotations

import gc
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from functools import partial

import numpy as np
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from dispatcher.domain.roster import Roster, StaticRow
from dispatcher.store import sequence
from dispatcher.store.db import READ_ONLY
from dispatcher.store.models import Position as PositionRow
from dispatcher.store.models import Responder
from geo import Position, PositionChange, ResponderChange, ResponderIndex
from geo.columns import NO_TIME, PositionRows, encode, micros

log = logging.getLogger(__name__)

# Beyond this many changes to catch up, reloading everything in bulk is faster than
# applying them one by one (about 0.1 ms each against a few seconds for a million rows).
BULK_AFTER = 50_000
LOAD_BATCH = 25_000


def sync(index: ResponderIndex, session: Session, roster: Roster | None = None, *,
         parallel: bool = False) -> int:
    """Apply every change written since the index last looked; return how many.

    An index never loaded, or far behind, is loaded in bulk (`parallel`: reading on a
    second connection too, for a process starting, which holds no other). Only one thread
    of a process catches up at a time: another that comes meanwhile waits for it, then
    finds little or nothing left to do.
    """
    with index.updating:
        return _sync(index, session, roster, parallel)


def _sync(index: ResponderIndex, session: Session, roster: Roster | None,
          parallel: bool) -> int:
    connection = session.connection()
    upto = sequence.current(connection)
    if upto <= index.last_seq:
        return 0
    if index.last_seq == 0 or upto - index.last_seq > BULK_AFTER:
        return _load(index, session, roster, parallel)
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


def _load(index: ResponderIndex, session: Session, roster: Roster | None,
          parallel: bool) -> int:
    started = time.monotonic()
    connection = session.connection()
    upto = sequence.current(connection)
    sql = _Sql(connection.dialect.name, index.modes)
    responders = partial(
        _read, table="responders", columns_sql=f"id, {sql.mode('travel_mode')}, "
        f"CASE WHEN status = 'active' THEN 1 ELSE 0 END, {sql.micros('paused_until')}, "
        f"birth_year, {sql.ordinal('cert_expires')}, seq", where="seq <= :upto", upto=upto,
        convert=lambda c: (
            np.asarray(c[0], np.int64), np.asarray(c[1], np.int8), np.asarray(c[2], np.bool_),
            _as_micros(c[3]), np.asarray(c[4], np.int16), _as_ordinals(c[5]),
            np.asarray(c[6], np.int64),
        ), columns=7)
    names: dict[str, list[str]] = {"kind": [], "schedule": []}
    codes: dict[str, dict[str, int]] = {"kind": {}, "schedule": {}}
    positions = partial(
        _read, connection, "positions", f"id, responder_id, lat, lon, kind, schedule, "
        f"{sql.micros('observed_at')}, accuracy_m", "seq <= :upto AND NOT deleted", upto,
        lambda c: (
            np.asarray(c[0], np.int64), np.asarray(c[1], np.int64),
            np.asarray(c[2], np.float64), np.asarray(c[3], np.float64),
            encode(list(c[4]), names["kind"], codes["kind"]),
            encode(list(c[5]), names["schedule"], codes["schedule"]),
            _as_micros(c[6]), np.asarray(c[7], np.float64),  # None reads as NaN
        ), columns=8)
    if parallel:
        # At start, the volunteers are read on a second connection while this one reads
        # the positions: the driver lets go of the interpreter while it waits on the
        # network. (A search that finds its process far behind reads on its own connection
        # alone: others may be waiting for the index, each holding one.)
        with ThreadPoolExecutor(1) as pool, connection.engine.connect() as other:
            other.execution_options(**{READ_ONLY: True})
            volunteers = pool.submit(responders, other)
            pid, rid, lat, lon, kinds, schedules, observed, accuracy = positions()
            ids, mode_codes, *static = volunteers.result()
    else:
        ids, mode_codes, *static = responders(connection)
        pid, rid, lat, lon, kinds, schedules, observed, accuracy = positions()
    if roster is not None:
        roster.load(ids, *static)
    rows = PositionRows(pid, rid, lat, lon, kinds, names["kind"], schedules, names["schedule"],
                        observed, accuracy)
    index.load(rows, ids, mode_codes, upto)
    # The index is arrays and C trees; what is left for the collector is the app's own,
    # and freezing it keeps full collections from walking it again during searches.
    gc.collect()
    gc.freeze()
    log.info("spatial index loaded: %d positions, %d volunteers, in %.1f s",
             len(rows), len(ids), time.monotonic() - started)
    return len(rows)


def _read(connection, table: str, columns_sql: str, where: str, upto: int, convert,
          columns: int) -> list[np.ndarray]:
    """Read a table in pages of `LOAD_BATCH` rows by id, each page's columns into arrays.

    Plain SQL, no ORM: a row costs what the driver makes of it, and pages by key keep the
    memory to one page of Python objects at a time.
    """
    parts, after = [], -1
    page = text(f"SELECT {columns_sql} FROM {table} WHERE {where} AND id > :after "
                f"ORDER BY id LIMIT {LOAD_BATCH}")
    compiled = page.compile(dialect=connection.dialect)
    driver = connection.connection.driver_connection
    # The driver's own cursor: its tuples, no wrapping; PostgreSQL's binary format sends
    # numbers as numbers, not as text to parse.
    cursor = (driver.cursor(binary=True) if connection.dialect.name == "postgresql"
              else driver.cursor())
    try:
        while True:
            params = compiled.construct_params({"upto": upto, "after": after})
            if compiled.positional:
                params = [params[name] for name in compiled.positiontup]
            cursor.execute(compiled.string, params)
            batch = cursor.fetchall()
            if not batch:
                break
            parts.append(convert(list(zip(*batch, strict=True))))
            after = batch[-1][0]
            del batch
    finally:
        cursor.close()
    if not parts:
        parts.append(convert([[] for _ in range(columns)]))
    return [np.concatenate(column) for column in zip(*parts, strict=True)]


class _Sql:
    """Expressions that let the database hand over numbers rather than dates and names."""

    def __init__(self, dialect: str, modes: tuple[str, ...]) -> None:
        self._postgres, self._modes = dialect == "postgresql", modes

    def mode(self, column: str) -> str:
        """The index of a travel mode in the index's modes (an unknown one: the first)."""
        cases = " ".join(f"WHEN '{mode}' THEN {code}" for code, mode in enumerate(self._modes))
        return f"CASE {column} {cases} ELSE 0 END"

    def micros(self, column: str) -> str:
        """A time as microseconds since the epoch (PostgreSQL), or as stored (SQLite)."""
        if not self._postgres:
            return column
        return (f"COALESCE(CAST(EXTRACT(EPOCH FROM {column}) * 1000000 AS BIGINT), "
                f"{int(NO_TIME)})")

    def ordinal(self, column: str) -> str:
        """A date as its proleptic Gregorian ordinal (PostgreSQL), or as stored (SQLite)."""
        return f"({column} - DATE '0001-01-01' + 1)" if self._postgres else column


def _as_micros(values) -> np.ndarray:
    """Times as the database gave them (numbers, or SQLite's text) into microseconds."""
    if all(isinstance(v, int) for v in values[:1]):
        return np.asarray(values, np.int64)
    return np.fromiter((micros(datetime.fromisoformat(v) if isinstance(v, str) else v)
                        for v in values), np.int64, len(values))


def _as_ordinals(values) -> np.ndarray:
    """Dates as the database gave them (numbers, or SQLite's text) into ordinals."""
    if all(isinstance(v, int) for v in values[:1]):
        return np.asarray(values, np.int32)
    return np.fromiter((_ordinal(v) for v in values), np.int32, len(values))


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
