"""Live positions written in one statement: the newest report wins, numbered in sequence.

A batch of reports (one, or an operator feed's many) becomes one upsert of the `live` rows
of the volunteers the reporting client registered (`Responder.owner_id`), with the owner
check, the newer-than-known check and the change sequence all in the database:

- The source rows are the reports joined to `responders` on their reference *and* the owner,
  so another organisation's volunteer is never written and looks exactly like an unknown one.
- `ON CONFLICT (responder_id, label) DO UPDATE ... WHERE positions.observed_at <
  excluded.observed_at`: an older report never overwrites a newer one, nor a tombstone's time
  (a deleted live row keeps its observed_at), whatever order the reports arrive in.
- Numbers of the change sequence: the counter row is locked before any position row is
  written, the rows take the numbers after the counter's value in report order, and the
  counter is set to the highest number written, all before commit. Every writer of positions
  takes the counter's lock first and keeps it until commit (`store.models.ChangeCounter`), so
  numbers still become visible in order. A report found stale is skipped before it is
  numbered, so the numbers of one batch are consecutive; only a report that a concurrent
  writer made stale after the statement began (PostgreSQL) leaves one number unused, which
  no reader depends on.

On PostgreSQL this is a single statement (the counter's lock, the upsert and the counter's
update as data-modifying CTEs). SQLite has no such CTEs, and a write transaction there holds
the database's write lock from its start (BEGIN IMMEDIATE), so it takes two: the upsert
numbered from the counter, then the counter's update.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

from sqlalchemy import (
    Connection,
    Float,
    Integer,
    String,
    and_,
    bindparam,
    column,
    exists,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from dispatcher.store.columns import UTCDateTime
from dispatcher.store.models import ChangeCounter, Position, Responder

LIVE = "live"


@dataclass(frozen=True)
class LiveReport:
    """One live position of one volunteer, checked."""

    ref: str
    lat: float
    lon: float
    accuracy_m: float | None
    at: datetime


def write(
    session: Session, reports: Sequence[LiveReport], *, owner_id: int | None
) -> dict[str, bool]:
    """Write the reports of one owner's volunteers; map each ref found to whether it applied.

    A ref missing from the answer is no volunteer of this owner. Each ref may appear once.
    `owner_id=None` is for the registry's own writes (demo data, drills): any volunteer.
    """
    if not reports:
        return {}
    if len({r.ref for r in reports}) != len(reports):
        raise ValueError("each volunteer may be reported once per write")
    dialect = session.get_bind().dialect.name
    params = {"items": json.dumps([
        {"i": i, "ref": r.ref, "lat": r.lat, "lon": r.lon, "accuracy_m": r.accuracy_m,
         "at": _stored_time(r.at, dialect)} for i, r in enumerate(reports)])}
    if owner_id is not None:
        params["owner_id"] = owner_id
    session.flush()  # the statements below go past the session, straight to its connection
    if dialect == "postgresql":
        rows = session.connection().execute(_postgresql(owner_id is None), params).all()
        return {ref: applied for ref, applied in rows}
    return _write_sqlite(session.connection(), params, [r.ref for r in reports])


def _stored_time(at: datetime, dialect: str) -> str:
    """Write a time as the dialect stores it, so SQLite's text times compare in order."""
    utc = at.astimezone(UTC)
    if dialect == "postgresql":
        return utc.isoformat()
    return utc.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def _items(dialect: str):
    """Return the reports as a table of rows (i, ref, lat, lon, accuracy_m, at) from one JSON."""
    names = ("i", "ref", "lat", "lon", "accuracy_m", "at")
    if dialect == "postgresql":
        source = text(
            "SELECT * FROM jsonb_to_recordset(CAST(:items AS jsonb)) AS x(i integer, ref text, "
            "lat double precision, lon double precision, accuracy_m double precision, "
            "at timestamptz)"
        )
    else:
        source = text("SELECT " + ", ".join(
            f"json_extract(value, '$.{name}') AS {name}" for name in names
        ) + " FROM json_each(:items)")
    types = (Integer, String, Float, Float, Float, UTCDateTime)
    table = source.columns(*(column(n, t()) for n, t in zip(names, types, strict=True)))
    # PostgreSQL reads the JSON once for the whole statement; SQLite where it is used.
    return table.cte("items") if dialect == "postgresql" else table.subquery("items")


