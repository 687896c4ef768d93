"""No input to any HTTP endpoint is answered with a 5xx, on SQLite and PostgreSQL.

Every request is let in at the door, so that what it carries reaches the code behind it: events
carry a correct Standard Webhooks signature, API calls a bearer token with every scope, Twilio's
webhooks Twilio's signature, and the virtual phones this session's CSRF token. The bodies are
shaped like the schema with hostile values (tests/support/hostile.py). Whatever comes in, the
answer is below 500, a 4xx is the JSON error document, and a 422 wrote nothing.
"""

from __future__ import annotations

import json
import re
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from dispatcher.control_rooms import clients
from dispatcher.store.base import Base
from dispatcher.store.models import ChangeCounter, Message
from tests.builders import (
    TWILIO_TOKEN,
    after_incident,
    incident_data,
    make_volunteer,
    post_event,
    sms_from,
    twilio_post,
)
from tests.support import hostile
from tests.web.assertions import NOTHING_WRITTEN, assert_error, bearer, row_counts

pytestmark = pytest.mark.usefixtures("twilio_hooks")

# Bounded for CI: 80 examples per endpoint and database. The fixtures are built once per test
# and the examples run inside it (a fresh webhook-id each), so no example shares a fixture
# with hypothesis; long texts may make generation slow, which is no failure.
FUZZ = hypothesis_settings(max_examples=80, deadline=None, database=None,
                           suppress_health_check=[HealthCheck.too_slow,
                                                  HealthCheck.data_too_large])
PHONE = "+46701119001"
NOW = "2026-11-23T10:00:00Z"  # the clock of tests/conftest.py
RAW_BODIES = st.sampled_from([
    "", "null", "[]", "0", "\"x\"", "{", "{\"type\": \"\\ud800\"}", "{\"a\": 1e999}",
    "{\"type\": \"incident.created\", \"timestamp\": NaN}", "\ufeff{}", "{\"a\":" * 200,
    "[" * 60_000, "{\"positions\": " + "[" * 190 + "]" * 190 + "}",
    "{\"positions\": [" + "[" * 190 + "]" * 190 + "]}",
])


@pytest.fixture
def settings(settings):
    """The virtual phones are served too."""
    return {**settings, "PHONES_ENABLED": True}


@pytest.fixture
def room_options():
    """The control room holds every scope, so no request stops at the door."""
    return {"scopes": clients.SCOPES}


@pytest.fixture
def volunteer(rt, room):
    """A volunteer 200 m from the centre registered by the control room, whose number the
    Twilio forms sometimes carry."""
    return make_volunteer(rt, north_m=200, phone=PHONE, owner=room)


def snapshot(rt) -> tuple:
    """Return how many rows every table holds, and the change sequence."""
    with rt.transaction() as session:
        counts = tuple(session.scalar(select(func.count()).select_from(table))
                       for table in Base.metadata.sorted_tables)
        return counts, session.scalar(select(ChangeCounter.value))


def assert_sound(response, before, rt) -> None:
    """Assert the answer is no 5xx, a 4xx is the error document, and a 422 wrote nothing."""
    status, text = response.status_code, response.get_data(as_text=True)
    assert status < 500, text
    if 400 <= status < 500:
        assert response.is_json, (status, text)
        error = response.get_json()["error"]
        assert set(error) == {"code", "message", "fields"}, text
        assert isinstance(error["code"], str) and error["code"], text
        assert isinstance(error["message"], str) and isinstance(error["fields"], dict), text
    if status == 422:
        assert response.get_json()["error"]["fields"], text
        assert snapshot(rt) == before, "a 422 wrote something"


def dumps(body, ascii_only: bool) -> str:
    """Serialise a body as a client might: raw text as it is, objects as JSON."""
    return body if isinstance(body, str) else json.dumps(body, ensure_ascii=ascii_only)


def valid_event(**data) -> dict:
    """Return an incident.created at the clock's time, with fields of its data replaced."""
    return {"type": "incident.created", "timestamp": NOW, "data": {**incident_data(), **data}}


WEBHOOK_IDS = st.one_of(st.uuids().map(lambda u: f"msg_{u.hex}"), hostile.header_texts,
                        st.integers(min_value=190, max_value=300).map(lambda n: "w" * n))


