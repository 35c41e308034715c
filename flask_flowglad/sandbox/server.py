"""The sandbox as a real HTTP service: the API under ``/api/v1`` and the hosted pages.

Used by ``flask flowglad sandbox`` for apps (or browsers, or other languages) that must
reach the sandbox over a socket rather than through the in-process adapter. That command
uses Werkzeug's development server, which closes every connection; for load tests serve
``Sandbox().wsgi_app`` with a production WSGI server (the benchmarks use waitress); give
it a state file (``Sandbox(path=...)``) and several worker processes serve one sandbox.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

from flask import Blueprint, Flask, Response, request

from .adapter import Handler
from .controls import CONTROLS_PREFIX
from .limits import MAX_BODY_BYTES
from .wire import PAGES_PREFIX

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class Served(Handler, Protocol):
    """A sandbox, as the server needs it: its API and controls, and its pages."""

    def pages_blueprint(self) -> Blueprint: ...


_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def create_wsgi_app(sandbox: Served) -> Flask:
    """A small Flask app: ``/api/...`` and the test controls go to :meth:`Sandbox.handle`."""
    app = Flask("flask_flowglad.sandbox.server")
    app.register_blueprint(sandbox.pages_blueprint(), url_prefix=PAGES_PREFIX)

    def forward(path: str) -> Response:
        """The API and the test controls: :meth:`Sandbox.handle` sees the whole path."""
        status, headers, body = sandbox.handle(
            request.method,
            request.path,
            query=request.query_string.decode("latin-1"),
            # One byte past the limit is enough for the sandbox to refuse the body.
            body=request.stream.read(MAX_BODY_BYTES + 1),
            headers=dict(request.headers),
        )
        return Response(body, status=status, headers=headers)

    app.add_url_rule("/api/<path:path>", "api", forward, methods=_METHODS)
    app.add_url_rule(f"{CONTROLS_PREFIX}/<path:path>", "control", forward, methods=_METHODS)

    def index() -> Response:
        return Response(status=302, headers={"Location": PAGES_PREFIX + "/"})

    app.add_url_rule("/", "index", index)
    return app
