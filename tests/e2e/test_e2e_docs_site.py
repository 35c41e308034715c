"""The documentation site: it builds with warnings as errors, every internal link of the
built HTML resolves, and Chromium renders the index and a guide from a real HTTP server."""

from __future__ import annotations

import functools
import http.server
import importlib.util
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

import pytest

import flask_flowglad
import flask_flowglad.sandbox
from flask_flowglad.config import OPTIONS
from flask_flowglad.protocol.actions import ACTIONS

from .e2e_harness import ARTIFACTS, ROOT, ConsoleLog, unavailable

if TYPE_CHECKING:
    from playwright.sync_api import Browser

DOCS = ROOT / "docs"
INSTALL_SPHINX = "Sphinx is not installed: `pip install -e '.[docs]'`."


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The HTML build, made as tox and CI make it: -W --keep-going."""
    if importlib.util.find_spec("sphinx") is None:
        unavailable(INSTALL_SPHINX)
    out = tmp_path_factory.mktemp("docs-html")
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-q",
            "-b",
            "html",
            str(DOCS),
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr
    assert build.stderr.strip() == "", build.stderr
    return out


@pytest.fixture(scope="module")
def served(site: Path) -> Iterator[str]:
    handler = functools.partial(QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)
    server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


class Links(HTMLParser):
    """Every link and resource of a page, and every id it defines."""

    def __init__(self) -> None:
        super().__init__()
        self.targets: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name == "id" and value:
                self.ids.add(value)
            if value and (tag, name) in {
                ("a", "href"),
                ("link", "href"),
                ("script", "src"),
                ("img", "src"),
            }:
                self.targets.append(value)


def parse(page: Path) -> Links:
    links = Links()
    links.feed(page.read_text(encoding="utf-8"))
    return links


def test_every_internal_link_and_anchor_resolves(site: Path) -> None:
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > 10
    parsed = {page: parse(page) for page in pages}
    broken = []
    checked = 0
    for page, links in parsed.items():
        for target in links.targets:
            parts = urlsplit(target)
            if parts.scheme or target.startswith("//"):
                continue
            checked += 1
            path = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            if not path.is_file():
                broken.append(f"{page.name}: {target}")
            elif parts.fragment and path.suffix == ".html":
                ids = parsed[path].ids if path in parsed else parse(path).ids
                if unquote(parts.fragment) not in ids:
                    broken.append(f"{page.name}: {target} (no such anchor)")
    assert checked > 200
    assert broken == []


def test_the_api_reference_documents_every_public_name(site: Path) -> None:
    """Every name of ``__all__`` has a heading on the API page, and so a link target."""
    ids = parse(site / "api.html").ids
    public = list(flask_flowglad.__all__) + list(flask_flowglad.sandbox.__all__)
    # A heading's id is its text, lower case, dots dropped: ``flowglad``,
    # ``flask_flowgladsandboxlimits`` for a module.
    assert [name for name in public if not any(i.endswith(name.lower()) for i in ids)] == []


def test_the_shipped_openapi_document_covers_every_action(site: Path) -> None:
    document = json.loads((site / "openapi.json").read_text(encoding="utf-8"))
    assert set(document["paths"]) == {f"/api/flowglad/{key}" for key in ACTIONS}


def test_chromium_renders_the_index_with_the_working_app(browser: Browser, served: str) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    console = ConsoleLog()
    console.attach(page)
    page.goto(served + "/index.html")
    assert page.title().startswith("flask-flowglad")
    assert page.get_by_role("heading", name="A complete app").is_visible()
    code = page.locator("div.highlight-python pre").first.inner_text()
    assert code == (ROOT / "examples" / "minimal" / "app.py").read_text()
    navigation = page.locator(".sidebar-tree").inner_text()
    for title in ("Installation and configuration", "Routes reference", "API"):
        assert title in navigation
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "docs-index.png"))
    assert [line for line in console.lines if "[http" in line or "error" in line] == []
    context.close()


def test_chromium_renders_the_configuration_table_of_every_option(
    browser: Browser, served: str
) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto(served + "/installation.html")
    page.get_by_role("link", name="Customers: B2C and B2B").first.wait_for()
    rows = page.locator("section#configuration table tbody tr")
    keys = [
        rows.nth(i).locator("td").first.locator("code").first.inner_text()
        for i in range(rows.count())
    ]
    assert keys == [option.key for option in OPTIONS]
    # Each key is a link target: other pages and answers can point at one option.
    assert page.locator("#flowglad-fail-open").inner_text() == "FLOWGLAD_FAIL_OPEN"
    page.get_by_role("link", name="Customers: B2C and B2B").first.click()
    page.wait_for_url(served + "/customers.html")
    assert page.get_by_role("heading", name="B2B: an organization is the customer").is_visible()
    context.close()
