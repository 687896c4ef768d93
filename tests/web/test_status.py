"""GET /api/v1/incidents/<id>: a control room reads back its own incidents only."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from dispatcher.store.models import Aed, Alert, Responder
from tests.builders import create_incident, event, make_control_room, make_volunteer, post_event
from tests.web.assertions import assert_error, bearer


def read(http, external_id: str, headers: dict | None = None):
    """Get an incident's status."""
    return http.get(f"/api/v1/incidents/{external_id}", headers=headers or {})


def reply(rt, responder: Responder, state: str, role: str | None = None, aed: str | None = None):
    """Put a volunteer's alert in the state their SMS reply would (replies are not under test)."""
    now = rt.clock.now()
    with rt.transaction() as session:
        alert = session.scalars(select(Alert).where(Alert.responder_id == responder.id)).one()
        alert.state, alert.role, alert.responded_at, alert.updated_at = state, role, now, now
        if aed is not None:
            row = Aed(name=aed, lat=59.3327, lon=18.0650, created_at=now)
            session.add(row)
            session.flush()
            alert.aed_id = row.id


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer crt_not-a-real-token",
     "Token {token}", "{token}"],
    ids=["none", "empty", "bearer-only", "bearer-blank", "basic", "unknown-token",
         "other-scheme", "no-scheme"],
)
def test_status_without_a_valid_bearer_token_is_unauthorized(client, rt, room, authorization):
    create_incident(client, room, rt)
    headers = {} if authorization is None else {
        "Authorization": authorization.format(token=room.token)
    }

    response = read(client, "CAD-1", headers)

    assert_error(response, 401, "unauthorized")


def test_status_with_a_token_lacking_the_read_scope_is_forbidden(client, rt, room):
    create_incident(client, room, rt)
    feed = make_control_room(rt, scopes=("positions:write",))

    response = read(client, "CAD-1", bearer(feed.token))

    assert_error(response, 403, "forbidden")


def test_status_accepts_the_bearer_scheme_in_any_case(client, rt, room):
    create_incident(client, room, rt)

    response = read(client, "CAD-1", {"Authorization": f"bearer {room.token}"})

    assert response.status_code == 200, response.json


@pytest.mark.parametrize("external_id", ["CAD-1", "CAD-404"], ids=["others", "nobodys"])
def test_another_rooms_incident_is_not_found_just_like_a_missing_one(
    client, rt, room, external_id
):
    make_volunteer(rt, north_m=100, name="Astrid Lindqvist")
    create_incident(client, room, rt)
    other = make_control_room(rt)

    response = read(client, external_id, bearer(other.token))

    assert_error(response, 404, "unknown_incident")
    text = response.get_data(as_text=True)
    assert "alerting" not in text and "timeline" not in text


@pytest.mark.parametrize(
    ("role", "aed"), [("cpr", None), ("aed", "Sergels torg, Kulturhuset entrance")]
)
def test_own_incident_shows_state_counts_responders_and_timeline(
    client, rt, room, role, aed
):
    going = make_volunteer(rt, north_m=100, name="Astrid Lindqvist", phone="+46701234561")
    declining = make_volunteer(rt, north_m=300, name="Bertil Ek", phone="+46701234562")
    waiting = make_volunteer(rt, north_m=600, name="Cecilia Ahl", phone="+46701234563")
    create_incident(client, room, rt)
    reply(rt, going, "accepted", role=role, aed=aed)
    reply(rt, declining, "declined")

    response = read(client, "CAD-1", bearer(room.token))

    assert response.status_code == 200, response.json
    body = response.json
    assert body["id"] == "CAD-1"
    assert body["state"] == "open"
    assert body["dispatch"] == {"status": "alerting", "reason": None}
    assert body["counts"]["alerted"] == 3
    assert body["counts"]["accepted"] == 1
    assert body["counts"]["declined"] == 1
    [responder] = body["responders"]
    assert responder["ref"] == going.ref
    assert responder["role"] == role
    assert responder["distance_m"] == pytest.approx(100, abs=2)
    assert responder["eta_s"] > 0
    assert responder.get("aed") == aed
    assert [e["event"] for e in body["timeline"]] == ["incident.created", "wave"]
    assert body["timeline"][1]["detail"]["alerted"] == 3
    assert waiting.ref not in response.get_data(as_text=True)


def test_status_never_shows_a_phone_number_or_a_volunteers_name(client, rt, room):
    volunteers = [
        make_volunteer(rt, north_m=100, name="Astrid Lindqvist", phone="+46701234561"),
        make_volunteer(rt, north_m=300, name="Bertil Ek", phone="+46701234562"),
    ]
    create_incident(client, room, rt)
    reply(rt, volunteers[0], "accepted", role="cpr")
    reply(rt, volunteers[1], "accepted", role="aed", aed="Kulturhuset")

    text = read(client, "CAD-1", bearer(room.token)).get_data(as_text=True)

    for v in volunteers:
        assert v.phone not in text
        assert v.phone.removeprefix("+") not in text
        assert v.name not in text
        assert v.name.split()[-1] not in text
    assert not re.search(r"\+?46\d{7,}", text)


def test_status_after_closing_shows_the_end_state(client, rt, sms, room):
    make_volunteer(rt, north_m=100)
    create_incident(client, room, rt)
    now = rt.clock.now()
    post_event(client, room, event("incident.closed", {"id": "CAD-1"}, now), at=now)

    body = read(client, "CAD-1", bearer(room.token)).json

    assert body["state"] == "closed"
    assert body["closed_at"] == now.isoformat().replace("+00:00", "Z")
    assert body["timeline"][-1]["event"] == "incident.closed"
