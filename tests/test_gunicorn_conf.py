"""gunicorn.conf.py serves the app as production does: several workers, one sum of metrics,
an access log without query strings, JSON lines on request."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from dispatcher.control_rooms import clients
from tests.builders import event, incident_data
from tests.support.services import free_port

ROOT = Path(__file__).resolve().parents[1]
GUNICORN = Path(sys.executable).parent / "gunicorn"
START_S = 30


@pytest.fixture
def served(db_url, tmp_path, rt):
    """Start gunicorn with the repository's config and two workers; stop it afterwards."""
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("DISPATCHER_") and k not in ("PORT", "PROMETHEUS_MULTIPROC_DIR")}
    env.update({
        "DISPATCHER_DATABASE_URL": db_url,
        "DISPATCHER_QUEUE_URL": f"sqlite:///{tmp_path / 'queue.db'}",
        "DISPATCHER_BIND": f"127.0.0.1:{port}", "DISPATCHER_WEB_WORKERS": "2",
        "DISPATCHER_ACCESS_LOG": "1", "DISPATCHER_LOG_FORMAT": "json",
        "DISPATCHER_LOG_LEVEL": "WARNING",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    })
    log = tmp_path / "gunicorn.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([str(GUNICORN), "-c", "gunicorn.conf.py", "wsgi:app"],
                                   cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_S
        while not _answers(base + "/healthz"):
            assert process.poll() is None, log.read_text(errors="replace")
            assert time.monotonic() < deadline, "gunicorn did not answer in time"
            time.sleep(0.2)
        yield base, log
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _answers(url: str) -> bool:
    """Tell whether a URL answers 200."""
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:  # refused, or a worker still starting
        return False


def post_incident(base: str, room: clients.NewClient) -> int:
    """Sign and post an incident.created to a running server, now; return the status code."""
    now = datetime.now(UTC)
    body = json.dumps(event("incident.created", incident_data(f"CAD-{uuid.uuid4().hex[:8]}"),
                            now))
    headers = clients.sign(room.secret, f"msg_{uuid.uuid4().hex}", now, body)
    return requests.post(base + "/api/v1/events", data=body, timeout=30,
                         headers={**headers, "Content-Type": "application/json"}).status_code


def intake_count(base: str) -> float:
    """Return the intake histogram's count as one scrape of /metrics reports it."""
    text = requests.get(base + "/metrics", timeout=10).text
    return next(s.value for f in text_string_to_metric_families(text) for s in f.samples
                if s.name == "dispatcher_intake_seconds_count")


def test_two_workers_report_one_sum_and_log_json_lines_without_query_strings(served, room):
    # One server for both, since starting gunicorn is what takes the time.
    base, log = served
    posted = 6

    assert [post_incident(base, room) for _ in range(posted)] == [202] * posted
    assert requests.get(base + "/healthz?phone=%2B46701234567", timeout=5).status_code == 200

    assert requests.get(base + "/readyz", timeout=10).status_code == 200
    assert [intake_count(base) for _ in range(4)] == [posted] * 4
    entries = [json.loads(line) for line in access_lines(log, "/healthz")]
    assert entries and {e["logger"] for e in entries} == {"gunicorn.access"}
    assert any(e["message"].startswith('"GET /healthz" 200 ') for e in entries)
    assert "46701234567" not in log.read_text(errors="replace")


def access_lines(log: Path, path: str) -> list[str]:
    """Return the lines of the log that name a path, once the access log has written one."""
    deadline = time.monotonic() + 5
    while True:
        lines = [line for line in log.read_text(errors="replace").splitlines() if path in line]
        if lines or time.monotonic() > deadline:
            return lines
        time.sleep(0.1)
