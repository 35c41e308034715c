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
from .formatting import date_of
from .plans import PRO_FEATURE, REPORT_METER, USAGE_METER

bp = protect(Blueprint("analytics", __name__, url_prefix="/analytics"))


def upgrade_prompt(feature_slug: str) -> ResponseReturnValue:
    """Shown instead of the analytics page to customers without the pro feature."""
    return render_template("upgrade.html", feature=feature_slug), 402


def available_calls(meter: str = USAGE_METER) -> int | None:
    """What is left on a usage meter, or ``None`` when the plan has no such meter."""
    customer = flowglad.current_customer()
    balance = customer.get_billing().check_usage_balance(meter) if customer else None
    return None if balance is None else int(balance.get("availableBalance") or 0)


def out_of_calls(calls: int, available: int) -> str:
    """Why a run is refused, and what the customer can do: a Pro customer waits for the
    renewal (there is no bigger plan to upgrade to), anyone else may upgrade."""
    plan = flowglad.current_customer().get_billing().plan  # type: ignore[union-attr]
    renews = date_of(plan.renews_at) if plan is not None and plan.renews_at else None
    message = f"Out of API calls: this run needs {calls} and {available} are left."
    if plan is not None and plan.is_paid:
        return message + (f" Your calls renew on {renews}." if renews else "")
    return (
        message
        + " Upgrade to Pro for 10,000 calls a month"
        + (f", or wait until {renews}." if renews else ".")
    )


@bp.route("/")
@login_required
@feature_required(PRO_FEATURE, on_denied=upgrade_prompt)
def index() -> str:
    return render_template(
        "analytics.html",
        calls=available_calls(),
        reports=available_calls(REPORT_METER) or 0,
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
                out_of_calls(calls, available or 0), status=402, remaining=available or 0
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


@bp.route("/report", methods=["POST"])
@login_required
@feature_required(PRO_FEATURE, on_denied=upgrade_prompt)
def premium_report() -> ResponseReturnValue:
    """A premium report: one of the report pack's credits, refused when none is left."""
    customer = flowglad.current_customer()
    assert customer is not None
    try:
        if not available_calls(REPORT_METER):
            return _answer(
                "No premium reports left: buy a report pack on the billing page.", status=402
            )
        customer.create_usage_event(
            usage_meter_slug=REPORT_METER,
            amount=1,
            transaction_id=str(request.form.get("transaction_id") or f"report_{uuid.uuid4().hex}"),
        )
    except FlowgladError:
        return _answer("Billing is unavailable right now; nothing was recorded.", status=503)
    return _answer("Premium report exported.", status=200)


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
