"""The deployment files against each other and the code: Procfile, compose.yaml, Dockerfile.

The Procfile names each process's command; compose.yaml and the Dockerfile must run exactly
those (and the multi-host test runs them too), with only settings the service knows.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
import yaml

from dispatcher.config import DEFAULTS, PREFIX
from tests.support.hosts import procfile

ROOT = Path(__file__).resolve().parents[1]
PROCFILE = ROOT / "Procfile"
COMPOSE = ROOT / "compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"
DEPLOYMENT_DOC = ROOT / "docs" / "deployment.md"
SETTING = re.compile(rf"\b{PREFIX}[A-Z0-9_]+\b")


def compose_commands(compose: dict) -> dict[str, list[str]]:
    """Return the command words of every compose service that runs the service's image."""
    image = {name: s for name, s in compose["services"].items() if "build" in s}
    return {name: s["command"] if isinstance(s["command"], list) else shlex.split(s["command"])
            for name, s in image.items()}


def dockerfile_cmd(text: str) -> list[str]:
    """Return the words of a Dockerfile's CMD, which must be in exec (JSON) form."""
    [line] = [line for line in text.splitlines() if line.startswith("CMD ")]
    return json.loads(line.removeprefix("CMD "))


def dockerfile_copied(text: str) -> set[str]:
    """Return the sources a Dockerfile copies from the repository, as written."""
    sources = set()
    for line in text.splitlines():
        if line.startswith("COPY "):
            sources |= set(line.split()[1:-1])
    return sources


def settings_named(text: str) -> set[str]:
    """Return the DISPATCHER_* variables a text names, without the prefix."""
    return {name.removeprefix(PREFIX) for name in SETTING.findall(text)}


