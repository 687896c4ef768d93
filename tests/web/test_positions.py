"""PUT /api/v1/responders/<ref>/position: live positions from an app or a positioning feed."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from dispatcher.store.models import Alert, Position
from tests.builders import (
    CENTRE,
    create_incident,
    event,
    make_control_room,
    make_volunteer,
    offset,
    post_event,
)
from tests.web.assertions import assert_error, bearer


def iso(at) -> str:
    """Write a time as the API takes it."""
    return at.isoformat().replace("+00:00", "Z")


def put_position(http, ref: str, body, headers: dict, content_type="application/json"):
    """PUT a position body (a dict, or raw text) for a volunteer."""
    data = body if isinstance(body, str) else json.dumps(body)
    return http.put(
        f"/api/v1/responders/{ref}/position", data=data, headers=headers, content_type=content_type
    )


def report(at, lat=CENTRE[0], lon=CENTRE[1], accuracy_m=15) -> dict:
    """Return a position report."""
    return {"lat": lat, "lon": lon, "accuracy_m": accuracy_m, "at": iso(at)}


def live_rows(rt, responder) -> list[Position]:
    """Return the volunteer's live position rows."""
    with rt.transaction() as session:
        return session.scalars(
            select(Position).where(
                Position.responder_id == responder.id, Position.kind == "live"
            )
        ).all()


@pytest.fixture
def feed(rt):
    """A positioning feed whose token may write positions and nothing else."""
    return make_control_room(rt, scopes=("positions:write",))


@pytest.fixture
def volunteer(rt, feed):
    """A volunteer registered by the feed's organisation, at home 5 km north of the centre."""
    return make_volunteer(rt, north_m=5000, owner=feed)


def test_good_position_is_applied(client, rt, clock, feed, volunteer):
    response = put_position(client, volunteer.ref, report(clock.now()), bearer(feed.token))

    assert response.status_code == 200, response.json
    assert response.json["ref"] == volunteer.ref
    assert response.json["applied"] is True
    assert response.json["fresh"] is True
    assert response.json["expires_at"] == iso(clock.now() + timedelta(minutes=15))
    [row] = live_rows(rt, volunteer)
    assert (row.lat, row.lon, row.accuracy_m) == (CENTRE[0], CENTRE[1], 15)
    assert row.observed_at == clock.now()


@pytest.mark.parametrize("older_by", [timedelta(seconds=1), timedelta(minutes=3)])
def test_older_position_than_the_known_one_is_not_applied(
    client, rt, clock, feed, volunteer, older_by
):
    put_position(client, volunteer.ref, report(clock.now()), bearer(feed.token))

    response = put_position(
        client, volunteer.ref, report(clock.now() - older_by, lat=59.40), bearer(feed.token)
    )

    assert response.status_code == 200, response.json
    assert response.json["applied"] is False
    assert response.json["reason"]
    [row] = live_rows(rt, volunteer)
    assert row.lat == CENTRE[0]
    assert row.observed_at == clock.now()


def test_same_position_time_again_is_not_applied(client, clock, feed, volunteer):
    put_position(client, volunteer.ref, report(clock.now()), bearer(feed.token))

    response = put_position(client, volunteer.ref, report(clock.now()), bearer(feed.token))

    assert response.status_code == 200
    assert response.json["applied"] is False


def test_newer_position_replaces_the_known_one(client, rt, clock, feed, volunteer):
    put_position(client, volunteer.ref, report(clock.now() - timedelta(minutes=1)),
                 bearer(feed.token))

    response = put_position(client, volunteer.ref, report(clock.now(), lat=59.34),
                            bearer(feed.token))

    assert response.json["applied"] is True
    [row] = live_rows(rt, volunteer)
    assert row.lat == 59.34


def test_position_older_than_the_ttl_is_stored_but_not_fresh(client, clock, feed, volunteer):
    response = put_position(
        client, volunteer.ref, report(clock.now() - timedelta(minutes=20)), bearer(feed.token)
    )

    assert response.status_code == 200
    assert response.json["applied"] is True
    assert response.json["fresh"] is False


