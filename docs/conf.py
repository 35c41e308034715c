"""Sphinx configuration. Built offline: the theme comes from PyPI (the ``docs`` extra) and
the intersphinx inventories from ``_inventories/`` (see ``make_inventories.py`` there)."""

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

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.intersphinx",
    "flowglad_docs",
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build", "_inventories", "examples", "Thumbs.db", ".DS_Store"]
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True

#: Base URL of each project's docs; the inventories are local files (no network at build).
INTERSPHINX = {
    "flask": "https://flask.palletsprojects.com/en/stable/",
    "werkzeug": "https://werkzeug.palletsprojects.com/en/stable/",
    "requests": "https://requests.readthedocs.io/en/latest/",
    "marshmallow": "https://marshmallow.readthedocs.io/en/stable/",
    "flask-login": "https://flask-login.readthedocs.io/en/latest/",
}
intersphinx_mapping = {
    name: (url, str(HERE / "_inventories" / f"{name}.inv")) for name, url in INTERSPHINX.items()
}

html_theme = "furo"
html_title = f"flask-flowglad {release}"
html_static_path = ["_static"]
html_favicon = "_static/favicon.svg"
html_show_sourcelink = False
python_maximum_signature_line_length = 88