@pytest.fixture(scope="module")
def processes() -> dict[str, list[str]]:
    """The Procfile's processes."""
    return procfile(PROCFILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def compose() -> dict:
    """compose.yaml, parsed."""
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def test_the_procfile_has_a_web_process_a_worker_and_a_release_step(processes):
    assert processes["web"] == ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
    assert processes["worker"] == ["flask", "--app", "wsgi", "queue", "consume"]
    assert processes["release"] == ["flask", "--app", "wsgi", "db", "upgrade"]


def test_compose_runs_exactly_the_commands_of_the_procfile(processes, compose):
    commands = compose_commands(compose)

    assert sorted(commands.values()) == sorted(processes.values())


def test_the_image_runs_the_web_process_unless_told_otherwise(processes):
    assert dockerfile_cmd(DOCKERFILE.read_text(encoding="utf-8")) == processes["web"]


def test_compose_runs_two_web_processes_a_consumer_postgresql_and_redis(processes, compose):
    services = compose["services"]
    by_command = {tuple(words): name for name, words in compose_commands(compose).items()}
    web = services[by_command[tuple(processes["web"])]]

    assert web["deploy"]["replicas"] == 2
    assert tuple(processes["worker"]) in by_command
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")


def service_settings(service: dict) -> dict[str, str]:
    """Return the DISPATCHER_* variables a compose service sets."""
    return {k: v for k, v in service["environment"].items() if k.startswith(PREFIX)}


def test_every_process_of_compose_has_the_same_settings_on_postgresql_and_redis(compose):
    environments = [service_settings(compose["services"][name])
                    for name in compose_commands(compose)]
    env = environments[0]

    assert all(e == env for e in environments), "every host must agree (SECRET_KEY above all)"
    assert env[PREFIX + "DATABASE_URL"].startswith("postgresql+psycopg://")
    assert env[PREFIX + "QUEUE_URL"].startswith("redis://")
    assert env[PREFIX + "SECRET_KEY"] and env[PREFIX + "PUBLIC_BASE_URL"]


def test_only_processes_under_gunicorn_count_metrics_in_a_shared_folder(compose):
    # gunicorn.conf.py makes the folder; a flask command with it set and missing would fail
    # at its first import of the metrics.
    for name, words in compose_commands(compose).items():
        shared = "PROMETHEUS_MULTIPROC_DIR" in compose["services"][name]["environment"]
        assert shared == (words[0] == "gunicorn"), name


def test_web_and_consumers_start_only_after_the_migration(processes, compose):
    names = {tuple(words): name for name, words in compose_commands(compose).items()}
    release = names[tuple(processes["release"])]
    for process in ("web", "worker"):
        depends = compose["services"][names[tuple(processes[process])]]["depends_on"]
        assert depends[release] == {"condition": "service_completed_successfully"}


@pytest.mark.parametrize("path", [COMPOSE, DOCKERFILE, DEPLOYMENT_DOC], ids=lambda p: p.name)
def test_every_setting_the_deployment_files_name_is_one_the_service_reads(path):
    named = settings_named(path.read_text(encoding="utf-8"))

    assert named - set(DEFAULTS) == set()


def test_the_deployment_doc_and_compose_name_the_settings_several_hosts_share():
    shared = {"DATABASE_URL", "QUEUE_URL", "SECRET_KEY", "PUBLIC_BASE_URL"}

    assert shared <= settings_named(DEPLOYMENT_DOC.read_text(encoding="utf-8"))
    assert shared <= settings_named(COMPOSE.read_text(encoding="utf-8"))


def test_the_image_holds_every_part_the_processes_load():
    copied = {source.rstrip("/") for source in dockerfile_copied(DOCKERFILE.read_text("utf-8"))}
    packages = {p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file()}

    assert [s for s in copied if not (ROOT / s).exists()] == []
    assert {"wsgi.py", "gunicorn.conf.py", "migrations", "requirements.txt"} <= copied
    assert packages - {"tests", "bench"} <= copied


def test_the_flask_commands_of_the_procfile_exist(processes, tmp_path):
    from dispatcher import create_app
    from dispatcher.queue.fake import RecordingQueue

    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}, queue=RecordingQueue())
    try:
        for words in processes.values():
            if words[0] != "flask":
                continue
            assert words[1:3] == ["--app", "wsgi"]
            group = app.cli
            for word in words[3:]:
                assert word in group.commands, f"flask {' '.join(words[3:])} is no command"
                group = group.commands[word]
    finally:
        app.extensions["dispatcher"].engine.dispose()


def test_the_web_health_check_asks_a_path_the_app_serves(compose, tmp_path):
    from dispatcher import create_app
    from dispatcher.queue.fake import RecordingQueue

    probe = " ".join(compose["services"]["web"]["healthcheck"]["test"])
    [path] = re.findall(r"http://127\.0\.0\.1:\d+(/[\w/-]*)", probe)
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'web.db'}"}, queue=RecordingQueue())
    try:
        assert path in {rule.rule for rule in app.url_map.iter_rules()}
    finally:
        app.extensions["dispatcher"].engine.dispose()


# The checks themselves see a difference.

def test_a_compose_command_that_differs_from_the_procfile_is_seen(processes):
    compose = {"services": {
        "web": {"build": ".", "command": "gunicorn wsgi:app"},
        "consumer": {"build": ".", "command": ["flask", "--app", "wsgi", "queue", "consume"]},
        "migrate": {"build": ".", "command": "flask --app wsgi db upgrade"},
        "redis": {"image": "redis:7"},
    }}

    commands = compose_commands(compose)

    assert set(commands) == {"web", "consumer", "migrate"}
    assert sorted(commands.values()) != sorted(processes.values())


def test_an_unknown_setting_is_seen():
    named = settings_named("DISPATCHER_DATABASE_URL=x DISPATCHER_DATABASE_URI=y")

    assert named - set(DEFAULTS) == {"DATABASE_URI"}


def test_a_procfile_line_without_a_name_is_refused():
    with pytest.raises(AssertionError, match="not a process line"):
        procfile("gunicorn wsgi:app\n")
