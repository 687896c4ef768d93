"""Scratch databases for the benchmarks, and a registry of N volunteers written to one fast.

`scratch_database` gives a migrated SQLite file or PostgreSQL schema and removes it after.
`fill` writes volunteers with realistic static eligibility and their positions in bulk:
COPY on PostgreSQL, one executemany per table on SQLite, never the ORM one by one. It keeps
the change sequence whole (positions.seq 1..M, the change_counter row at M; where volunteers
are numbered too, they take 1..N and their positions the numbers after), so a process's
index catches up from it exactly as from writes made through the service.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
from sqlalchemy import Engine, insert, text

from dispatcher.control_rooms import clients
from dispatcher.store.db import make_engine, make_sessionmaker, transaction, upgrade
from dispatcher.store.models import ChangeCounter, Position, Responder

POSTGRES_URL = os.environ.get("DISPATCHER_BENCH_POSTGRES_URL",
                              "postgresql+psycopg://127.0.0.1:5432/test")
# Where PostGIS lives when the benchmarks installed it: a schema of its own, so the
# database's public schema and the tests' schemas stay as they were.
POSTGIS_SCHEMA = "postgis"
HOME_WHEN_WORKING = "Mo-Fr 00:00-08:00,17:00-24:00; Sa,Su 00:00-24:00"
WORK_HOURS = "Mo-Fr 08:00-17:00"
_REF_ALPHABET = np.frombuffer(b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ", dtype="S1")


@contextmanager
def scratch_database(kind: str) -> Iterator[str]:
    """Yield the URL of a fresh migrated database ("sqlite" or "postgresql"); drop it after."""
    if kind == "sqlite":
        folder = tempfile.mkdtemp(prefix="bench-db-")
        url = f"sqlite:///{folder}/dispatcher.db"
        try:
            _migrate(url)
            yield url
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    schema = f"bench_{os.getpid()}_{int(time.time() * 1000) % 10**8}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in POSTGRES_URL else "?"
    url = f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema},{POSTGIS_SCHEMA}"
    try:
        _migrate(url)
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()


def _migrate(url: str) -> None:
    """Bring a database's schema up to date."""
    engine = make_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()


def make_client(url: str, name: str = "bench", scopes=("events", "incidents:read",
                                                        "positions:write")) -> clients.NewClient:
    """Create a control-room client with its secret and token; return it."""
    engine = make_engine(url)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            return clients.create_client(session, name, datetime.now(UTC), scopes=scopes)
    finally:
        engine.dispose()


@dataclass
class Registry:
    """What was written, as arrays: volunteers by index i (id i + 1), positions by row."""

    birth_year: np.ndarray
    cert_expires: np.ndarray  # days since 1970-01-01
    active: np.ndarray  # status "active"
    paused_until: np.ndarray  # seconds since the epoch, 0 when not paused
    refs: list[str]
    pos_lat: np.ndarray
    pos_lon: np.ndarray
    pos_responder: np.ndarray  # the volunteer's id
    pos_kind: np.ndarray  # "home" | "work" | "live"
    seconds: float = 0.0

    @property
    def volunteers(self) -> int:
        """Return how many volunteers were written."""
        return len(self.refs)

    @property
    def positions(self) -> int:
        """Return how many positions were written."""
        return len(self.pos_lat)

    def eligible(self, now: datetime, min_age: int = 18) -> np.ndarray:
        """Return, per position, whether its volunteer passes the static checks at `now`."""
        today = (now.date() - date(1970, 1, 1)).days
        ok = (self.active & (self.cert_expires >= today)
              & (now.year - self.birth_year - 1 >= min_age)
              & (self.paused_until <= now.timestamp()))
        return ok[self.pos_responder - 1]


