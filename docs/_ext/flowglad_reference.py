"""Write the docs' reference text from the code, as plain Markdown committed in the repository,
so it reads the same on GitHub, in an editor and on the built site.

    python docs/_ext/flowglad_reference.py          # rewrite the stale generated regions
    python docs/_ext/flowglad_reference.py --check  # write nothing; exit 1 naming them

A generated region sits between ``<!-- generated: KIND ARGS -->`` and
``<!-- end generated -->`` in ``README.md`` or a page of ``docs/``; everything outside the
regions is written by hand. The kinds:

``config``
    The ``FLOWGLAD_*`` table, from :data:`flask_flowglad.config.OPTIONS`.
``routes``
    The React SDK's routes, from :data:`flask_flowglad.protocol.actions.ACTIONS`.
``api``
    Every public name of the package (:data:`SECTIONS`): signature and the first paragraph
    of its docstring, a heading (so an anchor) each.
``include PATH [OPTION=VALUE ...]``
    A file of the repository, or part of it, as a code block (``PATH`` is relative to the
    page). The options are those of Sphinx's ``literalinclude``: ``start-at``,
    ``start-after``, ``end-at``, ``end-before``, ``pyobject``, ``dedent``, and ``lang`` for
    the block's language (by default, from the file's suffix).

``tests/docs/test_generated.py`` fails when a committed region differs from what this
writes now, and the Sphinx build (``flowglad_docs.py``) refuses a stale one too.
"""

from __future__ import annotations

import argparse
import ast
import enum
import functools
import importlib
import inspect
import re
import shlex
import sys
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FunctionType, ModuleType
from typing import Any, get_origin

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
COMMAND = "python docs/_ext/flowglad_reference.py"

REGION = re.compile(
    r"^<!-- generated: (?P<spec>.+?) -->\n(?P<body>.*?)^<!-- end generated -->$", re.M | re.S
)
START = re.compile(r"^<!-- generated: ", re.M)
END = re.compile(r"^<!-- end generated -->$", re.M)

#: Signatures longer than this are written one parameter a line.
SIGNATURE_WIDTH = 88


class StaleDocs(Exception):
    """A page cannot be generated (a malformed region, a name without a docstring)."""


def markdown_files(root: Path = ROOT) -> list[Path]:
    """Every page a reader of the repository may open: the README and the docs."""
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


# -- regions ---------------------------------------------------------------------------


def render_page(path: Path, text: str | None = None) -> str:
    """``path``'s text with every generated region written anew."""
    text = path.read_text(encoding="utf-8") if text is None else text
    starts, ends = len(START.findall(text)), len(END.findall(text))
    regions = list(REGION.finditer(text))
    if not starts == ends == len(regions):
        raise StaleDocs(
            f"{path.name}: {starts} '<!-- generated: ... -->' and {ends}"
            " '<!-- end generated -->' lines do not pair up"
        )

    def replace(match: re.Match[str]) -> str:
        spec = match["spec"]
        try:
            body = generate(spec, path.parent)
        except StaleDocs as exc:
            raise StaleDocs(f"{path.name}: <!-- generated: {spec} -->: {exc}") from None
        return f"<!-- generated: {spec} -->\n{body}<!-- end generated -->"

    return REGION.sub(replace, text)


def generate(spec: str, base: Path) -> str:
    """The body of one region, ending in a newline."""
    kind, *args = shlex.split(spec)
    generators: dict[str, Callable[..., str]] = {
        "config": config_table,
        "routes": routes_table,
        "api": api_reference,
        "include": lambda *a: include(base, *a),
    }
    if kind not in generators:
        raise StaleDocs(f"unknown kind {kind!r}; known: {', '.join(generators)}")
    return generators[kind](*args)


def stale_files(root: Path = ROOT) -> list[Path]:
    """The pages whose committed text differs from what this module writes now."""
    return [path for path in markdown_files(root) if render_page(path) != _read(path)]


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


# -- tables ----------------------------------------------------------------------------


def cell(text: str) -> str:
    """Text fit for one cell of a Markdown table."""
    return " ".join(text.split()).replace("|", "\\|")


def code(text: str) -> str:
    """An inline code span that survives backticks inside."""
    fence = "``" if "`" in text else "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(item) for item in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


