"""The borders of DESIGN.md section 2 and the manners of STYLE.md, checked on the source."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 300


def modules(package: str) -> list[Path]:
    """Return every Python module under a package of the repository."""
    found = sorted((ROOT / package).rglob("*.py"))
    assert found, f"no modules under {package}/"
    return found


def parse(path: Path) -> ast.Module:
    """Parse a module's source."""
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def imported_roots(path: Path) -> set[str]:
    """Return the top-level package of every import in a module, wherever it appears."""
    roots = set()
    for node in ast.walk(parse(path)):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def name(path: Path) -> str:
    """Return a module's path relative to the repository."""
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", modules("geo"), ids=name)
def test_geo_imports_neither_flask_nor_sqlalchemy_nor_the_service(path):
    assert imported_roots(path) & {"flask", "sqlalchemy", "dispatcher"} == set()


def test_geo_has_no_relative_imports_that_could_reach_the_service():
    relative = [name(p) for p in modules("geo") for node in ast.walk(parse(p))
                if isinstance(node, ast.ImportFrom) and node.level > 1]
    assert relative == []


# The layers of the service, bottom first. A module may import from its own layer and the
# layers beneath it, never from one above: the domain's rules know nothing of the store, the
# store nothing of use cases, and no use case knows the web or the command line.
LAYERS = [
    ("foundation", {"errors", "clock", "config", "settings", "logs", "metrics"}),
    ("pure rules", {"domain"}),
    ("store and ports", {"store", "sms", "queue", "hooks"}),
    ("directories", {"areas", "aeds"}),
    ("runtime", {"runtime"}),
    ("health", {"health"}),
    ("registry and alerts", {"responders", "alerts"}),
    ("messages", {"messaging"}),
    ("control rooms", {"control_rooms"}),
    ("incidents", {"incidents"}),
    ("conversation", {"conversation"}),
    ("privacy and drills", {"privacy", "drills"}),
    ("jobs", {"jobs"}),
    ("entry points", {"__init__", "current", "app", "web", "cli"}),
]
LEVEL = {part: level for level, (_, parts) in enumerate(LAYERS) for part in parts}
FRAMEWORKS = {"flask", "werkzeug", "sqlalchemy", "alembic"}


def part_of(dotted: str) -> str:
    """Return the first-level part of the service a dotted module name belongs to."""
    pieces = dotted.split(".")
    return pieces[1] if len(pieces) > 1 else "__init__"


def service_imports(path: Path) -> list[str]:
    """Return every module of the service a module imports, wherever the import stands."""
    found = []
    for node in ast.walk(parse(path)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] == "dispatcher"]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "dispatcher":
                found += [f"dispatcher.{a.name}" for a in node.names]
            elif node.module.split(".")[0] == "dispatcher":
                found.append(node.module)
    return found


