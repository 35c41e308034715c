"""The paid part of the app: a feature-gated page and a metered action."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required

from flask_flowglad import FlowgladError, UsageOutboxUnavailable, feature_required

from .csrf import protect
from .extensions import flowglad
from .plans import PRO_FEATURE, USAGE_METER

bp = protect(Blueprint("analytics", __name__, url_prefix="/analytics"))


def upgrade_prompt(feature_slug: str) -> ResponseReturnValue:
    """Shown instead of the analytics page to customers without the pro feature."""
    return render_template("upgrade.html", feature=feature_slug), 402


def available_calls() -> int | None:
    """What is left on the usage meter, or ``None`` when the plan has no such meter."""
    customer = flowglad.current_customer()
    balance = customer.get_billing().check_usage_balance(USAGE_METER) if customer else None
    return None if balance is None else int(balance.get("availableBalance") or 0)


@bp.route("/")
@login_required
@feature_required(PRO_FEATURE, on_denied=upgrade_prompt)
def index() -> str:
    return render_template(
        "analytics.html",
        calls=available_calls(),
        # A fresh id per rendered form: submitting the same form twice is billed once.
        transaction_id=f"run_{uuid.uuid4().hex}",
    )


@bp.route("/run", methods=["POST"])
@login_required
def run() -> ResponseReturnValue:
    """The metered endpoint: one usage event per call, refused once the balance (minus the
    usage recorded and not yet sent) is spent."""
    data = request.get_json(silent=True) if request.is_json else request.form
    if not isinstance(data, Mapping):
        data = {}
    calls = _positive_int(data.get("calls"), default=1)
    transaction_id = str(data.get("transaction_id") or f"run_{uuid.uuid4().hex}")

    customer = flowglad.current_customer()
    assert customer is not None, "login_required guarantees a customer"
    try:
        available = available_calls()
        if available is None or available < calls:
            return _answer(
                f"Out of API calls: this run needs {calls} and {available or 0} are left."
                " Upgrade your plan or wait for the next billing period.",
                status=402,
                remaining=available or 0,
            )
        # A local write in the usage outbox; a worker sends it to Flowglad in a batch.
        customer.record_usage(USAGE_METER, amount=calls, transaction_id=transaction_id)
    except (FlowgladError, UsageOutboxUnavailable):
        return _answer("Billing is unavailable right now; nothing was recorded.", status=503)
    # The form path shows the balance on the page it redirects to.
    remaining = available_calls() if request.is_json else None
    plural = "s" if calls != 1 else ""
    return _answer(
        f"Analysis done: {calls} API call{plural} used.", status=200, remaining=remaining
    )


def _positive_int(value: object, default: int) -> int:
    try:
        number = int(str(value)) if value not in (None, "") else default
    except ValueError:
        return default
    return max(1, number)


def _answer(message: str, *, status: int, remaining: int | None = None) -> ResponseReturnValue:
    """JSON for API clients; for the HTML form a flash message and a redirect back."""
    if request.is_json:
        key = "message" if status == 200 else "error"
        return jsonify({key: message, "availableBalance": remaining}), status
    flash(message, "success" if status == 200 else "error")
    return redirect(url_for("analytics.index"), code=303)
