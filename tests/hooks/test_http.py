"""The real event poster against a real HTTP server on loopback, and the whole path through it.

The server is `http.server` in a thread on 127.0.0.1; it records each request and answers
with the status the test sets.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from standardwebhooks import Webhook

from dispatcher.errors import EventPostError
from dispatcher.hooks.http import HttpPoster
from tests.builders import (
    create_incident,
    make_control_room,
    make_volunteer,
    sms_from,
)


class Endpoint(ThreadingHTTPServer):
    """A control room's event endpoint: records each request, answers `answer`."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.requests: list[dict] = []
        self.answer = 200
        self.extra_headers: dict[str, str] = {}

    @property
    def url(self) -> str:
        """Return the URL events are posted to."""
        return f"http://127.0.0.1:{self.server_address[1]}/events"


class Handler(BaseHTTPRequestHandler):
    """Record the request and answer with the server's status."""

    def do_POST(self):  # noqa: N802 - the name http.server calls
        """Take one posted event."""
        body = self.rfile.read(int(self.headers.get("content-length", 0))).decode()
        status = self.server.answer
        self.server.requests.append({"path": self.path, "headers": dict(self.headers),
                                     "body": body, "answered": status})
        self.send_response(status)
        for name, value in self.server.extra_headers.items():
            self.send_header(name, value)
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        """Keep the test output quiet."""


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    """A running endpoint on a free loopback port."""
    server = Endpoint()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


SIGNED = {"webhook-id": "msg_1", "webhook-timestamp": "1795428000",
          "webhook-signature": "v1,abc", "content-type": "application/json"}
BODY = '{"type":"responder.accepted","data":{"id":"CAD-1"}}'


@pytest.mark.parametrize("status", [200, 202, 204])
def test_a_2xx_answer_comes_back_with_the_body_and_headers_delivered_as_sent(endpoint, status):
    endpoint.answer = status

    assert HttpPoster(timeout_s=2).post(endpoint.url, SIGNED, BODY) == status

    [request] = endpoint.requests
    assert request["path"] == "/events"
    assert request["body"] == BODY
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert {k: headers[k] for k in SIGNED} == SIGNED


@pytest.mark.parametrize("status", [500, 503, 400, 410, 429])
def test_an_error_answer_comes_back_as_its_status(endpoint, status):
    endpoint.answer = status

    assert HttpPoster(timeout_s=2).post(endpoint.url, SIGNED, BODY) == status


def test_a_redirect_is_returned_not_followed(endpoint):
    endpoint.answer = 302
    endpoint.extra_headers = {"location": "/elsewhere"}

    assert HttpPoster(timeout_s=2).post(endpoint.url, SIGNED, BODY) == 302

    assert [r["path"] for r in endpoint.requests] == ["/events"]


def test_a_cookie_the_endpoint_sets_is_never_sent_back(endpoint):
    endpoint.extra_headers = {"set-cookie": "session=abc; Path=/"}
    poster = HttpPoster(timeout_s=2)

    poster.post(endpoint.url, SIGNED, BODY)
    poster.post(endpoint.url, SIGNED, BODY)

    assert [r["headers"].get("Cookie") for r in endpoint.requests] == [None, None]


def test_a_refused_connection_raises_event_post_error():
    with socket.socket() as probe:  # a port that was free a moment ago and has no listener
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    with pytest.raises(EventPostError, match="unreachable: ConnectionError"):
        HttpPoster(timeout_s=2).post(f"http://127.0.0.1:{port}/events", SIGNED, BODY)


def test_an_endpoint_that_never_answers_raises_event_post_error_after_the_timeout():
    with socket.socket() as silent:  # connections queue in the backlog and are never answered
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/events"

        with pytest.raises(EventPostError, match="unreachable: ReadTimeout"):
            HttpPoster(timeout_s=0.2).post(url, SIGNED, BODY)


@pytest.mark.parametrize("url", ["not a url", "ftp://127.0.0.1/events", "http://"])
def test_a_url_that_cannot_be_posted_to_raises_event_post_error(url):
    with pytest.raises(EventPostError):
        HttpPoster(timeout_s=2).post(url, SIGNED, BODY)


def test_the_log_names_neither_the_url_nor_the_body(endpoint, caplog):
    caplog.set_level(logging.INFO, logger="dispatcher.hooks.http")

    HttpPoster(timeout_s=2).post(endpoint.url + "?key=s3cret", SIGNED, BODY)

    assert "answered 200" in caplog.text
    assert "s3cret" not in caplog.text and "CAD-1" not in caplog.text
    assert str(endpoint.server_address[1]) not in caplog.text


# --- the whole path: volunteers' SMS in, signed events out over HTTP ----------------------


@pytest.fixture
def poster():
    """The real poster, so the app posts over HTTP to the loopback endpoint."""
    return HttpPoster(timeout_s=2)


@pytest.fixture
def cpr_is_enough(settings, twilio_hooks):
    """Accept the signed Twilio webhooks; targets met with one volunteer doing CPR."""
    settings["TARGET_AED"] = 0


def test_an_endpoint_down_ten_minutes_receives_every_event_once_in_order_signed(
    cpr_is_enough, client, rt, clock, queue, endpoint
):
    # The library checks signatures against the real time, and the events are taken about
    # 14 minutes in (the try after 510 s of backoff), so the service's clock starts that early.
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=14)
    clock.set(start)
    room = make_control_room(rt, events_url=endpoint.url)
    volunteer = make_volunteer(rt, north_m=300)
    assert create_incident(client, room, rt).status_code == 202
    endpoint.answer = 503
    script = {timedelta(0): "YES", timedelta(minutes=4): "HERE"}

    while clock.now() < start + timedelta(minutes=20):
        if clock.now() - start == timedelta(minutes=10):
            endpoint.answer = 200
        if (body := script.get(clock.now() - start)) is not None:
            assert sms_from(client, volunteer, body).status_code == 200
        clock.advance(seconds=10)
        queue.run_due(clock.now())

    taken = [r for r in endpoint.requests if r["answered"] == 200]
    refused = [r for r in endpoint.requests if r["answered"] == 503]
    assert [json.loads(r["body"])["type"] for r in taken] == [
        "responder.accepted", "incident.targets_met", "responder.arrived"]
    assert len({r["headers"]["webhook-id"] for r in taken}) == 3
    for request in taken:
        assert Webhook(room.secret).verify(request["body"], request["headers"])
    # While it was down only the first event was tried, again and again under one webhook-id.
    assert len(refused) > 5
    assert {r["headers"]["webhook-id"] for r in refused} == {taken[0]["headers"]["webhook-id"]}
