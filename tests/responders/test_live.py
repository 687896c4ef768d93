"""live.write: live positions in one statement, the newest report winning, numbered in order."""

from __future__ import annotations

import random
import threading
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from dispatcher.responders import live, registry
from dispatcher.store.models import ChangeCounter, Position
from tests.builders import CENTRE, make_control_room, make_volunteer, offset


def report(volunteer, at, north_m: float = 0.0) -> live.LiveReport:
    """Return a report of a volunteer so many metres north of the centre."""
    lat, lon = offset(north_m)
    return live.LiveReport(volunteer.ref, lat, lon, 10.0, at)


def write(rt, reports, owner) -> dict[str, bool]:
    """Write reports as an owner (a control room, or None for the registry's own writes)."""
    with rt.transaction() as session:
        return live.write(session, reports, owner_id=owner.client.id if owner else None)


def live_row(rt, volunteer) -> Position | None:
    """Return a volunteer's live row, if any."""
    with rt.transaction() as session:
        return session.scalars(select(Position).where(
            Position.responder_id == volunteer.id, Position.label == "live")).one_or_none()


def counter(rt) -> int:
    """Return the change counter's value."""
    with rt.transaction() as session:
        return session.scalar(select(ChangeCounter.value))


@pytest.fixture
def room(rt):
    """The organisation that registers the volunteers."""
    return make_control_room(rt, scopes=("positions:write",))


def test_only_the_owners_volunteers_are_found_and_written(rt, clock, room):
    other = make_control_room(rt)
    ours = make_volunteer(rt, owner=room)
    theirs = make_volunteer(rt, owner=other)
    nobodys = make_volunteer(rt)
    now = clock.now()

    found = write(rt, [report(v, now) for v in (ours, theirs, nobodys)], room)

    assert found == {ours.ref: True}
    assert live_row(rt, ours) is not None
    assert live_row(rt, theirs) is None and live_row(rt, nobodys) is None


def test_the_registry_may_write_any_volunteer(rt, clock, room):
    nobodys = make_volunteer(rt)

    assert write(rt, [report(nobodys, clock.now())], None) == {nobodys.ref: True}


def test_a_batch_takes_consecutive_numbers_in_report_order_and_moves_the_counter(
    rt, clock, room
):
    volunteers = [make_volunteer(rt, owner=room) for _ in range(4)]
    before = counter(rt)
    now = clock.now()

    write(rt, [report(v, now) for v in reversed(volunteers)], room)

    assert [live_row(rt, v).seq for v in reversed(volunteers)] == list(
        range(before + 1, before + 5))
    assert counter(rt) == before + 4


def test_a_stale_report_is_skipped_without_taking_a_number(rt, clock, room):
    a, b, c = (make_volunteer(rt, owner=room) for _ in range(3))
    now = clock.now()
    write(rt, [report(a, now)], room)
    before = counter(rt)

    found = write(rt, [report(b, now), report(a, now - timedelta(seconds=1), 900),
                       report(c, now)], room)

    assert found == {a.ref: False, b.ref: True, c.ref: True}
    assert (live_row(rt, b).seq, live_row(rt, c).seq) == (before + 1, before + 2)
    assert counter(rt) == before + 2
    assert live_row(rt, a).lat == pytest.approx(CENTRE[0])


def test_a_write_that_applies_nothing_takes_no_number(rt, clock, room):
    volunteer, nobodys = make_volunteer(rt, owner=room), make_volunteer(rt)
    write(rt, [report(volunteer, clock.now())], room)
    before = counter(rt)

    assert write(rt, [report(volunteer, clock.now())], room) == {volunteer.ref: False}
    assert write(rt, [report(nobodys, clock.now())], room) == {}

    assert counter(rt) == before


def test_a_newer_report_overwrites_the_row_with_a_new_number(rt, clock, room):
    volunteer = make_volunteer(rt, owner=room)
    now = clock.now()
    write(rt, [report(volunteer, now)], room)
    first = live_row(rt, volunteer)

    write(rt, [report(volunteer, now + timedelta(seconds=1), 300)], room)

    row = live_row(rt, volunteer)
    assert (row.id, row.observed_at) == (first.id, now + timedelta(seconds=1))
    assert row.seq > first.seq
    assert row.lat == pytest.approx(offset(300)[0])


