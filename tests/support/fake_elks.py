"""A local stand-in for 46elks' SMS API, served over real HTTP on 127.0.0.1.

It checks what 46elks checks, HTTP Basic auth and the form fields `from`, `to` and
`message`, and answers as 46elks does: JSON with the message's `id` and `status`, or a
4xx/5xx with a short text. Answers can be scripted per number; every request is recorded.
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
from collections import defaultdict
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

USERNAME = "u0123456789abcdef0123456789abcdef"
PASSWORD = "fake-elks-api-password"
FROM = "Dispatch"


@dataclass(frozen=True)
class Answer:
    """How the fake answers one message: accept it, or refuse with a status and a text."""

    http: int = 200
    text: str = ""

    @classmethod
    def refuse(cls, http: int, text: str) -> Answer:
        """Refuse the message as 46elks does, with a status and its short text."""
        return cls(http=http, text=text)


ACCEPT = Answer()


@dataclass(frozen=True)
class Request:
    """One request the fake was sent, and what it answered."""

    method: str
    path: str
    form: dict[str, str]
    authorised: bool
    answer: Answer
    sid: str | None


class _Server(ThreadingHTTPServer):
    daemon_threads = True


class FakeElks:
    """46elks' API on a free loopback port."""

    def __init__(self, username: str = USERNAME, password: str = PASSWORD):
        self.credentials = (username, password)
        self.requests: list[Request] = []
        self._script: dict[str, list[Answer]] = defaultdict(list)
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._server = _Server(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,),
                                        name="fake-elks", daemon=True)

    @property
    def url(self) -> str:
        """The base URL standing in for https://api.46elks.com."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeElks:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def answer(self, to: str, *answers: Answer) -> None:
        """Answer the next messages to a number so, in order; then accept."""
        with self._lock:
            self._script[to].extend(answers)

    def sent(self) -> list[Request]:
        """Return the messages accepted, oldest first."""
        with self._lock:
            return [r for r in self.requests if r.sid is not None]

    def _authorised(self, header: str | None) -> bool:
        """Return whether an Authorization header carries the fake's credentials."""
        expected = base64.b64encode(":".join(self.credentials).encode()).decode()
        return header == f"Basic {expected}"

    def _decide(self, method: str, path: str, form: dict[str, str], auth: str | None) -> Request:
        """Decide and record the answer to one request."""
        authorised = self._authorised(auth)
        with self._lock:
            if not authorised:
                answer = Answer(401, "API access requires Basic HTTP authentication")
            elif method == "GET" and path == "/a1/me":
                answer = ACCEPT
            elif method != "POST" or path.lower() != "/a1/sms":
                answer = Answer(404, "Not found")
            elif missing := [k for k in ("from", "to", "message") if not form.get(k)]:
                answer = Answer(403, f"Missing key {missing[0]}")
            elif self._script.get(form["to"]):
                answer = self._script[form["to"]].pop(0)
            else:
                answer = ACCEPT
            sid = None
            if answer.http < 300 and path.lower() == "/a1/sms":
                sid = f"s{next(self._ids):032x}"
            request = Request(method, path, form, authorised, answer, sid)
            self.requests.append(request)
        return request


def _handler(fake: FakeElks) -> type[BaseHTTPRequestHandler]:
    """Return a request handler class bound to one fake."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True
        timeout = 10

        def do_GET(self):  # noqa: N802 - the name http.server looks for
            request = fake._decide("GET", self.path, {}, self.headers.get("Authorization"))
            if request.answer.http >= 300:
                return self._reply(request.answer.http, request.answer.text.encode(), "text")
            return self._json({"id": "u" + "5" * 32, "displayname": "Dispatch",
                               "currency": "SEK", "balance": 9670500})

        def do_POST(self):  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            request = fake._decide("POST", self.path, form, self.headers.get("Authorization"))
            if request.sid is None:
                return self._reply(request.answer.http, request.answer.text.encode(), "text")
            return self._json({"status": "created", "direction": "outgoing",
                               "from": form["from"], "to": form["to"],
                               "message": form["message"], "created": "2024-01-01T12:00:00.000",
                               "parts": 1, "cost": 3500, "id": request.sid})

        def _json(self, payload: dict) -> None:
            self._reply(200, json.dumps(payload).encode(), "application/json")

        def _reply(self, status: int, data: bytes, kind: str) -> None:
            content_type = "text/plain" if kind == "text" else kind
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format, *args):  # noqa: A002 - http.server's signature
            pass

    return Handler
