"""CSRF for the billing pages' forms: Flask-WTF's token when ``CSRFProtect`` is on, the
kit's own otherwise. The kit's blueprint is never exempt: a post without the token is
refused (400) before anything reaches Flowglad."""

from __future__ import annotations

import secrets

from flask import abort, current_app, g, request, session
from markupsafe import Markup, escape

#: The session key of the kit's own token.
SESSION_KEY = "_flowglad_csrf"


def _flask_wtf() -> object | None:
    """Flask-WTF's ``CSRFProtect`` when the app set it up."""
    csrf = current_app.extensions.get("csrf")
    return csrf if hasattr(csrf, "protect") else None


def field_name() -> str:
    return str(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"))


def csrf_token() -> str:
    """The token a form of the kit sends back."""
    if _flask_wtf() is not None:
        from flask_wtf.csrf import generate_csrf

        return str(generate_csrf())
    token = session.get(SESSION_KEY)
    if not isinstance(token, str):
        token = session[SESSION_KEY] = secrets.token_urlsafe(32)
    return token


def csrf_field() -> Markup:
    """``{{ flowglad_csrf_field() }}``: the hidden input with the token."""
    return Markup('<input type="hidden" name="{}" value="{}">').format(
        escape(field_name()), escape(csrf_token())
    )


def check_csrf() -> None:
    """Before every post to the kit: Flask-WTF checks its token (also when the app turned
    its automatic check off), else the kit checks its own."""
    if request.method not in ("POST", "PUT", "PATCH", "DELETE"):
        return
    csrf = _flask_wtf()
    if csrf is not None:
        if not g.get("csrf_valid"):
            csrf.protect()  # type: ignore[attr-defined]
        return
    sent = request.form.get(field_name(), "")
    expected = session.get(SESSION_KEY)
    if not isinstance(expected, str) or not secrets.compare_digest(str(sent), expected):
        abort(400, description="The form has expired. Reload the page and try again.")
