"""GET /api/v1/follow-ups and POST .../resolve: coordinators see who asked for a call."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from dispatcher.store.models import Alert, Incident, TimelineEvent
from tests.builders import (
    after_incident,
    alert_of,
    make_control_room,
    make_volunteer,
    sms_arrives,
)
from tests.web.assertions import assert_error, bearer

FLAG_KEYS = {"id", "state", "ref", "name", "phone", "language", "control_room", "incident",
             "incident_closed_at", "role", "asked_at", "answered_at", "resolved_at"}


@pytest.fixture
def room_options():
    """The control room whose incidents the volunteers went to: its name is listed."""
    return {"name": "SOS Alarm Stockholm"}


@pytest.fixture
def coordinators(rt):
    """A client whose token has only the follow-ups scope."""
    return make_control_room(rt, "coordinators", scopes=("follow-ups",))


def listing(http, token: str, query: str = ""):
    """Get the follow-ups list."""
    return http.get(f"/api/v1/follow-ups{query}", headers=bearer(token))


def resolving(http, token: str | None, flag) -> object:
    """Post a resolve."""
    return http.post(f"/api/v1/follow-ups/{flag}/resolve",
                     headers=bearer(token) if token else {})


def test_the_list_shows_who_asked_for_a_call_with_what_a_coordinator_needs(
    client, rt, queue, clock, room, coordinators
):
    caller = make_volunteer(rt, north_m=200, name="Astrid Lindqvist", phone="+46701234561",
                            language="sv")
    fine = make_volunteer(rt, north_m=300, name="Bertil Ek")
    after_incident(client, rt, queue, clock, room, {fine: "1", caller: "2"})

    response = listing(client, coordinators.token)

    assert response.status_code == 200, response.json
    [flag] = response.json["follow_ups"]
    assert set(flag) == FLAG_KEYS
    assert flag["id"] == alert_of(rt, caller).id
    assert (flag["state"], flag["ref"], flag["name"], flag["phone"], flag["language"]) == (
        "open", caller.ref, "Astrid Lindqvist", "+46701234561", "sv")
    assert (flag["control_room"], flag["incident"], flag["role"]) == (
        "SOS Alarm Stockholm", "CAD-1", "cpr")
    assert flag["answered_at"] == clock.now().isoformat().replace("+00:00", "Z")
    assert flag["resolved_at"] is None
    assert flag["incident_closed_at"] < flag["asked_at"] < flag["answered_at"]
    assert "Bertil" not in response.get_data(as_text=True)


def test_the_list_is_empty_when_nobody_asked_for_a_call(client, coordinators):
    response = listing(client, coordinators.token)

    assert (response.status_code, response.json) == (200, {"follow_ups": []})


def test_the_list_is_newest_first_and_filters_by_state(
    client, rt, queue, clock, room, coordinators
):
    first, second, third = (make_volunteer(rt, north_m=m) for m in (200, 300, 400))
    after_incident(client, rt, queue, clock, room, {first: "2", second: "NO", third: "nej"})
    assert resolving(client, coordinators.token, alert_of(rt, second).id).status_code == 200

    refs = {state: [f["ref"] for f in listing(client, coordinators.token,
                                              f"?state={state}").json["follow_ups"]]
            for state in ("open", "resolved", "all")}

    assert refs == {"open": [third.ref, first.ref], "resolved": [second.ref],
                    "all": [third.ref, second.ref, first.ref]}
    limited = listing(client, coordinators.token, "?state=all&limit=1").json["follow_ups"]
    assert [f["ref"] for f in limited] == [third.ref]


@pytest.mark.parametrize(
    ("query", "field"),
    [("?state=closed", "state"), ("?state=", "state"), ("?state=OPEN", "state"),
     ("?limit=0", "limit"), ("?limit=abc", "limit"), ("?limit=1001", "limit"),
     ("?limit=", "limit"), ("?limit=-5", "limit"), ("?limit=99999999999999999999", "limit")],
)
def test_a_bad_state_or_limit_is_refused_with_the_field_named(client, coordinators, query,
                                                              field):
    response = listing(client, coordinators.token, query)

    assert_error(response, 422, "invalid_payload", field)


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer crt_not-a-real-token", "Basic dXNlcjpwYXNz", "{token}"],
    ids=["none", "empty", "bearer-only", "unknown-token", "basic", "no-scheme"],
)
def test_the_list_without_a_valid_bearer_token_is_unauthorized(
    client, coordinators, authorization
):
    headers = {} if authorization is None else {
        "Authorization": authorization.format(token=coordinators.token)}

    response = client.get("/api/v1/follow-ups", headers=headers)

    assert_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_control_room_token_is_forbidden_the_follow_ups_by_default(
    client, rt, queue, clock, room
):
    caller = make_volunteer(rt, north_m=200, phone="+46701234561")
    after_incident(client, rt, queue, clock, room, {caller: "2"})

    listed = listing(client, room.token)
    resolved = resolving(client, room.token, alert_of(rt, caller).id)

    assert_error(listed, 403, "forbidden")
    assert_error(resolved, 403, "forbidden")
    assert "+46701234561" not in listed.get_data(as_text=True)
    with rt.transaction() as session:
        assert session.get(Alert, alert_of(rt, caller).id).follow_up_resolved_at is None


def test_resolving_marks_the_flag_and_again_changes_nothing(
    client, rt, queue, clock, room, coordinators
):
    caller = make_volunteer(rt, north_m=200)
    after_incident(client, rt, queue, clock, room, {caller: "2"})
    flag = alert_of(rt, caller).id
    resolved_at = clock.now()

    first = resolving(client, coordinators.token, flag)
    clock.advance(minutes=5)
    second = resolving(client, coordinators.token, flag)

    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json == second.json
    assert (first.json["id"], first.json["state"]) == (flag, "resolved")
    assert first.json["resolved_at"] == resolved_at.isoformat().replace("+00:00", "Z")
    assert listing(client, coordinators.token).json == {"follow_ups": []}
    with rt.transaction() as session:
        notes = session.scalars(select(TimelineEvent.detail).join(Incident).where(
            TimelineEvent.event == "follow_up.resolved")).all()
    assert notes == [{"ref": caller.ref, "by": "coordinators"}]


@pytest.mark.parametrize("flag", ["999", "0", "-1", "abc", "1.0", "99999999999999999999",
                                  "%20", "١"])
def test_resolving_an_unknown_flag_is_not_found(client, coordinators, flag):
    response = resolving(client, coordinators.token, flag)

    assert_error(response, 404, "unknown_follow_up")


def test_a_volunteer_who_said_fine_has_no_flag_to_resolve(
    client, rt, queue, clock, room, coordinators
):
    fine = make_volunteer(rt, north_m=200)
    after_incident(client, rt, queue, clock, room, {fine: "1"})

    response = resolving(client, coordinators.token, alert_of(rt, fine).id)

    assert_error(response, 404, "unknown_follow_up")
    with rt.transaction() as session:
        assert session.get(Alert, alert_of(rt, fine).id).follow_up == "fine"


def test_resolving_without_a_token_is_unauthorized_and_changes_nothing(
    client, rt, queue, clock, room
):
    caller = make_volunteer(rt, north_m=200)
    after_incident(client, rt, queue, clock, room, {caller: "2"})

    response = resolving(client, None, alert_of(rt, caller).id)

    assert_error(response, 401, "unauthorized")
    with rt.transaction() as session:
        assert session.get(Alert, alert_of(rt, caller).id).follow_up_resolved_at is None


def test_the_wrong_method_gets_a_json_error(client, coordinators):
    listed = client.post("/api/v1/follow-ups", headers=bearer(coordinators.token))
    resolved = client.get("/api/v1/follow-ups/1/resolve", headers=bearer(coordinators.token))

    assert_error(listed, 405, "method_not_allowed")
    assert_error(resolved, 405, "method_not_allowed")


def test_a_flag_answered_again_after_resolving_is_open_again(
    client, rt, queue, clock, room, coordinators
):
    caller = make_volunteer(rt, north_m=200)
    after_incident(client, rt, queue, clock, room, {caller: "2"})
    resolving(client, coordinators.token, alert_of(rt, caller).id)
    clock.advance(hours=3)

    sms_arrives(rt, caller, "2")

    [flag] = listing(client, coordinators.token).json["follow_ups"]
    assert (flag["state"], flag["resolved_at"]) == ("open", None)