CONFIG_KEY = re.compile(r"\bFLOWGLAD_[A-Z0-9_]+\b")


def config_table() -> str:
    """Key and keyword of ``Flowglad(...)``, type and default, and meaning of every option;
    each key is a link target. Stacked in three columns, so the table fits a page."""
    from flask_flowglad.config import OPTIONS

    rows = []
    for option in OPTIONS:
        key = f'<a id="{key_anchor(option.key)}">{code(option.key)}</a>'
        default = "unset" if option.default is None else code(repr(option.default))
        rows.append(
            [
                f"{key}<br>{code(option.name + '=')}",
                f"{code(option.type)}<br>{default}",
                CONFIG_KEY.sub(lambda m: code(m[0]), option.doc),
            ]
        )
    return table(["Key, keyword", "Type, default", "Meaning"], rows)


def key_anchor(key: str) -> str:
    """The link target of a key's row: ``installation.html#flowglad-fail-open``."""
    return key.lower().replace("_", "-")


def routes_table() -> str:
    """Every action the blueprint serves, with the ``error.code`` of its upstream failures:
    methods, whether it needs a customer, its body."""
    from flask_flowglad.protocol.actions import ACTIONS

    rows = []
    for key, action in ACTIONS.items():
        members = [
            code((field.data_key or name) + ("*" if field.required else ""))
            for name, field in action.validator.fields.items()
            if not field.dump_only
        ]
        codes = [action.code] if isinstance(action.code, str) else _returned(action.code)
        rows.append(
            [
                code(key) + "<br>" + " or ".join(code(item) for item in codes),
                ", ".join(sorted(action.methods))
                + ("<br>customer" if action.requires_customer else "<br>anyone"),
                ", ".join(members) or "(none)",
            ]
        )
    header = ["Action<br>failure code", "Methods<br>who", "Body members (* required)"]
    return table(header, rows)


