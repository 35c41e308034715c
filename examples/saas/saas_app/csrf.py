"""A minimal CSRF guard for the app's HTML forms.

The Flowglad JSON API needs none: it only accepts ``application/json``, which a
cross-site form cannot send. The sandbox's hosted pages are left alone too, by guarding
only the blueprints that opt in.
"""

from __future__ import annotations

import secrets

from flask import Blueprint, abort, request, session

_KEY = "_csrf_token"


def csrf_token() -> str:
    """The session's token, for a hidden ``csrf_token`` form field."""
    token = session.get(_KEY)
    if not isinstance(token, str):
        token = session[_KEY] = secrets.token_urlsafe(32)
    return token


def _check() -> None:
    if request.method != "POST" or request.is_json:
        return
    sent = request.form.get("csrf_token", "")
    expected = session.get(_KEY)
    if not isinstance(expected, str) or not secrets.compare_digest(sent, expected):
        abort(400, description="The form has expired. Reload the page and try again.")


def protect(blueprint: Blueprint) -> Blueprint:
    blueprint.before_request(_check)
    return blueprint
