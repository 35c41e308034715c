"""The Markdown pages a reader of the repository opens (the README and ``docs/*.md``), read
the way GitHub renders them: fenced blocks, code spans, links, headings and their anchors,
tables. markdown-it-py does the parsing (CommonMark and GitHub's tables), so a ``#`` in a
code block is never a heading and a link inside code is never a link."""

from __future__ import annotations

import importlib.util
import re
import sys
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from types import ModuleType

from markdown_it import MarkdownIt
from markdown_it.token import Token

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
GENERATOR = DOCS / "_ext" / "flowglad_reference.py"

_PARSER = MarkdownIt("commonmark").enable(["table", "strikethrough"])
_HTML_ID = re.compile(r"""<a\s[^>]*?\b(?:id|name)=["']([^"']+)["']""")


def load_generator() -> ModuleType:
    """``docs/_ext/flowglad_reference.py``, the writer of the generated text."""
    name = "flowglad_reference"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, GENERATOR)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while it loads
        spec.loader.exec_module(module)
    return sys.modules[name]


@dataclass(frozen=True)
class Fence:
    """A fenced code block: its language, text, first line (1-based) and whether the
    generator wrote it."""

    language: str
    content: str
    line: int
    generated: bool


@dataclass(frozen=True)
class Code:
    """An inline code span and its line."""

    content: str
    line: int


@dataclass(frozen=True)
class Table:
    """A table: its header cells and rows as Markdown source, and the heading above it."""

    header: list[str]
    rows: list[list[str]]
    line: int
    section: str = ""


@dataclass(eq=False)
class Page:
    """One page: the parsed tokens and what the checks look at."""

    path: Path
    text: str

    @classmethod
    def read(cls, path: Path) -> Page:
        return cls(path, path.read_text(encoding="utf-8"))

    @property
    def name(self) -> str:
        return (
            self.path.relative_to(ROOT).as_posix()
            if self.path.is_relative_to(ROOT)
            else str(self.path)
        )

    @cached_property
    def tokens(self) -> list[Token]:
        return _PARSER.parse(self.text)

    @cached_property
    def generated_lines(self) -> set[int]:
        """1-based numbers of the lines inside generated regions, markers included."""
        lines: set[int] = set()
        for match in load_generator().REGION.finditer(self.text):
            first = self.text.count("\n", 0, match.start()) + 1
            last = self.text.count("\n", 0, match.end()) + 1
            lines.update(range(first, last + 1))
        return lines

    @cached_property
    def fences(self) -> list[Fence]:
        return [
            Fence(
                token.info.split()[0] if token.info.strip() else "",
                token.content,
                _line(token),
                _line(token) in self.generated_lines,
            )
            for token in self.tokens
            if token.type == "fence"
        ]

    def _inline_children(self) -> list[tuple[Token, int]]:
        children = []
        for token in self.tokens:
            if token.type == "inline":
                children += [(child, _line(token)) for child in token.children or []]
        return children

    @cached_property
    def code_spans(self) -> list[Code]:
        return [
            Code(child.content, line)
            for child, line in self._inline_children()
            if child.type == "code_inline"
        ]

    @cached_property
    def paragraphs(self) -> list[tuple[str, int]]:
        """The Markdown source of each paragraph, heading and cell, on one line."""
        return [
            (" ".join(token.content.split()), _line(token))
            for token in self.tokens
            if token.type == "inline"
        ]

    @cached_property
    def links(self) -> list[Code]:
        """Every link target: Markdown links and ``<a href>`` in inline HTML."""
        found = []
        for child, line in self._inline_children():
            if child.type == "link_open":
                found.append(Code(str(child.attrs.get("href", "")), line))
            elif child.type == "html_inline":
                found += [
                    Code(href, line) for href in re.findall(r'href="([^"]+)"', child.content)
                ]
        return found

    @cached_property
    def headings(self) -> list[tuple[int, str, int]]:
        """Level, text (code spans unquoted, as the anchor is made from it) and line."""
        found = []
        for index, token in enumerate(self.tokens):
            if token.type == "heading_open":
                inline = self.tokens[index + 1]
                title = "".join(
                    child.content
                    for child in inline.children or []
                    if child.type in ("text", "code_inline")
                )
                found.append((int(token.tag[1]), title, _line(token)))
        return found

    @cached_property
    def title(self) -> str:
        return next((title for level, title, _ in self.headings if level == 1), "")

    @cached_property
    def anchors(self) -> set[str]:
        """What ``page.md#anchor`` may name: each heading as GitHub (and MyST) names it, and
        the ``id`` or ``name`` of an ``<a>`` tag."""
        generator = load_generator()
        taken: list[str] = []
        for _, title, _ in self.headings:
            taken.append(generator.unique_slug(generator.github_slug(title), taken))
        return set(taken) | set(_HTML_ID.findall(self.text))

    @cached_property
    def tables(self) -> list[Table]:
        tables: list[Table] = []
        section = ""
        rows: list[list[str]] = []
        row: list[str] = []
        header: list[str] = []
        start = 0
        for index, token in enumerate(self.tokens):
            if token.type == "heading_open":
                section = self.tokens[index + 1].content
            elif token.type == "table_open":
                header, rows, start = [], [], _line(token)
            elif token.type == "tr_open":
                row = []
            elif token.type in ("th_open", "td_open"):
                row.append(self.tokens[index + 1].content)
            elif token.type == "tr_close":
                if header:
                    rows.append(row)
                else:
                    header = row
            elif token.type == "table_close":
                tables.append(Table(header, rows, start, section))
        return tables


def _line(token: Token) -> int:
    return token.map[0] + 1 if token.map else 0


def pages() -> list[Page]:
    """Every page a reader of the repository may open."""
    return [Page.read(path) for path in load_generator().markdown_files(ROOT)]


def page(name: str, text: str) -> Page:
    """A page that is not on disk, as if it were ``name`` (``docs/x.md``), for tests."""
    return Page(ROOT / name, text)
