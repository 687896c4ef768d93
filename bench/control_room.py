"""A control room and a volunteer app for the benchmarks: signed events, position updates,
and the app served on loopback (gunicorn when it can be had, else the embedded server).
"""

from __future__ import annotations

import http.client
import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from urllib.parse import urlsplit

import common
from werkzeug.serving import make_server

from dispatcher import create_app
from dispatcher.control_rooms import clients


def incident_body(external_id: str, lat: float, lon: float, now: datetime) -> str:
    """Return the JSON of an incident.created at a place, as a control room sends it."""
    return json.dumps({
        "type": "incident.created", "timestamp": now.isoformat().replace("+00:00", "Z"),
        "data": {"id": external_id, "kind": "cardiac_arrest",
                 "location": {"lat": lat, "lon": lon, "accuracy_m": 20},
                 "address": "Drottninggatan 53, 3 tr", "notes": "Door code 1234",
                 "patient_age": 64, "ems_eta_s": 540},
    })


class Http:
    """A light HTTP client on one kept connection (reopened when the server closes it).

    Lighter than requests, so the client's own cost weighs little in the timings.
    """

    def __init__(self, base: str):
        where = urlsplit(base)
        self.conn = http.client.HTTPConnection(where.hostname, where.port, timeout=60)

    def send(self, method: str, path: str, body: bytes, headers: dict[str, str]
             ) -> tuple[int, bytes]:
        """Send one request; return the status and the body of the answer."""
        try:
            self.conn.request(method, path, body=body, headers=headers)
            answer = self.conn.getresponse()
            return answer.status, answer.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            raise


def post_incident(http: Http, room: clients.NewClient, lat: float, lon: float
                  ) -> tuple[int, bytes]:
    """Sign and post a new incident.created at a place; return the status and the answer."""
    now = datetime.now(UTC)
    body = incident_body(f"BENCH-{uuid.uuid4().hex[:12]}", lat, lon, now)
    headers = clients.sign(room.secret, f"msg_{uuid.uuid4().hex}", now, body)
    return http.send("POST", "/api/v1/events", body.encode(),
                     {**headers, "Content-Type": "application/json"})


def put_position(http: Http, token: str, ref: str, lat: float, lon: float
                 ) -> tuple[int, bytes]:
    """Report a volunteer's live position now; return the status and the answer."""
    body = {"lat": lat, "lon": lon, "accuracy_m": 10.0,
            "at": datetime.now(UTC).isoformat().replace("+00:00", "Z")}
    return http.send("PUT", f"/api/v1/responders/{ref}/position", json.dumps(body).encode(),
                     {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})


@contextmanager
def served(settings: dict, workers: int = 2) -> Iterator[tuple[str, str]]:
    """Serve the app on loopback; yield its base URL and what serves it.

    gunicorn with gunicorn.conf.py and `workers` processes where it can be had; otherwise
    the embedded threaded server in this process (and the reason is in the name).
    """
    missing = common.gunicorn_missing()
    if missing is None:
        with common.gunicorn(settings, workers) as base:
            yield base, f"gunicorn x{workers}"
        return
    app = create_app(settings)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", f"embedded server ({missing})"
    finally:
        server.shutdown()
        app.extensions["dispatcher"].engine.dispose()
