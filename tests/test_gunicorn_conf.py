"""gunicorn.conf.py serves the app as production does: several workers, one sum of metrics,
an access log without query strings, JSON lines on request."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

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


def load_conf(monkeypatch, **environ):
    """Load gunicorn.conf.py as gunicorn does, under the given environment."""
    for key, val in environ.items():
        monkeypatch.setenv(key, val)
    spec = importlib.util.spec_from_file_location("gunicorn_conf", ROOT / "gunicorn.conf.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def dead_pid() -> int:
    """Return the id of a process that has exited."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return int(done.stdout)


def test_the_settings_come_from_the_service_configuration(monkeypatch):
    monkeypatch.delenv("PORT", raising=False)
    conf = load_conf(monkeypatch, DISPATCHER_BIND="127.0.0.1:9001", DISPATCHER_WEB_WORKERS="3")

    assert conf.bind == ["127.0.0.1:9001"] and conf.workers == 3
    assert conf.accesslog is None
    assert "%(U)s" in conf.access_log_format and "%(r)s" not in conf.access_log_format
    assert "%(q)s" not in conf.access_log_format and "%(h)s" not in conf.access_log_format


def test_port_is_the_bind_when_no_address_is_set(monkeypatch):
    monkeypatch.delenv("DISPATCHER_BIND", raising=False)

    assert load_conf(monkeypatch, PORT="5055").bind == ["0.0.0.0:5055"]


def test_an_unknown_log_format_stops_gunicorn_before_it_starts(monkeypatch):
    with pytest.raises(ValueError, match="DISPATCHER_LOG_FORMAT"):
        load_conf(monkeypatch, DISPATCHER_LOG_FORMAT="xml")


def test_starting_clears_the_metrics_of_processes_gone_and_keeps_the_living(monkeypatch,
                                                                           tmp_path):
    folder = tmp_path / "metrics"
    conf = load_conf(monkeypatch, PROMETHEUS_MULTIPROC_DIR=str(folder))
    folder.mkdir()
    gone, living = dead_pid(), os.getpid()
    for name in (f"counter_{gone}.db", f"histogram_{gone}.db", f"counter_{living}.db"):
        (folder / name).write_bytes(b"")

    conf.on_starting(server=None)

    assert sorted(p.name for p in folder.iterdir()) == [f"counter_{living}.db"]


def test_a_worker_that_exits_leaves_the_live_gauges(monkeypatch, tmp_path):
    folder = tmp_path / "metrics"
    folder.mkdir()
    conf = load_conf(monkeypatch, PROMETHEUS_MULTIPROC_DIR=str(folder))
    for name in ("gauge_livemax_4242.db", "counter_4242.db"):
        (folder / name).write_bytes(b"")

    conf.child_exit(server=None, worker=SimpleNamespace(pid=4242))

    assert [p.name for p in folder.iterdir()] == ["counter_4242.db"]
