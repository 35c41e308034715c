"""What the README and the docs claim holds against the code: configuration keys and their
defaults, imports, names, commands and their options, routes, error codes and statuses,
code blocks, links, files. Each failure names the page and line to fix."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from . import claims
from .pages import Page, pages

PAGES = pages()
BY_NAME = {page.name: page for page in PAGES}

PAGE_CHECKS: dict[str, Callable[[Page], list[str]]] = {
    "config keys": claims.unknown_config_keys,
    "config defaults": claims.config_defaults,
    "imports": claims.broken_imports,
    "dotted names": claims.unresolved_names,
    "code blocks": claims.invalid_blocks,
    "Sphinx-only markup": claims.sphinx_only_markup,
    "commands": claims.unknown_commands,
    "actions": claims.unknown_actions,
    "error codes": claims.wrong_error_codes,
    "repository paths": claims.missing_paths,
}


def test_the_pages_are_the_readme_and_every_docs_page() -> None:
    names = set(BY_NAME)
    assert "README.md" in names and "docs/api.md" in names and "docs/index.md" in names
    assert len(names) >= 15


@pytest.mark.parametrize("check", sorted(PAGE_CHECKS))
def test_no_page_contradicts_the_code(check: str) -> None:
    findings = [finding for page in PAGES for finding in PAGE_CHECKS[check](page)]
    assert findings == []


def test_every_option_is_described_by_hand_somewhere() -> None:
    assert claims.undocumented_options(PAGES) == []


def test_every_link_between_pages_resolves() -> None:
    assert [finding for page in PAGES for finding in claims.broken_links(page, PAGES)] == []


def test_the_readme_names_pages_by_their_titles() -> None:
    assert claims.unknown_page_titles(BY_NAME["README.md"], PAGES) == []


def test_the_command_line_page_describes_every_command_option_and_default() -> None:
    cli = BY_NAME["docs/cli.md"]
    assert claims.undocumented_commands(cli) == []
    assert claims.option_defaults(cli) == []


def test_the_index_lists_the_pages_of_the_navigation() -> None:
    assert claims.contents_out_of_step(BY_NAME["docs/index.md"]) == []
