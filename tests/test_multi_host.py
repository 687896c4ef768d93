"""Two web hosts, one queue consumer, PostgreSQL and Redis, as real processes.

The processes run the Procfile's commands (the same that compose.yaml runs): two gunicorn
hosts, A and B, on loopback ports, and one consumer. SMS go to the outbox, so every text is
a row the test reads. A position sent to B decides who is alerted for an incident posted to
A; the volunteer's YES reaches B; A is killed with SIGKILL and the incident is closed through
B; then every text of the whole flow is exactly what it should be, none lost, none repeated.
"""

from __future__ import annotations

import csv
import os
import re
import secrets
import uuid
from datetime import date
from pathlib import Path

import pytest
import requests
from redis import Redis
from sqlalchemy import create_engine, select, text

from dispatcher.store.db import make_engine
from dispatcher.store.models import Alert, Message, Responder
from tests.builders import CENTRE, TWILIO_TOKEN, offset
from tests.support.consumer import eventually
from tests.support.hosts import Budget, Hosts, executable, processes
from tests.support.outside import PUBLIC, metric, now, post_event, put_position, ready, sms_in
from tests.support.services import free_port, require_redis

pytestmark = pytest.mark.db

POSTGRES_URL = os.environ.get(
    "DISPATCHER_TEST_POSTGRES_URL", "postgresql+psycopg://127.0.0.1:5432/test"
)
ROOM = "room-multi-host"
INCIDENT = "CAD-MULTI-1"
ADDRESS, NOTES = "Drottninggatan 53, 3 tr", "Door code 1234"
# The whole test, whatever fails, and each of its steps (starting the hosts is the longest).
BUDGET_S, STARTUP_S, STEP_S = 100.0, 45.0, 20.0
# The volunteer nearest by their home, and the one far away whose phone reports a position
# beside the patient.
NEAR = {"phone": "+46701230001", "north_m": 300, "east_m": 0}
MOVER = {"phone": "+46701230002", "north_m": 0, "east_m": 5000}


@pytest.fixture
def postgres_url():
    """A schema of this test's own on the test server; dropped afterwards."""
    if "postgresql" not in os.environ.get("DISPATCHER_TEST_DATABASES", "sqlite,postgresql"):
        pytest.skip("PostgreSQL left out on purpose (DISPATCHER_TEST_DATABASES)")
    schema = f"multi_host_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    engine = create_engine(POSTGRES_URL)
    try:
        with engine.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
    except Exception as exc:  # noqa: BLE001 - any failure to reach it is the same failure
        pytest.fail(f"PostgreSQL is required and is not reachable at {POSTGRES_URL} "
                    f"({type(exc).__name__}); start it with scripts/services.sh", pytrace=False)
    sep = "&" if "?" in POSTGRES_URL else "?"
    yield f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    engine.dispose()


@pytest.fixture
def redis_queue():
    """The shared Redis, and a queue name of this test's own; its keys are deleted after."""
    url, name = require_redis(), f"multi-host-{uuid.uuid4().hex[:8]}"
    yield url, name
    client = Redis.from_url(url)
    for key in client.scan_iter(match=f"huey.*{name}*"):
        client.delete(key)
    client.close()


@pytest.fixture
def hosts(postgres_url, redis_queue, tmp_path):
    """Start nothing yet; stop everything started through it, whatever the test's outcome."""
    if executable("gunicorn") is None:
        pytest.skip("gunicorn is not installed (pip install -r requirements.txt)")
    queue_url, queue_name = redis_queue
    settings = {
        "DATABASE_URL": postgres_url, "QUEUE_URL": queue_url, "QUEUE_NAME": queue_name,
        "SMS_BACKEND": "outbox", "TWILIO_AUTH_TOKEN": TWILIO_TOKEN, "PUBLIC_BASE_URL": PUBLIC,
        "SECRET_KEY": secrets.token_hex(16), "LOG_LEVEL": "WARNING",
        # One volunteer a wave, and no second wave while the test runs.
        "WAVE_SIZE": 1, "WAVE_TIMEOUT_S": 600, "SWEEP_INTERVAL_S": 1, "WEB_WORKERS": 1,
    }
    running = Hosts(settings, tmp_path)
    try:
        yield running
    finally:
        running.stop_all()