def test_no_event_is_answered_with_a_server_error(client, rt, room, clock, volunteer):
    now, answers = clock.now(), []

    @FUZZ
    @given(body=st.one_of(hostile.events(now), RAW_BODIES), webhook_id=WEBHOOK_IDS,
           ascii_only=st.booleans())
    @example(valid_event() | {"timestamp": "0001-01-01T00:00:00+05:00"}, "msg_y1", True)
    @example(valid_event() | {"timestamp": "9999-12-31T23:59:59-05:00"}, "msg_y9999", True)
    @example(valid_event(address="Drottninggatan\x0053"), "msg_address", False)
    @example(valid_event(notes="Door code\x001234"), "msg_notes", True)
    @example(valid_event(kind="cardiac\x00arrest"), "msg_kind", True)
    @example(valid_event(id="CAD\x00-1"), "msg_id", True)
    @example(valid_event(id="CAD-201"), "w" * 201, True)
    @example(valid_event(id="CAD-255"), "w" * 255, True)
    @example(valid_event(id="CAD-256"), "w" * 256, True)
    def post(body, webhook_id, ascii_only):
        text = dumps(body, ascii_only)
        before = snapshot(rt)
        response = client.post("/api/v1/events", data=text.encode(),
                               headers=clients.sign(room.secret, webhook_id, now, text),
                               content_type="application/json")
        assert_sound(response, before, rt)
        answers.append(response.status_code)

    post()
    assert {202, 422} <= set(answers), "the events should reach both the use case and the schema"


def test_no_incident_id_in_the_path_is_answered_with_a_server_error(client, rt, room):
    @FUZZ
    @given(incident_id=hostile.path_texts, authorization=st.one_of(
        st.just(f"Bearer {room.token}"), hostile.header_texts))
    @example("CAD\x00-1", f"Bearer {room.token}")
    @example("\x00", f"Bearer {room.token}")
    @example("C" * 101, f"Bearer {room.token}")
    def get(incident_id, authorization):
        before = snapshot(rt)
        response = client.get(f"/api/v1/incidents/{quote(incident_id, safe='')}",
                              headers={"Authorization": authorization})
        assert_sound(response, before, rt)

    get()


def test_no_position_is_answered_with_a_server_error(client, rt, room, clock, volunteer):
    now, answers = clock.now(), []

    @FUZZ
    @given(ref=st.one_of(st.just(volunteer.ref), hostile.path_texts),
           body=st.one_of(hostile.positions(now), RAW_BODIES), ascii_only=st.booleans())
    @example(volunteer.ref, {"lat": 59.33, "lon": 18.06, "at": "0001-01-01T00:00:00+01:00"}, True)
    @example(volunteer.ref, {"lat": 59.33, "lon": 18.06, "at": "9999-12-31T23:59:59-05:00"}, True)
    @example("R\x00", {"lat": 59.33, "lon": 18.06, "at": NOW}, True)
    def put(ref, body, ascii_only):
        before = snapshot(rt)
        response = client.put(f"/api/v1/responders/{quote(ref, safe='')}/position",
                              data=dumps(body, ascii_only).encode(), headers=bearer(room.token),
                              content_type="application/json")
        assert_sound(response, before, rt)
        answers.append(response.status_code)

    put()
    assert {200, 422} <= set(answers), "the reports should reach both the store and the schema"


def test_no_position_feed_is_answered_with_a_server_error(client, rt, room, clock, volunteer):
    now, answers = clock.now(), []
    item = hostile.positions(now).flatmap(lambda report: st.builds(
        lambda ref: {**report, "ref": ref},
        hostile.maybe(st.one_of(st.just(volunteer.ref), hostile.path_texts))))
    feeds = hostile.shaped({"positions": hostile.maybe(st.lists(hostile.maybe(item),
                                                                max_size=12))})

    @FUZZ
    @given(body=st.one_of(feeds, RAW_BODIES), ascii_only=st.booleans())
    @example({"positions": [{"ref": volunteer.ref, "lat": 59.33, "lon": 18.06,
                             "at": "0001-01-01T00:00:00+01:00"}]}, True)
    @example({"positions": [{"ref": "R\x00", "lat": 59.33, "lon": 18.06, "at": NOW},
                            {"ref": volunteer.ref, "lat": float("nan"), "lon": 1e309, "at": NOW}]},
             True)
    def post(body, ascii_only):
        before = snapshot(rt)
        response = client.post("/api/v1/positions", data=dumps(body, ascii_only).encode(),
                               headers=bearer(room.token), content_type="application/json")
        assert_sound(response, before, rt)
        answers.append(response.status_code)

    post()
    assert {200, 422} <= set(answers), "the feeds should reach both the store and the schema"