def _returned(function: Callable[..., Any]) -> list[str]:
    """The strings a function may return, as its source writes them."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    found = [
        node.value.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Return)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    ]
    if not found:
        raise StaleDocs(f"{function.__qualname__} returns no string the docs can show")
    return sorted(found)


# -- includes --------------------------------------------------------------------------

LANGUAGES = {".py": "python", ".jsx": "jsx", ".tsx": "tsx", ".js": "js", ".json": "json"}


def include(base: Path, target: str, *options: str) -> str:
    """``target`` (relative to the page), cut as ``literalinclude`` cuts, in a code block."""
    path = (base / target).resolve()
    if not path.is_file():
        raise StaleDocs(f"no file {target}")
    settings = dict(option.split("=", 1) for option in options)
    unknown = set(settings) - {
        "start-at",
        "start-after",
        "end-at",
        "end-before",
        "pyobject",
        "dedent",
        "lang",
    }
    if unknown:
        raise StaleDocs(f"unknown option {sorted(unknown)[0]}")
    lines = path.read_text(encoding="utf-8").splitlines()
    if "pyobject" in settings:
        lines = _pyobject(lines, settings["pyobject"])
    lines = _cut(lines, settings)
    if "dedent" in settings:
        width = int(settings["dedent"])
        lines = [line[width:] if not line[:width].strip() else line for line in lines]
    language = settings.get("lang") or LANGUAGES.get(path.suffix, "text")
    body = "\n".join(lines).strip("\n")
    fence = "````" if "```" in body else "```"
    return f"{fence}{language}\n{body}\n{fence}\n"


def _cut(lines: list[str], settings: dict[str, str]) -> list[str]:
    start, end = 0, len(lines)
    for option, offset in (("start-at", 0), ("start-after", 1)):
        if option in settings:
            start = _find(lines, settings[option], 0, option) + offset
    for option, offset in (("end-at", 1), ("end-before", 0)):
        if option in settings:
            end = _find(lines, settings[option], start, option) + offset
    return lines[start:end]


def _find(lines: list[str], text: str, start: int, option: str) -> int:
    for number in range(start, len(lines)):
        if text in lines[number]:
            return number
    raise StaleDocs(f"{option}: no line contains {text!r}")


def _pyobject(lines: list[str], name: str) -> list[str]:
    for node in ast.parse("\n".join(lines)).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if node.name == name:
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                return lines[first - 1 : node.end_lineno]
    raise StaleDocs(f"pyobject: no function or class {name!r}")


# -- the API reference -----------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    """One module of the reference: its ``__all__`` (or every public name it defines), or
    the names given."""

    module: str
    names: tuple[str, ...] | None = None


#: What the API page documents: the package root, and the modules the guides point to.
SECTIONS = (
    Section("flask_flowglad"),
    Section("flask_flowglad.signals"),
    Section(
        "flask_flowglad.summary",
        (
            "BillingSummary",
            "Plan",
            "Product",
            "Price",
            "Interval",
            "Money",
            "Feature",
            "Usage",
            "Resource",
            "Purchase",
            "Invoice",
            "PaymentMethod",
            "summarize",
            "status_text",
        ),
    ),
    Section("flask_flowglad.intervals", ("IntervalChange", "preview_interval_change", "REFUSALS")),
    Section("flask_flowglad.formatting", ("format_money", "format_date")),
    Section(
        "flask_flowglad.authorization",
        ("BillingAction", "BILLING_ACTIONS", "ALL_BILLING_ACTIONS", "BillingAuthorizer"),
    ),
    Section("flask_flowglad.storage", ("Store", "open_store")),
    Section(
        "flask_flowglad.usage",
        ("UsageOutbox", "UsageWorker", "DeliverySettings", "FlushResult", "open_outbox"),
    ),
    Section("flask_flowglad.config", ("OPTIONS", "Option", "FlowgladSettings")),
    Section("flask_flowglad.protocol.actions", ("ACTIONS",)),
    Section("flask_flowglad.protocol.openapi", ("openapi_document",)),
    Section("flask_flowglad.sandbox"),
    Section(
        "flask_flowglad.telemetry",
        ("ClientTelemetry", "ROUTES", "CACHE_RESULTS", "WEBHOOK_OUTCOMES"),
    ),
    Section("flask_flowglad.debug_toolbar", ("FlowgladPanel",)),
)


@dataclass(frozen=True)
class Entry:
    """A documented name: the module it is reached from, and the object."""

    module: str
    name: str
    value: Any


def api_reference() -> str:
    """Every name of :data:`SECTIONS`, as Markdown with a heading per name and member.

    Written twice: the first pass finds every heading, so the second can link a docstring's
    names to their anchors, deduplicated in page order as GitHub and MyST do."""
    sections = [(section, list(_entries(section))) for section in SECTIONS]
    draft = ApiWriter({})
    for section, entries in sections:
        draft.section(section, entries)
    slugs: list[str] = []
    anchors: dict[str, str] = {}
    for title, key in draft.headings:
        slug = unique_slug(github_slug(title), slugs)
        slugs.append(slug)
        if key:
            anchors.setdefault(key, slug)
    writer = ApiWriter(anchors)
    for section, entries in sections:
        writer.section(section, entries)
    return writer.text()


def _entries(section: Section) -> Iterator[Entry]:
    module = importlib.import_module(section.module)
    names = section.names
    if names is None:
        exported = getattr(module, "__all__", None)
        names = tuple(exported) if exported is not None else _defined_names(_source(module))
    for name in names:
        if not hasattr(module, name):
            raise StaleDocs(f"{section.module} has no {name}")
        yield Entry(section.module, name, getattr(module, name))


def _source(module: ModuleType) -> str:
    return inspect.getsource(module)


@functools.cache
def _parse(source: str) -> ast.Module:
    return ast.parse(source)


def _segment(lines: list[str], node: ast.expr) -> str:
    """The source text of ``node`` (its offsets count UTF-8 bytes)."""
    first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
    chosen = [line.encode() for line in lines[first : last + 1]]
    chosen[-1] = chosen[-1][: node.end_col_offset]
    chosen[0] = chosen[0][node.col_offset :]
    return b"\n".join(chosen).decode()


def _defined_names(source: str) -> tuple[str, ...]:
    """Public names a module defines itself, in source order."""
    names: list[str] = []
    for node in _parse(source).body:
        for name in _assigned_names(node):
            if not name.startswith("_") and name not in names:
                names.append(name)
    return tuple(names)


def _assigned_names(node: ast.stmt) -> list[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, ast.Assign):
        return [t.id for t in node.targets if isinstance(t, ast.Name)]
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return [node.target.id]
    return []


@dataclass(frozen=True)
class DataDoc:
    """What the source says of a module-level name: its ``#:`` comment, its annotation,
    and its value when that is a constant."""

    doc: str
    annotation: str | None
    value: str | None


def data_doc(source: str, name: str) -> DataDoc | None:
    """The ``#:`` comment right above ``name``'s assignment, as Sphinx reads it."""
    lines = source.splitlines()
    comment: list[str] = []
    previous_end = -1
    for node in _parse(source).body:
        if not isinstance(node, (ast.Assign, ast.AnnAssign)):
            continue
        above = _comment_above(lines, node.lineno - 2)
        if above or node.lineno - 1 != previous_end:
            comment = above  # else: the comment of the assignment right above covers it too
        previous_end = node.end_lineno or node.lineno
        if name not in _assigned_names(node):
            continue
        annotation = _segment(lines, node.annotation) if isinstance(node, ast.AnnAssign) else None
        value = None
        if node.value is not None and _constant_expression(node.value):
            value = _segment(lines, node.value)
        elif isinstance(node.value, ast.Call) and _is_cast(node.value) and annotation is None:
            annotation = _segment(lines, node.value.args[0])
        return DataDoc(" ".join(comment), annotation, value)
    return None


