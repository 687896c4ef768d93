"""The documentation against the code: every list in the docs that the code also holds."""

from __future__ import annotations

import importlib
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dispatcher.config import DEFAULTS
from dispatcher.incidents.records import DISPATCH_STATUSES

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
ARCHITECTURE = ROOT / "docs" / "architecture.md"
CONTROL_ROOM_API = ROOT / "docs" / "control-room-api.md"
SERVICE = ROOT / "dispatcher"


def read(path: Path) -> str:
    """Return a document's text."""
    return path.read_text(encoding="utf-8")


def section(text: str, heading: str) -> str:
    """Return the text under a Markdown heading, up to the next heading of its level or above."""
    level = len(heading) - len(heading.lstrip("#"))
    lines = text.splitlines()
    start = lines.index(heading) + 1
    end = next((i for i in range(start, len(lines))
                if re.match(rf"#{{1,{level}}} ", lines[i])), len(lines))
    return "\n".join(lines[start:end])


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """Return the fenced code blocks of a document as (info string, content)."""
    return re.findall(r"^```(\w*)\n(.*?)^```$", text, flags=re.M | re.S)


def table_after(text: str, header_start: str) -> list[list[str]]:
    """Return the body rows of the Markdown table whose header row starts with `header_start`."""
    lines = text.splitlines()
    [start] = [i for i, line in enumerate(lines) if line.startswith(header_start)]
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip("|"))])
    return rows


def backticked(cell: str) -> list[str]:
    """Return the code spans of a table cell or a line."""
    return re.findall(r"`([^`]+)`", cell)


# (a) The dispatch statuses the control room is told about.

def documented_dispatch_statuses() -> list[str]:
    """Return the statuses listed in the control-room doc's table of `dispatch.status`."""
    rows = table_after(read(CONTROL_ROOM_API), "| `dispatch.status`")
    return [backticked(row[0])[0] for row in rows]


def test_the_control_room_doc_lists_exactly_the_dispatch_statuses_the_code_sets():
    documented = documented_dispatch_statuses()

    assert len(documented) == len(set(documented)), "a status is listed twice"
    assert set(documented) == set(DISPATCH_STATUSES)


def test_the_dispatch_status_table_is_found_and_read():
    rows = table_after("| `dispatch.status` | Meaning |\n|---|---|\n| `a` | x |\n| `b` | y |\n",
                       "| `dispatch.status`")

    assert [backticked(r[0])[0] for r in rows] == ["a", "b"]


# (b) The status example against a real status document.

def documented_status_example() -> dict:
    """Return the status example of the control-room doc, which must be whole, valid JSON."""
    text = section(read(CONTROL_ROOM_API), "## Status: `GET /api/v1/incidents/<id>`")
    example = next(body for info, body in fenced_blocks(text) if info == "json")
    return json.loads(example)


@pytest.fixture(scope="module")
def real_status(tmp_path_factory) -> dict:
    """Return the status of an incident with a CPR and an AED volunteer going, on SQLite."""
    from dispatcher import create_app
    from dispatcher.clock import FixedClock
    from dispatcher.hooks.fake import RecordingPoster
    from dispatcher.queue.fake import RecordingQueue
    from dispatcher.sms.fake import RecordingSender
    from dispatcher.store.db import upgrade
    from tests import builders

    path = tmp_path_factory.mktemp("docs") / "status.db"
    clock = FixedClock(datetime(2026, 11, 23, 10, 0, tzinfo=UTC))
    app = create_app({"DATABASE_URL": f"sqlite:///{path}", "LOG_LEVEL": "WARNING"},
                     sms=RecordingSender(), clock=clock, queue=RecordingQueue(),
                     poster=RecordingPoster())
    rt = app.extensions["dispatcher"]
    try:
        upgrade(rt.engine)
        room = builders.make_control_room(rt, events_url="https://cad.example.org/events")
        cpr = builders.make_volunteer(rt, north_m=300)
        runner = builders.make_volunteer(rt, north_m=450, travel_mode="bike")
        builders.make_aed(rt, at=builders.offset(200, 150))
        builders.open_incident(app.test_client(), room, rt, "CAD-1")
        for volunteer in (cpr, runner):
            clock.advance(seconds=10)
            builders.sms_arrives(rt, volunteer, "YES")
        return builders.status_of(app.test_client(), room, "CAD-1")
    finally:
        rt.engine.dispose()


