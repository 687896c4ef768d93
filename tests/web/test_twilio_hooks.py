"""POST /sms/inbound and /sms/status: Twilio's webhooks (DESIGN.md sections 5 and 9).

Every app in this module accepts requests signed with the builders' Twilio token for the
public URL https://dispatch.example.org, and alerts one volunteer per wave, so the next
nearest volunteer is the one a replacement texts.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from contextlib import contextmanager

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from dispatcher.domain.templates import render
from dispatcher.jobs import sweeper
from dispatcher.store.db import make_engine, make_sessionmaker
from dispatcher.store.models import Alert, Message, Responder
from dispatcher.store.reports import DeliveryReport
from tests.builders import (
    TWILIO_TOKEN,
    alert_states,
    count_rows,
    create_incident,
    make_control_room,
    make_volunteer,
    sms_from,
    status_report,
    twilio_post,
)

PUBLIC = "https://dispatch.example.org"
PATHS = ["/sms/inbound", "/sms/status"]
STRANGER = "+46701234567"  # a Swedish mobile number that belongs to no volunteer


@pytest.fixture(autouse=True)
def _twilio(settings, twilio_hooks):
    """Configure the Twilio token and the public URL; alert one volunteer per wave."""
    settings["WAVE_SIZE"] = 1


@pytest.fixture
def first(rt):
    """The volunteer nearest to the incident: 200 m away."""
    return make_volunteer(rt, north_m=200)


@pytest.fixture
def second(rt):
    """The next nearest volunteer: 400 m away, texted only in someone's place."""
    return make_volunteer(rt, north_m=400)


@pytest.fixture
def alert_sid(client, rt, sms, room, first, second):
    """Open an incident; return the provider's id of the alert texted to the first volunteer."""
    assert create_incident(client, room, rt).status_code < 300
    [alerted] = sms.sent
    assert alerted.to == first.phone
    return alerted.sid


# --- helpers ----------------------------------------------------------------------------------


def signed_post(http, path: str, params: dict, *, url: str | None = None,
                token: str = TWILIO_TOKEN, sent: dict | None = None, **kwargs):
    """Sign `params` for `url` (the public URL of the path by default); post `sent` or them."""
    signature = RequestValidator(token).compute_signature(url or PUBLIC + path, params)
    return http.post(path, data=params if sent is None else sent,
                     headers={"X-Twilio-Signature": signature}, **kwargs)


def hostile(path: str, volunteer: Responder, alert_sid: str) -> dict:
    """Return a request for the path that opts the volunteer out when it is accepted."""
    if path == "/sms/inbound":
        return {"MessageSid": "SMin-stop-0001", "From": volunteer.phone, "To": "+46700000000",
                "Body": "STOP", "NumMedia": "0"}
    return {"MessageSid": alert_sid, "MessageStatus": "undelivered", "ErrorCode": "21610"}


def assert_empty_twiml(response) -> None:
    """Assert the response is 200 with a TwiML document that says nothing."""
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/xml"
    root = ET.fromstring(response.get_data())
    assert root.tag == "Response"
    assert list(root) == [] and not (root.text or "").strip()


def snapshot(rt) -> dict[str, list[tuple]]:
    """Return every message, alert and volunteer state: what a webhook could change."""
    with rt.transaction() as session:
        return {
            "messages": [tuple(r) for r in session.execute(
                select(Message.id, Message.direction, Message.status, Message.sid,
                       Message.error_code, Message.alert_id).order_by(Message.id))],
            "alerts": [tuple(r) for r in session.execute(
                select(Alert.id, Alert.responder_id, Alert.state).order_by(Alert.id))],
            "responders": [tuple(r) for r in session.execute(
                select(Responder.id, Responder.status, Responder.paused_until)
                .order_by(Responder.id))],
        }


