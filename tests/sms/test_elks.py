"""The 46elks adapter against a local fake of its HTTP API: the second provider."""

from __future__ import annotations

import logging

import pytest

from dispatcher.settings import load_settings
from dispatcher.sms import ProviderMessage, SmsSender, build_failover_sender
from dispatcher.sms.codes import ACCOUNT, NUMBER, TRANSIENT
from dispatcher.sms.elks import (
    DeliveryReport,
    ElksSender,
    classify_answer,
    parse_delivery_report,
)
from dispatcher.sms.failures import ClassifiedSendError, ProviderCheckError
from tests.support.fake_elks import FROM, PASSWORD, USERNAME, Answer, FakeElks

TO = "+46701234567"
BODY = "CPR ALERT: suspected cardiac arrest 350 m N of you. Reply YES or NO. Ref 4821"
CALLBACK = "https://dispatch.example.org/sms/status"


@pytest.fixture
def fake():
    with FakeElks() as server:
        yield server


def elks(fake: FakeElks, **kwargs) -> ElksSender:
    """Return the adapter reaching the fake, with its credentials unless told otherwise."""
    username = kwargs.pop("username", USERNAME)
    password = kwargs.pop("password", PASSWORD)
    return ElksSender(username, password, FROM, base_url=fake.url, **kwargs)


def test_a_message_is_posted_with_the_documented_form_fields_and_basic_auth(fake):
    result = elks(fake).send(TO, BODY, status_callback=CALLBACK)

    [request] = fake.requests
    assert (request.method, request.path, request.authorised) == ("POST", "/a1/sms", True)
    assert request.form == {"from": FROM, "to": TO, "message": BODY, "whendelivered": CALLBACK}
    assert result == ProviderMessage(sid=request.sid, status="queued")


def test_without_a_status_callback_no_delivery_report_is_asked_for(fake):
    elks(fake).send(TO, BODY)

    assert "whendelivered" not in fake.requests[0].form


def test_reports_go_to_the_adapters_own_url_when_it_has_one(fake):
    own = "https://dispatch.example.org/sms/status/46elks"

    elks(fake, report_url=own).send(TO, BODY, status_callback=CALLBACK)

    assert fake.requests[0].form["whendelivered"] == own


def test_a_whatsapp_address_goes_out_as_an_sms_to_its_number(fake):
    elks(fake).send("whatsapp:" + TO, BODY)

    assert fake.requests[0].form["to"] == TO


def test_it_is_an_sms_sender_named_46elks():
    sender: SmsSender = ElksSender("u", "p", FROM)

    assert sender.name == "46elks"


@pytest.mark.parametrize(("answer", "kind"), [
    (Answer.refuse(403, "Invalid to number"), NUMBER),
    (Answer.refuse(400, "to: not a valid phone number"), NUMBER),
    (Answer.refuse(402, "Not enough credits to send message"), ACCOUNT),
    (Answer.refuse(403, "Insufficient credits"), ACCOUNT),
    (Answer.refuse(403, "Invalid from"), ACCOUNT),
    (Answer.refuse(403, "Something else entirely"), ACCOUNT),
    (Answer.refuse(429, "Too many requests"), TRANSIENT),
    (Answer.refuse(500, "Internal error"), TRANSIENT),
    (Answer.refuse(503, "Service unavailable"), TRANSIENT),
])
def test_a_refusal_is_classified_by_status_and_by_what_its_text_is_about(fake, answer, kind):
    fake.answer(TO, answer)

    with pytest.raises(ClassifiedSendError) as raised:
        elks(fake).send(TO, BODY)

    assert raised.value.kind == kind
    assert raised.value.permanent is (kind == NUMBER)
    assert raised.value.provider == "46elks"


def test_wrong_credentials_are_the_accounts_fault(fake):
    with pytest.raises(ClassifiedSendError) as raised:
        elks(fake, password="wrong").send(TO, BODY)

    assert raised.value.kind == ACCOUNT
    assert fake.requests[0].authorised is False


def test_an_unreachable_46elks_is_transient(fake):
    url = fake.url
    fake.__exit__(None, None, None)

    with pytest.raises(ClassifiedSendError) as raised:
        ElksSender(USERNAME, PASSWORD, FROM, base_url=url).send(TO, BODY)

    assert raised.value.kind == TRANSIENT