def entries_by_role(status: dict) -> dict[str, set[str]]:
    """Return the keys of a status's responders entries, by role."""
    return {entry["role"]: set(entry) for entry in status["responders"]}


def test_the_status_example_has_the_keys_of_a_real_status(real_status):
    example = documented_status_example()

    assert set(example) == set(real_status)
    assert set(example["counts"]) == set(real_status["counts"])
    assert set(example["dispatch"]) == set(real_status["dispatch"])
    assert entries_by_role(real_status).keys() == {"cpr", "aed"}, "the scenario needs both roles"
    assert entries_by_role(example) == entries_by_role(real_status)
    assert example["timeline"] and example["events"]
    assert {tuple(sorted(e)) for e in example["timeline"]} == {
        tuple(sorted(e)) for e in real_status["timeline"]}
    assert {tuple(sorted(e)) for e in example["events"]} == {
        tuple(sorted(e)) for e in real_status["events"]}


def test_the_status_example_shows_statuses_and_roles_the_code_knows():
    example = documented_status_example()

    assert example["dispatch"]["status"] in DISPATCH_STATUSES
    assert {entry["role"] for entry in example["responders"]} <= {"cpr", "aed"}


def test_a_missing_key_in_the_example_would_be_seen(real_status):
    example = documented_status_example()
    example.pop("next_wave_at")

    assert set(example) != set(real_status)


# (c) The README's module map.

def module_map() -> list[tuple[str, str]]:
    """Return the README's module map as (path from the repository root, description)."""
    text = section(read(README), "### Module map")
    [(_, block)] = fenced_blocks(text)
    entries, parent = [], ""
    for line in block.splitlines():
        match = re.match(r"^( *)(\S+)(?: {2,}(.*))?$", line)
        assert match, f"not a map line: {line!r}"
        indent, name, description = match.groups()
        if indent:
            assert parent, f"{name} is indented under nothing"
            entries.append((parent + name, description or ""))
        else:
            parent = name if name.endswith("/") else ""
            entries.append((name, description or ""))
    return entries


def service_parts() -> set[str]:
    """Return the packages and top-level modules of the service, as paths."""
    return {f"dispatcher/{p.name}/" if p.is_dir() else f"dispatcher/{p.name}"
            for p in SERVICE.iterdir()
            if p.suffix == ".py" or (p.is_dir() and (p / "__init__.py").is_file())}


def test_the_readme_map_names_every_package_and_module_of_the_service():
    named = {path for path, _ in module_map()}

    assert service_parts() <= named
    assert {"dispatcher/", "geo/", "migrations/", "tests/", "bench/"} <= named


def test_every_path_in_the_readme_map_exists_and_is_described_once():
    entries = module_map()
    paths = [path for path, _ in entries]

    assert [p for p in paths if not (ROOT / p).exists()] == []
    assert [p for p, description in entries if not description.strip()] == []
    assert len(paths) == len(set(paths))


def test_the_map_check_sees_a_package_missing_from_the_map():
    named = {path for path, _ in module_map()} - {"dispatcher/alerts/"}

    assert not service_parts() <= named


# (d) Every dotted name and path of docs/architecture.md that points into the code.

DOTTED = re.compile(r"^(dispatcher\.)?([a-z_][a-z0-9_]*)((?:\.[A-Za-z_][A-Za-z0-9_]*)*)$")
PATH = re.compile(r"^(?!/)[\w.-]+(?:/[\w.-]*)+$|^[\w/.-]+\.py$")


def code_names(text: str) -> list[str]:
    """Return the code spans of a text that name something in `dispatcher` or `geo`.

    A span counts when it starts with `dispatcher.` or with one of its packages or top-level
    modules (`incidents.intake.receive`, `queue.ring`), or with `geo.`.
    """
    roots = {p.rstrip("/").removeprefix("dispatcher/").removesuffix(".py")
             for p in service_parts()} | {"geo"}
    names = []
    for span in backticked(text):
        if PATH.match(span):
            continue
        match = DOTTED.match(re.split(r"[(\s]", span, maxsplit=1)[0])
        if match is None:
            continue
        prefixed, root, rest = match.groups()
        if prefixed or (root in roots and rest):
            names.append(root + rest)
    return names