def refs_for(ids: np.ndarray) -> list[str]:
    """Return the public references of volunteer ids: "R" and seven letters, one per id."""
    digits = (ids[:, None] // (32 ** np.arange(7))) % 32
    return ["R" + r.decode() for r in _REF_ALPHABET[digits].view("S7").ravel()]


def fill(url: str, lat: np.ndarray, lon: np.ndarray, *, seed: int = 7,
         now: datetime | None = None, owner_id: int | None = None, work_share: float = 0.2,
         live_share: float = 0.1) -> Registry:
    """Write one volunteer per (lat, lon) home, with places, live positions and the sequence.

    A `work_share` of them also work somewhere (weekdays 08-17, at home otherwise), and a
    `live_share` reported a live position near home in the last 30 minutes (so about half
    of those are fresh). Statuses, certificates, ages, pauses and travel modes vary as in a
    real registry. `owner_id` is the control-room client that registered them, where the
    schema keeps one. The database must be freshly migrated (empty registry).
    """
    started = time.perf_counter()
    now = now or datetime.now(UTC)
    rng = np.random.default_rng(seed)
    n = len(lat)
    reg, responders = _volunteers(n, rng, now)
    homes = (np.arange(1, n + 1), np.full(n, "home"), lat, lon)
    works = rng.uniform(0, 1, n) < work_share
    k = int(works.sum())
    jitter = rng.normal(0, 300, (2, k))
    at = rng.integers(0, n, k)  # someone else's home: work lies where people are
    work = (np.flatnonzero(works) + 1, np.full(k, "work"),
            lat[at] + jitter[0] / 111_195, lon[at] + jitter[1] / 56_700)
    lives = rng.uniform(0, 1, n) < live_share
    m = int(lives.sum())
    jitter = rng.normal(0, 500, (2, m))
    live = (np.flatnonzero(lives) + 1, np.full(m, "live"),
            lat[lives] + jitter[0] / 111_195, lon[lives] + jitter[1] / 56_700)
    reg.pos_responder, reg.pos_kind, reg.pos_lat, reg.pos_lon = (
        np.concatenate(parts) for parts in zip(homes, work, live, strict=True))
    seen = [now - timedelta(minutes=30 * f) for f in rng.uniform(0, 1, m).tolist()]
    schedules = {"home": None, "work": WORK_HOURS}
    positions = [
        {"id": i + 1, "responder_id": int(r), "kind": kind, "label": kind,
         "lat": float(a), "lon": float(b),
         "accuracy_m": None, "observed_at": None, "seq": i + 1, "deleted": False,
         "schedule": HOME_WHEN_WORKING if kind == "home" and works[r - 1] else schedules.get(kind)}
        for i, (r, kind, a, b) in enumerate(zip(reg.pos_responder.tolist(), reg.pos_kind.tolist(),
                                                 reg.pos_lat.tolist(), reg.pos_lon.tolist(),
                                                 strict=True))
    ]
    for row, observed in zip(positions[n + k:], seen, strict=True):
        row["accuracy_m"], row["observed_at"] = 15.0, observed
    _adapt(responders, positions, owner_id)
    engine = make_engine(url)
    try:
        write = _copy if engine.dialect.name == "postgresql" else _executemany
        write(engine, responders, positions)
    finally:
        engine.dispose()
    reg.seconds = time.perf_counter() - started
    return reg


def _adapt(responders: list[dict], positions: list[dict], owner_id: int | None) -> None:
    """Fill the columns the schema has grown: the volunteer's owner and change number.

    Where volunteers are numbered in the change sequence too, they take 1..N and their
    positions the numbers after, as if each volunteer had been registered, then placed.
    """
    columns = Responder.__table__.c
    for row in responders:
        if "owner_id" in columns:
            row["owner_id"] = owner_id
        if "seq" in columns:
            row["seq"] = row["id"]
    if "seq" in columns:
        for row in positions:
            row["seq"] += len(responders)


def _volunteers(n: int, rng: np.random.Generator, now: datetime) -> tuple[Registry, list[dict]]:
    """Draw n volunteers' static eligibility; return it as arrays and as rows."""
    ids = np.arange(1, n + 1)
    status = rng.choice(np.array(["active", "opted_out", "invalid_number"]), n,
                        p=[0.95, 0.03, 0.02])
    birth_year = now.year - rng.integers(16, 76, n)  # a few are under 18
    today = (now.date() - date(1970, 1, 1)).days
    cert = np.where(rng.uniform(0, 1, n) < 0.9, today + rng.integers(1, 1000, n),
                    today - rng.integers(1, 700, n))
    paused = rng.uniform(0, 1, n) < 0.02
    pause_s = np.where(paused, now.timestamp() + rng.uniform(3600, 86400 * 7, n), 0.0)
    mode = rng.choice(np.array(["walk", "bike", "car"]), n, p=[0.5, 0.3, 0.2])
    language = rng.choice(np.array(["sv", "en"]), n, p=[0.7, 0.3])
    refs = refs_for(ids)
    epoch = date(1970, 1, 1)
    rows = [
        {"id": i, "ref": ref, "phone": f"+4676{i:07d}", "name": "Bench Volunteer",
         "language": lang, "birth_year": by, "cert_expires": epoch + timedelta(days=c),
         "status": st, "paused_until": datetime.fromtimestamp(p, UTC) if p else None,
         "opted_out_at": now if st == "opted_out" else None, "travel_mode": tm,
         "channel": "sms", "created_at": now, "updated_at": now}
        for i, ref, lang, by, c, st, p, tm in zip(
            ids.tolist(), refs, language.tolist(), birth_year.tolist(), cert.tolist(),
            status.tolist(), pause_s.tolist(), mode.tolist(), strict=True)
    ]
    reg = Registry(birth_year=birth_year, cert_expires=cert, active=status == "active",
                   paused_until=pause_s, refs=refs, pos_lat=np.empty(0), pos_lon=np.empty(0),
                   pos_responder=np.empty(0, int), pos_kind=np.empty(0, str))
    return reg, rows


def _copy(engine: Engine, responders: list[dict], positions: list[dict]) -> None:
    """Write the rows with COPY, then move the id sequences and the change counter on.

    The two tables' secondary indexes and constraints are dropped for the COPY and made
    again after it: building an index once is much quicker than growing it row by row.
    """
    raw = engine.raw_connection()
    try:
        cursor = raw.driver_connection.cursor()
        for table, rows in (("responders", responders), ("positions", positions)):
            rebuild = _drop_secondary(cursor, table)
            columns = list(rows[0])
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                lines = []
                for row in rows:
                    lines.append("\t".join(map(_text, row.values())))
                    if len(lines) == 20_000:
                        copy.write("\n".join(lines) + "\n")
                        lines = []
                if lines:
                    copy.write("\n".join(lines) + "\n")
            for statement in rebuild:
                cursor.execute(statement)
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), %s)",
                           (len(rows),))
        cursor.execute("UPDATE change_counter SET value = %s WHERE id = 1", (_last(positions),))
        raw.commit()
        cursor.execute("ANALYZE responders")
        cursor.execute("ANALYZE positions")
        raw.commit()
    finally:
        raw.close()


