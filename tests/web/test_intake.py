"""POST /api/v1/events: signed incident events from a control room (DESIGN.md section 4)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from dispatcher.control_rooms import clients
from dispatcher.domain.gsm7 import is_gsm7
from dispatcher.store.models import Alert, Incident, Responder
from tests.builders import (
    CENTRE,
    create_incident,
    event,
    incident_data,
    make_control_room,
    make_volunteer,
    offset,
    post_event,
    send_event,
    status_of,
)
from tests.web.assertions import NOTHING_WRITTEN, assert_error, row_counts

ADDRESS = "Drottninggatan 53, 3 tr"
NOTES = "Door code 4711#, courtyard entrance, dog in flat"


def created(rt, external_id="CAD-1", at=CENTRE, **overrides) -> dict:
    """Return an incident.created event stamped with the service's clock."""
    return event("incident.created", incident_data(external_id, at, **overrides), rt.clock.now())


def post_unsigned(http, body: str, headers: dict, content_type="application/json"):
    """Post a body with exactly these headers, signed or not."""
    return http.post("/api/v1/events", data=body, headers=headers, content_type=content_type)


def alerts_by_phone(rt) -> dict[str, Alert]:
    """Return every alert keyed by its volunteer's phone."""
    with rt.transaction() as session:
        rows = session.execute(
            select(Responder.phone, Alert).join(Alert, Alert.responder_id == Responder.id)
        ).all()
        return {phone: alert for phone, alert in rows}


@pytest.fixture
def nearby(rt):
    """A volunteer 200 m from the incident, who is texted whenever an incident is opened."""
    return make_volunteer(rt, north_m=200)


# --- Signatures -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "dropped",
    [
        ("webhook-id",),
        ("webhook-timestamp",),
        ("webhook-signature",),
        ("webhook-id", "webhook-timestamp", "webhook-signature"),
    ],
)
def test_event_without_signature_headers_is_refused_and_writes_nothing(
    client, rt, sms, room, nearby, dropped
):
    body = json.dumps(created(rt))
    headers = clients.sign(room.secret, "msg_1", rt.clock.now(), body)
    for name in dropped:
        del headers[name]

    response = post_unsigned(client, body, headers)

    assert_error(response, 401, "invalid_signature")
    assert row_counts(rt) == NOTHING_WRITTEN
    assert sms.sent == []


@pytest.mark.parametrize("minutes_off", [-6, 6, -60, 24 * 60])
def test_event_signed_more_than_five_minutes_off_is_refused_and_writes_nothing(
    client, rt, sms, clock, room, nearby, minutes_off
):
    signed_at = clock.now() + timedelta(minutes=minutes_off)

    response = post_event(client, room, created(rt), at=signed_at)

    assert_error(response, 401, "invalid_signature")
    assert row_counts(rt) == NOTHING_WRITTEN
    assert sms.sent == []


@pytest.mark.parametrize("minutes_off", [-5, -4, 4, 5])
def test_event_signed_within_five_minutes_is_accepted(
    client, rt, sms, clock, room, nearby, minutes_off
):
    signed_at = clock.now() + timedelta(minutes=minutes_off)

    response = post_event(client, room, created(rt), at=signed_at)

    assert response.status_code == 202, response.json
    assert [m.to for m in sms.sent] == [nearby.phone]


def test_event_signed_with_another_secret_is_refused_and_writes_nothing(
    client, rt, sms, room, nearby
):
    response = post_event(
        client, room, created(rt), at=rt.clock.now(), secret=clients.new_secret()
    )

    assert_error(response, 401, "invalid_signature")
    assert row_counts(rt) == NOTHING_WRITTEN
    assert sms.sent == []


@pytest.mark.parametrize("scopes", [("follow-ups",), ("incidents:read", "positions:write")],
                         ids=["follow-ups only", "read and positions"])