def message_by_sid(rt, sid: str) -> tuple[str, int | None]:
    """Return the status and error code of the message with this provider id."""
    with rt.transaction() as session:
        return tuple(session.execute(
            select(Message.status, Message.error_code).where(Message.sid == sid)).one())


def responder_status(rt, volunteer: Responder) -> str:
    """Return a volunteer's current status."""
    with rt.transaction() as session:
        return session.get(Responder, volunteer.id).status


def inbound_rows(rt) -> list[tuple]:
    """Return the inbound messages: sid, volunteer and body."""
    with rt.transaction() as session:
        return [tuple(r) for r in session.execute(
            select(Message.sid, Message.responder_id, Message.body)
            .where(Message.direction == "in").order_by(Message.id))]


# --- Signatures -------------------------------------------------------------------------------


def test_twilio_signs_the_design_vector_with_the_documented_signature():
    validator = RequestValidator("12345")
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = {"CallSid": "CA1234567890ABCDE", "Caller": "+14158675309", "Digits": "1234",
              "From": "+14158675309", "To": "+18005551212"}

    assert validator.compute_signature(url, params) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    assert validator.validate(url, params, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
    assert not RequestValidator("54321").validate(url, params, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    ("signed_for", "base_url"),
    [
        pytest.param(PUBLIC, "http://localhost", id="public-url-through-a-proxy"),
        pytest.param(PUBLIC, "http://10.0.0.7:8000", id="public-url-internal-host-and-port"),
        pytest.param(PUBLIC + ":443", "http://localhost", id="public-url-with-default-port"),
    ],
)
def test_a_request_signed_for_the_public_url_is_accepted_and_applied(
    client, rt, sms, first, alert_sid, path, signed_for, base_url
):
    response = signed_post(client, path, hostile(path, first, alert_sid),
                           url=signed_for + path, base_url=base_url)

    assert_empty_twiml(response)
    assert b"<Response" in response.get_data()
    assert responder_status(rt, first) == "opted_out"


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    "forgery",
    ["no signature", "empty signature", "another token", "another path", "tampered param",
     "internal url", "another host"],
)
def test_a_request_without_a_valid_signature_is_refused_and_changes_nothing(
    client, rt, sms, first, alert_sid, path, forgery
):
    params = hostile(path, first, alert_sid)
    before, texted = snapshot(rt), list(sms.sent)

    if forgery == "no signature":
        response = client.post(path, data=params)
    elif forgery == "empty signature":
        response = client.post(path, data=params, headers={"X-Twilio-Signature": ""})
    elif forgery == "another token":
        response = signed_post(client, path, params, token="not-our-auth-token")
    elif forgery == "another path":
        other = next(p for p in PATHS if p != path)
        response = signed_post(client, path, params, url=PUBLIC + other)
    elif forgery == "tampered param":
        # Signed as harmless, changed in transit to what opts the volunteer out.
        harmless = ({**params, "Body": "HELP"} if path == "/sms/inbound"
                    else {**params, "MessageStatus": "sent", "ErrorCode": ""})
        response = signed_post(client, path, harmless, sent=params)
    elif forgery == "internal url":
        response = signed_post(client, path, params, url="http://localhost" + path)
    else:
        response = signed_post(client, path, params, url="https://evil.example.com" + path)

    assert response.status_code == 403
    assert b"<Response" not in response.get_data()
    assert snapshot(rt) == before
    assert sms.sent == texted


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("signing_token", [TWILIO_TOKEN, ""], ids=["our-token", "empty-token"])
def test_without_a_configured_auth_token_every_request_is_refused(
    make_app, settings, sms, path, signing_token
):
    settings.pop("TWILIO_AUTH_TOKEN")
    app = make_app()
    rt, client = app.extensions["dispatcher"], app.test_client()
    volunteer = make_volunteer(rt, north_m=200)
    create_incident(client, make_control_room(rt), rt)
    [alerted] = sms.sent
    before, texted = snapshot(rt), list(sms.sent)

    response = signed_post(client, path, hostile(path, volunteer, alerted.sid),
                           token=signing_token)

    assert response.status_code == 403
    assert snapshot(rt) == before
    assert sms.sent == texted


