"""Sphinx configuration. The pages are Markdown that reads the same on GitHub: reference
tables, code excerpts and the API page are written into them by
``_ext/flowglad_reference.py``, not by directives. Built offline: the theme comes from PyPI
(the ``docs`` extra)."""

from __future__ import annotations

import sys
from pathlib import Path

from flask_flowglad import __version__

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

project = "flask-flowglad"
author = "flask-flowglad maintainers"
copyright = f"2026, {author}"
release = __version__
version = ".".join(release.split(".")[:2])

extensions = ["myst_parser", "flowglad_docs"]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build", "examples", "Thumbs.db", ".DS_Store"]
#: Every heading is a link target, named as GitHub names it, so ``api.md#flowglad`` works
#: in both places.
myst_heading_anchors = 6

html_theme = "furo"
html_title = f"flask-flowglad {release}"
html_static_path = ["_static"]
html_favicon = "_static/favicon.svg"
html_show_sourcelink = False
