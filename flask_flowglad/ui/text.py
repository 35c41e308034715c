"""The gettext hook: the pages' strings go through the app's translations.

Templates call ``_()`` (Jinja's i18n extension), which flask-babel fills with the app's
catalogs whichever of the two is set up first; without flask-babel the strings are shown
as written. Views translate their flashed messages with :func:`gettext`.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app

I18N_EXTENSION = "jinja2.ext.i18n"


def install_gettext(app: Flask) -> None:
    """Give the app's templates ``_``, ``gettext`` and ``ngettext`` unless flask-babel (or
    the app) already did; flask-babel set up later replaces them with its own."""
    env = app.jinja_env
    if I18N_EXTENSION not in env.extensions:
        env.add_extension(I18N_EXTENSION)
    if "gettext" not in env.globals:
        env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]


def gettext(text: str, **variables: Any) -> str:
    """``text`` in the request's language when the app uses flask-babel, with
    ``%(name)s`` placeholders filled from ``variables``."""
    if "babel" in current_app.extensions:
        try:
            from flask_babel import gettext as babel_gettext
        except ImportError:  # another extension named "babel"
            pass
        else:
            return str(babel_gettext(text, **variables))
    return text % variables if variables else text
