"""The example app (``examples/saas``) as a server process: gunicorn with the shipped
config, and a browser session logged in as its demo user."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import requests

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "saas"


def gunicorn_argv(port: int, database: str, *options: str) -> list[str]:
    """gunicorn serving the example on ``port`` under ``gunicorn.conf.py``, its database
    in ``database``; ``options`` go before the app."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "-c",
        str(EXAMPLE / "gunicorn.conf.py"),
        "--bind",
        f"127.0.0.1:{port}",
        *options,
        f"saas_app:create_app({{'DATABASE': {database!r}}})",
    ]


def logged_in(url: str) -> requests.Session:
    """A session logged in to the example at ``url`` as its demo user (through the form,
    its CSRF token included)."""
    browser = requests.Session()
    page = browser.get(f"{url}/login", timeout=10)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    form = {"email": "demo@example.com", "password": "flowglad-demo", "csrf_token": token.group(1)}
    assert browser.post(f"{url}/login", data=form, timeout=10).status_code == 200
    return browser