def test_the_refusal_text_is_never_logged_as_it_may_quote_the_number(fake, caplog):
    fake.answer(TO, Answer.refuse(403, f"Invalid to number {TO}"))
    caplog.set_level(logging.DEBUG, logger="dispatcher")

    with pytest.raises(ClassifiedSendError) as raised:
        elks(fake).send(TO, BODY)

    assert TO not in caplog.text
    assert TO not in str(raised.value)
    assert BODY not in caplog.text


@pytest.mark.parametrize(("status", "kind"), [(401, ACCOUNT), (302, TRANSIENT), (418, ACCOUNT)])
def test_a_status_alone_classifies_an_answer_without_a_telling_text(status, kind):
    assert classify_answer(status).kind == kind


def test_the_credentials_are_checked_against_the_account(fake):
    elks(fake).check()

    assert (fake.requests[0].method, fake.requests[0].path) == ("GET", "/a1/me")


def test_refused_credentials_fail_the_check_by_name(fake):
    with pytest.raises(ProviderCheckError, match="DISPATCHER_ELKS_USERNAME/PASSWORD"):
        elks(fake, password="wrong").check()


def test_an_unreachable_46elks_fails_the_check_with_its_own_message(fake):
    url = fake.url
    fake.__exit__(None, None, None)

    with pytest.raises(ProviderCheckError, match="could not be reached") as raised:
        ElksSender(USERNAME, PASSWORD, FROM, base_url=url).check()

    assert raised.value.kind == TRANSIENT


@pytest.mark.parametrize(("form", "report"), [
    ({"id": "s1", "status": "delivered", "delivered": "2024-01-01T12:00:03.000000"},
     DeliveryReport("s1", "delivered", "2024-01-01T12:00:03.000000")),
    ({"id": "s1", "status": "failed"}, DeliveryReport("s1", "failed", None)),
    ({"id": "s1", "status": "sent"}, DeliveryReport("s1", "sent", None)),
])
def test_a_delivery_report_is_read_from_46elks_form(form, report):
    assert parse_delivery_report(form) == report


@pytest.mark.parametrize("form", [{}, {"id": "s1"}, {"id": "s1", "status": "lost"},
                                  {"status": "delivered"}])
def test_a_form_that_is_not_a_delivery_report_is_refused(form):
    with pytest.raises(ValueError):
        parse_delivery_report(form)


@pytest.mark.parametrize(("username", "password", "sender", "missing"), [
    ("", "p", FROM, "ELKS_USERNAME"), ("u", "", FROM, "ELKS_PASSWORD"), ("u", "p", "", "ELKS_FROM"),
])
def test_the_adapter_refuses_to_start_without_credentials_or_sender(username, password, sender,
                                                                   missing):
    with pytest.raises(ValueError, match=missing):
        ElksSender(username, password, sender)


# The failover sender the settings select.

def test_no_failover_sender_is_built_by_default():
    assert build_failover_sender(load_settings(environ={})) is None


def test_the_46elks_failover_sender_is_built_from_its_settings():
    settings = load_settings({"SMS_FAILOVER_BACKEND": "46elks", "ELKS_USERNAME": USERNAME,
                              "ELKS_PASSWORD": PASSWORD, "ELKS_FROM": FROM}, environ={})

    sender = build_failover_sender(settings)

    assert isinstance(sender, ElksSender)
    assert sender.name == "46elks"


def test_the_failover_settings_come_from_the_environment():
    settings = load_settings(environ={
        "DISPATCHER_SMS_FAILOVER_BACKEND": "46elks", "DISPATCHER_ELKS_USERNAME": "u",
        "DISPATCHER_ELKS_PASSWORD": "p", "DISPATCHER_ELKS_FROM": "Dispatch",
        "DISPATCHER_ELKS_TIMEOUT_S": "2.5",
    })

    assert settings.sms_failover_backend == "46elks"
    assert (settings.elks.username, settings.elks.sender) == ("u", "Dispatch")
    assert settings.elks.timeout_s == 2.5


def test_an_unknown_failover_backend_is_refused_by_name():
    with pytest.raises(ValueError, match="SMS_FAILOVER_BACKEND"):
        build_failover_sender(load_settings({"SMS_FAILOVER_BACKEND": "pigeon"}, environ={}))


def test_a_46elks_failover_without_credentials_is_refused():
    with pytest.raises(ValueError, match="ELKS_USERNAME"):
        build_failover_sender(load_settings({"SMS_FAILOVER_BACKEND": "46elks"}, environ={}))