def test_no_follow_up_request_is_answered_with_a_server_error(client, rt, room, queue, clock,
                                                               volunteer):
    after_incident(client, rt, queue, clock, room, {volunteer: "2"})
    [flag] = client.get("/api/v1/follow-ups", headers=bearer(room.token)).json["follow_ups"]
    numbers = hostile.numbers.map(str)

    @FUZZ
    @given(state=st.one_of(st.sampled_from(["open", "resolved", "all"]), hostile.texts),
           limit=st.one_of(numbers, hostile.texts),
           flag_id=st.one_of(st.just(str(flag["id"])), numbers, hostile.path_texts))
    @example("open\x00", "1\x00", "1\x00")
    @example("all", "9" * 5000, "9" * 5000)
    def ask(state, limit, flag_id):
        before = snapshot(rt)
        listed = client.get("/api/v1/follow-ups", headers=bearer(room.token),
                            query_string={"state": state, "limit": limit})
        assert_sound(listed, before, rt)
        before = snapshot(rt)
        resolved = client.post(f"/api/v1/follow-ups/{quote(flag_id, safe='')}/resolve",
                               headers=bearer(room.token))
        assert_sound(resolved, before, rt)

    ask()


FORM_VALUES = st.one_of(hostile.texts, hostile.numbers.map(str))
INBOUND = hostile.shaped(
    {"MessageSid": st.one_of(st.from_regex(r"SM[0-9a-f]{32}", fullmatch=True), FORM_VALUES),
     "From": st.one_of(st.sampled_from([PHONE, f"whatsapp:{PHONE}", "0701119001"]),
                       FORM_VALUES),
     "Body": st.one_of(st.sampled_from(["YES", "NO", "STOP", "START", "PAUSE 2"]), FORM_VALUES)},
    {"To": FORM_VALUES, "NumMedia": FORM_VALUES}, FORM_VALUES,
)
STATUS = hostile.shaped(
    {"MessageSid": st.one_of(st.from_regex(r"SM[0-9a-f]{32}", fullmatch=True), FORM_VALUES),
     "MessageStatus": st.one_of(st.sampled_from(["sent", "delivered", "failed"]), FORM_VALUES)},
    {"ErrorCode": FORM_VALUES}, FORM_VALUES,
)


def form(fields: dict) -> dict[str, str]:
    """Return a form as Twilio posts it: every key and value text."""
    return {str(k): str(v) for k, v in fields.items()}


@pytest.mark.parametrize(("path", "forms"), [("/sms/inbound", INBOUND), ("/sms/status", STATUS)],
                         ids=["inbound", "status"])
def test_every_form_twilio_signs_is_taken_with_200(client, rt, volunteer, path, forms):
    @FUZZ
    @given(fields=forms)
    @example({"MessageSid": "SM" + "a" * 32, "From": PHONE, "Body": "JA\x00\x07\x1b"})
    @example({"MessageSid": "SM\x00nul", "From": PHONE, "Body": "YES", "MessageStatus": "sent"})
    def post(fields):
        before = snapshot(rt)
        response = twilio_post(client, path, form(fields), token=TWILIO_TOKEN)
        assert_sound(response, before, rt)
        # Only a form over the size limit (64 KiB) is refused, and never by Twilio.
        assert response.status_code in (200, 413), response.get_data(as_text=True)

    post()


def csrf_of(client, ref: str) -> str:
    """Return this session's CSRF token from a volunteer's thread page."""
    page = client.get(f"/phones/{ref}").get_data(as_text=True)
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def test_no_virtual_phone_request_is_answered_with_a_server_error(client, rt, volunteer):
    csrf = csrf_of(client, volunteer.ref)

    @FUZZ
    @given(query=hostile.texts, ref=st.one_of(st.just(volunteer.ref), hostile.path_texts),
           body=hostile.texts)
    @example("\x00", "R\x00", "YES\x00")
    def use(query, ref, body):
        before = snapshot(rt)
        assert_sound(client.get("/phones/", query_string={"q": query}), before, rt)
        assert_sound(client.get(f"/phones/{quote(ref, safe='')}"), before, rt)
        posted = client.post(f"/phones/{quote(ref, safe='')}", data={"body": body, "csrf": csrf})
        assert_sound(posted, before, rt)

    use()


# --- What the cases found by the audit are answered -------------------------------------------