# --- Inbound ----------------------------------------------------------------------------------


@pytest.mark.parametrize("sender", [STRANGER, "whatsapp:" + STRANGER, "0701234567"])
def test_a_text_from_an_unknown_number_is_kept_without_number_or_text_and_not_logged(
    client, rt, sms, first, caplog, sender
):
    caplog.set_level(logging.DEBUG)

    response = twilio_post(client, "/sms/inbound", {
        "MessageSid": "SMin-stranger-0001", "From": sender, "To": "+46700000000",
        "Body": "YES", "NumMedia": "0",
    })

    assert_empty_twiml(response)
    with rt.transaction() as session:
        [kept] = session.scalars(select(Message)).all()
    assert (kept.sid, kept.direction, kept.purpose) == ("SMin-stranger-0001", "in", "inbound")
    assert (kept.address, kept.body, kept.responder_id) == ("", "", None)
    assert kept.processed_at is not None  # nothing to act on
    assert sms.sent == []
    assert "701234567" not in caplog.text


@pytest.mark.parametrize("repeat_body", ["HELP", "STOP"])
def test_the_same_message_sid_twice_is_applied_once(client, rt, sms, first, repeat_body):
    first_response = sms_from(client, first, "HELP", sid="SMin-duplicate-0001")
    repeat = sms_from(client, first, repeat_body, sid="SMin-duplicate-0001")

    assert_empty_twiml(first_response)
    assert_empty_twiml(repeat)
    assert inbound_rows(rt) == [("SMin-duplicate-0001", first.id, "HELP")]
    assert sms.to(first.phone) == [render("help", "en")]
    assert responder_status(rt, first) == "active"


@pytest.mark.parametrize(
    "change",
    [{"MessageSid": None}, {"From": None}, {"MessageSid": ""}, {"From": ""}],
    ids=["no-sid", "no-from", "empty-sid", "empty-from"],
)
def test_an_inbound_request_without_sid_or_sender_is_answered_with_nothing(
    client, rt, sms, first, change
):
    params = {"MessageSid": "SMin-incomplete-0001", "From": first.phone,
              "To": "+46700000000", "Body": "HELP", "NumMedia": "0"}
    for key, value in change.items():
        if value is None:
            del params[key]
        else:
            params[key] = value

    response = twilio_post(client, "/sms/inbound", params)

    assert_empty_twiml(response)
    assert snapshot(rt)["messages"] == []
    assert sms.sent == []


@pytest.mark.parametrize("address", ["whatsapp:{phone}", "{phone}"])
def test_a_text_is_matched_to_the_volunteer_whatever_the_channel_prefix(
    client, rt, sms, first, address
):
    response = twilio_post(client, "/sms/inbound", {
        "MessageSid": "SMin-channel-0001", "From": address.format(phone=first.phone),
        "To": "+46700000000", "Body": "HELP", "NumMedia": "0",
    })

    assert_empty_twiml(response)
    assert inbound_rows(rt) == [("SMin-channel-0001", first.id, "HELP")]
    # The answer goes to the volunteer's preferred channel, SMS by default.
    assert sms.to(first.phone) == [render("help", "en")]


# --- Delivery reports -------------------------------------------------------------------------


def test_a_delivered_report_marks_the_message_and_the_alert_delivered(
    client, rt, first, alert_sid
):
    assert message_by_sid(rt, alert_sid)[0] == "sent"
    assert alert_states(rt)[first.phone] == "sent"

    response = status_report(client, alert_sid, "delivered")

    assert_empty_twiml(response)
    assert message_by_sid(rt, alert_sid) == ("delivered", None)
    assert alert_states(rt)[first.phone] == "delivered"


