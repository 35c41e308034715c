"""The billing pages: plain forms, POST/redirect/GET, flashed messages.

Each view resolves the customer with the extension's customer loader, asks the app's
billing authorizer before anything else, and then calls the per-customer service. What the
customer is told comes from Flowglad's answer: the checkout return says "paid" only after
``checkout-sessions/retrieve`` says the session succeeded, never from the query string.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from ..authorization import BUY, CANCEL, CHANGE_PLAN, MANAGE_PAYMENT_METHODS, READ
from ..deadline import request_deadline
from ..errors import (
    BillingActionError,
    BillingActionForbidden,
    CheckoutSessionNotFound,
    FlowgladError,
)
from ..intervals import changes_interval
from ..service import CustomerBilling
from ..state import get_state
from ..summary import BillingSummary, Money, Plan, Price, Product, moment, products_of
from ..templating import date_filter
from .offers import Offer, offer_for
from .text import gettext as _

logger = logging.getLogger("flask_flowglad")

ViewT = TypeVar("ViewT", bound=Callable[..., ResponseReturnValue])

#: The Flask session key of the checkout the customer was sent to (id and url).
CHECKOUT_KEY = "_flowglad_checkout"
#: Cancellation timings the cancel form offers.
TIMINGS = ("at_end_of_current_billing_period", "immediately")


@dataclass
class UIContext:
    """``flowglad_ui`` in the pages' templates."""

    base_template: str
    #: An htmx request: the page is swapped in, without the app's layout around it.
    partial: bool
    _allowed: frozenset[str] | None = field(default=None, repr=False)

    @property
    def allowed(self) -> frozenset[str]:
        """The billing actions the user may take for the customer; none when anonymous.
        Asked of the authorizer only when a template needs it."""
        if self._allowed is None:
            state = get_state()
            identity = state.identify()
            self._allowed = frozenset() if identity is None else state.allowed_actions(identity)
        return self._allowed

    def can(self, action: str) -> bool:
        """Whether the user may take this billing action for the customer."""
        return action in self.allowed


def template_offer(product: Product, price: Price | None, plan: Plan | None) -> Offer:
    """``flowglad_offer(product, price, plan)`` in templates: the call to action for a
    price, for the request's user (see :mod:`flask_flowglad.ui.offers`)."""
    state = get_state()
    identity = state.identify()
    allowed = frozenset() if identity is None else state.allowed_actions(identity)
    return offer_for(product, price, plan, anonymous=identity is None, allowed=allowed)


def ui_context() -> dict[str, Any]:
    """Every template gets ``flowglad_ui`` (the layout to extend, htmx or not)."""
    settings = get_state().settings
    partial = (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )
    base = "flowglad/_partial.html" if partial else settings.ui_base_template
    return {"flowglad_ui": UIContext(base, partial)}


class NotLoggedIn(Exception):
    """The page needs a customer and nobody is logged in."""


