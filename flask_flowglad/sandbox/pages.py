"""Hosted pages: the sandbox's stand-ins for Flowglad's checkout and billing portal.

Plain HTML, no external assets, so they work offline and in browser tests. The templates
are rendered with a private Jinja environment: a user's app templates can never shadow them.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from flask import Blueprint, Response, abort, redirect, request
from flask.typing import ResponseReturnValue
from jinja2 import Environment, PackageLoader, select_autoescape

from .errors import SandboxError
from .state import CardDeclined
from .wire import PAGES_PREFIX

if TYPE_CHECKING:
    from flask.sansio.blueprints import BlueprintSetupState

    from .core import Sandbox

_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}
_ZERO_DECIMAL = {"JPY", "KRW"}

_env = Environment(
    loader=PackageLoader("flask_flowglad.sandbox", "templates"),
    autoescape=select_autoescape(["html"]),
)


def money(amount: int, currency: str) -> str:
    """Minor units to a readable price: ``2000, "USD"`` -> ``$20.00``."""
    symbol = _SYMBOLS.get(currency, currency + " ")
    if currency in _ZERO_DECIMAL:
        return f"{symbol}{amount:,}"
    return f"{symbol}{amount / 100:,.2f}"


def date(epoch_ms: int | None) -> str:
    """Epoch milliseconds to a readable UTC date: ``27 Nov 2026``."""
    if epoch_ms is None:
        return ""
    try:
        moment = dt.datetime.fromtimestamp(epoch_ms / 1000, tz=dt.timezone.utc)
    except (OverflowError, ValueError, OSError):
        return ""
    return f"{moment.day} {moment:%b %Y}"


#: Subscription statuses as a person reads them (the API's enums stay on the API).
_STATUSES = {
    "active": "Active",
    "trialing": "Trial",
    "past_due": "Payment due",
    "unpaid": "Unpaid",
    "incomplete": "Incomplete",
    "incomplete_expired": "Expired",
    "canceled": "Canceled",
    "cancellation_scheduled": "Cancels at period end",
    "paused": "Paused",
    "credit_trial": "Credit trial",
    "paid": "Paid",
    "open": "Open",
    "draft": "Draft",
    "void": "Void",
    "uncollectible": "Uncollectible",
}


def status(value: str) -> str:
    return _STATUSES.get(value, value.replace("_", " ").capitalize())


def back_url() -> str:
    """Where "Back to the app" leads: ``?return_to=``, else the page that linked here.

    Only an ``http(s)`` URL is followed; anything else goes to the root of this host,
    which is the app when the pages are mounted in it.
    """
    for candidate in (request.args.get("return_to"), request.referrer):
        if candidate and urlsplit(candidate).scheme in ("http", "https"):
            if PAGES_PREFIX not in urlsplit(candidate).path:
                return candidate
    return "/"


_env.filters["money"] = money
_env.filters["date"] = date
_env.filters["status"] = status


def _render(template: str, status: int = 200, **context: Any) -> Response:
    context.setdefault("back_url", back_url())
    html = _env.get_template(template).render(**context)
    return Response(html, status=status, mimetype="text/html")


def create_blueprint(sandbox: Sandbox) -> Blueprint:
    """Pages bound to one sandbox; the URL prefix it is registered under is remembered."""
    bp = Blueprint("flowglad_sandbox", __name__)

    def remember_prefix(setup: BlueprintSetupState) -> None:
        sandbox.mounted_at(setup.url_prefix)

    bp.record(remember_prefix)
    lock = sandbox.lock

    def price_of(session: dict[str, Any]) -> dict[str, Any] | None:
        return sandbox.pricing.prices.get(session.get("priceId") or "")

    @bp.get("/")
    def index() -> Response:
        with lock:
            customers = [c for c in sandbox.state.customers.values() if not c["archived"]]
        return _render("index.html", sandbox=sandbox, customers=customers)

    @bp.route("/checkout/<session_id>", methods=["GET", "POST"])
    def checkout(session_id: str) -> ResponseReturnValue:
        with lock:
            session = sandbox.state.checkout_sessions.get(session_id)
            if session is None:
                abort(404)
            session = sandbox.state.get_checkout_session(session_id)
            if session["status"] == "open" and sandbox.state.checkout_blocked(session):
                # A second paid plan is not sold: back to the app, as Flowglad's page does.
                return redirect(session["successUrl"], code=303)
            error = None
            # A post to a session that is no longer open pays nothing; the page says why.
            status = 200 if request.method == "GET" or session["status"] == "open" else 400
            if request.method == "POST" and session["status"] == "open":
                try:
                    sandbox.state.complete_checkout(
                        session_id,
                        card_number=request.form.get("card_number", ""),
                        name=request.form.get("name") or None,
                    )
                except CardDeclined as exc:
                    error, status = str(exc.error), 402
                except SandboxError as exc:
                    error, status = str(exc.error), exc.status
                else:
                    return redirect(session["successUrl"], code=303)
            price = price_of(session)
            product = sandbox.pricing.products.get(price["productId"] or "") if price else None
        page = _render(
            "checkout.html",
            status=status,
            session=session,
            price=price,
            product=product,
            error=error,
        )
        # The back button after paying asks again, and finds the session paid.
        page.headers["Cache-Control"] = "no-store"
        return page

    @bp.get("/checkout/<session_id>/cancel")
    def cancel_checkout(session_id: str) -> ResponseReturnValue:
        with lock:
            session = sandbox.state.checkout_sessions.get(session_id)
        if session is None:
            abort(404)
        return redirect(session["cancelUrl"], code=303)

    @bp.get("/portal/<customer_id>")
    def portal(customer_id: str) -> Response:
        with lock:
            customer = sandbox.state.customers.get(customer_id)
            if customer is None:
                abort(404)
            # Rendered under the lock: the billing read model shares the stored records.
            return _render(
                "portal.html",
                customer=customer,
                billing=sandbox.state.billing(customer, request.url),
                currency=sandbox.pricing.currency,
                message=request.args.get("message"),
                confirm=request.args.get("confirm"),
                return_to=request.args.get("return_to"),
            )

    @bp.post("/portal/<customer_id>/subscriptions/<subscription_id>/<action>")
    def portal_action(customer_id: str, subscription_id: str, action: str) -> ResponseReturnValue:
        with lock:
            sub = sandbox.state.subs.get(subscription_id)
            if sub is None or sub.record["customerId"] != customer_id:
                abort(404)
            try:
                if action == "cancel":
                    timing = request.form.get("timing", "at_end_of_current_billing_period")
                    if timing not in ("immediately", "at_end_of_current_billing_period"):
                        abort(400)
                    sandbox.state.cancel(sub, timing)
                    message = "Subscription canceled."
                elif action == "uncancel":
                    sandbox.state.uncancel(sub)
                    message = "Cancellation withdrawn."
                else:
                    abort(404)
            except SandboxError as exc:
                message = str(exc.error)
        target = request.base_url.rsplit("/subscriptions/", 1)[0]
        query = {"message": message}
        if request.form.get("return_to"):
            query["return_to"] = request.form["return_to"]
        return redirect(f"{target}?{urlencode(query)}", code=303)

    return bp