def _comment_above(lines: list[str], number: int) -> list[str]:
    """The ``#:`` lines ending at line index ``number``."""
    comment: list[str] = []
    while number >= 0 and lines[number].lstrip().startswith("#:"):
        comment.insert(0, lines[number].lstrip()[2:].strip())
        number -= 1
    return comment


def _is_cast(node: ast.expr | None) -> bool:
    """``cast(Type, value)``: the name is typed as ``Type``."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "cast"
        and bool(node.args)
    )


def _constant_expression(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.BinOp):
        return _constant_expression(node.left) and _constant_expression(node.right)
    return False


def find_data_doc(entry: Entry) -> DataDoc:
    """The ``#:`` comment of a data name, in the module that assigns it: the module it is
    reached from, or the package module a re-export comes from (read, never imported)."""
    module = importlib.import_module(entry.module)
    package = Path(inspect.getfile(importlib.import_module(entry.module.split(".")[0]))).parent
    sources = [_source(module)]
    sources += [
        path.read_text(encoding="utf-8")
        for path in sorted(package.rglob("*.py"))
        if path.name != "__main__.py"
    ]
    for source in sources:
        found = data_doc(source, entry.name) if entry.name in source else None
        if found is not None and found.doc:
            return found
    raise StaleDocs(f"{entry.module}.{entry.name} has no '#:' comment where it is assigned")


class ApiWriter:
    """Markdown for :func:`api_reference`: a heading per name and per member."""

    def __init__(self, anchors: dict[str, str]) -> None:
        self.anchors = anchors
        self.lines: list[str] = []
        #: Every heading written: its text and the name it documents.
        self.headings: list[tuple[str, str]] = []

    def text(self) -> str:
        return "\n".join(self.lines).rstrip("\n") + "\n"

    def add(self, *lines: str) -> None:
        self.lines.extend(lines)

    def heading(self, level: int, title: str, key: str = "") -> None:
        """A heading for ``key`` (a name, or ``Class.member``), shown as code."""
        self.headings.append((title, key))
        self.add("#" * level + " " + (code(title) if key else title), "")

    def section(self, section: Section, entries: list[Entry]) -> None:
        module = importlib.import_module(section.module)
        self.heading(2, section.module, section.module)
        self.docstring(inspect.getdoc(module) or "")
        errors = [entry for entry in entries if _is_exception(entry.value)]
        for entry in entries:
            if entry not in errors:
                self.entry(entry)
        if errors:
            self.heading(2, f"Exceptions of {code(section.module)}")
            for entry in _tree_order(errors):
                self.entry(entry)

    def docstring(self, doc: str, name: str = "") -> None:
        """The first paragraph of ``doc`` (with its literal block when it ends in ``::``)."""
        if not doc.strip():
            if name:
                raise StaleDocs(f"{name} has no docstring")
            return
        blocks = inspect.cleandoc(doc).split("\n\n")
        first = blocks[0]
        if first.endswith("::"):
            self.add(self.markdown(first[:-1]), "")
            if len(blocks) > 1:
                self.add("```python", textwrap.dedent(blocks[1]), "```", "")
        else:
            self.add(self.markdown(first), "")

    def entry(self, entry: Entry) -> None:
        value = entry.value
        if inspect.ismodule(value):
            self.module_table(entry)
        elif inspect.isclass(value) and get_origin(value) is None:
            # (Python 3.10 calls an alias such as Callable[[X], Y] a class.)
            self.class_entry(entry)
        elif inspect.isfunction(value):
            self.heading(3, entry.name, entry.name)
            self.signature(entry.name, value)
            self.docstring(inspect.getdoc(value) or "", entry.name)
        else:
            self.data_entry(entry)

    def class_entry(self, entry: Entry) -> None:
        cls = entry.value
        self.heading(3, entry.name, entry.name)
        if _own_init(cls) is not None or not (_is_exception(cls) or _is_protocol(cls)):
            self.signature(f"class {entry.name}", cls)
        bases = [base for base in cls.__bases__ if base is not object]
        if bases:
            self.add("Bases: " + ", ".join(self.link(_qualified(base)) for base in bases), "")
        self.docstring(cls.__doc__ or "", entry.name)
        for name, member in _members(cls):
            dotted = f"{entry.name}.{name}"
            self.heading(4, dotted, dotted)
            if isinstance(member, property):
                returns = _return_annotation(member.fget)
                self.add("```python", dotted + (f": {returns}" if returns else ""), "```", "")
                self.docstring(member.__doc__ or "", dotted)
                continue
            function = getattr(member, "__func__", member)
            prefix = "@classmethod\n" if isinstance(member, classmethod) else ""
            prefix = "@staticmethod\n" if isinstance(member, staticmethod) else prefix
            bound = not isinstance(member, staticmethod)
            self.signature(prefix + dotted, function, bound=bound)
            self.docstring(function.__doc__ or "", "" if _is_protocol(cls) else dotted)

    def data_entry(self, entry: Entry) -> None:
        found = find_data_doc(entry)
        self.heading(3, entry.name, entry.name)
        if found.annotation or found.value:
            line = entry.name + (f": {found.annotation}" if found.annotation else "")
            line += f" = {found.value}" if found.value else ""
            self.add("```python", line, "```", "")
        self.docstring(found.doc, entry.name)

    def module_table(self, entry: Entry) -> None:
        """A module of constants: one row each, with its value and ``#:`` comment."""
        module = entry.value
        self.heading(3, f"{entry.module}.{entry.name}", entry.name)
        self.docstring(inspect.getdoc(module) or "", entry.name)
        source = _source(module)
        rows = []
        for name in _defined_names(source):
            found = data_doc(source, name)
            if found is not None:
                value = code(found.value) if found.value else ""
                rows.append([code(name), value, self.markdown(found.doc)])
        self.add(table(["Name", "Value", "Meaning"], rows))

    def signature(self, title: str, obj: Any, *, bound: bool = False) -> None:
        self.add("```python", format_signature(title, obj, bound=bound), "```", "")

    def link(self, name: str) -> str:
        short = name.rsplit(".", 1)[-1]
        if name.startswith("flask_flowglad") and short in self.anchors:
            return f"[{code(short)}](#{self.anchors[short]})"
        return code(name)

    def markdown(self, text: str) -> str:
        return rst_to_markdown(text, self.anchors)