def page(view: ViewT) -> ViewT:
    """Answer a view's failures in the app's layout: a refused role is 403, Flowglad
    unreachable is 503, a refused action is a message on the billing page."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        state = get_state()
        try:
            with request_deadline(state.settings.request_deadline):
                return view(*args, **kwargs)
        except NotLoggedIn:
            return _log_in()
        except BillingActionForbidden as exc:
            return render("flowglad/forbidden.html", status=403, action=exc.action)
        except BillingActionError as exc:
            if request.method == "GET":
                return render("flowglad/refused.html", status=409, message=str(exc))
            flash(str(exc), "error")
            return redirect(url_for(".account"), code=303)
        except FlowgladError as exc:
            logger.warning("Billing page %s failed: %s", request.path, exc)
            return render("flowglad/billing_unavailable.html", status=503)

    return cast(ViewT, wrapper)


def render(template: str, status: int = 200, **context: Any) -> Response:
    """A page of the kit; an htmx request gets 200 (htmx swaps only successes), the real
    status in ``X-Flowglad-Status``."""
    response = current_app.make_response(render_template(template, **context))
    if request.headers.get("HX-Request") == "true":
        response.headers["X-Flowglad-Status"] = str(status)
        response.headers["Vary"] = "HX-Request"
    else:
        response.status_code = status
        response.headers["Vary"] = "HX-Request"
    return response


def _log_in(next_url: str | None = None) -> ResponseReturnValue:
    """Send a visitor to sign up (a plan picked) or log in, back here afterwards."""
    settings = get_state().settings
    target = next_url or request.full_path.rstrip("?")
    if settings.ui_signup_endpoint and next_url is not None:
        return redirect(url_for(settings.ui_signup_endpoint, next=target), code=303)
    login_manager = getattr(current_app, "login_manager", None)
    if login_manager is not None and login_manager.login_view:
        return redirect(url_for(login_manager.login_view, next=target), code=303)
    abort(401)


def _customer() -> tuple[CustomerBilling, frozenset[str]]:
    state = get_state()
    identity = state.identify()
    if identity is None:
        raise NotLoggedIn
    allowed = state.allowed_actions(identity)
    return state.for_identity(identity), allowed


def _require(allowed: frozenset[str], action: str) -> None:
    if action not in allowed:
        raise BillingActionForbidden(action)


def _price(summary: BillingSummary, key: str | None) -> tuple[Price, Product]:
    price = summary.find_price(key or "") if key else None
    product = summary.product_of(price) if price is not None else None
    if price is None or product is None or not price.active:
        abort(404, description=_("There is no such price."))
    return price, product


def _external(url: str) -> Response:
    """Off to a hosted Flowglad page."""
    return redirect(url, code=303)


def _remember_checkout(answer: dict[str, Any]) -> str:
    checkout = answer.get("checkoutSession") or {}
    url = str(answer.get("url") or checkout.get("url") or "")
    session[CHECKOUT_KEY] = {"id": checkout.get("id"), "url": url}
    return url


def _success_url() -> str:
    return url_for(".checkout_return", _external=True)


def _cancel_url() -> str:
    return url_for(".checkout_return", left="1", _external=True)


# -- pages -----------------------------------------------------------------------------


@page
def account() -> ResponseReturnValue:
    customer, allowed = _customer()
    _require(allowed, READ)
    summary = customer.get_billing().summary
    return render(
        "flowglad/account.html",
        summary=summary,
        plan=summary.plan,
        resources=_resources(customer, summary),
        pending=_pending_checkout(customer),
        allowed=allowed,
    )


def _resources(customer: CustomerBilling, summary: BillingSummary) -> list[dict[str, Any]]:
    """Seats and other resources: what the plan grants and what is claimed (one more read,
    only for a plan with resources; its failure leaves the section out)."""
    if summary.plan is None or not summary.resources:
        return []
    try:
        usages = customer.get_resource_usages(summary.plan.subscription_id)
    except FlowgladError as exc:
        logger.warning("Resource usages could not be read: %s", exc)
        return []
    rows = []
    for entry in usages:
        usage = entry.get("usage") if isinstance(entry, dict) else None
        if isinstance(usage, dict):
            slug = str(usage.get("resourceSlug") or "")
            rows.append(
                {
                    "slug": slug,
                    "name": slug.replace("_", " ").capitalize(),
                    "claimed": int(usage.get("claimed") or 0),
                    "capacity": int(usage.get("capacity") or 0),
                }
            )
    return rows


def _pending_checkout(customer: CustomerBilling) -> dict[str, Any] | None:
    """A checkout the customer was sent to and has not paid: offered again."""
    remembered = session.get(CHECKOUT_KEY)
    if not isinstance(remembered, dict) or not remembered.get("id"):
        return None
    try:
        answer = customer.get_checkout_session(str(remembered["id"]))
    except CheckoutSessionNotFound:
        session.pop(CHECKOUT_KEY, None)
        return None
    checkout = answer.get("checkoutSession") or {}
    if checkout.get("status") != "open":
        session.pop(CHECKOUT_KEY, None)
        return None
    return {"url": remembered.get("url"), "checkout": checkout}


@page
def pricing() -> ResponseReturnValue:
    state = get_state()
    identity = state.identify()
    summary: BillingSummary | None = None
    if identity is None:
        products = products_of(state.default_pricing_model())
    else:
        summary = state.for_identity(identity).get_billing().summary
        products = summary.products
    plans = [p for p in products if p.is_plan]
    units = {p.interval.unit for plan in plans for p in plan.recurring_prices if p.interval}
    intervals = [unit for unit in ("day", "week", "month", "year") if unit in units]
    plan = summary.plan if summary else None
    wanted = request.args.get("interval")
    if wanted not in intervals:
        current = plan.interval.unit if plan and plan.interval and not plan.is_free else None
        wanted = current if current in intervals else (intervals[0] if intervals else "month")

    savings = [p.yearly_saving_percent() or 0 for p in plans]
    return render(
        "flowglad/pricing.html",
        products=plans,
        extras=[p for p in products if not p.is_plan and p.one_time_prices],
        plan=plan,
        interval=wanted,
        intervals=intervals,
        best_saving=max(savings, default=0) or None,
    )


@page
def checkout() -> ResponseReturnValue:
    """GET: what is about to be bought, then a button to pay; POST: off to checkout."""
    state = get_state()
    key = request.values.get("price")
    if state.identify() is None:
        # The plan picked on the pricing page survives sign-up: it is in `next`.
        session["_flowglad_picked_price"] = key
        return _log_in(url_for(".checkout", price=key))
    customer, allowed = _customer()
    summary = customer.get_billing().summary
    price, product = _price(summary, key)
    plan = summary.plan
    if price.recurring and plan is not None and plan.is_paid:
        # A paying customer changes plan; Flowglad sells one paid plan at a time.
        return redirect(url_for(".change", price=price.key), code=303)
    _require(allowed, BUY)
    if request.method == "GET":
        return render("flowglad/checkout.html", price=price, product=product, plan=plan)
    answer = customer.create_product_checkout_session(
        price_id=price.id, success_url=_success_url(), cancel_url=_cancel_url()
    )
    session.pop("_flowglad_picked_price", None)
    return _external(_remember_checkout(answer))


@page
def checkout_return() -> ResponseReturnValue:
    """Where Flowglad sends the customer back. Paid only when Flowglad says so."""
    customer, allowed = _customer()
    _require(allowed, READ)
    remembered = session.get(CHECKOUT_KEY)
    if not isinstance(remembered, dict) or not remembered.get("id"):
        return redirect(url_for(".account"), code=303)
    try:
        answer = customer.get_checkout_session(str(remembered["id"]))
    except CheckoutSessionNotFound:
        session.pop(CHECKOUT_KEY, None)
        return redirect(url_for(".account"), code=303)
    checkout = answer.get("checkoutSession") or {}
    if checkout.get("status") != "succeeded":
        return render(
            "flowglad/checkout_return.html",
            checkout=checkout,
            url=remembered.get("url"),
            left=request.args.get("left") == "1",
        )
    session.pop(CHECKOUT_KEY, None)
    customer.invalidate()  # the new plan shows at once, whatever a cache held
    flash(_paid_message(customer.get_billing().summary, checkout), "success")
    return redirect(url_for(".account"), code=303)


def _paid_message(summary: BillingSummary, checkout: dict[str, Any]) -> str:
    if checkout.get("type") == "add_payment_method":
        return _("Your payment method was saved.")
    price = summary.find_price(str(checkout.get("priceId") or ""))
    product = summary.product_of(price) if price is not None else None
    if price is not None and price.recurring and summary.plan is not None:
        return _("Payment received. You are on %(plan)s.", plan=summary.plan.name)
    if product is not None:
        return _("Payment received for %(product)s.", product=product.name)
    return _("Payment received.")


@page
def change() -> ResponseReturnValue:
    """A plan change: GET previews it, POST makes it."""
    customer, allowed = _customer()
    summary = customer.get_billing().summary
    price, product = _price(summary, request.values.get("price"))
    plan = summary.plan
    if plan is None or plan.is_free:
        return redirect(url_for(".checkout", price=price.key), code=303)
    _require(allowed, CHANGE_PLAN)
    if changes_interval(plan.interval, price):
        if request.method == "GET":
            interval_change = customer.preview_interval_change(price_id=price.id)
            return render(
                "flowglad/change_interval.html",
                preview=interval_change,
                plan=plan,
                product=product,
            )
        answer = customer.start_interval_change(
            price_id=price.id, success_url=_success_url(), cancel_url=_cancel_url()
        )
        return _external(_remember_checkout(answer))
    if request.method == "GET":
        preview = customer.preview_adjust_subscription(
            price_id=price.id, subscription_id=plan.subscription_id
        )
        amount = preview.get("prorationAmount")
        return render(
            "flowglad/change_plan.html",
            preview=preview,
            charge=Money(amount if isinstance(amount, int) else 0, price.money.currency),
            effective=moment(preview.get("effectiveDate")),
            plan=plan,
            price=price,
            product=product,
        )
    customer.adjust_subscription(price_id=price.id, subscription_id=plan.subscription_id)
    flash(_("Your plan is now %(plan)s.", plan=product.name), "success")
    return redirect(url_for(".account"), code=303)


@page
def cancel() -> ResponseReturnValue:
    """GET asks for a confirmation; POST cancels, at the end of the period by default."""
    customer, allowed = _customer()
    _require(allowed, CANCEL)
    plan = customer.get_billing().summary.plan
    if plan is None or plan.is_free:
        flash(_("There is no paid plan to cancel."), "info")
        return redirect(url_for(".account"), code=303)
    if request.method == "GET":
        return render("flowglad/cancel.html", plan=plan)
    timing = request.form.get("timing", TIMINGS[0])
    if timing not in TIMINGS:
        abort(400)
    customer.cancel_subscription(plan.subscription_id, timing=timing)  # type: ignore[arg-type]
    if timing == "immediately":
        flash(_("%(plan)s has ended.", plan=plan.name), "info")
    else:
        flash(
            _(
                "%(plan)s will end on %(date)s. You keep it until then.",
                plan=plan.name,
                date=_date(plan.period_end),
            ),
            "info",
        )
    return redirect(url_for(".account"), code=303)


@page
def uncancel() -> ResponseReturnValue:
    customer, allowed = _customer()
    _require(allowed, CANCEL)
    plan = customer.get_billing().summary.plan
    if plan is not None and plan.is_canceling:
        customer.uncancel_subscription(plan.subscription_id)
        flash(
            _("%(plan)s will renew on %(date)s.", plan=plan.name, date=_date(plan.period_end)),
            "success",
        )
    return redirect(url_for(".account"), code=303)


@page
def keep_plan() -> ResponseReturnValue:
    """Undo a plan change scheduled for the end of the period."""
    customer, allowed = _customer()
    _require(allowed, CHANGE_PLAN)
    plan = customer.get_billing().summary.plan
    if plan is not None and plan.scheduled_change_at is not None:
        customer.cancel_scheduled_adjustment(plan.subscription_id)
        flash(_("The scheduled change was withdrawn: %(plan)s stays.", plan=plan.name), "success")
    return redirect(url_for(".account"), code=303)


@page
def add_payment_method() -> ResponseReturnValue:
    customer, allowed = _customer()
    _require(allowed, MANAGE_PAYMENT_METHODS)
    plan = customer.get_billing().summary.plan
    target = plan.subscription_id if plan is not None and plan.is_paid else None
    answer = customer.create_add_payment_method_checkout_session(
        target_subscription_id=target, success_url=_success_url(), cancel_url=_cancel_url()
    )
    return _external(_remember_checkout(answer))


def _date(moment: Any) -> str:
    return date_filter(moment)


def add_routes(blueprint: Blueprint) -> None:
    blueprint.add_url_rule("/", "account", account)
    blueprint.add_url_rule("/pricing", "pricing", pricing)
    blueprint.add_url_rule("/checkout", "checkout", checkout, methods=["GET", "POST"])
    blueprint.add_url_rule("/checkout/return", "checkout_return", checkout_return)
    blueprint.add_url_rule("/change", "change", change, methods=["GET", "POST"])
    blueprint.add_url_rule("/cancel", "cancel", cancel, methods=["GET", "POST"])
    blueprint.add_url_rule("/uncancel", "uncancel", uncancel, methods=["POST"])
    blueprint.add_url_rule("/keep-plan", "keep_plan", keep_plan, methods=["POST"])
    blueprint.add_url_rule(
        "/payment-methods", "add_payment_method", add_payment_method, methods=["POST"]
    )