@pytest.mark.parametrize("type_", ["incident.created", "incident.closed"])
def test_a_client_without_the_events_scope_may_not_post_events_and_writes_nothing(
    client, rt, sms, nearby, scopes, type_
):
    coordinators = make_control_room(rt, scopes=scopes)
    body = created(rt) if type_ == "incident.created" else event(type_, {"id": "CAD-1"},
                                                                   rt.clock.now())

    response = post_event(client, coordinators, body, at=rt.clock.now())

    assert_error(response, 403, "forbidden")
    assert row_counts(rt) == NOTHING_WRITTEN
    assert sms.sent == []


def test_new_clients_may_post_events_and_read_but_not_move_volunteers_unless_asked(rt):
    room = make_control_room(rt)

    assert room.client.scopes.split() == ["events", "incidents:read"]


@pytest.mark.parametrize(
    "tamper",
    [
        lambda e: e["data"]["location"].update(lat=59.40),
        lambda e: e["data"].update(id="CAD-2"),
        lambda e: e.update(type="incident.cancelled"),
    ],
    ids=["location", "id", "type"],
)
def test_event_changed_after_signing_is_refused_and_writes_nothing(
    client, rt, sms, room, nearby, tamper
):
    original = created(rt)
    headers = clients.sign(room.secret, "msg_1", rt.clock.now(), json.dumps(original))
    tamper(original)

    response = post_unsigned(client, json.dumps(original), headers)

    assert_error(response, 401, "invalid_signature")
    assert row_counts(rt) == NOTHING_WRITTEN
    assert sms.sent == []


@pytest.mark.parametrize("stamp", ["soon", "1795428000.5", "1.79e9", "0x6B04B8A0", "-"])
def test_event_with_a_timestamp_that_is_not_whole_seconds_is_refused(
    client, rt, sms, room, nearby, stamp
):
    response = post_event(
        client, room, created(rt), at=rt.clock.now(), headers={"webhook-timestamp": stamp}
    )

    assert_error(response, 401, "invalid_signature")
    assert row_counts(rt) == NOTHING_WRITTEN
    assert sms.sent == []


def test_signature_of_another_scheme_than_v1_is_refused(client, rt, sms, room, nearby):
    body = json.dumps(created(rt))
    headers = clients.sign(room.secret, "msg_1", rt.clock.now(), body)
    headers["webhook-signature"] = headers["webhook-signature"].replace("v1,", "v2,")

    response = post_unsigned(client, body, headers)

    assert_error(response, 401, "invalid_signature")
    assert row_counts(rt) == NOTHING_WRITTEN


# --- Body validation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body", ['{"type": "incident.created",', "{'type': 'x'}", "not json", ""]
)
def test_body_that_is_not_json_is_refused_as_malformed(client, rt, sms, room, nearby, body):
    response = post_event(client, room, body, at=rt.clock.now())

    assert_error(response, 400, "malformed_json")
    assert row_counts(rt) == NOTHING_WRITTEN
    assert sms.sent == []


@pytest.mark.parametrize("body", ["[]", '[{"type": "incident.created"}]', '"event"', "42", "null"])
def test_body_that_is_json_but_not_an_object_is_invalid(client, rt, sms, room, nearby, body):
    response = post_event(client, room, body, at=rt.clock.now())

    assert_error(response, 422, "invalid_payload")
    assert row_counts(rt) == NOTHING_WRITTEN
    assert sms.sent == []


def _without(key):
    """Return an edit that removes a key of the event's data."""
    return lambda e: e["data"].pop(key)