@pytest.mark.parametrize("late", ["queued", "accepted", "sending", "sent"])
def test_an_earlier_state_reported_after_delivered_does_not_move_the_message_back(
    client, rt, first, alert_sid, late
):
    status_report(client, alert_sid, "delivered")

    response = status_report(client, alert_sid, late)

    assert_empty_twiml(response)
    assert message_by_sid(rt, alert_sid) == ("delivered", None)
    assert alert_states(rt)[first.phone] == "delivered"


@pytest.mark.parametrize(
    ("late", "code"), [("failed", None), ("failed", 30003), ("undelivered", 30003),
                       ("undelivered", 21610)],
)
def test_a_failure_reported_after_delivered_is_ignored_because_the_first_final_state_wins(
    client, rt, sms, first, second, alert_sid, late, code
):
    status_report(client, alert_sid, "delivered")
    before, texted = snapshot(rt), list(sms.sent)

    response = status_report(client, alert_sid, late, code)

    assert_empty_twiml(response)
    assert snapshot(rt) == before
    assert sms.sent == texted
    assert alert_states(rt) == {first.phone: "delivered"}


def test_a_delivery_report_does_not_undo_the_volunteers_answer(client, rt, first, alert_sid):
    sms_from(client, first, "YES")
    assert alert_states(rt)[first.phone] == "accepted"

    status_report(client, alert_sid, "delivered")

    assert message_by_sid(rt, alert_sid)[0] == "delivered"
    assert alert_states(rt)[first.phone] == "accepted"


@pytest.mark.parametrize(
    ("status", "code"), [("delivered", None), ("undelivered", 30003), ("failed", 21610)]
)
def test_a_report_for_an_unknown_sid_is_answered_and_changes_nothing(
    client, rt, sms, alert_sid, status, code
):
    before, texted = snapshot(rt), list(sms.sent)

    response = status_report(client, "SMunknown000000000000000000000000", status, code)

    assert_empty_twiml(response)
    assert snapshot(rt) == before
    assert sms.sent == texted


@pytest.mark.parametrize("status", ["undelivered", "failed"])
def test_a_transient_failure_is_retried_once_to_the_same_number(
    client, rt, sms, first, second, alert_sid, status
):
    [alert_body] = sms.to(first.phone)

    response = status_report(client, alert_sid, status, 30003)

    assert_empty_twiml(response)
    assert message_by_sid(rt, alert_sid) == (status, 30003)
    assert sms.to(first.phone) == [alert_body, alert_body]
    assert sms.to(second.phone) == []
    assert alert_states(rt) == {first.phone: "sent"}


@pytest.mark.parametrize("status", ["undelivered", "failed"])
def test_when_the_retry_fails_too_the_alert_fails_and_the_next_nearest_is_alerted(
    client, rt, sms, first, second, alert_sid, status
):
    status_report(client, alert_sid, status, 30003)
    retry = sms.sent[-1]
    assert retry.to == first.phone and retry.sid != alert_sid

    response = status_report(client, retry.sid, status, 30003)

    assert_empty_twiml(response)
    assert alert_states(rt) == {first.phone: "failed", second.phone: "sent"}
    assert len(sms.to(first.phone)) == 2  # the alert and its one retry, no third try
    assert len(sms.to(second.phone)) == 1
    assert responder_status(rt, first) == "active"


@pytest.mark.parametrize("status", ["undelivered", "failed"])
def test_an_opted_out_number_is_not_retried_and_the_next_nearest_is_alerted(
    client, rt, sms, first, second, alert_sid, status
):
    response = status_report(client, alert_sid, status, 21610)

    assert_empty_twiml(response)
    assert message_by_sid(rt, alert_sid) == (status, 21610)
    assert len(sms.to(first.phone)) == 1
    assert responder_status(rt, first) == "opted_out"
    assert alert_states(rt) == {first.phone: "failed", second.phone: "sent"}
    assert len(sms.to(second.phone)) == 1


