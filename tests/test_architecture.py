"""The borders of DESIGN.md section 2 and the manners of STYLE.md, checked on the source."""

from __future__ import annotations

import ast
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


def test_policy_imports_no_flask_and_no_sqlalchemy():
    roots = imported_roots(ROOT / "dispatcher" / "policy.py")

    assert roots & {"flask", "sqlalchemy", "werkzeug"} == set()


def service_modules_imported_by(path: Path) -> set[Path]:
    """Return the files of the service's own modules that a module imports by name."""
    files = set()
    for node in ast.walk(parse(path)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "dispatcher":
            base = ROOT / node.module.replace(".", "/")
            for alias in node.names:
                for candidate in (base / f"{alias.name}.py", base / alias.name / "__init__.py",
                                  base.with_suffix(".py"), base / "__init__.py"):
                    if candidate.is_file():
                        files.add(candidate)
                        break
    return files


def test_the_service_modules_policy_uses_import_no_flask_and_no_sqlalchemy():
    used = service_modules_imported_by(ROOT / "dispatcher" / "policy.py")

    offending = {name(p): imported_roots(p) & {"flask", "sqlalchemy"} for p in used}

    assert {m: roots for m, roots in offending.items() if roots} == {}


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