def _location(**values):
    """Return an edit that sets fields of the event's location."""
    return lambda e: e["data"]["location"].update(values)


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda e: e.update(type="incident.exploded"), "type"),
        (lambda e: e.pop("type"), "type"),
        (_location(lat=90.5), "data.location.lat"),
        (_location(lat=-91), "data.location.lat"),
        (_location(lon=180.1), "data.location.lon"),
        (_location(lon=-181), "data.location.lon"),
        (_location(lat="59.3"), "data.location.lat"),
        (_location(lat=True), "data.location.lat"),
        (_location(lon=None), "data.location.lon"),
        (_without("location"), "data.location"),
        (_without("id"), "data.id"),
        (_without("kind"), "data.kind"),
        (lambda e: e["data"].update(id=""), "data.id"),
        (lambda e: e["data"].update(patient_age="64"), "data.patient_age"),
        (lambda e: e.update(timestamp="2026-11-23T10:00:00"), "timestamp"),
        (lambda e: e.update(timestamp="yesterday"), "timestamp"),
        (lambda e: e.pop("data"), "data"),
    ],
    ids=[
        "unknown-type", "no-type", "lat-90.5", "lat--91", "lon-180.1", "lon--181",
        "lat-string", "lat-bool", "lon-null", "no-location", "no-id", "no-kind", "empty-id",
        "age-string", "naive-timestamp", "timestamp-word", "no-data",
    ],
)
def test_invalid_event_is_refused_naming_the_field_and_writes_nothing(
    client, rt, sms, room, nearby, edit, field
):
    body = created(rt)
    edit(body)

    response = post_event(client, room, body, at=rt.clock.now())

    assert_error(response, 422, "invalid_payload", field=field)
    assert row_counts(rt) == NOTHING_WRITTEN
    assert sms.sent == []


def test_body_over_64_kib_is_refused_as_too_large_and_writes_nothing(
    client, rt, sms, room, nearby
):
    body = created(rt)
    body["padding"] = "x" * (64 * 1024)

    response = post_event(client, room, body, at=rt.clock.now())

    assert_error(response, 413, "body_too_large")
    assert row_counts(rt) == NOTHING_WRITTEN
    assert sms.sent == []


def test_body_just_under_64_kib_is_accepted(client, rt, sms, room, nearby):
    body = created(rt)
    body["padding"] = "x" * (63 * 1024)  # unknown fields are ignored

    response = post_event(client, room, body, at=rt.clock.now())

    assert response.status_code == 202, response.json
    assert [m.to for m in sms.sent] == [nearby.phone]


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)
def test_body_of_another_content_type_is_refused_and_writes_nothing(
    client, rt, sms, room, nearby, content_type
):
    response = post_event(client, room, created(rt), at=rt.clock.now(), content_type=content_type)

    assert_error(response, 415, "unsupported_media_type")
    assert row_counts(rt) == NOTHING_WRITTEN
    assert sms.sent == []


def test_json_with_a_charset_parameter_is_accepted(client, rt, sms, room, nearby):
    response = post_event(
        client, room, created(rt), at=rt.clock.now(), content_type="application/json; charset=utf-8"
    )

    assert response.status_code == 202, response.json


# --- Idempotency and conflicts ----------------------------------------------------------------


def test_repeated_webhook_id_gets_the_first_answer_and_sends_nothing_more(
    client, rt, sms, room, nearby
):
    body, now = created(rt), rt.clock.now()

    first = post_event(client, room, body, at=now, webhook_id="msg_same")
    sent = list(sms.sent)
    counts = row_counts(rt)
    second = post_event(client, room, body, at=now, webhook_id="msg_same")

    assert first.status_code == second.status_code == 202
    assert second.get_json() == first.get_json()
    assert len(sent) == 1
    assert sms.sent == sent
    assert row_counts(rt) == counts


def test_repeated_webhook_id_gets_the_first_answer_even_after_the_incident_changed(
    client, rt, sms, clock, room, nearby
):
    body = created(rt)
    first = post_event(client, room, body, at=clock.now(), webhook_id="msg_created")
    clock.advance(minutes=1)
    send_event(client, room, rt, "incident.updated", {"id": "CAD-1", "ems_eta_s": 120})

    again = post_event(client, room, body, at=clock.now(), webhook_id="msg_created")

    assert again.status_code == 202
    assert again.get_json() == first.get_json()
    assert len(sms.sent) == 1