def test_a_webhook_id_of_255_characters_is_taken_and_its_repeat_answered_alike(client, room,
                                                                               clock):
    first = post_event(client, room, valid_event(), at=clock.now(), webhook_id="w" * 255)
    again = post_event(client, room, valid_event(), at=clock.now(), webhook_id="w" * 255)

    assert first.status_code == again.status_code == 202
    assert again.json == first.json


def test_a_webhook_id_over_255_characters_is_refused_and_nothing_is_written(client, rt, room,
                                                                            clock):
    response = post_event(client, room, valid_event(), at=clock.now(), webhook_id="w" * 256)

    assert "255" in assert_error(response, 422, "invalid_payload", "webhook-id")["webhook-id"]
    assert row_counts(rt) == NOTHING_WRITTEN


@pytest.mark.parametrize(("change", "field"), [
    ({"address": "Drottninggatan\x0053"}, "data.address"),
    ({"notes": "Door code\x001234"}, "data.notes"),
    ({"notes": "bell\x07"}, "data.notes"),
    ({"kind": "cardiac\x00arrest"}, "data.kind"),
    ({"id": "CAD\x00-1"}, "data.id"),
    ({"flags": ["trauma\x7f"]}, "data.flags.0"),
], ids=["address", "notes", "notes-bell", "kind", "id", "flag"])
def test_a_control_character_in_an_event_is_refused_naming_the_field(client, rt, room, clock,
                                                                     change, field):
    response = post_event(client, room, valid_event(**change), at=clock.now())

    assert "control characters" in assert_error(response, 422, "invalid_payload", field)[field]
    assert row_counts(rt) == NOTHING_WRITTEN


def test_tab_and_line_breaks_in_an_address_and_notes_are_kept(client, room, clock):
    response = post_event(client, room, valid_event(address="Drottninggatan 53\n3 tr",
                                                    notes="Code\t1234\r\nCourtyard"),
                          at=clock.now())

    assert response.status_code == 202, response.json


@pytest.mark.parametrize("timestamp", [
    "0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "1999-12-31T23:59:59Z",
    "2100-01-01T00:00:00Z",
])
def test_an_event_timestamp_outside_2000_to_2100_is_refused(client, rt, room, clock, timestamp):
    response = post_event(client, room, valid_event() | {"timestamp": timestamp}, at=clock.now())

    assert "2000 and 2100" in assert_error(response, 422, "invalid_payload",
                                           "timestamp")["timestamp"]
    assert row_counts(rt) == NOTHING_WRITTEN


@pytest.mark.parametrize("at", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-05:00"])
def test_a_position_from_year_one_or_9999_is_refused(client, rt, room, volunteer, at):
    before = snapshot(rt)
    response = client.put(f"/api/v1/responders/{volunteer.ref}/position",
                          json={"lat": 59.33, "lon": 18.06, "at": at}, headers=bearer(room.token))

    assert_error(response, 422, "invalid_payload", "at")
    assert snapshot(rt) == before


@pytest.mark.parametrize(("path", "field"), [
    ("/api/v1/incidents/CAD%00-1", "id"),
    ("/api/v1/incidents/" + "C" * 101, "id"),
], ids=["nul", "too-long"])
def test_an_incident_id_in_the_path_that_no_incident_can_have_is_refused(client, room, path,
                                                                         field):
    assert_error(client.get(path, headers=bearer(room.token)), 422, "invalid_payload", field)


@pytest.mark.parametrize("ref", ["R%00", "R%1B", "R" * 17], ids=["nul", "escape", "too-long"])
def test_a_volunteer_ref_in_the_path_that_no_volunteer_can_have_is_refused(client, rt, room,
                                                                           ref):
    before = snapshot(rt)
    response = client.put(f"/api/v1/responders/{ref}/position",
                          json={"lat": 59.33, "lon": 18.06, "at": NOW}, headers=bearer(room.token))

    assert_error(response, 422, "invalid_payload", "ref")
    assert snapshot(rt) == before


def test_a_volunteers_reply_with_control_characters_is_kept_without_them(client, rt, volunteer):
    response = sms_from(client, volunteer, "HELP\x00\x07\x1b please\x7f")

    assert response.status_code == 200
    with rt.transaction() as session:
        [body] = session.scalars(select(Message.body).where(Message.direction == "in")).all()
    assert body == "HELP please"


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
def test_the_health_and_metrics_endpoints_answer_whatever_the_query(client, rt, volunteer, path):
    response = client.get(path, query_string={"q": "\x00\x1b" + "é" * 2000, "": "\U0001f600"},
                          headers={"Authorization": "Bearer \x00"})

    assert response.status_code == 200, response.get_data(as_text=True)