_FORMATS = {type(None): lambda _: "\\N", bool: lambda v: "t" if v else "f",
            datetime: datetime.isoformat, date: date.isoformat}


def _text(value: object) -> str:
    """Write one value in COPY's text format (the benchmarks' values need no escaping)."""
    return _FORMATS.get(type(value), str)(value)


def _drop_secondary(cursor, table: str) -> list[str]:
    """Drop a table's foreign keys, unique constraints and other indexes; return their remaking."""
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype IN ('u', 'f')", (table,))
    constraints = cursor.fetchall()
    cursor.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s "
        "AND schemaname = current_schema() AND indexname NOT IN "
        "(SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)", (table, table))
    indexes = cursor.fetchall()
    for name, _ in constraints:
        cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
    for name, _ in indexes:
        cursor.execute(f"DROP INDEX {name}")
    return ([definition for _, definition in indexes]
            + [f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}"
               for name, definition in constraints])


def _last(positions: list[dict]) -> int:
    """Return the highest number of the change sequence written."""
    return positions[-1]["seq"] if positions else 0


def _executemany(engine: Engine, responders: list[dict], positions: list[dict]) -> None:
    """Write the rows with one executemany per table, in one transaction."""
    with engine.begin() as conn:
        for table, rows in ((Responder.__table__, responders), (Position.__table__, positions)):
            for start in range(0, len(rows), 50_000):
                conn.execute(insert(table), rows[start:start + 50_000])
        conn.execute(ChangeCounter.__table__.update().where(ChangeCounter.id == 1)
                     .values(value=_last(positions)))