@pytest.fixture
def db(postgres_url):
    """An engine on the test's schema, for reading what the processes wrote."""
    engine = make_engine(postgres_url)
    yield engine
    engine.dispose()


# --- the registry, as the control room's organisation sets it up ---------------------------


def volunteers_csv(path: Path) -> Path:
    """Write the volunteers' import file: each with a home place, always in use."""
    fields = ["phone", "name", "language", "birth_year", "cert_expires", "travel_mode",
              "home_lat", "home_lon", "home_schedule"]
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=fields)
        writer.writeheader()
        for number, volunteer in enumerate((NEAR, MOVER), start=1):
            lat, lon = offset(volunteer["north_m"], volunteer["east_m"])
            writer.writerow({"phone": volunteer["phone"], "name": f"Volunteer {number}",
                             "language": "en", "birth_year": 1985,
                             "cert_expires": date(now().year + 2, 1, 31).isoformat(),
                             "travel_mode": "walk", "home_lat": f"{lat:.6f}",
                             "home_lon": f"{lon:.6f}", "home_schedule": ""})
    return path


def credentials(output: str) -> tuple[str, str]:
    """Read the secret and the token that `clients create` printed."""
    secret = re.search(r"^secret:\s+(\S+)$", output, re.M)
    token = re.search(r"^token:\s+(\S+)$", output, re.M)
    assert secret and token, output
    return secret.group(1), token.group(1)


def ref_of(db, phone: str) -> str:
    """Return the public reference of the volunteer with this phone number."""
    with db.connect() as conn:
        return conn.scalar(select(Responder.ref).where(Responder.phone == phone))


def texts(db) -> list[tuple[str, str, str, str]]:
    """Return every SMS in and out, oldest first: (direction, purpose, phone, body)."""
    query = (select(Message.direction, Message.purpose, Responder.phone, Message.body)
             .join(Responder, Responder.id == Message.responder_id, isouter=True)
             .order_by(Message.id))
    with db.connect() as conn:
        return [tuple(row) for row in conn.execute(query)]


def undelivered(db) -> list[tuple[str, str]]:
    """Return (purpose, status) of each text out that the provider has not delivered."""
    query = select(Message.purpose, Message.status).where(
        Message.direction == "out", Message.status != "delivered")
    with db.connect() as conn:
        return [tuple(row) for row in conn.execute(query)]


def inbox_done(db) -> bool:
    """Tell whether every text in was acted on, none given up."""
    query = select(Message.id).where(Message.direction == "in").where(
        (Message.processed_at.is_(None)) | (Message.gave_up_at.is_not(None)))
    with db.connect() as conn:
        return conn.execute(query).first() is None


def sent(db, purposes: list[str]) -> bool:
    """Tell whether exactly these texts went out, in this order, and all were delivered."""
    out = [purpose for direction, purpose, _, _ in texts(db) if direction == "out"]
    return out == purposes and not undelivered(db)


def code_of(db) -> str:
    """Return the reference code of the test's one alert."""
    with db.connect() as conn:
        [code] = conn.scalars(select(Alert.code)).all()
    return code


