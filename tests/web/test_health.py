"""/healthz says the process lives; /readyz says whether it should get work, check by check."""

from __future__ import annotations

import socket

import pytest

from dispatcher import create_app
from dispatcher.health import readiness
from tests.builders import make_volunteer
from tests.support.services import require_redis


@pytest.fixture
def closed_port():
    """A loopback port that refuses connections: bound by us, never listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture
def build(db_url, tmp_path, sms, clock, settings):
    """Build apps with the real queue their setting names (SQLite file, or Redis)."""
    apps = []

    def make(**overrides):
        queue_url = (f"sqlite:///{tmp_path / 'queue.db'}" if db_url.startswith("sqlite")
                     else require_redis())
        config = {**settings, "DATABASE_URL": db_url, "QUEUE_URL": queue_url, **overrides}
        app = create_app(config, sms=sms, clock=clock)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["dispatcher"].engine.dispose()


def unreachable_database(db_url: str, tmp_path, port: int) -> str:
    """Return a URL of the same kind as the test's database that nothing answers at."""
    if db_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'no-such-folder' / 'dispatcher.db'}"
    return f"postgresql+psycopg://127.0.0.1:{port}/test?connect_timeout=2"


def test_healthz_answers_that_the_process_lives(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_healthz_needs_no_database(db_url, tmp_path, closed_port, build):
    app = build(DATABASE_URL=unreachable_database(db_url, tmp_path, closed_port))

    assert app.test_client().get("/healthz").status_code == 200


def test_readyz_is_200_when_database_queue_and_index_are_up(build):
    response = build().test_client().get("/readyz")

    assert response.status_code == 200, response.json
    assert response.json["status"] == "ready"
    assert response.json["failed"] == []
    assert set(response.json["checks"]) == {"database", "queue", "index"}
    assert response.json["checks"]["index"] == {"ok": True, "lag": 0, "max_lag": 5000}


def test_readyz_is_503_while_the_index_is_not_loaded(app, client):
    app.extensions["dispatcher"].index_ready.clear()

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json["status"] == "not_ready"
    assert response.json["failed"] == ["index"]
    assert response.json["checks"]["index"]["reason"] == "not loaded yet"


@pytest.mark.parametrize("over, status, failed", [(0, 200, []), (1, 503, ["index"])])
def test_readyz_refuses_an_index_further_behind_than_the_bound(make_app, rt, over, status,
                                                              failed):
    for north_m in (100, 200, 300):  # position changes that no index has applied yet
        make_volunteer(rt, north_m=north_m)
    behind = readiness.change_seq(rt)
    app = make_app(READY_MAX_INDEX_LAG=behind - over)  # a fresh process: its index is empty

    response = app.test_client().get("/readyz")

    assert behind >= 3
    assert response.status_code == status
    assert response.json["failed"] == failed
    assert response.json["checks"]["index"]["lag"] == behind
    assert response.json["checks"]["index"]["max_lag"] == behind - over


def test_readyz_is_503_naming_the_queue_when_redis_cannot_be_reached(build, closed_port):
    app = build(QUEUE_URL=f"redis://127.0.0.1:{closed_port}/0")

    response = app.test_client().get("/readyz")

    assert response.status_code == 503
    assert response.json["failed"] == ["queue"]
    queue = response.json["checks"]["queue"]
    assert queue["ok"] is False and queue["backend"] == "RedisHuey"
    assert queue["reason"].startswith("no answer (")
    assert str(closed_port) not in response.get_data(as_text=True)


def test_readyz_is_503_naming_the_database_when_it_cannot_be_reached(
        db_url, tmp_path, closed_port, build):
    app = build(DATABASE_URL=unreachable_database(db_url, tmp_path, closed_port))

    response = app.test_client().get("/readyz")

    assert response.status_code == 503
    assert response.json["failed"] == ["database", "index"]
    assert response.json["checks"]["database"]["reason"].startswith("no answer (")
    assert "lag unknown" in response.json["checks"]["index"]["reason"]
    body = response.get_data(as_text=True)
    assert str(closed_port) not in body and "no-such-folder" not in body


def test_health_answers_are_not_cached(client):
    assert client.get("/healthz").headers["Cache-Control"] == "no-store"
    assert client.get("/readyz").headers["Cache-Control"] == "no-store"
