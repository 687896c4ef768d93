"""The queue's commands: `flask serve` (web and consumer in one process), `queue consume`,
`sweep`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from dispatcher import create_app
from dispatcher.cli.queue import check_providers
from dispatcher.clock import SystemClock
from dispatcher.hooks.fake import RecordingPoster
from dispatcher.messaging import outbound
from dispatcher.sms.failures import ProviderCheckError
from dispatcher.store.db import make_engine, upgrade
from tests.builders import create_incident, make_control_room, make_volunteer
from tests.support.consumer import eventually
from tests.support.services import free_port
from tests.support.stack import alert_messages

ROOT = Path(__file__).resolve().parents[2]


class Http:
    """Post to a served app over real HTTP, as the builders post with a test client."""

    def __init__(self, base: str):
        self.base = base

    def post(self, path, *, data, headers, content_type):
        """Post a body with headers; return the response."""
        return requests.post(self.base + path, data=data, timeout=10,
                             headers={**headers, "Content-Type": content_type})


@pytest.fixture
def embedded(tmp_path):
    """Settings of the embedded setup on fresh files: SQLite, the SQLite queue, the outbox."""
    database = f"sqlite:///{tmp_path / 'dispatcher.db'}"
    engine = make_engine(database)
    upgrade(engine)
    engine.dispose()
    return {"DATABASE_URL": database, "QUEUE_URL": f"sqlite:///{tmp_path / 'queue.db'}",
            "SMS_BACKEND": "outbox", "LOG_LEVEL": "WARNING"}


@pytest.mark.parametrize("stop_with", [signal.SIGINT, signal.SIGTERM], ids=["INT", "TERM"])
def test_serve_answers_http_sends_the_alerts_and_stops_cleanly_on_a_signal(
    embedded, tmp_path, stop_with
):
    app = create_app(embedded, clock=SystemClock(), poster=RecordingPoster())
    rt = app.extensions["dispatcher"]
    volunteers = [make_volunteer(rt, north_m=100 * (i + 1)) for i in range(3)]
    room = make_control_room(rt)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISPATCHER_")}
    env.update({f"DISPATCHER_{k}": v for k, v in embedded.items()})
    with open(tmp_path / "serve.log", "wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "serve", "--port", str(port)],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        http = Http(f"http://127.0.0.1:{port}")
        assert eventually(lambda: _answers(http.base), timeout_s=30), _log(tmp_path)

        response = create_incident(http, room, rt)

        assert response.status_code == 202
        delivered = eventually(lambda: _delivered(rt, 3))
        assert {m.address for m in delivered} == {v.phone for v in volunteers}, _log(tmp_path)
        server.send_signal(stop_with)
        assert server.wait(30) == 0, _log(tmp_path)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        rt.engine.dispose()


def _delivered(rt, count: int):
    """Return the alert messages once `count` of them are in the outbox, else None."""
    messages = [m for m in alert_messages(rt) if m.status == "delivered"]
    return messages if len(messages) >= count else None


def _answers(base: str) -> bool:
    """Tell whether anything answers HTTP at the base URL."""
    try:
        requests.get(base + "/api/v1/incidents/none", timeout=1)
    except requests.ConnectionError:
        return False
    return True


def _log(tmp_path: Path) -> str:
    """Return the end of the served process's output, for a failing assertion."""
    return (tmp_path / "serve.log").read_text(errors="replace")[-3000:]


def test_queue_consume_refuses_a_queue_without_a_consumer(app):
    result = app.test_cli_runner().invoke(args=["queue", "consume"])

    assert result.exit_code != 0
    assert "the recording queue has no consumer to run" in result.output


def test_sweep_runs_each_overdue_job_here_once(app, rt, sms, queue, clock):
    volunteer = make_volunteer(rt, north_m=100)
    queue.down = True  # the doorbell is lost
    with rt.transaction() as session:
        outbound.queue_message(rt, session, volunteer, "Hello", purpose="reply")
    queue.down = False
    clock.advance(minutes=1)

    result = app.test_cli_runner().invoke(args=["sweep"])

    assert result.exit_code == 0, result.output
    assert "1 overdue jobs run" in result.output
    assert sms.to(volunteer.phone) == ["Hello"]
    assert queue.jobs == []  # run here, not rung


def test_a_consumer_refuses_to_start_when_the_provider_refuses_the_credentials(cli, sms):
    sms.check_error = ProviderCheckError(
        "DISPATCHER_TWILIO_ACCOUNT_SID/AUTH_TOKEN refused by Twilio (20003)", provider_code=20003)

    result = cli("queue", "consume")

    assert result.exit_code != 0
    assert "SMS provider refused" in result.output and "20003" in result.output


def test_a_provider_that_cannot_be_reached_at_start_is_logged_and_held_not_fatal(rt, sms, caplog):
    sms.check_error = ProviderCheckError("Twilio could not be reached", kind="transient")

    with caplog.at_level("ERROR", logger="dispatcher.cli.queue"):
        check_providers(rt)

    assert "could not be reached" in caplog.text
