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
from tests.builders import CENTRE, make_volunteer, offset, open_incident


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
def volunteer(rt):
    """A volunteer registered at home, 5 km north of the centre."""
    return make_volunteer(rt, north_m=5000)


def test_a_fresh_report_is_stored_and_says_until_when_it_counts(rt, clock, volunteer):
    at = clock.now() - timedelta(seconds=30)

    answer = positions.report_position(rt, volunteer.ref, body(at))

    expires = at + rt.policy.live_ttl
    assert answer == {"ref": volunteer.ref, "applied": True, "reason": None, "fresh": True,
                      "expires_at": expires.isoformat().replace("+00:00", "Z")}
    live = live_of(rt, volunteer)
    assert (live.lat, live.lon, live.accuracy_m) == pytest.approx((*CENTRE, 15))
    assert live.observed_at.replace(tzinfo=at.tzinfo) == at


def test_an_older_report_than_the_one_known_is_ignored_and_says_why(rt, clock, volunteer):
    newer = clock.now() - timedelta(seconds=10)
    positions.report_position(rt, volunteer.ref, body(newer))

    answer = positions.report_position(
        rt, volunteer.ref, body(newer - timedelta(minutes=1), point=offset(900)))

    assert answer["applied"] is False
    assert answer["fresh"] is False
    assert answer["reason"] == "a newer position is already known"
    assert (live_of(rt, volunteer).lat, live_of(rt, volunteer).lon) == pytest.approx(CENTRE)


def test_a_report_older_than_the_live_ttl_is_stored_but_not_fresh(rt, clock, volunteer):
    at = clock.now() - rt.policy.live_ttl - timedelta(minutes=1)

    answer = positions.report_position(rt, volunteer.ref, body(at))

    assert answer["applied"] is True
    assert answer["fresh"] is False
    assert live_of(rt, volunteer) is not None


def test_a_report_from_the_future_beyond_clock_skew_is_invalid_and_stores_nothing(
    rt, clock, volunteer
):
    with pytest.raises(InvalidPayload) as raised:
        positions.report_position(rt, volunteer.ref, body(clock.now() + timedelta(hours=1)))

    assert "at" in raised.value.fields
    assert live_of(rt, volunteer) is None


@pytest.mark.parametrize("report", [
    {"lat": 91, "lon": 18.0, "at": "2026-11-23T10:00:00Z"},
    {"lat": 59.3, "lon": 18.0},
    {"lat": "59.3", "lon": 18.0, "at": "2026-11-23T10:00:00Z"},
    {"lat": 59.3, "lon": 18.0, "at": "2026-11-23T10:00:00"},
], ids=["latitude-out-of-range", "no-time", "latitude-as-text", "time-without-zone"])
def test_a_report_that_is_not_a_position_is_invalid(rt, volunteer, report):
    with pytest.raises(InvalidPayload):
        positions.report_position(rt, volunteer.ref, json.dumps(report).encode())

    assert live_of(rt, volunteer) is None


def test_an_unknown_volunteer_is_refused(rt, clock):
    with pytest.raises(UnknownResponder):
        positions.report_position(rt, "R-NOBODY", body(clock.now()))


def test_a_volunteer_reported_near_an_incident_is_alerted_there(
    client, rt, clock, sms, room, volunteer
):
    positions.report_position(rt, volunteer.ref, body(clock.now(), point=offset(150)))

    status = open_incident(client, room, rt)

    assert status["counts"]["alerted"] == 1
    assert [m.to for m in sms.sent] == [volunteer.phone]
