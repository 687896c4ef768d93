"""A provider call ends at its total deadline, however slowly the answer trickles in.

The servers are real sockets on 127.0.0.1 that write one byte every 50 ms: no read ever
times out, so only the deadline can end the call. No assertion reads a clock: the call
must raise the deadline's error, and the server must see the connection closed before its
answer was out.
"""

from __future__ import annotations

import pytest
from requests.exceptions import ConnectionError as RequestsConnectionError

from dispatcher.settings import load_settings
from dispatcher.sms.codes import TRANSIENT
from dispatcher.sms.deadline import DeadlineExceeded, DeadlineSession
from dispatcher.sms.elks import ElksSender
from dispatcher.sms.failures import ClassifiedSendError
from dispatcher.sms.twilio import BoundedTwilioClient, TwilioSender
from tests.support.trickle import TrickleServer, answer, wait_for

ACCOUNT = "AC" + "0123456789abcdef" * 2
TWILIO_API = "https://api.twilio.com"
MESSAGE = {"sid": "SM" + "1" * 32, "status": "queued", "account_sid": ACCOUNT}
DEADLINE_S = 0.5  # the answers below take 20 s or more to trickle out


class LocalBoundedClient(BoundedTwilioClient):
    """The adapter's own bounded SDK client, sending what would go to Twilio to a local URL."""

    def __init__(self, base_url: str, **kwargs):
        super().__init__(**kwargs)
        self._base = base_url

    def request(self, method, url, *args, **kwargs):
        """Send the request to the local server instead of Twilio."""
        return super().request(method, self._base + url.removeprefix(TWILIO_API), *args,
                               **kwargs)


def twilio_to(server: TrickleServer) -> TwilioSender:
    """Return the Twilio adapter on its bounded client, reaching the trickling server."""
    client = LocalBoundedClient(server.url, timeout_s=5.0, deadline_s=DEADLINE_S)
    return TwilioSender(ACCOUNT, "token", from_="+15005550006", http_client=client)


def deadline_in(error: BaseException) -> bool:
    """Return whether a DeadlineExceeded is among an error's causes."""
    while error is not None:
        if isinstance(error, DeadlineExceeded):
            return True
        error = error.__cause__ or error.__context__
    return False


@pytest.mark.parametrize("at_once", [0, 80], ids=["trickled-head", "trickled-body"])
def test_a_trickling_twilio_is_cut_at_the_deadline(at_once):
    payload = answer(payload=MESSAGE)
    with TrickleServer(payload, at_once=at_once) as server:
        with pytest.raises(ClassifiedSendError) as raised:
            twilio_to(server).send("+46701234567", "CPR ALERT")

        assert raised.value.kind == TRANSIENT
        assert raised.value.permanent is False
        assert deadline_in(raised.value)
        assert wait_for(server.cut), "the server never saw the connection closed"
        assert server.sent < len(payload)
        assert not server.done.is_set()


def test_a_trickling_46elks_is_cut_at_the_deadline():
    payload = answer("200 OK", {"id": "s17a6dafb12d6b46cdc63bd2ea9b1d4ea", "status": "created"})
    with TrickleServer(payload) as server:
        elks = ElksSender("u", "p", "Dispatch", base_url=server.url, deadline_s=DEADLINE_S)
        with pytest.raises(ClassifiedSendError) as raised:
            elks.send("+46701234567", "CPR ALERT")

        assert raised.value.kind == TRANSIENT
        assert deadline_in(raised.value)
        assert wait_for(server.cut)
        assert server.sent < len(payload)


def test_an_answer_that_comes_at_once_is_unaffected_by_the_deadline():
    with TrickleServer(answer(payload=MESSAGE), at_once=10_000) as server:
        result = twilio_to(server).send("+46701234567", "CPR ALERT")

    assert result.sid == MESSAGE["sid"]


def test_the_session_still_works_after_a_call_was_cut():
    session = DeadlineSession(DEADLINE_S)
    with TrickleServer(answer(payload=MESSAGE)) as slow:
        with pytest.raises(DeadlineExceeded):
            session.post(slow.url + "/x", data={"a": "b"})
    with TrickleServer(answer(payload=MESSAGE), at_once=10_000) as fast:
        assert session.post(fast.url + "/x", data={"a": "b"}).json()["sid"] == MESSAGE["sid"]
    session.close()


def test_a_refused_connection_is_not_taken_for_a_deadline():
    session = DeadlineSession(DEADLINE_S)
    with TrickleServer(b"") as server:
        url = server.url
    with pytest.raises(RequestsConnectionError) as raised:
        session.get(url + "/x")

    assert not isinstance(raised.value, DeadlineExceeded)
    session.close()


@pytest.mark.parametrize("deadline", [0, -1])
def test_a_deadline_must_be_positive(deadline):
    with pytest.raises(ValueError, match="deadline"):
        DeadlineSession(deadline)


def test_a_streamed_call_is_refused_because_its_body_would_outlive_the_watch():
    session = DeadlineSession(DEADLINE_S)
    with pytest.raises(ValueError, match="stream"):
        session.get("http://127.0.0.1:9/x", stream=True)
    session.close()


@pytest.mark.parametrize(("lease", "configured", "effective"), [
    (30, 10.0, 10.0),  # the defaults: well inside the lease
    (30, 20.0, 15.0),  # never more than half the lease
    (2, 10.0, 1.0),    # a short lease shortens the call
])
def test_the_deadline_of_a_provider_call_is_at_most_half_the_lease(lease, configured, effective):
    settings = load_settings({"SEND_LEASE_S": lease, "TWILIO_DEADLINE_S": configured,
                              "ELKS_DEADLINE_S": configured}, environ={})

    assert settings.twilio.deadline_s == effective
    assert settings.elks.deadline_s == effective
    assert settings.twilio.deadline_s < settings.sending.lease.total_seconds()


def test_a_deadline_that_is_not_positive_is_refused_in_the_settings():
    with pytest.raises(ValueError, match="deadline"):
        load_settings({"TWILIO_DEADLINE_S": 0}, environ={})