def dotted(path: Path) -> str:
    """Return a module's dotted name."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def upward_imports(path: Path) -> list[str]:
    """Return the imports of a module that reach a layer above its own."""
    own = LEVEL[part_of(dotted(path))]
    return [m for m in service_imports(path) if LEVEL[part_of(m)] > own]


@pytest.mark.parametrize("path", modules("dispatcher"), ids=name)
def test_no_module_imports_from_a_layer_above_its_own(path):
    layer = LAYERS[LEVEL[part_of(dotted(path))]][0]
    assert upward_imports(path) == [], f"{name(path)} is in the layer {layer!r}"


def test_the_layer_rule_catches_an_upward_import(tmp_path):
    store = ROOT / "dispatcher" / "store" / "models.py"
    text = store.read_text(encoding="utf-8") + "\nfrom dispatcher.incidents import dispatch\n"
    probe = tmp_path / "probe.py"
    probe.write_text(text, encoding="utf-8")

    assert service_imports(probe)[-1] == "dispatcher.incidents"
    assert LEVEL[part_of("dispatcher.incidents")] > LEVEL[part_of("dispatcher.store.models")]


def test_every_part_of_the_service_has_a_layer():
    parts = {p.stem if p.is_file() else p.name for p in (ROOT / "dispatcher").iterdir()
             if (p.suffix == ".py" or (p / "__init__.py").is_file())}

    assert parts - set(LEVEL) == set(), "place each new package in LAYERS"
    assert set(LEVEL) - parts == set(), "LAYERS names a part that no longer exists"


PURE = ["dispatcher.domain", "geo"]


def pure_modules() -> list[str]:
    """Return the dotted names of every module of the pure packages."""
    return sorted(dotted(p) for package in PURE for p in modules(package.replace(".", "/")))


def test_importing_the_pure_modules_loads_no_framework():
    names = pure_modules()
    script = (
        "import importlib, json, sys\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, check=True)
    loaded = set(json.loads(done.stdout))

    assert "dispatcher" in loaded and "geo" in loaded
    assert loaded & FRAMEWORKS == set()


def test_the_purity_check_sees_a_framework_when_one_is_loaded():
    script = "import sys, dispatcher; dispatcher.create_app; import dispatcher.app; " \
             "print('flask' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, check=True)

    assert done.stdout.strip() == "True"


@pytest.mark.parametrize("path", [p for package in PURE
                                  for p in modules(package.replace(".", "/"))], ids=name)
def test_the_pure_modules_import_no_framework_and_no_store(path):
    assert imported_roots(path) & FRAMEWORKS == set()
    assert {part_of(m) for m in service_imports(path)} <= {"domain", "errors", "clock", "config"}


def undocumented(path: Path) -> list[str]:
    """Return the public functions, classes and methods of a module that lack a docstring."""
    missing = []

    def visit(body, prefix=""):
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                if node.name.startswith("_"):
                    continue
                if ast.get_docstring(node) is None:
                    missing.append(f"{name(path)}:{node.lineno} {prefix}{node.name}")
                if isinstance(node, ast.ClassDef):
                    visit(node.body, f"{node.name}.")

    tree = parse(path)
    if ast.get_docstring(tree) is None:
        missing.append(f"{name(path)}: module")
    visit(tree.body)
    return missing


def test_every_public_function_and_class_has_a_docstring():
    missing = [m for p in modules("dispatcher") + modules("geo") for m in undocumented(p)]

    assert missing == [], "\n".join(missing)


def test_wsgi_is_the_one_line_factory_call():
    tree = parse(ROOT / "wsgi.py")
    body = [node for node in tree.body
            if not isinstance(node, (ast.Import, ast.ImportFrom))
            and not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))]

    assert len(body) == 1
    [statement] = body
    assert ast.unparse(statement) == "app = create_app()"
    imports = [ast.unparse(n) for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert imports == ["from dispatcher import create_app"]


def test_no_module_builds_an_app_engine_or_client_at_import_time():
    factories = {"create_app", "create_engine", "make_engine", "Client", "Flask",
                 "TwilioHttpClient", "SqliteHuey", "RedisHuey"}
    built = []
    for path in modules("dispatcher") + modules("geo"):
        for node in parse(path).body:
            value = node.value if isinstance(node, (ast.Assign, ast.AnnAssign, ast.Expr)) else None
            if isinstance(value, ast.Call):
                func = value.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if called in factories:
                    built.append(f"{name(path)}:{node.lineno} {ast.unparse(node)}")

    assert built == []


def test_no_module_is_over_three_hundred_lines():
    lengths = {name(p): len(p.read_text(encoding="utf-8").splitlines())
               for p in modules("dispatcher") + modules("geo")}

    too_long = {module: lines for module, lines in lengths.items() if lines > MAX_LINES}

    assert too_long == {}, f"split these modules (STYLE.md: about {MAX_LINES} lines): {too_long}"


ALERT_HOME = ROOT / "dispatcher" / "alerts" / "lifecycle.py"
# Objects whose `state` is not an alert's: everything else counts as an alert.
OTHER_STATES = {"incident", "event", "outgoing", "receipt", "message", "responder"}


def alert_state_assignments(tree: ast.AST) -> list[str]:
    """Return the places in a syntax tree that set an alert's state, in every form we know."""
    found = []
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.Assign):
            for target in node.targets:
                targets += target.elts if isinstance(target, ast.Tuple) else [target]
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        for target in targets:
            if (isinstance(target, ast.Attribute) and target.attr == "state"
                    and ast.unparse(target.value).lower() not in OTHER_STATES):
                found.append(f"{node.lineno}: {ast.unparse(node)}")
        if isinstance(node, ast.Call):
            text = ast.unparse(node)
            callee = ast.unparse(node.func)
            keywords = {k.arg for k in node.keywords}
            if callee == "Alert" and "state" in keywords:
                found.append(f"{node.lineno}: {text}")
            elif callee.endswith(".values") and "state" in keywords and "update(Alert)" in text:
                found.append(f"{node.lineno}: {text}")
            elif (callee == "setattr" and len(node.args) > 1
                  and ast.unparse(node.args[1]) == "'state'"
                  and ast.unparse(node.args[0]).lower() not in OTHER_STATES):
                found.append(f"{node.lineno}: {text}")
    return found


