"""responders.follower: a process loads its index when it starts, then follows the database."""

from __future__ import annotations

import threading
import time

from sqlalchemy import select, text

from dispatcher.responders.follower import Follower, warm_up
from dispatcher.store.db import reading
from dispatcher.store.models import Responder
from tests.builders import create_incident, make_control_room, make_volunteer

DEADLINE_S = 15


def eventually(condition) -> bool:
    """Wait for a condition to hold, up to a deadline (a bound, not a measurement)."""
    end = time.monotonic() + DEADLINE_S
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_a_process_is_ready_once_its_index_is_loaded_and_then_follows_new_changes(rt):
    for north in (100, 200, 300):
        make_volunteer(rt, north_m=north)
    assert len(rt.index) == 0

    follower = warm_up(rt)
    try:
        assert rt.index_ready.wait(DEADLINE_S)
        assert len(rt.index) == 3
        make_volunteer(rt, north_m=400, travel_mode="car")
        assert eventually(lambda: len(rt.index) == 4)
        newest = max(rt.index.ring(59.3326, 18.0649, "car", 1000), default=None)
        assert newest is not None
    finally:
        follower.stop()
    assert not follower.is_alive()


def test_a_follower_that_cannot_read_keeps_the_process_unready_and_tries_again(rt, monkeypatch):
    attempts = []

    def failing_sync(*args, **kwargs):
        attempts.append(1)
        raise RuntimeError("database not up yet")

    monkeypatch.setattr("dispatcher.responders.spatial.sync", failing_sync)
    monkeypatch.setattr("dispatcher.responders.follower.RETRY_AFTER_S", 0.01)
    follower = warm_up(rt)
    try:
        assert eventually(lambda: len(attempts) >= 2)
        assert not rt.index_ready.is_set()
    finally:
        follower.stop()


def test_the_followers_reads_never_hold_back_a_writer(rt):
    make_volunteer(rt, north_m=100)
    written = threading.Event()
    with reading(rt.engine) as session:
        session.execute(select(Responder.id)).all()  # a read transaction is open

        def write():
            make_volunteer(rt, north_m=200)
            written.set()

        writer = threading.Thread(target=write)
        writer.start()
        assert written.wait(DEADLINE_S), "a writer waited on a reader"
        writer.join()
        assert session.execute(text("SELECT 1")).scalar() == 1


def test_a_search_that_loaded_the_index_first_leaves_the_follower_nothing_to_load(rt, client):
    make_volunteer(rt, north_m=100)
    room = make_control_room(rt)
    assert create_incident(client, room, rt).status_code == 202  # the search loads it
    loaded = rt.index.last_seq
    assert loaded > 0

    follower = warm_up(rt)
    try:
        assert rt.index_ready.wait(DEADLINE_S)
        assert rt.index.last_seq == loaded and len(rt.index) == 1
    finally:
        follower.stop()


def test_a_stopped_follower_stops(rt):
    follower = Follower(rt, every_s=0.01)
    follower.start()
    assert rt.index_ready.wait(DEADLINE_S)
    follower.stop()
    assert not follower.is_alive()
