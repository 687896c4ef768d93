"""positions.report_position: a volunteer's live position, stored unless a newer one is known.

These call the use case directly; the bearer token and the HTTP answers are tested in
tests/web/test_positions.py.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from dispatcher.errors import InvalidPayload, UnknownResponder
from dispatcher.responders import positions
from dispatcher.store.models import Position
from tests.builders import CENTRE, make_control_room, make_volunteer, offset, open_incident


def body(at, point=CENTRE, accuracy_m=15) -> bytes:
    """Return the bytes of a position report."""
    return json.dumps({"lat": point[0], "lon": point[1], "accuracy_m": accuracy_m,
                       "at": at.isoformat().replace("+00:00", "Z")}).encode()


def live_of(rt, responder) -> Position | None:
    """Return the volunteer's live position row, if any."""
    with rt.transaction() as session:
        return session.scalars(select(Position).where(
            Position.responder_id == responder.id, Position.kind == "live")).one_or_none()


@pytest.fixture
def feed(rt):
    """The organisation that registers the volunteers and reports their positions."""
    return make_control_room(rt, scopes=("positions:write",))


@pytest.fixture
def move(rt, feed):
    """Report a position body for a volunteer as the feed (or another owner); return the answer."""
    def move(ref: str, raw: bytes, owner=feed) -> dict:
        with rt.transaction() as session:
            return positions.report_position(rt, session, owner.client.id, ref, raw)
    return move


@pytest.fixture
def volunteer(rt, feed):
    """A volunteer registered by the feed's organisation, at home 5 km north of the centre."""
    return make_volunteer(rt, north_m=5000, owner=feed)


def test_a_fresh_report_is_stored_and_says_until_when_it_counts(move, rt, clock, volunteer):
    at = clock.now() - timedelta(seconds=30)

    answer = move(volunteer.ref, body(at))

    expires = at + rt.policy.live_ttl
    assert answer == {"ref": volunteer.ref, "applied": True, "reason": None, "fresh": True,
                      "expires_at": expires.isoformat().replace("+00:00", "Z")}
    live = live_of(rt, volunteer)
    assert (live.lat, live.lon, live.accuracy_m) == pytest.approx((*CENTRE, 15))
    assert live.observed_at.replace(tzinfo=at.tzinfo) == at


def test_an_older_report_than_the_one_known_is_ignored_and_says_why(
    move, rt, clock, volunteer
):
    newer = clock.now() - timedelta(seconds=10)
    move(volunteer.ref, body(newer))

    answer = move(volunteer.ref, body(newer - timedelta(minutes=1), point=offset(900)))

    assert answer["applied"] is False
    assert answer["fresh"] is False
    assert answer["reason"] == "a newer position is already known"
    assert (live_of(rt, volunteer).lat, live_of(rt, volunteer).lon) == pytest.approx(CENTRE)


def test_a_report_older_than_the_live_ttl_is_stored_but_not_fresh(move, rt, clock, volunteer):
    at = clock.now() - rt.policy.live_ttl - timedelta(minutes=1)

    answer = move(volunteer.ref, body(at))

    assert answer["applied"] is True
    assert answer["fresh"] is False
    assert live_of(rt, volunteer) is not None


def test_a_report_from_the_future_beyond_clock_skew_is_invalid_and_stores_nothing(
    move, rt, clock, volunteer
):
    with pytest.raises(InvalidPayload) as raised:
        move(volunteer.ref, body(clock.now() + timedelta(hours=1)))

    assert "at" in raised.value.fields
    assert live_of(rt, volunteer) is None


@pytest.mark.parametrize("report", [
    {"lat": 91, "lon": 18.0, "at": "2026-11-23T10:00:00Z"},
    {"lat": 59.3, "lon": 18.0},
    {"lat": "59.3", "lon": 18.0, "at": "2026-11-23T10:00:00Z"},
    {"lat": 59.3, "lon": 18.0, "at": "2026-11-23T10:00:00"},
], ids=["latitude-out-of-range", "no-time", "latitude-as-text", "time-without-zone"])
def test_a_report_that_is_not_a_position_is_invalid(move, rt, volunteer, report):
    with pytest.raises(InvalidPayload):
        move(volunteer.ref, json.dumps(report).encode())

    assert live_of(rt, volunteer) is None


def test_an_unknown_volunteer_is_refused(move, rt, clock):
    with pytest.raises(UnknownResponder):
        move("R-NOBODY", body(clock.now()))


def test_another_organisations_volunteer_is_refused_as_if_unknown(move, rt, clock):
    other = make_control_room(rt, scopes=("positions:write",))
    theirs = make_volunteer(rt, north_m=5000, owner=other)

    with pytest.raises(UnknownResponder) as refused:
        move(theirs.ref, body(clock.now()))

    assert refused.value.message == f"no volunteer {theirs.ref} registered by this client"
    assert live_of(rt, theirs) is None
    assert move(theirs.ref, body(clock.now()), owner=other)["applied"] is True


def test_a_volunteer_reported_near_an_incident_is_alerted_there(
    move, client, rt, clock, sms, room, volunteer
):
    move(volunteer.ref, body(clock.now(), point=offset(150)))

    status = open_incident(client, room, rt)

    assert status["counts"]["alerted"] == 1
    assert [m.to for m in sms.sent] == [volunteer.phone]
