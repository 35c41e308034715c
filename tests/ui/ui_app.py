"""A small app with the billing pages on, against a sandbox: for the UI kit's tests."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from jinja2 import DictLoader

from flask_flowglad import Flowglad

from ..support.apps import make_app

BASE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{% block title %}{% endblock %} - Shop</title></head>
<body><header><a href="/">Shop</a></header>
{% for category, message in get_flashed_messages(with_categories=true) %}
<p class="flash flash-{{ category }}" data-testid="flash-{{ category }}">{{ message }}</p>
{% endfor %}
<main>{% block content %}{% endblock %}</main></body></html>"""


def make_ui_app(sandbox: Any, **config: Any) -> tuple[Flask, Flowglad]:
    """An app with ``FLOWGLAD_UI`` on, a plain base template, billing against ``sandbox``."""
    app = make_app(FLOWGLAD_SANDBOX=sandbox, FLOWGLAD_SECRET_KEY=None, FLOWGLAD_UI=True, **config)
    app.jinja_loader = DictLoader({"base.html": BASE})  # type: ignore[assignment]
    with pytest.warns(UserWarning, match="simulated"):
        flowglad = Flowglad(app)
    return app, flowglad


def csrf_of(html: str) -> str:
    """The CSRF token of the first form of a page."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html[:2000]
    return found.group(1)
