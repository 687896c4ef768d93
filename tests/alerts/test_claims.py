"""Claiming volunteers: one open incident at a time each, and the fatigue cap, under concurrency.

The concurrent tests post incidents from real threads at the same moment, each through its
own HTTP client, on the real stack: PostgreSQL (READ COMMITTED) with Redis, and SQLite with
its queue.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import select

from dispatcher.alerts import claims, lifecycle
from dispatcher.domain.policy import Candidate, Policy
from dispatcher.store.models import Alert, Incident
from geo import Position
from tests.builders import (
    create_incident,
    make_control_room,
    make_volunteer,
    offset,
    open_incident,
)


def post_at_once(app, room, rt, ids: list[str], at) -> list[int]:
    """Post an incident.created for each id from its own thread, all at the same moment."""
    barrier = threading.Barrier(len(ids))

    def post(external_id: str) -> int:
        http = app.test_client()
        barrier.wait(timeout=30)
        return create_incident(http, room, rt, external_id, at=at).status_code

    with ThreadPoolExecutor(len(ids)) as pool:
        return list(pool.map(post, ids))


def engagements(rt) -> tuple[Counter, Counter]:
    """Count, per volunteer, the open incidents they are alerted for and their alerts today."""
    with rt.transaction() as session:
        rows = session.execute(
            select(Alert.responder_id, Alert.state, Incident.state)
            .join(Incident, Incident.id == Alert.incident_id)
        ).all()
    engaged = Counter(r for r, alert, incident in rows
                      if alert in lifecycle.ENGAGED and incident == "open")
    alerted = Counter(r for r, alert, _ in rows if alert != lifecycle.FAILED)
    return engaged, alerted


def candidate_for(volunteer) -> Candidate:
    """Return a volunteer as a candidate found 100 m from an incident."""
    lat, lon = offset(100)
    return Candidate(volunteer.id, 100.0, 70.0, Position(1, volunteer.id, lat, lon, "home"))


@pytest.fixture
def crowd(stack):
    """Twelve volunteers near one place; a wave asks up to five; at most three alerts a day."""
    app, rt, _ = stack(WAVE_SIZE=5, MAX_ALERTED=30, FATIGUE_MAX_ALERTS_24H=3)
    for i in range(12):
        make_volunteer(rt, north_m=50 + 40 * i)
    return app, rt, make_control_room(rt)


def test_twenty_incidents_at_once_at_one_place_never_share_a_volunteer(crowd):
    app, rt, room = crowd

    codes = post_at_once(app, room, rt, [f"CAD-{i}" for i in range(20)], offset(0))

    assert codes == [202] * 20
    engaged, alerted = engagements(rt)
    assert max(engaged.values()) == 1
    assert max(alerted.values()) <= 3
    assert sum(engaged.values()) == 12  # every volunteer was asked by one incident or other


def test_pairs_of_incidents_at_the_same_moment_never_share_a_volunteer(stack):
    app, rt, _ = stack(WAVE_SIZE=10, FATIGUE_MAX_ALERTS_24H=100)
    room = make_control_room(rt)
    for i in range(10):
        make_volunteer(rt, north_m=50 + 30 * i)

    for trial in range(6):
        codes = post_at_once(app, room, rt, [f"A-{trial}", f"B-{trial}"], offset(0))
        assert codes == [202, 202]
        engaged, _ = engagements(rt)
        assert max(engaged.values()) == 1
        assert sum(engaged.values()) == 10
        with rt.transaction() as session:  # end both, so the next pair finds everyone free
            for incident in session.scalars(select(Incident).where(Incident.state == "open")):
                incident.state = "closed"


def test_a_volunteer_alerted_elsewhere_since_the_pick_is_lost_and_the_reason_given(rt, client):
    room = make_control_room(rt)
    volunteer = make_volunteer(rt, north_m=100)
    open_incident(client, room, rt, "CAD-1")
    candidate = candidate_for(volunteer)

    with rt.transaction() as session:
        won, lost = claims.claim(session, Policy(), [candidate], now=rt.clock.now(),
                                 on=rt.clock.now().date())

    assert won == []
    assert lost == {"engaged elsewhere": 1}


def test_a_free_volunteer_is_won(rt):
    volunteer = make_volunteer(rt, north_m=100)
    candidate = candidate_for(volunteer)

    with rt.transaction() as session:
        won, lost = claims.claim(session, Policy(), [candidate], now=rt.clock.now(),
                                 on=rt.clock.now().date())

    assert won == [candidate] and lost == {}


def test_a_volunteer_another_transaction_holds_is_skipped_not_waited_for(rt, db_url):
    if not db_url.startswith("postgresql"):
        pytest.skip("needs concurrent transactions")
    held, free = make_volunteer(rt, north_m=100), make_volunteer(rt, north_m=200)
    locked, release = threading.Event(), threading.Event()

    def hold():
        with rt.transaction() as session:
            claims.lock_volunteers(session, [held.id])
            locked.set()
            release.wait(timeout=10)

    other = threading.Thread(target=hold)
    other.start()
    try:
        assert locked.wait(timeout=10)
        with rt.transaction() as session:
            got = claims.lock_volunteers(session, [held.id, free.id])
    finally:
        release.set()
        other.join(timeout=10)

    assert got == {free.id}


def test_the_fatigue_cap_is_read_again_under_the_lock(rt):
    volunteer = make_volunteer(rt, north_m=100)
    policy = Policy(fatigue_max_24h=0)
    candidate = candidate_for(volunteer)

    with rt.transaction() as session:
        won, lost = claims.claim(session, policy, [candidate],
                                 now=rt.clock.now() + timedelta(seconds=1),
                                 on=rt.clock.now().date())

    assert won == [] and lost == {"fatigue cap": 1}
