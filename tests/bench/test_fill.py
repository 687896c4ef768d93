"""The benchmarks' registry fill: rows the service reads as its own, in a whole change sequence."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bench import data
from bench.fill import fill
from dispatcher.domain import hours
from dispatcher.domain import policy as rules
from dispatcher.store.db import make_engine
from dispatcher.store.models import ChangeCounter, Position, Responder
from tests.builders import make_volunteer

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def read_back(url: str) -> tuple[list[Responder], list[Position], int]:
    """Return every volunteer, every position in sequence order, and the counter's value."""
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            return (list(session.scalars(select(Responder).order_by(Responder.id))),
                    list(session.scalars(select(Position).order_by(Position.seq))),
                    session.get(ChangeCounter, 1).value)
    finally:
        engine.dispose()


def test_filled_volunteers_are_stored_with_the_eligibility_the_policy_reads(db_url):
    lat, lon = data.points("clustered", 300, seed=3)

    registry = fill(db_url, lat, lon, now=NOW)

    responders, positions, _ = read_back(db_url)
    assert [r.ref for r in responders] == registry.refs
    passes = {r.id: rules.ineligibility(
        rules.Policy(), rules.Volunteer(r.id, r.birth_year, r.cert_expires, r.status,
                                        r.paused_until, engaged=False, alerts_24h=0),
        on=NOW.date(), now=NOW) is None for r in responders}
    assert [passes[p.responder_id] for p in positions] == registry.eligible(NOW).tolist()
    assert set(passes.values()) == {True, False}
    assert [(p.lat, p.lon, p.kind) for p in positions] == list(zip(
        registry.pos_lat.tolist(), registry.pos_lon.tolist(), registry.pos_kind.tolist(),
        strict=True))
    assert {p.kind for p in positions} == {"home", "work", "live"}
    assert all(hours.is_open(p.schedule, NOW.replace(tzinfo=None)) is not None
               for p in positions)


def test_the_change_sequence_is_whole_and_the_service_writes_after_it(db_url, rt):
    lat, lon = data.points("uniform", 200, seed=4)
    fill(db_url, lat, lon, now=NOW)
    _, positions, counter = read_back(db_url)

    newcomer = make_volunteer(rt, at=(59.33, 18.06))

    seqs = [p.seq for p in positions]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))) and counter == seqs[-1]
    assert newcomer.id == 201
    _, after, _ = read_back(db_url)
    assert after[-1].responder_id == newcomer.id and after[-1].seq > counter
