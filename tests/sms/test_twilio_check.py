"""The Twilio credential check at start, through the SDK's injectable HTTP client."""

from __future__ import annotations

import json
import logging
from urllib.parse import urlparse

import pytest
import requests
from twilio.http import HttpClient
from twilio.http.response import Response

from dispatcher.sms.codes import ACCOUNT, TRANSIENT
from dispatcher.sms.failures import ProviderCheckError
from dispatcher.sms.twilio import TwilioSender

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
TOKEN = "test-auth-token"


class ScriptedHttpClient(HttpClient):
    """An SDK HTTP client that records each request and answers from a script."""

    def __init__(self, answer: Response | Exception):
        super().__init__(logging.getLogger("tests.check"), is_async=False, timeout=None)
        self.answer = answer
        self.requests: list[dict] = []

    def request(self, method, uri, params=None, data=None, headers=None, auth=None,
                timeout=None, allow_redirects=False):
        self.requests.append({"method": method, "url": uri, "auth": auth})
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def checked(answer: Response | Exception) -> ScriptedHttpClient:
    """Run the check against a scripted Twilio; return the client with what was asked."""
    http = ScriptedHttpClient(answer)
    TwilioSender(ACCOUNT_SID, TOKEN, from_="+15005550006", http_client=http).check()
    return http


def error(http: int, code: int) -> Response:
    """Answer as Twilio does with an error code."""
    return Response(http, json.dumps({"code": code, "message": "no", "status": http}))


def test_good_credentials_pass_by_fetching_the_account():
    http = checked(Response(200, json.dumps({"sid": ACCOUNT_SID, "status": "active"})))

    [request] = http.requests
    assert request["method"] == "GET"
    assert urlparse(request["url"]).path == f"/2010-04-01/Accounts/{ACCOUNT_SID}.json"
    assert request["auth"] == (ACCOUNT_SID, TOKEN)


def test_refused_credentials_are_named_with_twilios_code():
    with pytest.raises(ProviderCheckError) as raised:
        checked(error(401, 20003))

    assert str(raised.value) == "DISPATCHER_TWILIO_ACCOUNT_SID/AUTH_TOKEN refused by Twilio (20003)"
    assert (raised.value.kind, raised.value.provider_code) == (ACCOUNT, 20003)


def test_an_account_these_credentials_cannot_see_is_named():
    with pytest.raises(ProviderCheckError, match="DISPATCHER_TWILIO_ACCOUNT_SID names no account"):
        checked(error(404, 20404))


def test_a_suspended_account_fails_the_check_with_the_tables_reason():
    with pytest.raises(ProviderCheckError, match="suspended or closed") as raised:
        checked(error(403, 20403))

    assert raised.value.kind == ACCOUNT


@pytest.mark.parametrize("failure", [requests.exceptions.ConnectionError("refused"),
                                     requests.exceptions.Timeout("slow")],
                         ids=["connection-error", "timeout"])
def test_a_network_failure_fails_the_check_with_a_message_of_its_own(failure):
    with pytest.raises(ProviderCheckError) as raised:
        checked(failure)

    assert str(raised.value).startswith("Twilio could not be reached to check the credentials")
    assert "refused by Twilio" not in str(raised.value)
    assert raised.value.kind == TRANSIENT
    assert raised.value.__cause__ is failure
