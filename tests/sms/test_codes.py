"""The table of Twilio's error codes, code by code, through the real adapter and SDK."""

from __future__ import annotations

import json
import logging
import re

import pytest
from twilio.http import HttpClient
from twilio.http.response import Response

from dispatcher.errors import SmsSendError
from dispatcher.sms import ACCOUNT_ERRORS, OPTED_OUT, PERMANENT_ERRORS
from dispatcher.sms.codes import (
    ACCOUNT,
    NUMBER,
    TRANSIENT,
    TWILIO_CODES,
    Classification,
    classify,
)
from dispatcher.sms.failures import ClassifiedSendError, kind_of, refusal
from dispatcher.sms.twilio import TwilioSender

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
TO = "+46701234567"

# The HTTP status Twilio answers each code with; 400 for the rest.
HTTP = {20003: 401, 20403: 403, 20404: 404, 20429: 429, 20500: 500, 20503: 503}


class ScriptedHttpClient(HttpClient):
    """An SDK HTTP client that answers every request with one scripted answer."""

    def __init__(self, answer: Response):
        super().__init__(logging.getLogger("tests.codes"), is_async=False, timeout=None)
        self.answer = answer

    def request(self, method, uri, params=None, data=None, headers=None, auth=None,
                timeout=None, allow_redirects=False):
        return self.answer


def refused_with(code: int, http: int) -> Response:
    """Answer as Twilio does when it refuses a message with this code."""
    return Response(http, json.dumps({"code": code, "message": "refused", "status": http,
                                      "more_info": f"https://www.twilio.com/docs/errors/{code}"}))


def send_refused(code: int, http: int) -> ClassifiedSendError:
    """Send through the real adapter to a Twilio that refuses; return what it raised."""
    twilio = TwilioSender(ACCOUNT_SID, "token", from_="+15005550006",
                          http_client=ScriptedHttpClient(refused_with(code, http)))
    with pytest.raises(ClassifiedSendError) as raised:
        twilio.send(TO, "CPR ALERT")
    return raised.value


@pytest.mark.parametrize(("code", "kind", "reason"),
                         [(code, kind, reason) for code, (kind, reason) in TWILIO_CODES.items()],
                         ids=[str(code) for code in TWILIO_CODES])
def test_each_code_in_the_table_is_raised_with_its_kind_and_reason(code, kind, reason):
    error = send_refused(code, HTTP.get(code, 400))

    assert isinstance(error, SmsSendError)
    assert (error.kind, error.reason, error.provider_code) == (kind, reason, code)
    assert error.permanent is (kind == NUMBER)
    assert kind_of(error) == kind


@pytest.mark.parametrize(("code", "kind"), [
    (30005, NUMBER),     # unknown handset: never re-sent, the volunteer marked
    (30006, NUMBER),     # landline
    (21610, NUMBER),     # opted out
    (21211, NUMBER),     # not a valid number
    (21614, NUMBER),     # not a mobile
    (20003, ACCOUNT),    # credentials refused: the breaker's, never a volunteer's
    (21608, ACCOUNT),    # trial account
    (30003, TRANSIENT),  # phone off: retried
])
def test_the_codes_the_issue_names_are_handled_as_the_table_says(code, kind):
    assert classify(code).kind == kind
    assert (code in PERMANENT_ERRORS) is (kind == NUMBER)
    assert (code in ACCOUNT_ERRORS) is (kind == ACCOUNT)


def test_the_permanent_errors_are_the_tables_number_codes_and_keep_the_opt_out():
    assert {c for c, (kind, _) in TWILIO_CODES.items() if kind == NUMBER} == PERMANENT_ERRORS
    assert {c for c, (kind, _) in TWILIO_CODES.items() if kind == ACCOUNT} == ACCOUNT_ERRORS
    assert OPTED_OUT in PERMANENT_ERRORS
    assert not PERMANENT_ERRORS & ACCOUNT_ERRORS


def test_an_account_error_never_counts_as_permanent_for_the_volunteer():
    error = send_refused(20003, 401)

    assert error.kind == ACCOUNT
    assert error.permanent is False


@pytest.mark.parametrize(("code", "http", "kind"), [
    (99999, 400, TRANSIENT),  # a code the table does not know
    (None, 400, TRANSIENT),
    (None, 502, TRANSIENT),
    (None, 429, TRANSIENT),
    (99999, 401, ACCOUNT),    # whatever the code, a 401 is the credentials
    (None, 403, ACCOUNT),
    (None, None, TRANSIENT),  # no answer at all
])
def test_what_the_table_does_not_know_is_classified_by_its_http_status(code, http, kind):
    assert classify(code, http).kind == kind


def test_an_unknown_code_from_twilio_is_retried():
    error = send_refused(99999, 400)

    assert (error.kind, error.permanent, error.provider_code) == (TRANSIENT, False, 99999)


def test_a_401_from_twilio_opens_the_breaker_whatever_its_code():
    error = send_refused(99999, 401)

    assert error.kind == ACCOUNT


@pytest.mark.parametrize("code", list(TWILIO_CODES))
def test_every_reason_is_a_short_text_without_numbers_for_coordinators(code):
    reason = TWILIO_CODES[code][1]

    assert 10 <= len(reason) <= 80
    assert not re.search(r"\d{3}", reason)


def test_a_classification_is_permanent_only_for_the_number():
    assert Classification(NUMBER, "x").permanent
    assert not Classification(ACCOUNT, "x").permanent
    assert not Classification(TRANSIENT, "x").permanent


@pytest.mark.parametrize(("error", "kind"), [
    (SmsSendError("x", provider_code=21211, permanent=True), NUMBER),
    (SmsSendError("x", provider_code=30003), TRANSIENT),
    (SmsSendError("x", provider_code=20003), ACCOUNT),
    (SmsSendError("x"), TRANSIENT),
    (refusal(30005), NUMBER),
    (refusal(None, 401), ACCOUNT),
])
def test_the_kind_of_any_send_error_is_its_own_or_follows_from_its_code(error, kind):
    assert kind_of(error) == kind


def test_a_refusal_for_a_fake_carries_the_tables_kind_and_reason():
    error = refusal(30006)

    assert (error.kind, error.provider_code, error.permanent) == (NUMBER, 30006, True)
    assert error.reason == TWILIO_CODES[30006][1]


def test_a_kind_outside_the_three_is_refused():
    with pytest.raises(ValueError, match="kind"):
        ClassifiedSendError("x", kind="maybe")
