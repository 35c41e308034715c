"""Checks of what the pages claim against what the code is. Each check takes pages and
returns its findings, one line each naming the page and line (an empty list: nothing
contradicts the code), so a test can feed it a wrong claim and see it caught."""

from __future__ import annotations

import ast
import importlib
import json
import re
from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import click
import jinja2

import flask_flowglad
from flask_flowglad.cli import flowglad_cli
from flask_flowglad.config import OPTIONS
from flask_flowglad.protocol.actions import ACTIONS

from .pages import ROOT, Page

CONFIG_KEY = re.compile(r"\bFLOWGLAD_[A-Z0-9_]*[A-Z0-9]\b")
#: Keys the pages name on purpose although no option has them (with why).
NOT_OPTIONS = {
    "FLOWGLAD_FAILOPEN": "the misspelling the unknown-key warning corrects",
    "FLOWGLAD_API_URL_OVERRIDE": "Flowglad's own SDK setting, in the protocol notes",
}


def where(page: Page, line: int) -> str:
    return f"{page.name}:{line}"


# -- configuration keys ----------------------------------------------------------------


def unknown_config_keys(page: Page) -> list[str]:
    """Every ``FLOWGLAD_*`` key a page names is an option (environment variables that
    only the sandbox command prints are options too)."""
    known = {option.key for option in OPTIONS}
    found = []
    for number, line in enumerate(page.text.splitlines(), 1):
        for key in CONFIG_KEY.findall(line):
            if key not in known and key not in NOT_OPTIONS:
                found.append(f"{where(page, number)}: {key} is not an option of OPTIONS")
    return found


def undocumented_options(pages: Iterable[Page]) -> list[str]:
    """Every option is named somewhere in the docs, outside the generated table too."""
    written = "\n".join(
        "\n".join(
            line
            for number, line in enumerate(page.text.splitlines(), 1)
            if number not in page.generated_lines
        )
        for page in pages
    )
    return [
        f"{option.key} is in no page but the generated table"
        for option in OPTIONS
        if not re.search(rf"\b{option.key}\b", written)
    ]


def config_defaults(page: Page) -> list[str]:
    """A hand-written table with a key and a default column states the option's default."""
    by_key = {option.key: option for option in OPTIONS}
    found = []
    for table in page.tables:
        columns = [cell.strip("` ").lower() for cell in table.header]
        if "key" not in columns or "default" not in columns:
            continue
        if table.line in page.generated_lines:
            continue
        for row in table.rows:
            key = _first_code(row[columns.index("key")])
            option = by_key.get(key or "")
            stated = row[columns.index("default")]
            if option is not None and not _same_default(stated, option.default):
                found.append(
                    f"{where(page, table.line)}: {key} default is {option.default!r},"
                    f" the table says {stated!r}"
                )
    return found


def _first_code(cell: str) -> str | None:
    match = re.search(r"`([^`]+)`", cell)
    return match.group(1) if match else None


def _same_default(stated: str, default: Any) -> bool:
    """Whether a cell states ``default``: its value (in a code span, or a bare number), or
    words saying "nothing" (``off``, ``none``) for ``None`` or ``False``. A cell that
    describes (``the demo model``, ``x.sqlite3 in the instance folder``) is not checked."""
    text = stated.strip()
    value = _first_code(text)
    if value is None and re.fullmatch(r"-?\d+(?:\.\d+)?", text):
        value = text
    if value is None:
        if text.lower().split(":")[0] in ("off", "none", "unset", "no", ""):
            return default in (None, False)
        return True
    if text != f"`{value}`" and text != value:
        return True  # a value with words around it describes
    if default is None or isinstance(default, bool):
        return value in (repr(default), str(default).lower(), "none", "off")
    if isinstance(default, (int, float)):
        try:
            return float(value) == float(default)
        except ValueError:
            return False
    return value == str(default)


# -- imports and names ------------------------------------------------------------------


def python_blocks(page: Page) -> Iterator[tuple[int, str]]:
    for fence in page.fences:
        if fence.language in ("python", "py", "pycon"):
            yield fence.line, fence.content


def broken_imports(page: Page) -> list[str]:
    """Every ``from flask_flowglad... import X`` and ``import flask_flowglad...`` of a
    Python block imports."""
    found = []
    for line, source in python_blocks(page):
        for statement in _import_statements(source):
            problem = _import_problem(statement)
            if problem:
                found.append(f"{where(page, line)}: {statement}: {problem}")
    return found


