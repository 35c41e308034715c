"""Flask-WTF's ``CSRFProtect`` and the extension's blueprints.

The blueprints the extension registers itself (the React SDK's routes, the webhook
endpoint, the sandbox's hosted pages) are exempt when ``CSRFProtect`` is on, whichever
``init_app`` ran first; they are named one by one, so an app's own blueprint stays
protected whatever its name (``flowglad_admin`` included). It is safe because none of them
trusts what CSRF forges:

- the React SDK's routes refuse every body that is not ``application/json`` (415). A page
  on another site can only send a form-like content type (form-encoded, multipart,
  ``text/plain``) without asking first, and asking (the CORS preflight) is refused unless
  the app allows that origin (so a CORS set-up must name its origins, never echo any);
- webhooks are authenticated by their signature, never by a cookie;
- the sandbox's pages stand in for Flowglad's hosted pages, which live on Flowglad's
  domain, outside the app's CSRF, and the sandbox is refused with a live key.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from flask import Flask

logger = logging.getLogger("flask_flowglad")

#: The key Flask-WTF's ``CSRFProtect`` sets up in ``app.extensions``.
CSRF_EXTENSION = "csrf"


def exempt_from_csrf(app: Flask, names: Sequence[str]) -> None:
    """Exempt the blueprints ``names`` from ``CSRFProtect`` before its first check.

    URL value preprocessors run before every ``before_request`` function, so this runs
    before ``CSRFProtect``'s check whether it was set up before or after the extension;
    on the first request, when no blueprint can be added any more.
    """
    done = False

    def exempt_on_first_request(endpoint: str | None, values: dict[str, Any] | None) -> None:
        nonlocal done
        if not done:
            exempt_blueprints(app, names)
            done = True

    app.url_value_preprocessor(exempt_on_first_request)


def exempt_blueprints(app: Flask, names: Sequence[str]) -> list[str]:
    """Exempt the blueprints ``names`` of ``app`` if ``CSRFProtect`` is on; their names."""
    csrf = app.extensions.get(CSRF_EXTENSION)
    exempt = getattr(csrf, "exempt", None)
    if exempt is None:
        return []
    exempted = sorted(name for name in names if name in app.blueprints)
    for name in exempted:
        exempt(app.blueprints[name])
    if exempted:
        logger.debug("Exempt from CSRFProtect (JSON-only or signed): %s", ", ".join(exempted))
    return exempted