def test_a_late_report_does_not_bring_back_a_deleted_position_but_a_newer_one_does(
    rt, clock, room
):
    volunteer = make_volunteer(rt, owner=room)
    now = clock.now()
    write(rt, [report(volunteer, now)], room)
    with rt.transaction() as session:
        registry.remove_position(session, session.get(Position, live_row(rt, volunteer).id))

    late = write(rt, [report(volunteer, now - timedelta(seconds=30))], room)
    assert late == {volunteer.ref: False}
    assert live_row(rt, volunteer).deleted is True

    newer = write(rt, [report(volunteer, now + timedelta(seconds=30))], room)
    assert newer == {volunteer.ref: True}
    assert live_row(rt, volunteer).deleted is False


def test_a_volunteer_may_be_reported_only_once_per_write(rt, clock, room):
    volunteer = make_volunteer(rt, owner=room)

    with pytest.raises(ValueError, match="once"):
        write(rt, [report(volunteer, clock.now())] * 2, room)


def test_a_live_update_is_one_statement_on_postgresql_and_two_on_sqlite(rt, clock, room):
    volunteer = make_volunteer(rt, owner=room)
    statements = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(rt.engine, "before_cursor_execute", count)
    try:
        found = write(rt, [report(volunteer, clock.now())], room)
    finally:
        event.remove(rt.engine, "before_cursor_execute", count)

    assert found == {volunteer.ref: True}
    writes = [s for s in statements if not s.lstrip().upper().startswith(("BEGIN", "COMMIT"))]
    assert len(writes) == (1 if rt.engine.dialect.name == "postgresql" else 2), writes


# --- concurrent writers -----------------------------------------------------------------------


def test_concurrent_writers_lose_no_update_and_numbers_become_visible_in_order(
    rt, clock, room
):
    if rt.engine.dialect.name != "postgresql":
        pytest.skip("SQLite takes one writer at a time; PostgreSQL is where writers race")
    volunteers = [make_volunteer(rt, owner=room) for _ in range(12)]
    base = clock.now()
    writers, rounds = 4, 25
    sent: dict[str, list] = {v.ref: [] for v in volunteers}
    done = threading.Event()
    errors: list[BaseException] = []
    seen: dict[int, tuple[int, object]] = {}  # volunteer id -> (seq, observed_at) replayed

    def feed(w: int) -> None:
        rng = random.Random(w)
        try:
            for k in range(rounds):
                batch = rng.sample(volunteers, k=rng.randint(1, len(volunteers)))
                # Interleaved times: every writer's reports overtake and lag the others'.
                at = base + timedelta(milliseconds=k * writers + rng.randrange(writers * 3))
                reports = [report(v, at, north_m=k) for v in batch]
                for r in reports:
                    sent[r.ref].append(r.at)
                write(rt, reports, room)
        except BaseException as exc:  # noqa: BLE001 - handed to the test's thread
            errors.append(exc)

    def replay() -> None:
        """Follow the sequence as an index does: rows above the last number seen, in order."""
        last = 0
        try:
            while True:
                finished = done.is_set()
                with rt.transaction() as session:
                    rows = session.execute(
                        select(Position.responder_id, Position.seq, Position.observed_at)
                        .where(Position.label == "live", Position.seq > last)
                        .order_by(Position.seq)).all()
                for responder_id, seq, observed_at in rows:
                    previous = seen.get(responder_id)
                    assert previous is None or previous[1] < observed_at, "reordered"
                    seen[responder_id] = (seq, observed_at)
                    last = seq
                if finished:
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=feed, args=(w,)) for w in range(writers)]
    reader = threading.Thread(target=replay)
    reader.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    done.set()
    reader.join(timeout=120)

    assert errors == []
    assert not any(t.is_alive() for t in [*threads, reader])
    rows = {v.id: live_row(rt, v) for v in volunteers}
    for v in volunteers:
        if sent[v.ref]:
            # No lost update: the newest report sent is the one stored.
            assert rows[v.id].observed_at == max(sent[v.ref])
            # Nothing was missed by a reader that trusted the numbers' order.
            assert seen[v.id] == (rows[v.id].seq, rows[v.id].observed_at)
    assert counter(rt) == max(row.seq for row in rows.values() if row is not None)
