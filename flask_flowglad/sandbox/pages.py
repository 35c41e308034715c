"""Hosted pages: the sandbox's stand-ins for Flowglad's checkout and billing portal.

Plain HTML, no external assets, so they work offline and in browser tests. The templates
are rendered with a private Jinja environment: a user's app templates can never shadow them.
"""

from __future__ import annotations

import datetime as dt
import os
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlencode, urlsplit

from flask import Blueprint, Response, abort, redirect, request
from flask.typing import ResponseReturnValue
from jinja2 import Environment, PackageLoader, select_autoescape

from .account import Account
from .errors import SandboxError
from .pricing import PricingModel
from .records import Record
from .rules import checkout as checkouts
from .rules import read_models, subscriptions
from .wire import PAGES_PREFIX

if TYPE_CHECKING:
    from flask.sansio.blueprints import BlueprintSetupState


class Host(Protocol):
    """What the pages need of the sandbox they show."""

    pricing: PricingModel
    secret_key: str

    @property
    def path(self) -> str | None: ...

    def transaction(self, write: bool = False) -> AbstractContextManager[Account]: ...

    def mounted_at(self, prefix: str | None) -> None: ...


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


def create_blueprint(sandbox: Host) -> Blueprint:
    """Pages bound to one sandbox; the URL prefix it is registered under is remembered."""
    bp = Blueprint("flowglad_sandbox", __name__)

    def remember_prefix(setup: BlueprintSetupState) -> None:
        sandbox.mounted_at(setup.url_prefix)

    bp.record(remember_prefix)
    bp.add_url_rule("/", "index", lambda: index(sandbox))
    bp.add_url_rule(
        "/checkout/<session_id>",
        "checkout",
        lambda session_id: checkout(sandbox, session_id),
        methods=["GET", "POST"],
    )
    bp.add_url_rule(
        "/checkout/<session_id>/cancel",
        "cancel_checkout",
        lambda session_id: cancel_checkout(sandbox, session_id),
    )
    bp.add_url_rule(
        "/portal/<customer_id>", "portal", lambda customer_id: portal(sandbox, customer_id)
    )
    bp.add_url_rule(
        "/portal/<customer_id>/subscriptions/<subscription_id>/<action>",
        "portal_action",
        lambda **ids: portal_action(sandbox, **ids),
        methods=["POST"],
    )
    return bp


def index(sandbox: Host) -> Response:
    with sandbox.transaction() as account:
        customers = [c for c in account.records.customers if not c["archived"]]
        state_file = os.path.basename(sandbox.path) if sandbox.path else None
        return _render(
            "index.html", customers=customers, secret_key=sandbox.secret_key, state_file=state_file
        )


def checkout(sandbox: Host, session_id: str) -> ResponseReturnValue:
    """The checkout page; its form pays (or is declined) and goes back to the app."""
    paying = request.method == "POST"
    with sandbox.transaction(write=paying) as account:
        session = account.records.checkout_sessions.get(session_id)
        if session is None:
            abort(404)
        if session["status"] == "open" and subscriptions.checkout_blocked(account, session):
            # A second paid plan is not sold: back to the app, as Flowglad's page does.
            return redirect(session["successUrl"], code=303)
        error = None
        # A post to a session that is no longer open pays nothing; the page says why.
        status = 200 if not paying or session["status"] == "open" else 400
        if paying and session["status"] == "open":
            try:
                checkouts.complete(
                    account,
                    session_id,
                    card_number=request.form.get("card_number", ""),
                    name=request.form.get("name") or None,
                )
            except SandboxError as exc:
                error, status = str(exc.error), exc.status
            else:
                return redirect(session["successUrl"], code=303)
        price = account.pricing.prices.get(session.get("priceId") or "")
        product = account.pricing.products.get(price["productId"] or "") if price else None
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


def cancel_checkout(sandbox: Host, session_id: str) -> ResponseReturnValue:
    with sandbox.transaction() as account:
        session: Record | None = account.records.checkout_sessions.get(session_id)
        if session is None:
            abort(404)
        return redirect(session["cancelUrl"], code=303)


def portal(sandbox: Host, customer_id: str) -> Response:
    with sandbox.transaction() as account:
        customer = account.records.customers.get(customer_id)
        if customer is None:
            abort(404)
        # Rendered inside the transaction: the billing read model shares the records.
        return _render(
            "portal.html",
            customer=customer,
            billing=read_models.billing(account, customer, request.url),
            currency=account.pricing.currency,
            message=request.args.get("message"),
            confirm=request.args.get("confirm"),
            return_to=request.args.get("return_to"),
        )


def portal_action(
    sandbox: Host, customer_id: str, subscription_id: str, action: str
) -> ResponseReturnValue:
    """Cancel (at the period's end by default) or uncancel, then back to the portal."""
    timing = request.form.get("timing", "at_end_of_current_billing_period")
    with sandbox.transaction(write=True) as account:
        sub = account.records.subscriptions.get(subscription_id)
        if sub is None or sub.customer_id != customer_id or action not in ("cancel", "uncancel"):
            abort(404)
        if action == "cancel" and timing not in (
            "immediately",
            "at_end_of_current_billing_period",
        ):
            abort(400)
        try:
            if action == "cancel":
                subscriptions.cancel(account, sub, timing)
                message = "Subscription canceled."
            else:
                subscriptions.uncancel(account, sub)
                message = "Cancellation withdrawn."
        except SandboxError as exc:
            message = str(exc.error)
    target = request.base_url.rsplit("/subscriptions/", 1)[0]
    query = {"message": message}
    if request.form.get("return_to"):
        query["return_to"] = request.form["return_to"]
    return redirect(f"{target}?{urlencode(query)}", code=303)