def test_position_for_an_unknown_volunteer_is_not_found(client, clock, feed):
    response = put_position(client, "RZZZZZZZ", report(clock.now()), bearer(feed.token))

    assert_error(response, 404, "unknown_responder")
    assert response.json["error"]["message"] == "no volunteer RZZZZZZZ registered by this client"


def test_a_client_cannot_move_another_organisations_volunteer(client, rt, clock, feed):
    other = make_control_room(rt, scopes=("positions:write",))
    theirs = make_volunteer(rt, north_m=5000, owner=other, live=CENTRE,
                            live_at=clock.now() - timedelta(minutes=1))

    response = put_position(client, theirs.ref, report(clock.now(), lat=59.40),
                            bearer(feed.token))

    # The same answer as for nobody at all: the other organisation's volunteers stay unknown.
    assert_error(response, 404, "unknown_responder")
    assert response.json["error"]["message"] == (
        f"no volunteer {theirs.ref} registered by this client")
    [row] = live_rows(rt, theirs)
    assert (row.lat, row.observed_at) == (CENTRE[0], clock.now() - timedelta(minutes=1))


def test_a_volunteer_registered_by_no_organisation_cannot_be_moved(client, rt, clock, feed):
    unowned = make_volunteer(rt, north_m=5000)

    response = put_position(client, unowned.ref, report(clock.now()), bearer(feed.token))

    assert_error(response, 404, "unknown_responder")
    assert live_rows(rt, unowned) == []


def test_the_organisation_that_registered_a_volunteer_moves_them(client, rt, clock):
    other = make_control_room(rt, scopes=("positions:write",))
    owner = make_control_room(rt, scopes=("positions:write",))
    volunteer = make_volunteer(rt, north_m=5000, owner=owner)
    put_position(client, volunteer.ref, report(clock.now()), bearer(other.token))

    response = put_position(client, volunteer.ref, report(clock.now(), lat=59.34),
                            bearer(owner.token))

    assert response.status_code == 200, response.json
    assert response.json["applied"] is True
    [row] = live_rows(rt, volunteer)
    assert row.lat == 59.34


def _set(**values):
    """Return an edit that sets fields of a report."""
    return lambda r: r.update(values)


def _drop(key):
    """Return an edit that removes a field of a report."""
    return lambda r: r.pop(key)


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (_set(lat=90.5), "lat"),
        (_set(lat=-91), "lat"),
        (_set(lon=180.1), "lon"),
        (_set(lon=-181), "lon"),
        (_set(lat="59.3"), "lat"),
        (_set(lat="north"), "lat"),
        (_set(lat=True), "lat"),
        (_set(lon=None), "lon"),
        (_drop("lat"), "lat"),
        (_drop("at"), "at"),
        (_set(at="2026-11-23T10:00:00"), "at"),
        (_set(at="five past ten"), "at"),
        (_set(accuracy_m=-1), "accuracy_m"),
    ],
    ids=["lat-90.5", "lat--91", "lon-180.1", "lon--181", "lat-numeric-string", "lat-word",
         "lat-bool", "lon-null", "no-lat", "no-at", "naive-at", "at-word", "accuracy-negative"],
)
def test_invalid_position_is_refused_naming_the_field(
    client, rt, clock, feed, volunteer, edit, field
):
    body = report(clock.now())
    edit(body)

    response = put_position(client, volunteer.ref, body, bearer(feed.token))

    assert_error(response, 422, "invalid_payload", field=field)
    assert live_rows(rt, volunteer) == []


@pytest.mark.parametrize(("minutes_ahead", "status"), [(10, 422), (6, 422), (4, 200)])
def test_position_from_the_future_beyond_clock_skew_is_refused(
    client, rt, clock, feed, volunteer, minutes_ahead, status
):
    at = clock.now() + timedelta(minutes=minutes_ahead)

    response = put_position(client, volunteer.ref, report(at), bearer(feed.token))

    if status == 422:
        assert_error(response, 422, "invalid_payload", field="at")
        assert live_rows(rt, volunteer) == []
    else:
        assert response.status_code == 200, response.json
        assert response.json["applied"] is True


