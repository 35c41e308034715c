"""The billing page: a server-rendered shell around the React app in ``frontend/``, and
the two JSON routes it uses to change the billing interval (monthly to yearly), which is
a new plan through checkout, not an adjustment (see ``flask_flowglad.intervals``)."""

from __future__ import annotations

import os
from typing import Any

from flask import Blueprint, current_app, jsonify, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from flask_flowglad import BillingActionError, FlowgladError

from .billing_activity import recent
from .billing_identity import billing_identity
from .extensions import flowglad

bp = Blueprint("billing", __name__)

#: The Vite build's entry file, relative to the static folder.
BUNDLE = "dist/billing.js"


def bundle_built() -> bool:
    static = current_app.static_folder or ""
    return os.path.isfile(os.path.join(static, BUNDLE))


@bp.route("/billing")
@login_required
def page() -> str:
    config = {
        # Where the hosted checkout sends the customer back to.
        "successUrl": url_for("billing.page", checkout="success", _external=True),
        "cancelUrl": url_for("billing.page", checkout="canceled", _external=True),
        # Where flask-flowglad serves the React SDK's routes (and the plan-change preview).
        "apiPrefix": flowglad.settings.url_prefix,
    }
    return render_template(
        "billing.html",
        frontend_config=config,
        bundle=BUNDLE if bundle_built() else None,
        # Only "canceled" is said from the URL; a payment is confirmed by Flowglad.
        checkout=request.args.get("checkout"),
        activity=recent(billing_identity(current_user._get_current_object()).external_id),
    )


def _price_slug() -> str | None:
    body = request.get_json(silent=True) if request.is_json else None
    slug = body.get("priceSlug") if isinstance(body, dict) else None
    return slug if isinstance(slug, str) and slug else None


@bp.post("/billing/interval/preview")
@login_required
def preview_interval() -> ResponseReturnValue:
    """What switching to ``priceSlug`` (another interval) charges, and when it renews."""
    slug = _price_slug()
    customer = flowglad.current_customer()
    if slug is None or customer is None:
        return jsonify({"error": "Send {priceSlug} as JSON."}), 400
    try:
        change = customer.preview_interval_change(price_slug=slug)
    except BillingActionError as exc:
        return jsonify({"error": str(exc)}), 409
    except FlowgladError:
        return jsonify({"error": "Billing is unavailable right now."}), 503
    return jsonify(
        {
            "allowed": change.allowed,
            "reason": change.reason,
            "chargeNow": _money(change.charge_now),
            "renewsAt": change.renews_at.isoformat(),
            "currentPeriodEnd": _iso(change.current_period_end),
            "unused": _money(change.unused),
        }
    )


@bp.post("/billing/interval")
@login_required
def change_interval() -> ResponseReturnValue:
    """Start the switch: the checkout for the new price, the old plan ended (JSON only, so a
    form on another site cannot post it)."""
    slug = _price_slug()
    customer = flowglad.current_customer()
    if slug is None or customer is None:
        return jsonify({"error": "Send {priceSlug} as JSON."}), 400
    try:
        answer = customer.start_interval_change(
            price_slug=slug,
            success_url=url_for("billing.page", checkout="success", _external=True),
            cancel_url=url_for("billing.page", checkout="canceled", _external=True),
        )
    except BillingActionError as exc:
        return jsonify({"error": str(exc)}), 409
    except FlowgladError:
        return jsonify({"error": "Billing is unavailable right now; nothing changed."}), 503
    return jsonify({"id": answer["checkoutSession"]["id"], "url": answer["url"]})


def _money(money: Any) -> dict[str, Any] | None:
    return None if money is None else {"amount": money.amount, "currency": money.currency}


def _iso(moment: Any) -> str | None:
    return None if moment is None else moment.isoformat()
