"""The README is also the package index page, where relative links lead nowhere."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def prose() -> str:
    """The README without its fenced code blocks (their links are code, not links)."""
    return re.sub(r"^```.*?^```", "", README.read_text(encoding="utf-8"), flags=re.S | re.M)


def test_every_link_of_the_readme_is_absolute() -> None:
    targets = re.findall(r"\]\(([^)\s]+)", prose())
    targets += re.findall(r"""(?:href|src)=["']([^"']+)""", prose())
    assert targets, "the README links to Flowglad at least"
    assert [t for t in targets if not t.startswith("https://")] == []
