"""An alert's life: each move starts only from the states it may, and says whether it moved."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from dispatcher.alerts import lifecycle
from dispatcher.store.models import Alert
from tests.builders import create_incident, make_control_room, make_volunteer

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
LATER = datetime(2026, 11, 23, 10, 1, tzinfo=UTC)
ALL = lifecycle.STATES


def alert_in(state: str) -> Alert:
    """Return an alert (not stored) in a state, last changed at NOW."""
    return Alert(id=1, state=state, updated_at=NOW, role=None, aed_id=None)


MOVES = {
    "mark_delivered": (lambda a: lifecycle.mark_delivered(a, LATER), "delivered",
                       {"pending", "sent"}),
    "accept": (lambda a: lifecycle.accept(a, LATER, role="cpr", aed_id=None, eta_s=90.0),
               "accepted", {"pending", "sent", "delivered", "expired", "declined", "failed",
                            "stood_down"}),
    "decline": (lambda a: lifecycle.decline(a, LATER), "declined",
                {"pending", "sent", "delivered", "expired", "declined", "failed", "accepted"}),
    "turn_away": (lambda a: lifecycle.turn_away(a, LATER), "stood_down",
                  {"pending", "sent", "delivered", "expired", "declined", "failed"}),
    "expire": (lambda a: lifecycle.expire([a], LATER) == 1, "expired",
               {"pending", "sent", "delivered"}),
    "fail": (lambda a: lifecycle.fail(a, LATER, 30003), "failed", {"pending", "sent", "delivered"}),
    "stand_down": (lambda a: lifecycle.stand_down(a, LATER, "the incident was closed"),
                   "stood_down", {"pending", "sent", "delivered", "accepted"}),
}


@pytest.mark.parametrize("move", sorted(MOVES))
@pytest.mark.parametrize("start", ALL)
def test_a_move_is_made_only_from_the_states_it_starts_from(move, start):
    act, to, allowed = MOVES[move]
    alert = alert_in(start)

    moved = act(alert)

    if start in allowed:
        assert moved is True
        assert (alert.state, alert.updated_at) == (to, LATER)
    else:
        assert moved is False
        assert (alert.state, alert.updated_at) == (start, NOW)


def test_accepting_records_the_role_the_aed_the_eta_and_when():
    alert = alert_in("delivered")

    lifecycle.accept(alert, LATER, role="aed", aed_id=7, eta_s=240.5)

    assert (alert.role, alert.aed_id, alert.eta_s, alert.responded_at) == ("aed", 7, 240.5, LATER)


def test_declining_after_yes_gives_the_role_and_the_aed_back():
    alert = alert_in("accepted")
    alert.role, alert.aed_id = "aed", 7

    lifecycle.decline(alert, LATER)

    assert (alert.state, alert.role, alert.aed_id, alert.responded_at) == (
        "declined", None, None, LATER)


def test_the_sets_of_states_say_who_is_waiting_and_who_is_busy():
    assert set(lifecycle.WAITING) == {"pending", "sent", "delivered"}
    assert set(lifecycle.ENGAGED) == set(lifecycle.WAITING) | {"accepted"}
    assert set(lifecycle.STATES) >= set(lifecycle.ENGAGED) | set(lifecycle.ANSWERABLE)


def test_a_move_logs_why_it_was_made(caplog):
    alert = alert_in("sent")

    with caplog.at_level("INFO", logger="dispatcher.alerts.lifecycle"):
        lifecycle.fail(alert, LATER, 30003)

    assert "sent -> failed" in caplog.text and "30003" in caplog.text


def test_a_new_alert_is_pending_and_only_a_pending_one_is_marked_sent(rt, client):
    room = make_control_room(rt)
    make_volunteer(rt, north_m=100)
    make_volunteer(rt, north_m=200)
    create_incident(client, room, rt)
    with rt.transaction() as session:
        first, second = session.scalars(select(Alert).order_by(Alert.id)).all()
        assert {first.state, second.state} <= {"pending", "sent"}
        lifecycle.decline(second, rt.clock.now())
        session.flush()

        assert lifecycle.mark_sent(session, second.id, rt.clock.now()) is False
        session.refresh(second)
        assert second.state == "declined"


@pytest.mark.postgres_only
def test_lock_reads_the_alert_again_after_another_transaction_changed_it(rt, client, db_url):
    if not db_url.startswith("postgresql"):
        pytest.skip("needs concurrent transactions")
    room = make_control_room(rt)
    make_volunteer(rt, north_m=100)
    create_incident(client, room, rt)
    with rt.transaction() as session:
        alert_id = session.scalars(select(Alert.id)).one()
    holding, release = threading.Event(), threading.Event()

    def wave_end():
        with rt.transaction() as session:
            alert = session.get(Alert, alert_id)
            lifecycle.lock(session, alert)
            lifecycle.expire([alert], rt.clock.now())
            session.flush()
            holding.set()
            release.wait(timeout=10)

    other = threading.Thread(target=wave_end)
    other.start()
    assert holding.wait(timeout=10)
    with rt.transaction() as session:
        alert = session.get(Alert, alert_id)
        assert alert.state in lifecycle.WAITING  # as first read, before the other commits
        threading.Timer(0.3, release.set).start()
        lifecycle.lock(session, alert)  # waits for the other to commit, then reads again

        assert alert.state == "expired"
        assert lifecycle.fail(alert, rt.clock.now(), 30003) is False
    other.join(timeout=10)