def _import_statements(source: str) -> list[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:  # a fragment: its import lines are still imports
        return [
            line.strip()
            for line in source.splitlines()
            if re.match(r"\s*(from|import)\s+flask_flowglad\b", line)
        ]
    statements = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("flask_flowglad"):
            statements.append(ast.unparse(node))
        elif isinstance(node, ast.Import) and any(
            alias.name.startswith("flask_flowglad") for alias in node.names
        ):
            statements.append(ast.unparse(node))
    return statements


def _import_problem(statement: str) -> str:
    namespace: dict[str, Any] = {}
    try:
        exec(compile(statement, "<docs>", "exec"), namespace)  # an import and nothing else
    except ImportError as exc:
        return str(exc)
    return ""


DOTTED = re.compile(r"^flask_flowglad(?:\.[A-Za-z_]\w*)+$")


MEMBER = re.compile(r"^([A-Z]\w*)\.([a-z_]\w*)$")


def unresolved_names(page: Page) -> list[str]:
    """Every ``flask_flowglad.a.b`` in a code span names a module or an attribute, and so
    does every ``Class.member`` of a class the package exports
    (``BillingSnapshot.check_feature_access``)."""
    found = []
    for span in page.code_spans:
        name = span.content.split("(")[0].strip()
        member = MEMBER.match(name)
        if member and member.group(1) in flask_flowglad.__all__:
            name = f"flask_flowglad.{name}"
        if DOTTED.match(name) and not _resolves(name):
            found.append(f"{where(page, span.line)}: {name} does not exist")
    return found


def _resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        try:
            value: Any = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for attribute in parts[split:]:
            if not hasattr(value, attribute):
                return False
            value = getattr(value, attribute)
        return True
    return False


# -- code blocks ------------------------------------------------------------------------


def invalid_blocks(page: Page) -> list[str]:
    """Every hand-written Python block compiles; JSON blocks parse; Jinja blocks parse.
    (Generated blocks are copies of files the tests run, or signatures.)"""
    found = []
    for fence in page.fences:
        if fence.generated:
            continue
        problem = _block_problem(fence.language, fence.content)
        if problem:
            found.append(f"{where(page, fence.line)}: {fence.language} block: {problem}")
    return found


def _block_problem(language: str, content: str) -> str:
    try:
        if language in ("python", "py"):
            compile(content, "<docs>", "exec")
        elif language == "json":
            json.loads(content)
        elif language in ("jinja", "html+jinja"):
            jinja2.Environment().parse(content)
    except (SyntaxError, ValueError, jinja2.TemplateSyntaxError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return ""


#: What only Sphinx understands: a directive fence or a role reads as noise on GitHub.
SPHINX_FENCE = re.compile(r"^\{[\w-]+\}")
SPHINX_ROLE = re.compile(r"\{[\w:-]+\}$")


def sphinx_only_markup(page: Page) -> list[str]:
    """No directive or role, which GitHub shows as raw text or hides; the hidden toctrees
    of the index are the one exception (the site's navigation)."""
    found = []
    for fence in page.fences:
        if SPHINX_FENCE.match(fence.language) and not (
            fence.language == "{toctree}" and ":hidden:" in fence.content
        ):
            found.append(f"{where(page, fence.line)}: {fence.language} reads as a code block")
    for token in page.tokens:
        children = token.children or []
        for before, after in zip(children, children[1:], strict=False):
            if before.type == "text" and after.type == "code_inline":
                role = SPHINX_ROLE.search(before.content)
                if role:
                    line = token.map[0] + 1 if token.map else 0
                    found.append(f"{where(page, line)}: role {role.group(0)} reads as text")
    return found


# -- the command line -------------------------------------------------------------------

COMMAND = re.compile(
    r"(?:flask flowglad|python -m flask_flowglad\.(sandbox))(?: ([a-z][a-z-]*))?([^|;&>#\n]*)"
)


def commands_mentioned(page: Page) -> Iterator[tuple[int, str, list[str]]]:
    """``(line, command, options)`` of every ``flask flowglad ...`` in code."""
    texts = [(span.line, span.content) for span in page.code_spans]
    for fence in page.fences:
        for offset, text in enumerate(fence.content.replace("\\\n", " ").splitlines()):
            texts.append((fence.line + 1 + offset, text))
    for line, text in texts:
        for match in COMMAND.finditer(text):
            name = match.group(1) or match.group(2) or ""
            if not name:
                continue  # the group itself: `flask flowglad`
            rest = (
                match.group(3)
                if match.group(1) is None
                else f"{match.group(2) or ''}{match.group(3)}"
            )
            options = re.findall(r"(?<!\S)(--[a-z][a-z-]*)", rest)
            yield line, name, options


@cache
def cli_commands() -> dict[str, click.Command]:
    """Every ``flask flowglad`` command, as ``flask flowglad --help`` lists them (those of
    the entry point group included)."""
    context = click.Context(flowglad_cli)
    found = {}
    for name in flowglad_cli.list_commands(context):
        command = flowglad_cli.get_command(context, name)
        if command is not None:
            found[name] = command
    return found


def unknown_commands(page: Page) -> list[str]:
    """Every ``flask flowglad <command> --option`` names a command and options it has."""
    found = []
    for line, name, options in commands_mentioned(page):
        command = cli_commands().get(name)
        if command is None:
            found.append(f"{where(page, line)}: no command `flask flowglad {name}`")
            continue
        known = _option_names(command)
        found += [
            f"{where(page, line)}: `flask flowglad {name}` has no option {option}"
            for option in options
            if option not in known
        ]
    return found


def _option_names(command: click.Command) -> set[str]:
    names = {"--help"}
    for parameter in command.params:
        if isinstance(parameter, click.Option):
            names.update(parameter.opts + parameter.secondary_opts)
    return names


def undocumented_commands(cli_page: Page) -> list[str]:
    """The command line page names every command and every option of each."""
    found = []
    for name, command in cli_commands().items():
        if f"flask flowglad {name}" not in cli_page.text:
            found.append(f"{cli_page.name}: `flask flowglad {name}` is not described")
            continue
        for option in _option_names(command) - {"--help"}:
            if not re.search(rf"`{option}\b", cli_page.text):
                found.append(f"{cli_page.name}: {option} of `{name}` is not described")
    return found


def option_defaults(cli_page: Page) -> list[str]:
    """A table of options under a command's heading states each option's default."""
    found = []
    for table in cli_page.tables:
        columns = [cell.lower() for cell in table.header]
        name = (table.section.split() or [""])[0].strip("`")
        command = cli_commands().get(name)
        if command is None or "option" not in columns or "default" not in columns:
            continue
        for row in table.rows:
            option_cell, stated = row[columns.index("option")], row[columns.index("default")]
            for parameter in command.params:
                opts = getattr(parameter, "opts", [])
                if opts and f"`{opts[0]}" in option_cell.split(",")[0]:
                    default = parameter.default
                    default = None if str(default).startswith("Sentinel") else default
                    if not _same_default(stated, default):
                        found.append(
                            f"{where(cli_page, table.line)}: {opts[0]} defaults to"
                            f" {default!r}, the table says {stated!r}"
                        )
    return found


# -- routes, error codes, statuses ------------------------------------------------------

ACTION_PATH = re.compile(
    r"^(?:customers|checkout-sessions|subscriptions|usage-events|usage-meters|features"
    r"|payment-methods|invoices|purchases|resources|pricing-models)/[a-z-]+(?:/[a-z-]+)*$"
)


def unknown_actions(page: Page) -> list[str]:
    """Every React SDK route a page names in code (``subscriptions/cancel``) is served."""
    return [
        f"{where(page, span.line)}: no action {span.content!r} in ACTIONS"
        for span in page.code_spans
        if ACTION_PATH.match(span.content) and span.content not in ACTIONS
    ]


def extension_sources() -> list[Path]:
    """The extension's modules: the sandbox speaks Flowglad's API codes, not the envelope's."""
    package = ROOT / "flask_flowglad"
    return [p for p in package.rglob("*.py") if "sandbox" not in p.relative_to(package).parts]


@cache
def package_strings() -> frozenset[str]:
    """Every string literal of the extension's source."""
    strings: set[str] = set()
    for path in extension_sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                strings.add(node.value)
    return frozenset(strings)


@cache
def statuses_by_code() -> dict[str, frozenset[int]]:
    """The statuses the source pairs with each error code: ``failure(409, "code"``,
    ``(403, "forbidden")`` and the like."""
    pairs: dict[str, set[int]] = {}
    for path in extension_sources():
        text = path.read_text(encoding="utf-8")
        for status, code in re.findall(r"\(\s*([1-5]\d\d),\s*\"([A-Za-z_]+)\"", text):
            pairs.setdefault(code, set()).add(int(status))
    return {code: frozenset(statuses) for code, statuses in pairs.items()}


STATUS_AND_CODE = re.compile(r"^([1-5]\d\d) ([A-Za-z_]{3,})$")  # `200 OK` is no code


def wrong_error_codes(page: Page) -> list[str]:
    """Each error code a page states is one the package sends, with the status the source
    pairs it with: in a table with an ``error.code`` column, and in a code span such as
    ``401 unauthorized``."""
    found = []
    for span in page.code_spans:
        stated = STATUS_AND_CODE.match(span.content)
        if stated is None:
            continue
        status, code = int(stated.group(1)), stated.group(2)
        known = statuses_by_code().get(code)
        if code not in package_strings():
            found.append(f"{where(page, span.line)}: no error code {code!r} in the code")
        elif known and status not in known:
            found.append(
                f"{where(page, span.line)}: {code} is sent with {sorted(known)}, not {status}"
            )
    for table in page.tables:
        columns = [cell.replace("`", "").strip().lower() for cell in table.header]
        if "error.code" not in columns:
            continue
        code_column = columns.index("error.code")
        status_column = columns.index("status") if "status" in columns else None
        for row in table.rows:
            codes = re.findall(r"`([A-Za-z_]+)`", row[code_column])
            for code in codes:
                if code not in package_strings():
                    found.append(f"{where(page, table.line)}: no error code {code!r} in the code")
            if status_column is None or len(codes) != 1:
                continue
            statuses = {int(s) for s in re.findall(r"\b([1-5]\d\d)\b", row[status_column])}
            known = statuses_by_code().get(codes[0])
            if known and len(statuses) == 1 and not statuses <= known:
                found.append(
                    f"{where(page, table.line)}: {codes[0]} is sent with"
                    f" {sorted(known)}, the table says {sorted(statuses)}"
                )
    return found


# -- links and files --------------------------------------------------------------------


def broken_links(page: Page, pages: Iterable[Page]) -> list[str]:
    """Every relative link reaches a file of the repository, and its ``#anchor`` a heading
    (or an ``<a id>``) of that page."""
    by_path = {other.path.resolve(): other for other in [*pages, page]}
    found = []
    for link in page.links:
        target = link.content
        if re.match(r"^[a-z][a-z+.-]*:", target) or target.startswith("//"):
            continue
        path_part, _, anchor = target.partition("#")
        path = (page.path.parent / path_part).resolve() if path_part else page.path.resolve()
        if path_part and not path.exists():
            found.append(f"{where(page, link.line)}: {target}: no such file")
            continue
        if anchor and path.suffix == ".md":
            linked = by_path.get(path) or Page.read(path)
            if anchor not in linked.anchors:
                found.append(f"{where(page, link.line)}: {target}: no such anchor")
    return found


REPO_PATH = re.compile(
    r"^(?:flask_flowglad|examples|docs|tests|scripts|benchmarks|\.ci)/[\w./-]*[\w/]$"
)


def missing_paths(page: Page) -> list[str]:
    """A file or folder of the repository named in code (``examples/saas/gunicorn.conf.py``)
    exists."""
    return [
        f"{where(page, span.line)}: {span.content} is not in the repository"
        for span in page.code_spans
        if REPO_PATH.match(span.content)
        and "/_build/" not in span.content  # made by a build, not committed
        and not (ROOT / span.content).exists()
    ]


def unknown_page_titles(page: Page, pages: Iterable[Page]) -> list[str]:
    """The README names a documentation page by its title (the documentation's "Webhooks"
    page): a page has that title."""
    titles = {other.title for other in pages}
    found = []
    for text, line in page.paragraphs:
        for title in re.findall(r"documentation's \"([^\"]+)\"", text):
            if title not in titles:
                found.append(f"{where(page, line)}: no page is titled {title!r}")
    return found


def contents_out_of_step(index: Page) -> list[str]:
    """The index's list of pages (what a reader of the repository follows) and its hidden
    toctrees (the site's navigation) name the same pages."""
    listed = {
        Path(link.content.partition("#")[0]).stem
        for link in index.links
        if re.match(r"^[\w-]+\.(md|rst)$", link.content.partition("#")[0])
    }
    navigation = {
        line.strip()
        for fence in index.fences
        if fence.language == "{toctree}"
        for line in fence.content.splitlines()
        if line.strip() and not line.startswith(":")
    }
    return [
        f"{index.name}: {name} is in the {place} only"
        for name, place in [(n, "list") for n in sorted(listed - navigation)]
        + [(n, "toctree") for n in sorted(navigation - listed)]
    ]
