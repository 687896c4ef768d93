"""The Twilio adapter, driven through the SDK's injectable HTTP client: no network at all."""

from __future__ import annotations

import json
import logging
from urllib.parse import urlparse

import pytest
import requests
from twilio.http import HttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response

from dispatcher.errors import SmsSendError
from dispatcher.settings import load_settings
from dispatcher.sms import ProviderMessage, build_sender
from dispatcher.sms.deadline import DeadlineSession
from dispatcher.sms.outbox import OutboxSender
from dispatcher.sms.twilio import TwilioSender

ACCOUNT = "AC" + "0123456789abcdef" * 2
TOKEN = "test-auth-token"
SERVICE = "MG" + "fedcba9876543210" * 2
TO = "+46701234567"
BODY = "CPR ALERT: suspected cardiac arrest 350 m N of you. Reply YES or NO. Ref 4821"
CALLBACK = "https://dispatch.example.org/sms/status"


class RecordingHttpClient(HttpClient):
    """An SDK HTTP client that records each request and answers from a script."""

    def __init__(self, *answers: Response | Exception):
        super().__init__(logging.getLogger("tests.twilio"), is_async=False, timeout=None)
        self.answers = list(answers)
        self.requests: list[dict] = []

    def request(self, method, uri, params=None, data=None, headers=None, auth=None,
                timeout=None, allow_redirects=False):
        self.requests.append(
            {"method": method, "url": uri, "data": data, "auth": auth, "timeout": timeout}
        )
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def created(sid: str = "SM" + "1" * 32, status: str = "queued") -> Response:
    """Answer as Twilio does to a message it accepted."""
    return Response(201, json.dumps({"sid": sid, "status": status, "account_sid": ACCOUNT}))


def refused(http: int, code: int, message: str = "refused") -> Response:
    """Answer as Twilio does to a message it refuses (its classic error body)."""
    return Response(http, json.dumps({
        "code": code, "message": message, "status": http,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
    }))


def sender(http: HttpClient, **kwargs) -> TwilioSender:
    """Build a sender on the recording client, sending from a number unless told otherwise."""
    kwargs.setdefault("from_", "+15005550006")
    return TwilioSender(ACCOUNT, TOKEN, http_client=http, **kwargs)


def test_an_accepted_message_returns_the_provider_sid_and_status():
    http = RecordingHttpClient(created(sid="SMabc123", status="queued"))

    result = sender(http).send(TO, BODY, status_callback=CALLBACK)

    assert result == ProviderMessage(sid="SMabc123", status="queued")


def test_the_request_posts_to_the_accounts_messages_resource_with_every_parameter():
    http = RecordingHttpClient(created())

    sender(http, validity_period_s=120).send(TO, BODY, status_callback=CALLBACK)

    [request] = http.requests
    url = urlparse(request["url"])
    assert request["method"] == "POST"
    assert url.scheme == "https"
    assert url.path == f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
    assert request["auth"] == (ACCOUNT, TOKEN)
    data = {key: str(value) for key, value in request["data"].items()}
    assert data == {
        "To": TO, "Body": BODY, "From": "+15005550006",
        "StatusCallback": CALLBACK, "ValidityPeriod": "120",
    }


def test_a_messaging_service_is_used_instead_of_a_from_number_when_configured():
    http = RecordingHttpClient(created())

    sender(http, from_="", messaging_service_sid=SERVICE).send(TO, BODY)

    data = http.requests[0]["data"]
    assert data["MessagingServiceSid"] == SERVICE
    assert "From" not in data


def test_no_status_callback_or_validity_period_is_sent_when_there_is_none():
    http = RecordingHttpClient(created())

    sender(http, validity_period_s=None).send(TO, BODY)

    data = http.requests[0]["data"]
    assert "StatusCallback" not in data
    assert "ValidityPeriod" not in data


@pytest.mark.parametrize(
    ("http_status", "code", "permanent"),
    [
        (400, 21610, True),   # the volunteer replied STOP
        (400, 21211, True),   # not a valid number
        (400, 21614, True),   # not a mobile number
        (400, 30003, False),  # unreachable handset: worth one retry
        (400, 21611, False),  # queue full: transient
        (429, 20429, False),  # rate limited
        (500, 20500, False),  # Twilio's own fault
    ],
)
def test_a_refusal_raises_sms_send_error_with_the_code_and_whether_it_is_permanent(
    http_status, code, permanent
):
    http = RecordingHttpClient(refused(http_status, code))

    with pytest.raises(SmsSendError) as raised:
        sender(http).send(TO, BODY)

    assert raised.value.provider_code == code
    assert raised.value.permanent is permanent


def test_a_server_error_without_a_json_body_is_transient():
    http = RecordingHttpClient(Response(502, "<html>Bad Gateway</html>"))

    with pytest.raises(SmsSendError) as raised:
        sender(http).send(TO, BODY)

    assert raised.value.permanent is False


def test_a_problem_details_refusal_keeps_its_code_and_permanence():
    # twilio-python 9.x raises TwilioServiceException, not TwilioRestException, for an
    # RFC 9457 error body; an opted-out number must still never be retried.
    body = {"type": "https://www.twilio.com/docs/errors/21610", "title": "Unsubscribed recipient",
            "status": 400, "code": 21610, "detail": "The recipient has opted out"}
    http = RecordingHttpClient(Response(400, json.dumps(body)))

    with pytest.raises(SmsSendError) as raised:
        sender(http).send(TO, BODY)

    assert raised.value.provider_code == 21610
    assert raised.value.permanent is True


