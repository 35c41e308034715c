"""The package's layers: a Flask-free core, the protocol layer above it, the extension that
wires them, and no import circle anywhere (imports inside functions and type-only imports
count: a deferred import that only hides a circle is still a circle)."""

from __future__ import annotations

import ast
from pathlib import Path

import flask_flowglad

PACKAGE = Path(flask_flowglad.__file__).parent
#: Modules that must import nothing of Flask (or of flask-login, which is Flask).
CORE = {"client", "service", "billing", "identity", "errors", "config"}
#: Flask-free modules the core is built from.
CORE_HELPERS = {"deadline", "responses", "_version", "cache", "redaction", "transport", "headers"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def is_module(name: str) -> bool:
    """Whether ``name`` (relative to the package) is a module or a subpackage."""
    where = PACKAGE.joinpath(*name.split(".")) if name else PACKAGE
    return where.with_suffix(".py").is_file() or (where / "__init__.py").is_file()


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
                # ``from . import answers`` imports a submodule (as ``from .answers import
                # x`` does); ``from . import name`` of anything else needs the package.
                for alias in node.names:
                    submodule = ".".join(filter(None, [target, alias.name]))
                    found.add(submodule if is_module(submodule) else target)
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
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    edges: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges[name] = {
            target
            for target in imports_of(path)
            if target in modules and target != name or target.startswith("@")
        }
    return edges


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(edges.get(node, ())):
            if target.startswith("@") or target == "":
                continue
            if state.get(target) == 1:
                return [*stack[stack.index(target) :], target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node and node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_no_import_circle() -> None:
    edges = graph()
    # The package root re-exports everything: no module may import it back.
    importers_of_root = sorted(name for name, targets in edges.items() if "" in targets)
    assert importers_of_root == [], importers_of_root
    assert find_cycle(edges) is None, " -> ".join(find_cycle(edges) or [])


def test_the_core_imports_no_flask() -> None:
    edges = graph()
    for name in sorted(CORE & set(edges)):
        web = {
            target for target in edges[name] if target in ("@flask", "@flask_login", "@werkzeug")
        }
        assert not web, f"{name} imports {web}"
        layered = {target for target in edges[name] if not target.startswith("@")}
        assert layered <= CORE | CORE_HELPERS, f"{name} imports {layered - CORE}"


def test_the_core_does_not_import_the_protocol_or_the_extension() -> None:
    edges = graph()
    upper = {"extension", "state", "access"} | {n for n in edges if n.startswith("protocol")}
    for name in CORE & set(edges):
        assert not (edges[name] & upper), f"{name} imports {edges[name] & upper}"


def test_the_protocol_layer_does_not_import_the_extension() -> None:
    edges = graph()
    for name in (n for n in edges if n.startswith("protocol")):
        assert "extension" not in edges[name], name


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_one_transaction_id_format_made_in_one_place() -> None:
    from flask_flowglad import client, service

    # The service makes its ids with the client's function: one format, one place.
    assert service.new_transaction_id is client.new_transaction_id
    assert "def new_transaction_id" not in (PACKAGE / "service.py").read_text()


def test_the_sandboxs_records_and_rules_import_no_flask() -> None:
    """The sandbox's billing is a Flask-free core too: records, rules, the store and the
    transactions; only its faces (pages, server, webhooks to an app) know Flask."""
    edges = graph()
    core = {"records", "account", "store", "transactions", "ids", "errors", "cards", "ring"}
    names = {f"sandbox.{name}" for name in core} | {
        n for n in edges if n.startswith("sandbox.rules")
    }
    for name in sorted(names):
        web = {target for target in edges[name] if target in ("@flask", "@werkzeug", "@jinja2")}
        assert not web, f"{name} imports {web}"
        faces = {
            t
            for t in edges[name]
            if t.split(".")[-1] in ("pages", "server", "api", "core", "webhooks")
        }
        assert not faces, f"{name} imports {faces}"
