"""Shared fixtures: app, client, db (SQLite and PostgreSQL), sms (recording fake), clock,
and the control room (`room`) most API tests post as.

Every test that uses `db_url` runs once per database. PostgreSQL is required: a test run
where it cannot be reached fails. Set DISPATCHER_TEST_DATABASES=sqlite to leave it out
on purpose (never in CI).
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from dispatcher import create_app
from dispatcher.clock import FixedClock
from dispatcher.hooks.fake import RecordingPoster
from dispatcher.queue.fake import RecordingQueue
from dispatcher.sms.fake import RecordingSender
from dispatcher.store.db import make_engine, upgrade
from dispatcher.store.models import Base
from tests.builders import make_control_room, runner_for, twilio_settings
from tests.support.fake_twilio import FakeTwilio
from tests.support.services import require_redis
from tests.support.stack import build_app, close_app, settings_for

POSTGRES_URL = os.environ.get(
    "DISPATCHER_TEST_POSTGRES_URL", "postgresql+psycopg://127.0.0.1:5432/test"
)
DATABASES = [
    d.strip() for d in os.environ.get("DISPATCHER_TEST_DATABASES", "sqlite,postgresql").split(",")
]
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
# A Monday, 11:00 in Stockholm: work places (Mo-Fr 08:00-17:00) are in use.
MONDAY_MORNING = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def _guard_network() -> None:
    """Refuse any connection beyond loopback: no test may reach the outside world."""
    original = socket.socket.connect

    def connect(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if self.family in (socket.AF_INET, socket.AF_INET6) and host not in (
            "127.0.0.1", "::1", "localhost"
        ) and not str(host).startswith("127."):
            raise OSError(f"tests may not connect beyond loopback (tried {host})")
        return original(self, address)

    socket.socket.connect = connect


_guard_network()


def pytest_collection_modifyitems(items):
    """Mark every test that takes a database as `db`, so fast runs can leave them out."""
    for item in items:
        if "db_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.db)


def _postgres_schema_url(schema: str) -> str:
    """Return a URL to a fresh schema of this run's own in the test database, or fail the run."""
    try:
        engine = create_engine(POSTGRES_URL)
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure to reach it is the same failure
        pytest.fail(
            f"PostgreSQL is required for the database tests and is not reachable at "
            f"{POSTGRES_URL} ({type(exc).__name__}). Start it (scripts/services.sh) or set "
            f"DISPATCHER_TEST_DATABASES=sqlite to leave it out on purpose.",
            pytrace=False,
        )
    sep = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture(scope="session")
def migrated(tmp_path_factory):
    """Migrate each test database once per run; return a function from name to URL."""
    urls: dict[str, str] = {}
    # Each run has a schema of its own, so runs sharing the server cannot disturb each other.
    schema = f"dispatcher_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"

    def get(name: str) -> str:
        if name not in urls:
            if name == "sqlite":
                url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
            else:
                url = _postgres_schema_url(schema)
            engine = make_engine(url)
            upgrade(engine)
            engine.dispose()
            urls[name] = url
        return urls[name]

    yield get
    if "postgresql" in urls:
        engine = create_engine(POSTGRES_URL)
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        engine.dispose()


def _wipe(url: str) -> None:
    """Empty every table and reset the change sequence, so each test starts clean."""
    engine = make_engine(url)
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f"DELETE FROM {table}"))
        conn.execute(text("INSERT INTO change_counter (id, value) VALUES (1, 0)"))
    engine.dispose()


@pytest.fixture(params=DATABASES)
def db_url(request, migrated):
    """The URL of an empty, migrated database: once SQLite, once PostgreSQL."""
    url = migrated(request.param)
    _wipe(url)
    return url


@pytest.fixture
def clock():
    """A clock standing on a Monday morning, movable by the test."""
    return FixedClock(MONDAY_MORNING)


@pytest.fixture
def sms():
    """The recording fake of the SMS port."""
    return RecordingSender()


@pytest.fixture
def queue():
    """The recording fake of the queue: jobs without a time run at once, timed ones on demand."""
    return RecordingQueue()


@pytest.fixture
def poster():
    """The recording fake of the control room's event endpoint."""
    return RecordingPoster()


@pytest.fixture
def settings():
    """Settings a test may change before the app is built."""
    return {"PUBLIC_BASE_URL": "https://dispatch.example.org", "LOG_LEVEL": "WARNING"}


@pytest.fixture
def failover():
    """The second SMS provider: none, unless a module gives one."""
    return None


@pytest.fixture
def make_app(db_url, sms, clock, settings, queue, poster, failover):
    """Build app instances on the test database (several share it, like several processes)."""
    apps = []

    def build(**overrides):
        app = create_app({**settings, "DATABASE_URL": db_url, **overrides}, sms=sms, clock=clock,
                         queue=queue, poster=poster, failover=failover)
        app.testing = True
        apps.append(app)
        return app

    yield build
    for app in apps:
        app.extensions["dispatcher"].engine.dispose()


@pytest.fixture
def app(make_app):
    """One app on the test database."""
    return make_app()


@pytest.fixture
def rt(app):
    """The app's runtime: settings, sessions, ports and index."""
    return app.extensions["dispatcher"]


@pytest.fixture
def client(app):
    """A test client of the app."""
    return app.test_client()


@pytest.fixture
def cli(app):
    """Run a flask command against the test app; return the click result."""
    return runner_for(app)


@pytest.fixture
def twilio_hooks(settings):
    """Let the Twilio webhooks accept the requests the builders sign.

    A module that posts SMS through the webhooks asks for it before the app is built:
    `pytestmark = pytest.mark.usefixtures("twilio_hooks")`.
    """
    settings.update(twilio_settings())


@pytest.fixture
def room_options():
    """How `room` is made: keyword arguments of `make_control_room`; a module may override."""
    return {}


@pytest.fixture
def room(rt, room_options):
    """A control room with a client, a bearer token and a signing secret."""
    return make_control_room(rt, **room_options)


@pytest.fixture
def shared_data():
    """The folder of real data beside the repository; skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA} (../shared/data beside the repo)")
    return SHARED_DATA


@pytest.fixture
def unique():
    """Return a fresh short id for names that must not repeat."""
    return lambda prefix="x": f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def fake():
    """The fake Twilio, answering after a short latency."""
    with FakeTwilio(latency_s=0.05) as fake:
        yield fake


@pytest.fixture
def stack(db_url, tmp_path, unique, fake):
    """Build apps on the test's setup: SQLite + SQLite queue, or PostgreSQL + Redis."""
    sqlite = db_url.startswith("sqlite")
    queue_url = f"sqlite:///{tmp_path / 'queue.db'}" if sqlite else require_redis()
    name, apps = unique("queue"), []

    def build(queue_url=queue_url, **overrides):
        settings = settings_for(db_url, queue_url, name, **overrides)
        app = build_app(settings, fake)
        apps.append(app)
        return app, app.extensions["dispatcher"], settings

    yield build
    for app in apps:
        close_app(app)