@pytest.mark.parametrize("path", [p for p in modules("dispatcher") if p != ALERT_HOME], ids=name)
def test_no_module_but_the_alert_lifecycle_sets_an_alert_state(path):
    assert alert_state_assignments(parse(path)) == []


def test_the_alert_lifecycle_is_where_alert_states_are_set():
    assert len(alert_state_assignments(parse(ALERT_HOME))) >= 3


@pytest.mark.parametrize("code", [
    "alert.state = 'expired'",
    "alert.state, alert.updated_at = 'failed', now",
    "for a in alerts:\n    a.state = 'declined'",
    "session.add(Alert(incident_id=1, state='pending'))",
    "session.execute(update(Alert).where(Alert.id == 1).values(state='sent'))",
    "setattr(alert, 'state', 'accepted')",
])
def test_the_alert_state_check_catches_each_form(code):
    assert len(alert_state_assignments(ast.parse(code))) == 1


@pytest.mark.parametrize("code", [
    "incident.state = 'closed'",
    "event.state, event.delivered_at = 'delivered', now",
    "session.execute(update(OutgoingEvent).values(state='abandoned'))",
    "if alert.state == 'accepted':\n    pass",
])
def test_the_alert_state_check_leaves_other_states_alone(code):
    assert alert_state_assignments(ast.parse(code)) == []


SETTINGS_HOMES = {ROOT / "dispatcher" / "config.py", ROOT / "dispatcher" / "settings.py"}


def raw_setting_reads(tree: ast.AST) -> list[str]:
    """Return the places that read a setting by its flat name (`settings["WAVE_SIZE"]`)."""
    from dispatcher.config import DEFAULTS

    found = []
    for node in ast.walk(tree):
        key = None
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
            key = node.slice.value
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "get" and node.args and isinstance(node.args[0], ast.Constant)):
            key = node.args[0].value
        if isinstance(key, str) and key in DEFAULTS:
            found.append(f"{node.lineno}: {ast.unparse(node)}")
    return found


@pytest.mark.parametrize("path", [p for p in modules("dispatcher") if p not in SETTINGS_HOMES],
                         ids=name)
def test_settings_are_read_by_their_flat_names_only_in_config(path):
    assert raw_setting_reads(parse(path)) == []


@pytest.mark.parametrize("code", ['rt.settings["SEND_LEASE_S"]', 'settings.get("TIMEZONE")'])
def test_the_raw_settings_check_catches_a_flat_read(code):
    assert len(raw_setting_reads(ast.parse(code))) == 1