@pytest.mark.parametrize("code", [21211, 21614])
def test_a_report_of_an_invalid_or_landline_number_is_not_retried_and_the_next_is_alerted(
    client, rt, sms, first, second, alert_sid, code
):
    response = status_report(client, alert_sid, "undelivered", code)

    assert_empty_twiml(response)
    assert len(sms.to(first.phone)) == 1  # no retry: no second try can reach that number
    assert responder_status(rt, first) == "invalid_number"  # passed over until corrected
    assert alert_states(rt) == {first.phone: "failed", second.phone: "sent"}
    assert len(sms.to(second.phone)) == 1


@pytest.mark.parametrize("word", ["exploded", "canceled", "received", "partially_delivered", ""])
def test_a_report_with_an_unknown_status_word_is_ignored(
    client, rt, sms, alert_sid, word
):
    before, texted = snapshot(rt), list(sms.sent)

    response = status_report(client, alert_sid, word, 30003)

    assert_empty_twiml(response)
    assert snapshot(rt) == before
    assert sms.sent == texted


# --- Answers go through the SMS port ----------------------------------------------------------


@pytest.mark.parametrize("body", ["HELP", "YES", "NO", "HERE", "PAUSE 2", "RESUME", "STOP",
                                  "what is this?"])
def test_the_answer_to_a_text_goes_through_the_sms_port_never_in_the_http_response(
    client, rt, sms, first, alert_sid, body
):
    already = len(sms.sent)

    response = sms_from(client, first, body)

    assert_empty_twiml(response)
    answers = [m for m in sms.sent[already:] if m.to == first.phone]
    assert answers, "the volunteer got no answer"
    text = response.get_data(as_text=True)
    assert all(answer.body not in text for answer in answers)
    with rt.transaction() as session:
        bodies = set(session.scalars(select(Message.body).where(Message.direction == "out")))
    assert {answer.body for answer in answers} <= bodies


@pytest.mark.parametrize("path", PATHS)
def test_a_fault_of_ours_is_logged_and_twilio_still_gets_empty_twiml(
    client, rt, sms, first, alert_sid, caplog, path
):
    # The provider breaks in a way the port does not promise: the retry or the answer cannot go.
    sms.failures[first.phone] = RuntimeError("provider exploded")
    params = ({"MessageSid": "SMin-fault-0001", "From": first.phone, "To": "+46700000000",
               "Body": "HELP", "NumMedia": "0"} if path == "/sms/inbound"
              else {"MessageSid": alert_sid, "MessageStatus": "undelivered", "ErrorCode": "30003"})

    response = twilio_post(client, path, params)

    assert_empty_twiml(response)
    assert any(r.levelno >= logging.ERROR and r.exc_info for r in caplog.records)
    assert first.phone not in caplog.text


# --- Stored first: 5xx only when the store fails ----------------------------------------------


@contextmanager
def database_unavailable(rt, tmp_path):
    """Point the app's sessions at a database that cannot be opened, then back."""
    if rt.engine.dialect.name == "sqlite":
        url = f"sqlite:///{tmp_path / 'no-such-folder' / 'gone.db'}"
    else:
        url = "postgresql+psycopg://127.0.0.1:1/gone"  # nothing listens on port 1
    broken = make_engine(url)
    working, rt.sessions = rt.sessions, make_sessionmaker(broken)
    try:
        yield
    finally:
        rt.sessions = working
        broken.dispose()


@pytest.mark.parametrize("path", PATHS)
def test_a_request_that_cannot_be_stored_gets_500_so_that_twilio_uses_its_fallback_url(
    client, rt, sms, first, alert_sid, path, tmp_path, caplog
):
    params = hostile(path, first, alert_sid)
    before, texted = snapshot(rt), list(sms.sent)

    with database_unavailable(rt, tmp_path):
        response = twilio_post(client, path, params)

    assert response.status_code == 500
    assert b"<Response" not in response.get_data()
    assert snapshot(rt) == before and sms.sent == texted
    assert count_rows(rt, DeliveryReport) == 0
    [error] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert params["MessageSid"] in error.getMessage()
    assert first.phone not in caplog.text and "STOP" not in caplog.text

    # Delivered again (the fallback URL may be this service on another host): taken now.
    assert_empty_twiml(twilio_post(client, path, params))
    assert responder_status(rt, first) == "opted_out"