def test_a_reused_webhook_id_with_another_body_is_refused_and_changes_nothing(
    client, rt, sms, clock, room, nearby
):
    post_event(client, room, created(rt), at=clock.now(), webhook_id="msg_created")
    counts, sent = row_counts(rt), list(sms.sent)
    closed = {"type": "incident.closed", "timestamp": clock.now().isoformat(),
              "data": {"id": "CAD-1"}}

    response = post_event(client, room, closed, at=clock.now(), webhook_id="msg_created")

    assert_error(response, 409, "idempotency_mismatch")
    assert row_counts(rt) == counts and sms.sent == sent
    assert status_of(client, room)["state"] == "open"  # nothing was closed, nobody stood down


def test_the_same_body_signed_again_later_under_its_id_is_a_redelivery(
    client, rt, sms, clock, room, nearby
):
    body = created(rt)
    first = post_event(client, room, body, at=clock.now(), webhook_id="msg_created")
    clock.advance(seconds=40)  # the control room retried, signing anew

    again = post_event(client, room, body, at=clock.now(), webhook_id="msg_created")

    assert again.status_code == 202 and again.get_json() == first.get_json()


def test_same_incident_with_a_new_webhook_id_is_accepted_without_texting_again(
    client, rt, sms, room, nearby
):
    first = create_incident(client, room, rt)

    second = create_incident(client, room, rt)

    assert first.status_code == second.status_code == 202
    assert second.json["counts"] == first.json["counts"]
    assert len(sms.sent) == 1
    assert row_counts(rt)["incidents"] == 1


@pytest.mark.parametrize(
    "change",
    [
        {"address": "Vasagatan 1"},
        {"notes": "other notes"},
        {"ems_eta_s": 600},
        {"patient_age": 70},
        {"kind": "trauma"},
        {"location": {"lat": 59.3327, "lon": 18.0649, "accuracy_m": 20}},
    ],
    ids=["address", "notes", "ems-eta", "age", "kind", "location"],
)
def test_same_incident_id_with_other_content_is_a_conflict_and_writes_nothing(
    client, rt, sms, room, nearby, change
):
    create_incident(client, room, rt)
    before, sent = row_counts(rt), list(sms.sent)

    response = send_event(client, room, rt, "incident.created", incident_data("CAD-1", **change))

    assert_error(response, 409, "conflict")
    assert row_counts(rt) == before
    assert sms.sent == sent


@pytest.mark.parametrize("type_", ["incident.updated", "incident.cancelled", "incident.closed"])
def test_event_for_an_unknown_incident_is_not_found_and_writes_nothing(
    client, rt, sms, room, nearby, type_
):
    response = send_event(client, room, rt, type_, {"id": "CAD-404", "notes": "x"})

    assert_error(response, 404, "unknown_incident")
    assert row_counts(rt) == NOTHING_WRITTEN
    assert sms.sent == []


@pytest.mark.parametrize("ended", ["incident.cancelled", "incident.closed"])
def test_update_after_the_incident_ended_is_a_conflict_and_changes_nothing(
    client, rt, sms, room, nearby, ended
):
    create_incident(client, room, rt)
    send_event(client, room, rt, ended, {"id": "CAD-1"})
    before, sent = row_counts(rt), list(sms.sent)

    response = send_event(client, room, rt, "incident.updated",
                          {"id": "CAD-1", "address": "Elsewhere 1"})

    assert_error(response, 409, "conflict")
    assert row_counts(rt) == before
    assert sms.sent == sent
    with rt.transaction() as session:
        assert session.scalars(select(Incident.address)).one() == ADDRESS


@pytest.mark.parametrize(
    ("first", "second", "state"),
    [
        ("incident.closed", "incident.closed", "closed"),
        ("incident.cancelled", "incident.cancelled", "cancelled"),
        ("incident.closed", "incident.cancelled", "closed"),
    ],
)
def test_ending_an_ended_incident_again_is_a_no_op(
    client, rt, sms, clock, room, nearby, first, second, state
):
    create_incident(client, room, rt)
    ended = send_event(client, room, rt, first, {"id": "CAD-1"})
    sent = list(sms.sent)
    clock.advance(minutes=2)

    again = send_event(client, room, rt, second, {"id": "CAD-1"})

    assert again.status_code == 202, again.json
    assert again.json["state"] == state
    assert again.json["closed_at"] == ended.json["closed_at"]
    assert again.json["timeline"] == ended.json["timeline"]
    assert sms.sent == sent