@pytest.mark.parametrize(
    "failure",
    [
        requests.exceptions.Timeout("read timed out"),
        requests.exceptions.ConnectTimeout("connect timed out"),
        requests.exceptions.ConnectionError("connection refused"),
    ],
    ids=["timeout", "connect-timeout", "connection-error"],
)
def test_a_transport_failure_becomes_a_transient_sms_send_error(failure):
    http = RecordingHttpClient(failure)

    with pytest.raises(SmsSendError) as raised:
        sender(http).send(TO, BODY)

    assert raised.value.permanent is False
    assert raised.value.provider_code is None
    assert raised.value.__cause__ is failure


def test_an_answer_that_is_not_json_becomes_an_sms_send_error():
    # A proxy or captive portal can answer 2xx with HTML; the caller only handles SmsSendError.
    http = RecordingHttpClient(Response(200, "<html>Welcome to the hotel wifi</html>"))

    with pytest.raises(SmsSendError) as raised:
        sender(http).send(TO, BODY)

    assert raised.value.permanent is False


def test_the_sdk_http_client_gets_the_configured_timeout_when_none_is_injected():
    twilio = TwilioSender(ACCOUNT, TOKEN, from_="+15005550006", timeout_s=2.5)

    assert isinstance(twilio._client.http_client, TwilioHttpClient)
    assert twilio._client.http_client.timeout == 2.5


def test_the_sdk_http_client_bounds_each_call_by_the_configured_deadline():
    settings = load_settings({"TWILIO_ACCOUNT_SID": ACCOUNT, "TWILIO_AUTH_TOKEN": TOKEN,
                              "TWILIO_FROM": "+15005550006", "TWILIO_DEADLINE_S": 7.5,
                              "SEND_LEASE_S": 30},
                             environ={})

    twilio = TwilioSender.from_settings(settings.twilio)

    assert isinstance(twilio._client.http_client.session, DeadlineSession)
    assert twilio._client.http_client.session.deadline_s == 7.5


@pytest.mark.parametrize(
    ("account", "token", "from_", "service", "missing"),
    [
        ("", TOKEN, "+15005550006", "", "TWILIO_ACCOUNT_SID"),
        (ACCOUNT, "", "+15005550006", "", "TWILIO_AUTH_TOKEN"),
        (ACCOUNT, TOKEN, "", "", "TWILIO_FROM"),
    ],
)
def test_missing_credentials_or_sender_are_refused_when_the_sender_is_built(
    account, token, from_, service, missing
):
    with pytest.raises(ValueError, match=missing):
        TwilioSender(account, token, from_=from_, messaging_service_sid=service)


def test_build_sender_picks_the_outbox_by_default():
    assert isinstance(build_sender(load_settings(environ={})), OutboxSender)


def test_build_sender_picks_twilio_with_the_configured_timeout_and_validity():
    settings = load_settings({
        "SMS_BACKEND": "twilio", "TWILIO_ACCOUNT_SID": ACCOUNT, "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_MESSAGING_SERVICE_SID": SERVICE, "TWILIO_TIMEOUT_S": 3,
        "TWILIO_VALIDITY_PERIOD_S": 0,
    }, environ={})

    built = build_sender(settings)

    assert isinstance(built, TwilioSender)
    assert built.name == "twilio"
    assert built._client.http_client.timeout == 3.0
    assert built._validity is None  # 0 means "Twilio's default", so none is sent


def test_the_built_sender_keeps_a_connection_for_every_concurrent_send_of_every_worker():
    settings = load_settings({
        "SMS_BACKEND": "twilio", "TWILIO_ACCOUNT_SID": ACCOUNT, "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_FROM": "+15005550006", "SEND_CONCURRENCY": 30, "QUEUE_WORKERS": 3,
    }, environ={})

    session = build_sender(settings)._client.http_client.session

    adapter = session.get_adapter("https://api.twilio.com/2010-04-01/Accounts")
    assert adapter.poolmanager.connection_pool_kw["maxsize"] == 90  # the SDK's own is 6 to 32


def test_build_sender_refuses_an_unknown_backend():
    with pytest.raises(ValueError, match="SMS_BACKEND"):
        build_sender(load_settings({"SMS_BACKEND": "carrier-pigeon"}, environ={}))


@pytest.mark.parametrize(
    "answer",
    [
        created(),
        refused(400, 21211, f"The 'To' number {TO} is not a valid phone number."),
        refused(500, 20500),
        requests.exceptions.ConnectionError(f"cannot reach api.twilio.com for {TO}"),
    ],
    ids=["accepted", "refused", "server-error", "transport-error"],
)
def test_the_logs_of_a_send_carry_neither_the_number_nor_the_body(caplog, answer):
    caplog.set_level(logging.DEBUG)
    http = RecordingHttpClient(answer)

    try:
        sender(http).send(TO, BODY, status_callback=CALLBACK)
    except SmsSendError:
        pass

    assert caplog.records, "the adapter logs the outcome of every send"
    assert TO not in caplog.text
    assert TO.lstrip("+") not in caplog.text
    assert BODY not in caplog.text
    assert "4821" not in caplog.text
