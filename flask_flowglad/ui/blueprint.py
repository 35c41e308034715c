"""The billing pages' blueprint: its templates (with a layout made from the settings), its
static CSS, the gettext hook, the CSRF check and htmx's redirects."""

from __future__ import annotations

import os
from functools import cached_property
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from flask import Blueprint, Flask, Response, request
from jinja2 import BaseLoader, ChoiceLoader, DictLoader, FileSystemLoader

from .csrf import check_csrf, csrf_field, csrf_token
from .text import install_gettext

if TYPE_CHECKING:
    from ..config import FlowgladSettings

BLUEPRINT_NAME = "flowglad_ui"
HERE = os.path.dirname(os.path.abspath(__file__))


def layout_templates(settings: FlowgladSettings) -> dict[str, str]:
    """The layout every page extends, and the one htmx swaps in: made from the settings,
    since a Jinja block's name cannot be a variable. An app's own
    ``templates/flowglad/layout.html`` wins over it, as any template of the kit."""
    block = settings.ui_content_block
    frame = (
        '{% include "flowglad/_styles.html" %}'
        '<div id="flowglad-main" class="flowglad" hx-boost="true" hx-target="#flowglad-main"'
        ' hx-select="#flowglad-main" hx-swap="outerHTML show:window:top">'
        "{% if flowglad_ui.partial %}{% include 'flowglad/_messages.html' %}{% endif %}"
        "{% block flowglad_content %}{% endblock %}</div>"
    )
    return {
        "flowglad/layout.html": (
            "{% extends flowglad_ui.base_template %}"
            "{% block title %}{% block flowglad_title %}{% endblock %}{% endblock %}"
            f"{{% block {block} %}}{frame}{{% endblock %}}"
        ),
        "flowglad/_partial.html": (
            "<title>{% block title %}{% endblock %}</title>"
            f"{{% block {block} %}}{{% endblock %}}"
        ),
    }


class UIBlueprint(Blueprint):
    """A blueprint whose template loader also serves the generated layout."""

    def __init__(self, generated: dict[str, str]) -> None:
        super().__init__(
            BLUEPRINT_NAME,
            __name__,
            template_folder="templates",
            static_folder="static",
            static_url_path="/static",
        )
        self._generated = generated

    # Flask 3.0 types the loader as a FileSystemLoader, 3.1 as any BaseLoader.
    @cached_property
    def jinja_loader(self) -> BaseLoader | None:  # type: ignore[override,unused-ignore]
        return ChoiceLoader(
            [DictLoader(self._generated), FileSystemLoader(os.path.join(HERE, "templates"))]
        )


def register_ui(app: Flask, settings: FlowgladSettings) -> UIBlueprint:
    """Mount the billing pages at ``FLOWGLAD_UI_PREFIX``: called by ``init_app``."""
    from . import views

    blueprint = UIBlueprint(layout_templates(settings))
    views.add_routes(blueprint)
    blueprint.before_request(check_csrf)
    blueprint.after_request(lambda response: htmx_redirects(response, settings.ui_prefix))
    app.register_blueprint(blueprint, url_prefix=settings.ui_prefix)
    install_gettext(app)
    app.add_template_global(csrf_field, "flowglad_csrf_field")
    app.add_template_global(csrf_token, "flowglad_csrf_token")
    app.add_template_global(views.template_offer, "flowglad_offer")
    app.context_processor(views.ui_context)
    return blueprint


def htmx_redirects(response: Response, prefix: str) -> Response:
    """An htmx request follows a redirect inside the pages by itself; one that leaves them
    (the hosted checkout, the login page) must load the whole page: ``HX-Redirect``."""
    if request.headers.get("HX-Request") != "true" or not 300 <= response.status_code < 400:
        return response
    location = response.headers.get("Location", "")
    parts = urlsplit(location)
    inside = (request.script_root or "") + prefix
    same_host = not parts.netloc or parts.netloc == request.host
    if same_host and (parts.path == inside or parts.path.startswith(inside + "/")):
        return response
    answer = Response(status=200)
    answer.headers["HX-Redirect"] = location
    return answer
