"""The reference text committed in the pages (configuration table, routes table, API page,
code excerpts) is what ``docs/_ext/flowglad_reference.py`` writes from the code now."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import pytest

import flask_flowglad
import flask_flowglad.sandbox
from flask_flowglad.config import OPTIONS
from flask_flowglad.protocol.actions import ACTIONS

from .pages import ROOT, load_generator, page, pages

generator = load_generator()


def test_the_committed_generated_text_is_current() -> None:
    stale = [path.relative_to(ROOT).as_posix() for path in generator.stale_files()]
    assert stale == [], f"stale generated text in {stale}: run {generator.COMMAND}"


def test_a_region_edited_by_hand_is_stale() -> None:
    path = ROOT / "docs" / "installation.md"
    edited = path.read_text(encoding="utf-8").replace("| `FLOWGLAD_FAIL_OPEN`", "| `X`", 1)
    edited = edited.replace("`FLOWGLAD_FAIL_OPEN`</a>", "`FLOWGLAD_FAILOPEN`</a>", 1)
    assert edited != path.read_text(encoding="utf-8")
    assert generator.render_page(path, edited) == path.read_text(encoding="utf-8")


def test_unpaired_markers_and_unknown_kinds_are_refused(tmp_path: Path) -> None:
    lonely = tmp_path / "x.md"
    lonely.write_text("<!-- generated: config -->\nno end\n", encoding="utf-8")
    with pytest.raises(generator.StaleDocs, match="do not pair up"):
        generator.render_page(lonely)
    lonely.write_text("<!-- generated: colours -->\n<!-- end generated -->\n", encoding="utf-8")
    with pytest.raises(generator.StaleDocs, match="unknown kind 'colours'"):
        generator.render_page(lonely)


def test_an_include_cuts_as_literalinclude_does(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(
        "import x\n\n\n@app.get('/')\ndef home():\n    if x:\n        return 1\n\n\ndef other():\n"
        "    pass\n",
        encoding="utf-8",
    )

    def cut(*options: str) -> str:
        text: str = generator.include(tmp_path, "app.py", *options)
        return text

    assert cut("pyobject=home") == "```python\n@app.get('/')\ndef home():\n" + (
        "    if x:\n        return 1\n```\n"
    )
    assert cut("start-after=import x", "end-before=def home") == "```python\n@app.get('/')\n```\n"
    assert cut("start-at=return 1", "end-at=return 1", "dedent=8") == "```python\nreturn 1\n```\n"
    assert cut("start-at=def other", "lang=text").startswith("```text\ndef other():")
    with pytest.raises(generator.StaleDocs, match="no line contains 'def gone'"):
        cut("start-at=def gone")
    with pytest.raises(generator.StaleDocs, match="no function or class 'gone'"):
        cut("pyobject=gone")
    with pytest.raises(generator.StaleDocs, match="no file missing.py"):
        generator.include(tmp_path, "missing.py")


def test_every_public_name_has_a_heading_on_the_api_page() -> None:
    api = next(p for p in pages() if p.name == "docs/api.md")
    titles = {title.rsplit(".", 1)[-1] for _, title, _ in api.headings}
    public = [*flask_flowglad.__all__, *flask_flowglad.sandbox.__all__]
    assert [name for name in public if name not in titles] == []


def test_every_option_and_action_has_a_row() -> None:
    by_name = {p.name: p for p in pages()}
    config = [t for t in by_name["docs/installation.md"].tables if "Meaning" in t.header]
    assert [row[0].split("`")[1] for row in config[0].rows] == [o.key for o in OPTIONS]
    routes = [t for t in by_name["docs/routes.md"].tables if "Methods<br>who" in t.header]
    assert [row[0].split("`")[1] for row in routes[0].rows] == list(ACTIONS)


def test_anchors_are_named_as_github_and_myst_name_them() -> None:
    github = {  # what GitHub makes of these headings
        "`Flowglad.for_customer`": "flowgladfor_customer",
        "B2B: an organization is the customer": "b2b-an-organization-is-the-customer",
        "`send-test-webhook`": "send-test-webhook",
        "Exceptions of `flask_flowglad`": "exceptions-of-flask_flowglad",
        "What the visitor gets (402)": "what-the-visitor-gets-402",
    }
    for title, slug in github.items():
        assert generator.github_slug(title.replace("`", "")) == slug
    assert generator.unique_slug("flowgladclient", ["flowgladclient"]) == "flowgladclient-1"
    if importlib.util.find_spec("myst_parser") is not None:  # the docs extra: the site's slugs
        from myst_parser.slugs import github_slugify

        headings = [title for p in pages() for _, title, _ in p.headings]
        assert [t for t in headings if generator.github_slug(t) != github_slugify(t)] == []


def test_signatures_keep_the_source_defaults_and_refuse_an_address() -> None:
    def wait(seconds: float = 1.5, *, sleep=time.sleep, marker=object()) -> None:  # type: ignore[no-untyped-def]  # noqa: B008
        """Wait."""

    assert generator.format_signature("wait", wait) == (
        "wait(seconds: float = 1.5, *, sleep=time.sleep, marker=object()) -> None"
    )
    # Without source (a generated __init__), a default's repr is shown, unless it holds an
    # address that would make every run's page differ.
    with pytest.raises(generator.StaleDocs, match="change with every run"):
        generator._default_repr(object(), "wait")


def test_the_api_page_is_the_same_however_often_it_is_written() -> None:
    assert generator.api_reference() == generator.api_reference()


def test_a_stale_page_is_named_by_the_check(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "README.md").write_text("# R\n", encoding="utf-8")
    stale = tmp_path / "docs" / "x.md"
    stale.write_text("<!-- generated: routes -->\nold\n<!-- end generated -->\n", encoding="utf-8")
    assert generator.stale_files(tmp_path) == [stale]
    stale.write_text(generator.render_page(stale), encoding="utf-8")
    assert generator.stale_files(tmp_path) == []
    assert page("docs/x.md", stale.read_text(encoding="utf-8")).tables[0].rows