def _is_exception(value: Any) -> bool:
    return inspect.isclass(value) and issubclass(value, BaseException)


def _tree_order(entries: list[Entry]) -> list[Entry]:
    """Exceptions with each one's subclasses right after it, so the list reads as the tree."""
    classes = {entry.value for entry in entries}
    ordered: list[Entry] = []

    def parent(entry: Entry) -> Any:
        return next((base for base in entry.value.__bases__ if base in classes), None)

    def visit(entry: Entry) -> None:
        ordered.append(entry)
        for child in entries:
            if parent(child) is entry.value:
                visit(child)

    for entry in entries:
        if parent(entry) is None:
            visit(entry)
    return ordered


def _qualified(cls: type) -> str:
    module = cls.__module__
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"


def _members(cls: type) -> list[tuple[str, Any]]:
    """Public methods and properties the class defines, in source order, then those of its
    bases in the package (a large class split by concern, as Flask's ``App(Scaffold)``):
    those with a docstring (what autodoc's ``:members:`` shows), and every method of a
    protocol, which its methods define."""
    members: list[tuple[str, Any]] = []
    seen: set[str] = set()
    own = [c for c in cls.__mro__ if c is cls or _undocumented_base(c)]
    for owner in own:
        for name, member in vars(owner).items():
            function = getattr(member, "__func__", member)
            if name.startswith("_") or name in seen:
                continue
            seen.add(name)
            if isinstance(member, property) or isinstance(function, FunctionType):
                if member.__doc__ or function.__doc__ or _is_protocol(cls):
                    members.append((name, member))
    return members


