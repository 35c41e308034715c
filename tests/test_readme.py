"""The README is also the package index page, where relative links lead nowhere."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_every_link_of_the_readme_is_absolute() -> None:
    targets = re.findall(r"\]\(([^)\s]+)", README.read_text(encoding="utf-8"))
    targets += re.findall(r"""(?:href|src)=["']([^"']+)""", README.read_text(encoding="utf-8"))
    assert targets, "the README links to Flowglad at least"
    assert [t for t in targets if not t.startswith("https://")] == []