@pytest.mark.parametrize("path", PATHS)
def test_a_request_stored_but_not_processed_is_answered_with_empty_twiml(
    client, rt, sms, first, alert_sid, path, queue, clock
):
    params = hostile(path, first, alert_sid)
    queue.down = True  # stored; nothing acts on it yet

    assert_empty_twiml(twilio_post(client, path, params))
    assert responder_status(rt, first) == "active"

    queue.down = False
    clock.advance(seconds=5)
    sweeper.sweep(rt)
    assert responder_status(rt, first) == "opted_out"


@pytest.mark.parametrize(
    ("field", "value"),
    [("MessageSid", "SM" + "0" * 63), ("MessageSid", "SM\x00nul")],
    ids=["sid-too-long", "sid-with-nul"],
)
@pytest.mark.parametrize("path", PATHS)
def test_a_request_whose_sid_could_not_be_kept_is_answered_with_nothing(
    client, rt, sms, first, alert_sid, path, field, value
):
    before = snapshot(rt)

    response = twilio_post(client, path, {**hostile(path, first, alert_sid), field: value})

    assert_empty_twiml(response)
    assert snapshot(rt) == before


# --- Whatever Twilio signs: 200 or 403, never 5xx ---------------------------------------------

ANY_TEXT = st.text(max_size=60)
FORMS = {
    "/sms/inbound": st.fixed_dictionaries({}, optional={
        "MessageSid": st.one_of(st.from_regex(r"SM[0-9a-f]{32}", fullmatch=True), ANY_TEXT,
                                st.text(min_size=60, max_size=80)),
        "From": st.one_of(st.sampled_from(["+46701119001", "whatsapp:+46701119001",
                                           "0701119001", STRANGER]), ANY_TEXT,
                          st.text(min_size=40, max_size=80).map(lambda t: "+46701119001" + t)),
        "To": ANY_TEXT,
        "Body": st.one_of(st.sampled_from(["YES", "NO", "HERE", "STOP", "START", "HELP",
                                           "PAUSE 2", "PAUSE 99999999", "RESUME", "1", "2"]),
                          st.text(max_size=300)),
        "NumMedia": ANY_TEXT,
    }),
    "/sms/status": st.fixed_dictionaries({}, optional={
        "MessageSid": st.one_of(st.from_regex(r"SM[0-9a-f]{32}", fullmatch=True), ANY_TEXT,
                                st.just("SM-alert")),
        "MessageStatus": st.one_of(st.sampled_from(["queued", "sent", "delivered", "failed",
                                                    "undelivered", "read", "DELIVERED"]),
                                   ANY_TEXT),
        "ErrorCode": st.one_of(st.sampled_from(["30003", "21610", "21211", "30005"]),
                               st.integers().map(str), ANY_TEXT),
    }),
}


@pytest.mark.parametrize("path", PATHS)
def test_whatever_form_twilio_signs_gets_200_or_403_never_a_5xx(client, rt, path):
    make_volunteer(rt, north_m=200, phone="+46701119001")
    answers: list[int] = []

    @hypothesis_settings(max_examples=60, deadline=None, database=None)
    @given(form=FORMS[path], extra=st.dictionaries(ANY_TEXT, ANY_TEXT, max_size=3))
    def post(form, extra):
        response = twilio_post(client, path, {**extra, **form})
        answers.append(response.status_code)
        assert response.status_code in (200, 403), response.get_data(as_text=True)

    post()
    assert 200 in answers
