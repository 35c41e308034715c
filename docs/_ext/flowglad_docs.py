"""Sphinx directives that write the docs' tables from the package's own tables, so the
docs cannot drift from the code: the ``FLOWGLAD_*`` options and the React SDK's routes.
The build also ships the OpenAPI document of those routes as ``openapi.json``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

from flask_flowglad.config import OPTIONS
from flask_flowglad.protocol.actions import ACTIONS
from flask_flowglad.protocol.openapi import openapi_document

#: Where the build writes the document, relative to the HTML output.
OPENAPI_FILE = "openapi.json"


def _paragraph(*content: nodes.Node | str) -> nodes.paragraph:
    paragraph = nodes.paragraph()
    for item in content:
        paragraph += nodes.Text(item) if isinstance(item, str) else item
    return paragraph


def _cell(*content: nodes.Node | str) -> nodes.entry:
    entry = nodes.entry()
    entry += _paragraph(*content)
    return entry


def _stacked(*paragraphs: nodes.paragraph) -> nodes.entry:
    entry = nodes.entry()
    for paragraph in paragraphs:
        entry += paragraph
    return entry


def _table(header: list[str], rows: list[list[nodes.entry]], widths: list[int]) -> nodes.table:
    table = nodes.table()
    group = nodes.tgroup(cols=len(header))
    table += group
    for width in widths:
        group += nodes.colspec(colwidth=width)
    head = nodes.thead()
    head_row = nodes.row()
    for title in header:
        head_row += _cell(title)
    head += head_row
    group += head
    body = nodes.tbody()
    for cells in rows:
        row = nodes.row()
        for cell in cells:
            row += cell
        body += row
    group += body
    return table


def _literal(text: str) -> nodes.literal:
    return nodes.literal(text, text)


def _default(value: Any) -> nodes.Node | str:
    if value is None:
        return "unset"
    return _literal(repr(value))


class ConfigTable(SphinxDirective):
    """Every option of :data:`flask_flowglad.config.OPTIONS`: key, keyword, type, default.

    Each row is a link target named after its key (``#flowglad-secret-key``)."""

    def run(self) -> list[nodes.Node]:
        rows = []
        for option in OPTIONS:
            key = _paragraph(_literal(option.key))
            key["ids"] = [nodes.make_id(option.key)]
            rows.append(
                [
                    _stacked(key, _paragraph("keyword ", _literal(option.name))),
                    _stacked(
                        _paragraph(_literal(option.type)),
                        _paragraph("default ", _default(option.default)),
                    ),
                    _cell(option.doc),
                ]
            )
        header = ["Key", "Type", "Meaning"]
        return [_table(header, rows, [34, 22, 44])]


class RoutesTable(SphinxDirective):
    """Every action of :data:`flask_flowglad.protocol.actions.ACTIONS` and its body."""

    def run(self) -> list[nodes.Node]:
        rows = []
        for key, action in ACTIONS.items():
            schema = action.validator
            fields = [
                (field.data_key or name) + ("*" if field.required else "")
                for name, field in schema.fields.items()
                if not field.dump_only
            ]
            body: list[nodes.Node | str] = []
            for index, name in enumerate(fields):
                if index:
                    body.append(", ")
                body.append(_literal(name))
            rows.append(
                [
                    _cell(_literal(key)),
                    _cell(", ".join(sorted(action.methods))),
                    _cell("yes" if action.requires_customer else "no"),
                    _cell(*(body or ["(none)"])),
                ]
            )
        header = ["Action", "Methods", "Customer", "Body members (* required)"]
        return [_table(header, rows, [30, 10, 10, 50])]


def write_openapi(app: Sphinx, exception: Exception | None) -> None:
    """Ship the document next to the HTML pages."""
    if exception is None and app.builder.format == "html":
        document = openapi_document()
        target = Path(app.outdir) / OPENAPI_FILE
        target.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("flowglad-config", ConfigTable)
    app.add_directive("flowglad-routes", RoutesTable)
    app.connect("build-finished", write_openapi)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