# --- Updates ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        ({"address": "Vasagatan 1, 2 tr"}, ["address"]),
        ({"notes": "Gate code 9999"}, ["notes"]),
        ({"ems_eta_s": 180}, ["ems_eta_s"]),
        ({"address": "Vasagatan 1", "notes": "Gate 9", "ems_eta_s": 60},
         ["address", "notes", "ems_eta_s"]),
        ({"location": {"lat": 59.3330, "lon": 18.0650, "accuracy_m": 5}}, ["location"]),
        ({"address": ADDRESS}, []),
        ({}, []),
    ],
    ids=["address", "notes", "ems-eta", "all-three", "location", "same-address", "nothing"],
)
def test_update_changes_the_incident_and_the_timeline_names_the_changed_fields(
    client, rt, sms, room, nearby, change, fields
):
    create_incident(client, room, rt, address=ADDRESS, notes=NOTES)

    response = send_event(client, room, rt, "incident.updated", {"id": "CAD-1", **change})

    assert response.status_code == 202, response.json
    [last] = [e for e in response.json["timeline"] if e["event"] == "incident.updated"]
    assert last["detail"] == {"fields": fields}
    with rt.transaction() as session:
        incident = session.scalars(select(Incident)).one()
        stored = {
            "address": incident.address, "notes": incident.notes, "ems_eta_s": incident.ems_eta_s,
            "location": {"lat": incident.lat, "lon": incident.lon,
                         "accuracy_m": incident.accuracy_m},
        }
    expected = {
        "address": ADDRESS, "notes": NOTES, "ems_eta_s": 540,
        "location": {"lat": CENTRE[0], "lon": CENTRE[1], "accuracy_m": 20},
    }
    assert stored == {**expected, **change}
    assert len(sms.sent) == 1  # an update texts nobody


def test_timeline_of_an_update_holds_no_values(client, rt, room, nearby):
    create_incident(client, room, rt)

    response = send_event(
        client, room, rt, "incident.updated",
        {"id": "CAD-1", "address": "Secret street 7", "notes": "Key under mat"},
    )

    text = json.dumps(response.json["timeline"])
    assert "Secret street" not in text
    assert "Key under mat" not in text


# --- Ending an incident -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_", "state"), [("incident.cancelled", "cancelled"), ("incident.closed", "closed")]
)
def test_ending_an_incident_stands_down_everyone_alerted_once(
    client, rt, sms, room, type_, state
):
    first = make_volunteer(rt, north_m=150)
    second = make_volunteer(rt, north_m=-300)
    opted_out = make_volunteer(rt, north_m=50, status="opted_out")
    far = make_volunteer(rt, north_m=8000)
    create_incident(client, room, rt)
    codes = {phone: alert.code for phone, alert in alerts_by_phone(rt).items()}
    assert set(codes) == {first.phone, second.phone}
    alerts_sent = len(sms.sent)

    response = send_event(client, room, rt, type_, {"id": "CAD-1", "reason": "ROSC"})

    assert response.status_code == 202, response.json
    assert response.json["state"] == state
    assert response.json["counts"]["alerted"] == 2
    assert response.json["counts"]["pending"] == 0
    assert response.json["timeline"][-1]["event"] == type_
    assert response.json["timeline"][-1]["detail"]["stood_down"] == 2
    stand_downs = sms.sent[alerts_sent:]
    assert sorted(m.to for m in stand_downs) == sorted([first.phone, second.phone])
    for phone, code in codes.items():
        [stand_down] = [m.body for m in stand_downs if m.to == phone]
        assert code in stand_down
    assert {a.state for a in alerts_by_phone(rt).values()} == {"stood_down"}
    assert opted_out.phone not in {m.to for m in sms.sent}
    assert far.phone not in {m.to for m in sms.sent}