def _undocumented_base(cls: type) -> bool:
    """A base of the package's own that the reference does not document by itself."""
    if not cls.__module__.startswith("flask_flowglad."):
        return False
    for section in SECTIONS:
        module = importlib.import_module(section.module)
        names = section.names or getattr(module, "__all__", ())
        if any(getattr(module, name, None) is cls for name in names):
            return False
    return True


def _is_protocol(cls: type) -> bool:
    return bool(getattr(cls, "_is_protocol", False))


def _own_init(cls: type) -> Any:
    """The ``__init__`` the class defines in the package's source (not the one ``typing``
    gives a protocol, which changes with the Python version)."""
    init = vars(cls).get("__init__")
    if isinstance(init, FunctionType) and not init.__module__.startswith("typing"):
        return init
    return None


def _return_annotation(function: Any) -> str | None:
    annotations = getattr(function, "__annotations__", {})
    return _annotation(annotations["return"]) if "return" in annotations else None


# -- signatures ------------------------------------------------------------------------


def format_signature(title: str, obj: Any, *, bound: bool = False) -> str:
    """``title(params) -> returns``, defaults as the source writes them, wrapped one
    parameter a line when long."""
    function = obj
    if inspect.isclass(obj):
        function = _own_init(obj) or obj
        bound = function is not obj
    signature = inspect.signature(function)
    parameters = list(signature.parameters.values())
    if bound and parameters and parameters[0].name in ("self", "cls"):
        parameters = parameters[1:]
    defaults = _source_defaults(function)
    if inspect.isclass(obj) and not defaults:
        defaults = _field_defaults(obj)  # a dataclass: its __init__ has no source
    parts: list[str] = []
    star_written = False
    for index, parameter in enumerate(parameters):
        kind = parameter.kind
        if kind is parameter.KEYWORD_ONLY and not star_written:
            parts.append("*")
            star_written = True
        if kind is parameter.VAR_POSITIONAL:
            star_written = True
        stars: dict[Any, str] = {parameter.VAR_POSITIONAL: "*", parameter.VAR_KEYWORD: "**"}
        text = stars.get(kind, "") + parameter.name
        if parameter.annotation is not parameter.empty:
            text += f": {_annotation(parameter.annotation)}"
        if parameter.default is not parameter.empty:
            default = defaults.get(parameter.name) or _default_repr(parameter.default, title)
            text += (
                f" = {default}" if parameter.annotation is not parameter.empty else f"={default}"
            )
        parts.append(text)
        positional_only = kind is parameter.POSITIONAL_ONLY
        following = parameters[index + 1].kind if index + 1 < len(parameters) else None
        if positional_only and following is not parameter.POSITIONAL_ONLY:
            parts.append("/")
    returns = ""
    if not inspect.isclass(obj) and signature.return_annotation is not signature.empty:
        returns = f" -> {_annotation(signature.return_annotation)}"
    one_line = f"{title}({', '.join(parts)}){returns}"
    if len(one_line.splitlines()[-1]) <= SIGNATURE_WIDTH:
        return one_line
    inner = "".join(f"    {part},\n" for part in parts)
    return f"{title}(\n{inner}){returns}"


def _annotation(annotation: Any) -> str:
    if isinstance(annotation, str):
        return annotation
    return inspect.formatannotation(annotation)


def _annotation_text(function: Any, name: str) -> str | None:
    annotations = getattr(function, "__annotations__", {})
    return _annotation(annotations[name]) if name in annotations else None


