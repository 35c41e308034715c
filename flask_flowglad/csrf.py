"""Flask-WTF's ``CSRFProtect`` and the extension's blueprints.

Every blueprint whose name starts with ``flowglad`` (the React SDK's routes, the sandbox's
hosted pages, the webhook endpoint) is exempt when ``CSRFProtect`` is on, whichever
``init_app`` ran first. It is safe because none of them trusts what CSRF forges:

- the React SDK's routes refuse every body that is not ``application/json`` (415). A page
  on another site can only send a form-like content type (form-encoded, multipart,
  ``text/plain``) without asking first, and asking (the CORS preflight) is refused unless
  the app allows that origin (so a CORS set-up must name its origins, never echo any);
- webhooks are authenticated by their signature, never by a cookie;
- the sandbox's pages stand in for Flowglad's hosted pages, which live on Flowglad's
  domain, outside the app's CSRF, and the sandbox is refused with a live key.

A blueprint of the app's own must therefore not be named ``flowglad...``.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask

logger = logging.getLogger("flask_flowglad")

#: Blueprints whose names start with this are the extension's, and exempt from CSRF.
BLUEPRINT_PREFIX = "flowglad"
#: The key Flask-WTF's ``CSRFProtect`` sets up in ``app.extensions``.
CSRF_EXTENSION = "csrf"


def exempt_from_csrf(app: Flask) -> None:
    """Exempt the extension's blueprints from ``CSRFProtect`` before its first check.

    URL value preprocessors run before every ``before_request`` function, so this runs
    before ``CSRFProtect``'s check whether it was set up before or after the extension;
    on the first request, when no blueprint can be added any more.
    """
    done = False

    def exempt_on_first_request(endpoint: str | None, values: dict[str, Any] | None) -> None:
        nonlocal done
        if not done:
            exempt_blueprints(app)
            done = True

    app.url_value_preprocessor(exempt_on_first_request)


def exempt_blueprints(app: Flask) -> list[str]:
    """Exempt every ``flowglad*`` blueprint of ``app`` if ``CSRFProtect`` is on; their names."""
    csrf = app.extensions.get(CSRF_EXTENSION)
    exempt = getattr(csrf, "exempt", None)
    if exempt is None:
        return []
    names = sorted(name for name in app.blueprints if name.startswith(BLUEPRINT_PREFIX))
    for name in names:
        exempt(app.blueprints[name])
    if names:
        logger.debug("Exempt from CSRFProtect (JSON-only or signed): %s", ", ".join(names))
    return names