def _owned(any_owner: bool):
    """Return the condition that a volunteer is the owner's (any volunteer's for the registry)."""
    return true() if any_owner else Responder.owner_id == bindparam("owner_id", type_=Integer)


def _fresh(items, any_owner: bool, numbered_from):
    """Select the owner's volunteers whose report is newer than the live row known now."""
    known = aliased(Position)
    return (
        select(
            Responder.id.label("responder_id"), items.c.ref, items.c.lat, items.c.lon,
            items.c.accuracy_m, items.c.at,
            (numbered_from + func.row_number().over(order_by=items.c.i)).label("seq"),
        )
        .select_from(items)
        .join(Responder, and_(Responder.ref == items.c.ref, _owned(any_owner)))
        .outerjoin(known, and_(known.responder_id == Responder.id, known.label == LIVE))
        .where(or_(known.observed_at.is_(None), known.observed_at < items.c.at))
    )


def _upsert(insert, fresh):
    """Return the upsert of the fresh rows that keeps a newer row known at conflict time."""
    rows = fresh.subquery("fresh")
    stmt = insert(Position).from_select(
        ["responder_id", "kind", "label", "lat", "lon", "accuracy_m", "observed_at", "seq",
         "deleted", "schedule"],
        select(rows.c.responder_id, literal(LIVE), literal(LIVE), rows.c.lat, rows.c.lon,
               rows.c.accuracy_m, rows.c.at, rows.c.seq, false(), literal(None, String))
        .where(true()),  # SQLite reads "ON CONFLICT" after a SELECT only past a WHERE
    )
    return stmt.on_conflict_do_update(
        index_elements=[Position.responder_id, Position.label],
        set_={name: stmt.excluded[name] for name in (
            "kind", "lat", "lon", "accuracy_m", "observed_at", "seq", "deleted", "schedule")},
        where=or_(Position.observed_at.is_(None),
                  Position.observed_at < stmt.excluded.observed_at),
    ).returning(Position.responder_id, Position.seq)


@cache
def _postgresql(any_owner: bool):
    """Return the one statement: lock the counter, upsert, advance the counter, answer."""
    items = _items("postgresql")
    counter = (select(ChangeCounter.value).where(ChangeCounter.id == 1)
               .with_for_update().cte("counter"))
    fresh = _fresh(items, any_owner, select(counter.c.value).scalar_subquery())
    written = _upsert(postgresql.insert, fresh).cte("written")
    advanced = (
        update(ChangeCounter)
        .where(ChangeCounter.id == 1, exists(select(written.c.seq)))
        .values(value=select(func.max(written.c.seq)).scalar_subquery())
        .returning(ChangeCounter.value)
        .cte("advanced")
    )
    found = (select(Responder.id, Responder.ref).join(items, items.c.ref == Responder.ref)
             .where(_owned(any_owner)).cte("found"))
    return (select(found.c.ref, written.c.seq.is_not(None))
            .select_from(found.outerjoin(written, written.c.responder_id == found.c.id))
            .add_cte(advanced))


@cache
def _sqlite(any_owner: bool):
    """Return SQLite's statements: the numbered upsert, and the look-up of refs not written."""
    counter = select(ChangeCounter.value).where(ChangeCounter.id == 1).scalar_subquery()
    upsert = _upsert(sqlite.insert, _fresh(_items("sqlite"), any_owner, counter)).returning(
        literal_column("(SELECT ref FROM responders WHERE responders.id = positions.responder_id)",
                       String))
    known = select(Responder.ref).where(Responder.ref.in_(bindparam("refs", expanding=True)),
                                        _owned(any_owner))
    return upsert, known


def _write_sqlite(conn: Connection, params: dict, refs: Sequence[str]) -> dict[str, bool]:
    """Upsert numbered from the counter, then advance it (the write lock is already held)."""
    upsert, known = _sqlite("owner_id" not in params)
    written = {ref: seq for _, seq, ref in conn.execute(upsert, params).all()}
    if written:
        conn.execute(update(ChangeCounter).where(ChangeCounter.id == 1)
                        .values(value=max(written.values())))
    answer = dict.fromkeys(written, True)
    if missing := [ref for ref in refs if ref not in written]:
        # Not written: stale, or no volunteer of this owner; only then is it worth a look.
        found = conn.scalars(known, {**params, "refs": missing})
        answer.update(dict.fromkeys(found, False))
    return answer