def test_opted_out_volunteer_next_to_the_incident_hears_nothing_from_start_to_end(
    client, rt, sms, room
):
    opted_out = make_volunteer(rt, north_m=20, status="opted_out")
    active = make_volunteer(rt, north_m=400)

    create_incident(client, room, rt)
    send_event(client, room, rt, "incident.updated", {"id": "CAD-1", "ems_eta_s": 60})
    send_event(client, room, rt, "incident.closed", {"id": "CAD-1"})

    assert sms.to(opted_out.phone) == []
    assert len(sms.to(active.phone)) == 2
    assert opted_out.phone not in alerts_by_phone(rt)


# --- Policy exclusions ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [{"patient_age": 5}, {"kind": "trauma"}, {"flags": ["unsafe_scene"]},
     {"flags": ["healthcare_facility"]}],
    ids=["child", "trauma-kind", "unsafe-scene", "healthcare-facility"],
)
def test_excluded_incident_is_accepted_but_nobody_is_texted(
    client, rt, sms, room, nearby, overrides
):
    response = create_incident(client, room, rt, **overrides)

    assert response.status_code == 202, response.json
    assert response.json["state"] == "open"
    assert response.json["dispatch"]["status"] == "not_dispatched"
    assert response.json["dispatch"]["reason"]
    assert response.json["counts"]["alerted"] == 0
    assert sms.sent == []
    assert row_counts(rt)["alerts"] == 0


# --- Control rooms ----------------------------------------------------------------------------


def test_two_control_rooms_may_use_the_same_incident_id_independently(client, rt, sms):
    north, south = make_control_room(rt), make_control_room(rt)
    elsewhere = offset(-10_000)
    near_north = make_volunteer(rt, north_m=200)
    near_south = make_volunteer(rt, at=offset(200, origin=elsewhere))

    a = create_incident(client, north, rt, external_id="CAD-7")
    b = create_incident(client, south, rt, external_id="CAD-7", at=elsewhere)

    assert a.status_code == b.status_code == 202
    assert a.json["counts"]["alerted"] == b.json["counts"]["alerted"] == 1
    assert sorted(m.to for m in sms.sent) == sorted([near_north.phone, near_south.phone])
    with rt.transaction() as session:
        rows = session.scalars(select(Incident).order_by(Incident.id)).all()
        assert [(r.client_id, r.external_id) for r in rows] == [
            (north.client.id, "CAD-7"), (south.client.id, "CAD-7")
        ]

    closed = send_event(client, south, rt, "incident.closed", {"id": "CAD-7"})

    assert closed.status_code == 202
    with rt.transaction() as session:
        states = dict(session.execute(select(Incident.client_id, Incident.state)).all())
    assert states == {north.client.id: "open", south.client.id: "closed"}


def test_control_room_cannot_touch_another_rooms_incident(client, rt, sms, nearby):
    owner, other = make_control_room(rt), make_control_room(rt)
    create_incident(client, owner, rt)
    before, sent = row_counts(rt), list(sms.sent)

    updated = send_event(client, other, rt, "incident.updated", {"id": "CAD-1", "address": "X 1"})
    closed = send_event(client, other, rt, "incident.closed", {"id": "CAD-1"})

    assert_error(updated, 404, "unknown_incident")
    assert_error(closed, 404, "unknown_incident")
    assert row_counts(rt) == before
    assert sms.sent == sent


# --- The alert text ---------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "sv", "nl", "fr", "de", "fi"])
@pytest.mark.parametrize("north_m", [15, 990, 2900])
def test_alert_text_leaves_out_address_and_notes_and_fits_one_sms(
    make_app, sms, language, north_m
):
    app = make_app(RADIUS_START_M=3000)
    rt = app.extensions["dispatcher"]
    volunteer = make_volunteer(rt, north_m=north_m, language=language)
    room = make_control_room(rt)

    response = create_incident(app.test_client(), room, rt, address=ADDRESS, notes=NOTES)

    assert response.status_code == 202, response.json
    [alert] = sms.to(volunteer.phone)
    assert ADDRESS not in alert
    assert "Drottninggatan" not in alert
    assert NOTES not in alert
    assert len(alert) <= 160
    assert is_gsm7(alert)