@pytest.mark.parametrize("body", ['{"lat": 59.3,', "lat=59.3", ""])
def test_position_that_is_not_json_is_malformed(client, rt, feed, volunteer, body):
    response = put_position(client, volunteer.ref, body, bearer(feed.token))

    assert_error(response, 400, "malformed_json")
    assert live_rows(rt, volunteer) == []


@pytest.mark.parametrize("body", ["[]", "59.3", '"here"'])
def test_position_that_is_json_but_not_an_object_is_invalid(client, rt, feed, volunteer, body):
    response = put_position(client, volunteer.ref, body, bearer(feed.token))

    assert_error(response, 422, "invalid_payload")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_position_of_another_content_type_is_refused(
    client, rt, clock, feed, volunteer, content_type
):
    response = put_position(
        client, volunteer.ref, report(clock.now()), bearer(feed.token), content_type=content_type
    )

    assert_error(response, 415, "unsupported_media_type")
    assert live_rows(rt, volunteer) == []


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer crt_unknown"}, {"Authorization": "Basic dXNlcjpwYXNz"}],
    ids=["none", "unknown-token", "basic"],
)
def test_position_without_a_valid_token_is_unauthorized(
    client, rt, clock, volunteer, headers
):
    response = put_position(client, volunteer.ref, report(clock.now()), headers)

    assert_error(response, 401, "unauthorized")
    assert live_rows(rt, volunteer) == []


def test_position_with_a_token_lacking_the_position_scope_is_forbidden(client, rt, clock):
    reader = make_control_room(rt, scopes=("incidents:read",))
    volunteer = make_volunteer(rt, north_m=5000, owner=reader)

    response = put_position(client, volunteer.ref, report(clock.now()), bearer(reader.token))

    assert_error(response, 403, "forbidden")
    assert live_rows(rt, volunteer) == []


def test_unknown_volunteer_is_not_revealed_to_a_caller_without_a_token(client, clock):
    response = put_position(client, "RZZZZZZZ", report(clock.now()), {})

    assert_error(response, 401, "unauthorized")


# --- The live position in dispatch ------------------------------------------------------------


@pytest.mark.parametrize(("minutes_later", "alerted_again"), [(14, True), (16, False)])
def test_fresh_live_position_near_an_incident_gets_a_volunteer_alerted_until_it_expires(
    client, rt, sms, clock, feed, volunteer, minutes_later, alerted_again
):
    room = make_control_room(rt)
    lat, lon = offset(100)
    put = put_position(client, volunteer.ref, report(clock.now(), lat=lat, lon=lon),
                       bearer(feed.token))
    assert put.json["applied"] is True

    first = create_incident(client, room, rt, external_id="CAD-1")

    assert first.json["counts"]["alerted"] == 1
    assert len(sms.to(volunteer.phone)) == 1
    with rt.transaction() as session:
        alert = session.scalars(select(Alert)).one()
        assert alert.position_kind == "live"
        assert alert.distance_m == pytest.approx(100, abs=2)

    # Free them of the first incident, so only the position decides the second.
    now = clock.now()
    post_event(client, room, event("incident.closed", {"id": "CAD-1"}, now), at=now)
    clock.advance(minutes=minutes_later)
    before = len(sms.sent)

    second = create_incident(client, room, rt, external_id="CAD-2")

    assert second.status_code == 202, second.json
    assert (second.json["counts"]["alerted"] == 1) is alerted_again
    assert (volunteer.phone in {m.to for m in sms.sent[before:]}) is alerted_again
    if not alerted_again:
        assert second.json["dispatch"]["status"] == "no_responders"


def test_registered_home_far_away_is_not_alerted_without_a_live_position(
    client, rt, sms, volunteer
):
    room = make_control_room(rt)

    response = create_incident(client, room, rt)

    assert response.json["counts"]["alerted"] == 0
    assert sms.sent == []