def test_two_hosts_a_consumer_and_one_host_killed_send_every_text_once(hosts, db, tmp_path):
    procfile = processes()
    budget = Budget(BUDGET_S)
    a, b = f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"

    # The organisation's setup, with the service's own commands.
    hosts.run("release", procfile["release"], timeout_s=budget.left(STEP_S))
    secret, token = credentials(hosts.run(
        "clients", ["flask", "--app", "wsgi", "clients", "create", ROOM, "--scope", "events",
                    "--scope", "incidents:read", "--scope", "positions:write"],
        timeout_s=budget.left(STEP_S)))
    hosts.run("import", ["flask", "--app", "wsgi", "import", "volunteers",
                         str(volunteers_csv(tmp_path / "volunteers.csv")), "--owner", ROOM],
              timeout_s=budget.left(STEP_S))

    hosts.start("web-a", procfile["web"], BIND=a.removeprefix("http://"))
    hosts.start("web-b", procfile["web"], BIND=b.removeprefix("http://"))
    hosts.start("consumer", procfile["worker"])
    assert eventually(lambda: ready(a) and ready(b), budget.left(STARTUP_S)), hosts.report()
    for base in (a, b):
        assert requests.get(f"{base}/healthz", timeout=5).json() == {"status": "ok"}

    # The mover's phone, through B, puts them beside the patient.
    mover_ref = ref_of(db, MOVER["phone"])
    moved = put_position(b, token, mover_ref, offset(50))
    assert moved.status_code == 200, moved.text
    assert moved.json()["applied"] and moved.json()["fresh"]

    # The incident, through A, goes to the mover: 50 m away now, not the one 300 m from home.
    created = post_event(a, secret, "incident.created", {
        "id": INCIDENT, "kind": "cardiac_arrest",
        "location": {"lat": CENTRE[0], "lon": CENTRE[1], "accuracy_m": 20},
        "address": ADDRESS, "notes": NOTES, "patient_age": 64, "ems_eta_s": 540})
    assert created.status_code == 202, created.text
    code = code_of(db)
    assert eventually(lambda: sent(db, ["alert"]), budget.left(STEP_S)), (
        texts(db), undelivered(db), hosts.report())
    assert [(purpose, phone) for _, purpose, phone, _ in texts(db)] == [("alert", MOVER["phone"])]
    # A counted the event, and its index caught up with B's position change for the search.
    scraped = requests.get(f"{a}/metrics", timeout=5).text
    assert metric(scraped, "dispatcher_intake_seconds_count") == 1.0
    assert metric(scraped, "dispatcher_index_lag") == 0.0

    # The mover's YES reaches B; the briefing goes out.
    answered = sms_in(b, MOVER["phone"], "YES")
    assert answered.status_code == 200, answered.text
    assert eventually(lambda: sent(db, ["alert", "details"]), budget.left(STEP_S)), (
        texts(db), undelivered(db), hosts.report())
    status = requests.get(f"{b}/api/v1/incidents/{INCIDENT}", timeout=10,
                          headers={"Authorization": f"Bearer {token}"}).json()
    assert [(r["ref"], r["role"]) for r in status["responders"]] == [(mover_ref, "cpr")]

    # A dies; the control room closes the incident through B.
    assert hosts.kill("web-a") == -9
    assert not ready(a)
    closed = post_event(b, secret, "incident.closed", {"id": INCIDENT})
    assert closed.status_code == 202, closed.text
    assert eventually(lambda: sent(db, ["alert", "details", "stand_down"]), budget.left(STEP_S)), (
        texts(db), undelivered(db), hosts.report())

    # Nothing is overdue that a sweep would send again, and B still serves.
    swept = hosts.run("sweep", ["flask", "--app", "wsgi", "sweep"], timeout_s=budget.left(STEP_S))
    assert "0 overdue jobs run" in swept
    assert ready(b)
    assert metric(requests.get(f"{b}/metrics", timeout=5).text,
                  "dispatcher_intake_seconds_count") == 1.0

    # Every text of the flow, in order: to and from the mover only, each exactly once.
    flow = texts(db)
    assert [(direction, purpose, phone) for direction, purpose, phone, _ in flow] == [
        ("out", "alert", MOVER["phone"]),
        ("in", "reply", MOVER["phone"]),
        ("out", "details", MOVER["phone"]),
        ("out", "stand_down", MOVER["phone"]),
    ]
    alert, yes, briefing, stand_down = (body for *_, body in flow)
    assert alert == ("CPR ALERT: suspected cardiac arrest 50 m S of you. "
                     f"Can you go now? Reply YES or NO. Ref {code}")
    assert yes == "YES"
    assert briefing.startswith(f"GO NOW: {ADDRESS}. {NOTES}") and briefing.endswith(f"Ref {code}")
    assert stand_down == (f"Alert {code} is over: the ambulance has taken over. "
                          "Thank you for being ready to help!")
    assert inbox_done(db)