def code_paths(text: str) -> list[str]:
    """Return the code spans of a text that are paths in the repository (not URL paths)."""
    return [span for span in backticked(text) if PATH.match(span)]


def resolve(dotted: str) -> object:
    """Import the longest module prefix of a dotted name and get the rest as attributes."""
    parts = dotted.split(".")
    base = [] if parts[0] == "geo" else ["dispatcher"]
    for cut in range(len(parts), -1, -1):
        try:
            found = importlib.import_module(".".join(base + parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[cut:]:
            found = getattr(found, attribute)
        return found
    raise ModuleNotFoundError(dotted)


def unresolved(names: list[str]) -> list[str]:
    """Return the names that do not lead to a module, function, class or attribute."""
    missing = []
    for name in names:
        try:
            resolve(name)
        except (ImportError, AttributeError):
            missing.append(name)
    return missing


def test_every_dotted_name_in_the_architecture_doc_exists():
    names = code_names(read(ARCHITECTURE))

    assert len(names) > 40, "the doc names the functions it describes"
    assert unresolved(names) == []


def test_every_path_in_the_architecture_doc_exists():
    paths = code_paths(read(ARCHITECTURE))

    assert paths, "the doc names files"
    assert [p for p in paths if not (ROOT / p).exists()] == []


def test_a_name_that_is_not_in_the_code_is_reported():
    names = code_names("`incidents.intake.receive`, `incidents.intake.nothing_here`, "
                       "`queue.ring`, `alerts.nowhere.move`, `dispatcher.create_app`, "
                       "`dispatch.status`, `incidents`, `/api/v1/events`, `wsgi.py`, "
                       "`clock.Clock.now()`, `sms.SmsSender.send(to, body) → ProviderMessage`")

    assert names == ["incidents.intake.receive", "incidents.intake.nothing_here", "queue.ring",
                     "alerts.nowhere.move", "create_app", "clock.Clock.now",
                     "sms.SmsSender.send"]
    assert unresolved(names) == ["incidents.intake.nothing_here", "alerts.nowhere.move"]


# The README's tables of settings and commands.

def test_the_readme_configuration_table_names_every_setting():
    rows = table_after(read(README), "| Variable |")
    documented = {name.removeprefix("DISPATCHER_") for row in rows for name in backticked(row[0])}

    assert documented == set(DEFAULTS)


def cli_commands(group, prefix=()) -> dict[tuple[str, ...], object]:
    """Return every command of a click group (and of its groups) by its words."""
    import click

    found = {}
    for name, command in group.commands.items():
        words = (*prefix, name)
        if isinstance(command, click.Group):
            found |= cli_commands(command, words)
        else:
            found[words] = command
    return found


def documented_commands() -> list[tuple[tuple[str, ...], list[str]]]:
    """Return the README's commands as (words, options named with them), one per code span."""
    found = []
    for row in table_after(read(README), "| Command |"):
        for span in backticked(row[0]):
            words = tuple(re.findall(r"(?:^| )([a-z][a-z-]*)(?= |$)", span.split("[")[0]))
            found.append((words, re.findall(r"--[a-z-]+", span)))
    return found


def test_every_command_in_the_readme_exists_with_its_options(tmp_path):
    from dispatcher import create_app
    from dispatcher.queue.fake import RecordingQueue

    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}, queue=RecordingQueue())
    commands = cli_commands(app.cli)
    try:
        documented = documented_commands()
        for words, options in documented:
            assert words in commands, f"flask {' '.join(words)} is no command"
            known = {o for p in commands[words].params for o in getattr(p, "opts", [])}
            assert set(options) <= known, f"flask {' '.join(words)}: {set(options) - known}"
        assert set(commands) == {words for words, _ in documented}
    finally:
        app.extensions["dispatcher"].engine.dispose()
