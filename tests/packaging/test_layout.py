"""The package's layers: a Flask-free core, the protocol layer above it, the extension that
wires them, the sandbox apart, and no import circle anywhere (imports inside functions and
type-only imports count: a deferred import that only hides a circle is still a circle)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import flask_flowglad

PACKAGE = Path(flask_flowglad.__file__).parent
#: Modules and packages that must import nothing of Flask, flask-login or marshmallow, and
#: nothing above themselves: what a script or a worker uses without an app.
CORE_PACKAGES = ("storage", "telemetry", "usage", "webhooks")
CORE = {
    "_version",
    "authorization",
    "backfill",
    "billing",
    "cache",
    "client",
    "config",
    "deadline",
    "errors",
    "formatting",
    "headers",
    "identity",
    "intervals",
    "prepared",
    "redaction",
    "responses",
    "service",
    "summary",
    "transport",
    "wirejson",
}
#: Modules of the core packages that are Flask's side of them.
NOT_CORE = {"webhooks.endpoint"}
WEB = {"@flask", "@flask_login", "@werkzeug", "@marshmallow", "@apispec", "@click"}
#: The one module that wires the layers together (and a configured sandbox in).
WIRING = "extension"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Every module this file imports, resolved to a name relative to the package."""
    name = module_name(path)
    package_parts = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package_parts[: len(package_parts) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
                if node.module:
                    found.add(target)
                # ``from . import answers`` imports a submodule (the package is already
                # being imported: that is no edge of its own).
                for alias in node.names:
                    found.add(".".join(filter(None, [target, alias.name])))
            elif node.module and node.module.startswith("flask_flowglad"):
                found.add(node.module.removeprefix("flask_flowglad").lstrip("."))
            elif node.module:
                found.add("@" + node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("flask_flowglad"):
                    found.add(alias.name.removeprefix("flask_flowglad").lstrip("."))
                else:
                    found.add("@" + alias.name.split(".")[0])
    return found


def graph() -> dict[str, set[str]]:
    """Every module of the package (the sandbox included) and what it imports."""
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    edges: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges[name] = {
            target
            for target in imports_of(path)
            if target in modules and target != name or target.startswith("@")
        }
    return edges


def find_cycles(edges: dict[str, set[str]]) -> set[tuple[str, ...]]:
    """Every circle of imports, each as its modules from the smallest name, first to last."""
    cycles: set[tuple[str, ...]] = set()

    def visit(node: str, stack: list[str]) -> None:
        for target in sorted(edges.get(node, ())):
            if target.startswith("@") or target == "":
                continue
            if target in stack:
                cycle = stack[stack.index(target) :]
                start = cycle.index(min(cycle))
                cycles.add(tuple(cycle[start:] + cycle[:start]))
            elif len(stack) < 12:
                visit(target, [*stack, target])

    for node in sorted(edges):
        visit(node, [node])
    return cycles


def is_core(name: str) -> bool:
    if name in NOT_CORE:
        return False
    return name in CORE or name.split(".")[0] in CORE_PACKAGES


def test_no_import_circle() -> None:
    assert find_cycles(graph()) == set()


def test_no_module_imports_the_package_root() -> None:
    edges = graph()
    assert sorted(name for name, targets in edges.items() if "" in targets and name) == []


def test_the_core_imports_no_flask_and_nothing_above_it() -> None:
    edges = graph()
    core = {name for name in edges if is_core(name)}
    assert {"client", "errors", "storage.redis", "webhooks.signature"} <= core
    for name in sorted(core):
        web = edges[name] & WEB
        assert not web, f"{name} imports {web}"
        layered = {target for target in edges[name] if not target.startswith("@")}
        above = {target for target in layered if not is_core(target)}
        assert not above, f"{name} imports {above}, which is not Flask-free"


def test_only_the_extension_imports_the_protocol() -> None:
    edges = graph()
    importers = {
        name
        for name, targets in edges.items()
        if not name.startswith("protocol") and any(t.startswith("protocol") for t in targets)
    }
    assert importers == {WIRING}


def test_production_code_imports_nothing_from_the_sandbox_but_the_wiring() -> None:
    edges = graph()
    importers = {
        name
        for name, targets in edges.items()
        if not name.startswith("sandbox") and any(t.startswith("sandbox") for t in targets)
    }
    assert importers == {WIRING}


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == {("a", "b", "c")}
    assert find_cycles({"a": {"b"}, "b": set()}) == set()


def test_core_modules_load_no_flask_in_a_fresh_interpreter() -> None:
    core = sorted(f"flask_flowglad.{name}" for name in graph() if is_core(name))
    code = (
        "import importlib, sys\n"
        f"for name in {core!r}: importlib.import_module(name)\n"
        "print(sorted(m for m in ('flask', 'flask_login', 'werkzeug', 'marshmallow')"
        " if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_importing_the_client_loads_only_the_client_and_its_helpers() -> None:
    code = (
        "import sys\nimport flask_flowglad.client\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in"
        " ('flask', 'flask_login', 'flask_flowglad', 'werkzeug', 'marshmallow')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    loaded = eval(result.stdout)  # noqa: S307 - our own subprocess printed a list of names
    assert all(name.startswith("flask_flowglad") for name in loaded), loaded
    assert "flask_flowglad.extension" not in loaded and "flask_flowglad.protocol" not in loaded


def test_the_root_exports_each_public_name_from_its_module() -> None:
    source = ast.parse((PACKAGE / "__init__.py").read_text())
    typed: dict[str, str] = {}
    for node in ast.walk(source):
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module != "_version":
            for alias in node.names:
                assert alias.asname == alias.name, "a re-export is written `X as X`"
                typed[alias.name] = str(node.module)
    exports = flask_flowglad._EXPORTS  # type: ignore[attr-defined]
    assert typed == exports
    for name in flask_flowglad.__all__:
        assert getattr(flask_flowglad, name) is not None
    assert {"request_deadline", "ConfigurationWarning", "WebhookEvent"} <= set(exports)


def test_no_function_is_longer_than_80_lines() -> None:
    long = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > 80:
                    long.append(f"{module_name(path)}.{node.name}: {length}")
    assert long == []


def test_one_transaction_id_format_made_in_one_place() -> None:
    from flask_flowglad import client, service

    # The service makes its ids with the client's function: one format, one place.
    assert service.new_transaction_id is client.new_transaction_id
    assert "def new_transaction_id" not in (PACKAGE / "service.py").read_text()


def test_the_sandboxs_records_and_rules_import_no_flask_and_none_of_its_faces() -> None:
    """The sandbox's billing is a Flask-free core of its own: records, rules, the store and
    the transactions; only its faces (API, pages, server, deliveries to an app) know Flask."""
    edges = graph()
    core = {"records", "account", "store", "transactions", "ids", "errors", "cards", "ring"}
    names = {f"sandbox.{name}" for name in core} | {
        n for n in edges if n.startswith("sandbox.rules")
    }
    faces = ("pages", "server", "api", "routes", "core", "helpers", "webhooks", "controls")
    for name in sorted(names):
        web = edges[name] & WEB
        assert not web, f"{name} imports {web}"
        above = {t for t in edges[name] if t.split(".")[-1] in faces}
        assert not above, f"{name} imports {above}"
