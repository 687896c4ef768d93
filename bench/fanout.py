"""Benchmark the alert fan-out: from a signed incident.created to the 30th alert accepted.

The whole path runs for real: the HTTP server, signed intake, the outbox rows, the huey
queue with its consumer (threads in this process, as `flask serve` runs it), the Twilio
adapter and SDK, over HTTP to a fake Twilio on loopback that takes 200 ms per message.
The clock stops when the fake has accepted the 30th alert.

The baseline, in the same run and on the same path, is a serial loop: SEND_CONCURRENCY=1.
Setups: SQLite with the SQLite queue (the embedded default), and PostgreSQL with Redis
when both can be reached (set DISPATCHER_BENCH_POSTGRES_URL / DISPATCHER_BENCH_REDIS_URL).

Run: `.venv/bin/python bench/fanout.py [runs]`. Target: under 0.5 s, at least 10x.
"""

from __future__ import annotations

import logging
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests  # noqa: E402
from redis import Redis  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from dispatcher import create_app  # noqa: E402
from dispatcher.config import load_config  # noqa: E402
from dispatcher.hooks.fake import RecordingPoster  # noqa: E402
from dispatcher.store.db import make_engine, upgrade  # noqa: E402
from tests.builders import (  # noqa: E402
    event,
    incident_data,
    make_control_room,
    make_volunteer,
    offset,
    post_event,
)
from tests.support.consumer import consuming, twilio_sender  # noqa: E402
from tests.support.fake_twilio import ACCOUNT, FROM, TOKEN, FakeTwilio  # noqa: E402

ALERTS = 30
LATENCY_S = 0.2
POSTGRES_URL = os.environ.get("DISPATCHER_BENCH_POSTGRES_URL",
                              "postgresql+psycopg://127.0.0.1:5432/test")
REDIS_URL = os.environ.get("DISPATCHER_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


class Http:
    """Post to the served app over real HTTP, as a control room does."""

    def __init__(self, base: str):
        self.base = base
        self.session = requests.Session()

    def post(self, path, *, data, headers, content_type):
        """Post a body with headers; return the response."""
        return self.session.post(self.base + path, data=data, timeout=30,
                                 headers={**headers, "Content-Type": content_type})


def fan_out(database: str, queue_url: str, concurrency: int, runs: int, first: int = 0
            ) -> list[tuple[float, float]]:
    """Serve an app on this database and queue; time `runs` incidents of 30 alerts each.

    Returns, per incident, the seconds until intake answered and until the 30th alert
    was accepted.

    Incident k happens 20 km north of the centre times (first + k), among 30 volunteers
    of its own.
    """
    settings = {
        "DATABASE_URL": database, "QUEUE_URL": queue_url,
        "QUEUE_NAME": f"bench-{uuid.uuid4().hex[:8]}", "SEND_CONCURRENCY": concurrency,
        "WAVE_SIZE": ALERTS, "MAX_ALERTED": ALERTS, "SMS_BACKEND": "twilio",
        "TWILIO_ACCOUNT_SID": ACCOUNT, "TWILIO_AUTH_TOKEN": TOKEN, "TWILIO_FROM": FROM,
        "LOG_LEVEL": "WARNING",
    }
    times: list[tuple[float, float]] = []
    with FakeTwilio(latency_s=LATENCY_S) as fake:
        app = create_app(settings, sms=twilio_sender(fake.url, load_config(settings)),
                         poster=RecordingPoster())
        rt = app.extensions["dispatcher"]
        room = make_control_room(rt)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        http = Http(f"http://127.0.0.1:{server.server_port}")
        try:
            with consuming(rt):
                for run in range(first, first + runs):
                    place = offset(20_000 * run, 0)
                    for i in range(ALERTS):
                        make_volunteer(rt, at=offset(30 + 20 * i, 0, origin=place))
                    times.append(_one_incident(http, room, rt, fake, place))
        finally:
            server.shutdown()
            if rt.queue.name == "RedisHuey":
                rt.queue.huey.storage.flush_all()
            rt.engine.dispose()
    return times


def _one_incident(http: Http, room, rt, fake: FakeTwilio, place) -> tuple[float, float]:
    """Post one incident; return the seconds until intake answered and until the 30th alert."""
    before = len(fake.accepted())
    now = rt.clock.now()
    body = event("incident.created", incident_data(f"BENCH-{uuid.uuid4().hex[:8]}", place), now)
    started = time.perf_counter()
    response = post_event(http, room, body, at=now)
    answered = time.perf_counter() - started
    if response.status_code != 202 or response.json()["counts"]["alerted"] != ALERTS:
        raise SystemExit(f"intake answered {response.status_code}: {response.text[:300]}")
    if not fake.wait(lambda f: len(f.accepted()) >= before + ALERTS, timeout_s=60):
        raise SystemExit("the alerts did not all reach the provider within 60 s")
    return answered, fake.accepted()[before + ALERTS - 1].at - started


def setups() -> list[tuple[str, str, str, Callable[[], None]]]:
    """Return the setups to measure: (name, database URL, queue URL, clean-up)."""
    folder = Path(tempfile.mkdtemp(prefix="bench-fanout-"))
    found = [("SQLite + SQLite queue", f"sqlite:///{folder / 'dispatcher.db'}",
              f"sqlite:///{folder / 'queue.db'}", lambda: shutil.rmtree(folder))]
    try:
        Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
        schema = f"bench_fanout_{os.getpid()}"
        admin = create_engine(POSTGRES_URL)
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {schema}"))
    except Exception as exc:  # noqa: BLE001 - either service missing: measure SQLite alone
        print(f"(PostgreSQL + Redis left out: {type(exc).__name__})")
        return found

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()

    sep = "&" if "?" in POSTGRES_URL else "?"
    found.append(("PostgreSQL + Redis", f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}",
                  REDIS_URL, drop))
    return found


def main(runs: int) -> None:
    """Measure each setup concurrently and serially; print the times and the ratio."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    default = int(load_config({})["SEND_CONCURRENCY"])
    print(f"{ALERTS} alerts, fake Twilio at {LATENCY_S * 1000:.0f} ms per message; "
          f"signed incident.created -> {ALERTS}th alert accepted")
    for name, database, queue_url, clean_up in setups():
        try:
            engine = make_engine(database)
            upgrade(engine)
            engine.dispose()
            fast = fan_out(database, queue_url, default, runs)
            serial = fan_out(database, queue_url, 1, 1, first=runs)[0][1]
        finally:
            clean_up()
        median = statistics.median(t for _, t in fast)
        intake = statistics.median(a for a, _ in fast)
        met = "met" if median < 0.5 and serial / median >= 10 else "NOT met"
        print(f"{name:22s} concurrent ({default}): median {median:6.3f} s "
              f"(runs: {', '.join(f'{t:.3f}' for _, t in fast)}; intake answered: {intake:.3f} s)")
        print(f"{'':22s} serial loop (1):   {serial:6.3f} s   ratio: {serial / median:5.1f}x faster"
              f"   target < 0.5 s and >= 10x: {met}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