def _source_defaults(function: Any) -> dict[str, str]:
    """Each parameter's default as written in the source: a repr may show an address."""
    try:
        source = textwrap.dedent(inspect.getsource(function))
    except (OSError, TypeError):
        return {}
    node = ast.parse(source).body[0]
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return {}
    arguments = node.args
    positional = [*arguments.posonlyargs, *arguments.args]
    pairs = list(
        zip(
            positional[len(positional) - len(arguments.defaults) :],
            arguments.defaults,
            strict=True,
        )
    )
    pairs += [
        (a, d)
        for a, d in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True)
        if d is not None
    ]
    lines = source.splitlines()
    return {argument.arg: _segment(lines, default) for argument, default in pairs}


def _field_defaults(cls: type) -> dict[str, str]:
    """The defaults of a class's annotated fields, as its source writes them."""
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):
        return {}
    node = ast.parse(source).body[0]
    if not isinstance(node, ast.ClassDef):
        return {}
    lines = source.splitlines()
    return {
        item.target.id: _segment(lines, item.value)
        for item in node.body
        if isinstance(item, ast.AnnAssign)
        and isinstance(item.target, ast.Name)
        and item.value is not None
        and not isinstance(item.value, ast.Call)  # field(...): the repr of its default
    }


def _default_repr(value: Any, where: str) -> str:
    text = value.name if isinstance(value, enum.Enum) else repr(value)
    if " at 0x" in text:
        raise StaleDocs(f"{where}: the default {text} would change with every run")
    return text


# -- reST to Markdown ------------------------------------------------------------------

INLINE = re.compile(
    r":(?:py:)?(?:class|exc|func|meth|attr|data|mod|obj|const):`(?P<role>[^`]+)`"
    r"|``(?P<literal>.+?)``"
)


def rst_to_markdown(text: str, anchors: dict[str, str]) -> str:
    """A docstring's inline reST as Markdown: a role becomes code (a link when the name has
    a heading on the page), double backquotes single ones, and ``<`` outside code is
    escaped (GitHub would take it for a tag)."""
    pieces = []
    position = 0
    for match in INLINE.finditer(text):
        pieces.append(_escape(text[position : match.start()]))
        if match["literal"] is not None:
            pieces.append(code(match["literal"]))
        else:
            pieces.append(_role(match["role"], anchors))
        position = match.end()
    pieces.append(_escape(text[position:]))
    return "".join(pieces)


def _role(body: str, anchors: dict[str, str]) -> str:
    shown, _, target = body.partition(" <")
    if target:
        return _linked(code(shown), target.rstrip(">"), anchors)
    target = body.lstrip("~!")
    shown = target.rsplit(".", 1)[-1] if body.startswith("~") else target
    return _linked(code(shown), target, anchors)


def _linked(shown: str, target: str, anchors: dict[str, str]) -> str:
    parts = target.split(".")
    if len(parts) > 1 and parts[0] != "flask_flowglad" and parts[0] not in anchors:
        return shown  # another project's name (flask.g): no heading here
    for size in (2, 1):  # Class.member, then the name alone
        key = ".".join(parts[-size:])
        if len(parts) >= size and key in anchors:
            return f"[{shown}](#{anchors[key]})"
    return shown


def _escape(text: str) -> str:
    return text.replace("<", "&lt;")


def github_slug(title: str) -> str:
    """The anchor GitHub and MyST give a heading (its text, code spans unquoted): lower
    case, spaces to hyphens, every other character but letters, digits, ``_`` and ``-``
    dropped."""
    return re.sub(r"[^\w\- ]", "", title.lower().replace(" ", "-"))


def unique_slug(slug: str, taken: list[str]) -> str:
    """A repeated anchor gets ``-1``, ``-2``, ... in page order, on GitHub as in MyST."""
    unique, number = slug, 1
    while unique in taken:
        unique, number = f"{slug}-{number}", number + 1
    return unique


# -- command line ----------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if stale")
    arguments = parser.parse_args(argv)
    stale = stale_files()
    if arguments.check:
        for path in stale:
            print(f"stale: {path.relative_to(ROOT)} (run {COMMAND})", file=sys.stderr)
        return 1 if stale else 0
    for path in stale:
        path.write_text(render_page(path), encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
