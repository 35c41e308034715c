"""Gating the app's own views on a plan feature."""

from __future__ import annotations

import functools
import importlib.util
import inspect
import logging
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Response, current_app, has_request_context, render_template, request
from flask.typing import ResponseReturnValue
from jinja2 import TemplateNotFound
from werkzeug.exceptions import HTTPException, ServiceUnavailable, Unauthorized

from . import envelope
from .deadline import request_deadline
from .errors import FlowgladError, is_outage
from .state import get_state

logger = logging.getLogger("flask_flowglad")

ViewT = TypeVar("ViewT", bound=Callable[..., Any])
DeniedHandler = Callable[[str], ResponseReturnValue]


class FeatureNotAvailable(HTTPException):
    """The customer's plan does not include a feature: **402 Payment Required**.

    402 says "this is for paying customers", which a client can act on (show an upgrade
    prompt), unlike 403's "never for you". Render it with an ordinary error handler::

        @app.errorhandler(FeatureNotAvailable)
        def upgrade(error):
            return render_template("upgrade.html", feature=error.feature_slug), 402

    When the request wants JSON the body is the ``{data, error}`` envelope.
    """

    code = 402
    description = "Your plan does not include this feature."

    def __init__(self, feature_slug: str, description: str | None = None) -> None:
        super().__init__(
            description or f"Your plan does not include the {feature_slug!r} feature."
        )
        self.feature_slug = feature_slug
        self.response = _json_error(self, "feature_not_available", {"feature": feature_slug})


class BillingUnavailable(ServiceUnavailable):
    """Flowglad could not be asked, and the view fails closed: **503**.

    An app's error handler for it (or for 503) renders it as the app likes. Without one,
    an HTML request gets the template ``flowglad/billing_unavailable.html`` when the app
    has one (the billing pages, ``FLOWGLAD_UI``, bring one that extends the app's layout),
    else Werkzeug's page; a JSON request gets the envelope.
    """

    description = "Billing is temporarily unavailable. Please try again shortly."

    #: The template rendered for HTML requests, when the app has it.
    template = "flowglad/billing_unavailable.html"

    def __init__(self, description: str | None = None) -> None:
        super().__init__(description)
        self.response = _json_error(self, "billing_unavailable", {})

    def get_response(self, environ: Any = None, scope: Any = None) -> Any:
        """The app's ``flowglad/billing_unavailable.html`` for an HTML request, if any."""
        if self.response is None:
            page = _render_if_present(self.template, self.code or 503)
            if page is not None:
                return page
        return super().get_response(environ, scope)


def feature_required(
    feature_slug: str, *, on_denied: DeniedHandler | None = None
) -> Callable[[ViewT], ViewT]:
    """Let a view run only for customers whose plan includes ``feature_slug``.

    - Not logged in: flask-login's unauthorized handling, as ``login_required`` does.
    - No such feature: ``on_denied(feature_slug)`` when given (say, a redirect to an
      upgrade page), else :exc:`FeatureNotAvailable`.
    - Flowglad unreachable: :exc:`BillingUnavailable`, unless ``FLOWGLAD_FAIL_OPEN``
      lets the view run.

    An ``async def`` view needs asgiref (``pip install "flask[async]"``), as Flask does to
    run one; without it, decorating the view raises :exc:`RuntimeError` saying so.
    """

    def decorator(view: ViewT) -> ViewT:
        if inspect.iscoroutinefunction(view):
            _require_async_support(feature_slug, view)

        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if request.method == "OPTIONS":
                return current_app.ensure_sync(view)(*args, **kwargs)
            allowed = feature_allowed(feature_slug)
            if allowed is None:
                return _unauthorized()
            if not allowed:
                if on_denied is not None:
                    return on_denied(feature_slug)
                raise FeatureNotAvailable(feature_slug)
            return current_app.ensure_sync(view)(*args, **kwargs)

        return cast(ViewT, wrapper)

    return decorator


def _require_async_support(feature_slug: str, view: Callable[..., Any]) -> None:
    """Flask runs an async view through asgiref; say so when the app starts, not when
    the first paying customer opens the page."""
    if importlib.util.find_spec("asgiref") is None:
        raise RuntimeError(
            f"@feature_required({feature_slug!r}) decorates the async view"
            f" {view.__qualname__!r}, and Flask runs async views only with asgiref"
            " installed. Install it with: pip install 'flask[async]'"
        )


def feature_allowed(feature_slug: str) -> bool | None:
    """Whether the request's customer has ``feature_slug``; ``None`` for anonymous.

    While Flowglad fails, a customer seen in the last ``FLOWGLAD_STALE_IF_ERROR`` seconds
    is decided from the billing the shared cache kept (logged). Without one, an outage
    decides by the fail-open policy; any other failure is :exc:`BillingUnavailable`.
    """
    state = get_state()
    customer = state.current_customer()
    if customer is None:
        return None
    try:
        with request_deadline(state.settings.request_deadline):
            return customer.check_feature_access(feature_slug)
    except FlowgladError as exc:
        if not is_outage(exc):
            # Not an outage (a refused key, a wrong base URL): never opened by the policy.
            logger.error("Flowglad billing read failed for %r: %s", feature_slug, exc)
            raise BillingUnavailable() from exc
        if state.settings.fail_open:
            logger.warning("Flowglad unreachable, %r allowed (fail open): %s", feature_slug, exc)
            return True
        logger.warning("Flowglad unreachable, %r refused (fail closed): %s", feature_slug, exc)
        raise BillingUnavailable() from exc


def _render_if_present(template: str, status: int) -> Response | None:
    """``template`` rendered in the app's layout, when the app has it; ``None`` otherwise,
    or when the layout itself fails (it may ask for billing, which is what failed)."""
    if not has_request_context():
        return None
    try:
        current_app.jinja_env.get_template(template)
    except TemplateNotFound:
        return None
    try:
        html = render_template(template)
    except Exception:  # noqa: BLE001 - the error page must not fail in turn
        logger.warning("%s could not be rendered; the plain page is sent", template, exc_info=True)
        return None
    return current_app.response_class(html, status=status, mimetype="text/html")


def _unauthorized() -> Any:
    login_manager = getattr(current_app, "login_manager", None)
    if login_manager is not None:
        return login_manager.unauthorized()
    raise Unauthorized()


def _wants_json() -> bool:
    accept = request.accept_mimetypes
    return request.is_json or accept["application/json"] > accept["text/html"]


def _json_error(exc: HTTPException, code: str, extra: dict[str, Any]) -> Response | None:
    """The envelope for clients that asked for JSON; ``None`` lets Werkzeug render HTML."""
    if not has_request_context() or not _wants_json():
        return None
    message = exc.description or ""
    return envelope.failure(exc.code or 500, code, message, details=extra)
