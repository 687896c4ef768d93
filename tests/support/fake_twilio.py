"""A local stand-in for Twilio's Messages API, served over real HTTP on 127.0.0.1.

The real `TwilioSender` and the real SDK talk to it through `LocalTwilioClient`, an SDK
HTTP client that sends what would go to https://api.twilio.com to this server instead.
Every request is recorded; answers can be delayed, and scripted per number to fail as
Twilio fails: a 5xx, a timeout, or an error code such as 21610.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from requests.adapters import HTTPAdapter
from twilio.http.http_client import TwilioHttpClient

ACCOUNT = "AC" + "0123456789abcdef" * 2
TOKEN = "fake-twilio-auth-token"
FROM = "+15005550006"
TWILIO_API = "https://api.twilio.com"
MESSAGES = re.compile(r"^/2010-04-01/Accounts/(AC[0-9a-f]{32})/Messages\.json$")


@dataclass(frozen=True)
class Answer:
    """How the fake answers one request: accept it, refuse it, or keep silent."""

    http: int = 201
    code: int | None = None  # Twilio's error code, in the error body
    silent_s: float = 0.0  # say nothing for this long, then hang up (a timeout)

    @classmethod
    def refuse(cls, code: int, http: int = 400) -> Answer:
        """Refuse the message with a Twilio error code (21610 opted out, 21211, ...)."""
        return cls(http=http, code=code)

    @classmethod
    def server_error(cls, http: int = 500) -> Answer:
        """Fail with a 5xx, as Twilio does when it has trouble of its own."""
        return cls(http=http, code=20500)

    @classmethod
    def timeout(cls, seconds: float) -> Answer:
        """Say nothing for longer than the client waits."""
        return cls(silent_s=seconds)


ACCEPT = Answer()


@dataclass(frozen=True)
class Request:
    """One message the fake was asked to create, and what it answered."""

    to: str
    body: str
    at: float  # time.perf_counter() when the answer was decided
    answer: Answer
    sid: str | None  # set when the message was accepted
    status_callback: str | None


class _Server(ThreadingHTTPServer):
    """A threading HTTP server that takes a whole fan-out of connections at once."""

    daemon_threads = True
    request_queue_size = 128  # socketserver's 5 would drop connections made all at once


class FakeTwilio:
    """Twilio's Messages API on a free loopback port, answering after `latency_s`."""

    def __init__(self, latency_s: float = 0.0):
        self.latency_s = latency_s
        self.down: Answer | None = None  # when set, every request is answered so (an outage)
        self.requests: list[Request] = []
        self._script: dict[str, list[Answer]] = defaultdict(list)
        self._always: dict[str, Answer] = {}
        self._changed = threading.Condition()
        self._sids = itertools.count(1)
        self._run = uuid.uuid4().hex[:8]
        self._server = _Server(("127.0.0.1", 0), _handler(self))
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL standing in for https://api.twilio.com."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeTwilio:
        """Serve in a background thread; return self."""
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-twilio",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the port."""
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeTwilio:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def client(self, timeout_s: float = 5.0, pool_size: int = 10) -> LocalTwilioClient:
        """Return an SDK HTTP client that sends Twilio's requests here."""
        return LocalTwilioClient(self.url, timeout_s=timeout_s, pool_size=pool_size)

    def answer(self, to: str, *answers: Answer, always: Answer | None = None) -> None:
        """Answer the next requests for a number so, in order; then `always`, or accept."""
        with self._changed:
            self._script[to].extend(answers)
            if always is not None:
                self._always[to] = always

    def to(self, number: str) -> list[Request]:
        """Return the requests for one number, oldest first."""
        with self._changed:
            return [r for r in self.requests if r.to == number]

    def accepted(self) -> list[Request]:
        """Return the requests that were accepted, oldest first."""
        with self._changed:
            return [r for r in self.requests if r.sid is not None]

    def wait(self, predicate, timeout_s: float = 30.0) -> bool:
        """Wait until `predicate(self)` holds, or the time runs out; return whether it holds."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while not predicate(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(min(left, 0.05))
            return True

    def _decide(self, to: str) -> Answer:
        """Return the scripted answer for the next request to a number (or `down`, for all)."""
        with self._changed:
            if self.down is not None:
                return self.down
            if self._script.get(to):
                return self._script[to].pop(0)
            return self._always.get(to, ACCEPT)

    def _record(self, form: dict[str, str], answer: Answer) -> Request:
        """Record one request with its answer and wake whoever waits."""
        sid = None
        if answer.http < 300 and not answer.silent_s:
            sid = f"SM{self._run}{next(self._sids):024x}"
        request = Request(to=form.get("To", ""), body=form.get("Body", ""),
                          at=time.perf_counter(), answer=answer, sid=sid,
                          status_callback=form.get("StatusCallback"))
        with self._changed:
            self.requests.append(request)
            self._changed.notify_all()
        return request


def _handler(fake: FakeTwilio) -> type[BaseHTTPRequestHandler]:
    """Return a request handler class bound to one fake."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's pooled session expects
        # Headers and body go out in two writes; with Nagle's algorithm the body would wait
        # for the client's delayed ACK (40 ms on Linux), which Twilio does not make anyone do.
        disable_nagle_algorithm = True
        timeout = 10  # an idle kept-alive connection is closed after this

        def do_POST(self):  # noqa: N802 - the name http.server looks for
            length = int(self.headers.get("Content-Length") or 0)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            match = MESSAGES.match(self.path)
            if match is None or match.group(1) != ACCOUNT:
                return self._reply(404, {"code": 20404, "message": "not found", "status": 404})
            answer = fake._decide(form.get("To", ""))
            if answer.silent_s:
                fake._record(form, answer)
                time.sleep(answer.silent_s)
                self.close_connection = True
                return None
            time.sleep(fake.latency_s)
            request = fake._record(form, answer)
            if request.sid is None:
                return self._reply(answer.http, {
                    "code": answer.code, "message": f"error {answer.code}",
                    "more_info": f"https://www.twilio.com/docs/errors/{answer.code}",
                    "status": answer.http,
                })
            return self._reply(201, {
                "sid": request.sid, "account_sid": ACCOUNT, "to": request.to,
                "from": form.get("From"), "messaging_service_sid": form.get("MessagingServiceSid"),
                "body": request.body, "status": "queued", "num_segments": "1",
                "direction": "outbound-api", "api_version": "2010-04-01",
                "uri": f"/2010-04-01/Accounts/{ACCOUNT}/Messages/{request.sid}.json",
            })

        def _reply(self, status: int, payload: dict) -> None:
            data = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                self.close_connection = True  # the client hung up (timed out, or was killed)

        def log_message(self, format, *args):  # noqa: A002 - http.server's signature
            pass

    return Handler


class LocalTwilioClient(TwilioHttpClient):
    """The SDK's own HTTP client, sending what would go to api.twilio.com to a local URL."""

    def __init__(self, base_url: str, *, timeout_s: float, pool_size: int = 10):
        super().__init__(timeout=timeout_s)
        self.session.mount("http://", HTTPAdapter(pool_maxsize=max(1, pool_size)))
        self._base = base_url.rstrip("/")

    def request(self, method, url, *args, **kwargs):
        """Send the request to the local server instead of Twilio."""
        if url.startswith(TWILIO_API):
            url = self._base + url[len(TWILIO_API):]
        return super().request(method, url, *args, **kwargs)
