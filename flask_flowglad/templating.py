"""What every Jinja template of the app can use: ``current_billing``, ``has_feature``,
``usage_balance`` and the ``flowglad_money`` / ``flowglad_date`` filters.

Nothing is read until a template asks: ``current_billing`` is the same lazy proxy views
use, so a page that never mentions billing costs no call to Flowglad.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from flask import Flask, current_app
from werkzeug.local import LocalProxy

from .access import BillingUnavailable
from .deadline import request_deadline
from .errors import FlowgladError, is_outage
from .formatting import format_date, format_money
from .state import current_billing, get_state, load_current_billing
from .summary import Money

logger = logging.getLogger("flask_flowglad")

#: ``has_feature``'s default: the fail-open policy decides.
_POLICY = object()


def has_feature(feature_slug: str, default: Any = _POLICY) -> bool:
    """``{% if has_feature('advanced_analytics') %}``: ``False`` for anonymous visitors.

    Decides as ``@feature_required`` does, so a template never shows what the view behind
    a link would refuse. It never raises: a check in a navigation bar must not turn an
    outage into an error on every page. When Flowglad cannot be asked it answers
    ``default``, or ``FLOWGLAD_FAIL_OPEN`` when no default is given.
    """
    state = get_state()
    try:
        customer = state.current_customer()
        if customer is None:
            return False
        with request_deadline(state.settings.request_deadline):
            # The plan read: a usage event since does not send it to Flowglad, and a
            # stale billing may answer while Flowglad fails.
            return customer.check_feature_access(feature_slug)
    except FlowgladError as exc:
        if default is not _POLICY:
            answer = bool(default)
        else:
            # As @feature_required: only an outage is opened by the policy.
            answer = state.settings.fail_open and is_outage(exc)
        logger.warning(
            "has_feature(%r) answered %r: billing unavailable (%s)", feature_slug, answer, exc
        )
        return answer


def usage_balance(usage_meter_slug: str) -> Any:
    """``{{ usage_balance('api_calls') }}``: the meter's available balance; 0 for anonymous
    visitors and customers without the meter.

    Flowglad unreachable is :exc:`~flask_flowglad.BillingUnavailable` (503), as for a
    gated view.
    """
    try:
        record = current_billing.check_usage_balance(usage_meter_slug)
    except FlowgladError as exc:
        logger.warning("Flowglad billing read failed for %r: %s", usage_meter_slug, exc)
        raise BillingUnavailable() from exc
    return 0 if record is None else record.get("availableBalance", 0)


def _billing_for_templates() -> Any:
    """``current_billing`` as templates see it. A failed read is
    :exc:`~flask_flowglad.BillingUnavailable` (503, shown by the app's handler in its
    layout), as in ``usage_balance``, instead of an unhandled error's 500 page."""
    try:
        return load_current_billing()
    except FlowgladError as exc:
        logger.warning("current_billing in a template: billing unavailable (%s)", exc)
        raise BillingUnavailable() from exc


#: What templates get as ``current_billing``: read lazily, once per request, like the
#: views' proxy.
template_billing = LocalProxy(_billing_for_templates)


def money_filter(money: Money | None) -> str:
    """``{{ plan.total | flowglad_money }}``: ``$20.00``, in the request's locale when the
    app uses flask-babel."""
    return format_money(money, request_locale())


def date_filter(moment: datetime | None) -> str:
    """``{{ plan.renews_at | flowglad_date }}``: ``Jan 7, 2027``, with no-break spaces so a
    date is never split over two lines."""
    return format_date(moment, request_locale()).replace(" ", "\u00a0")


def request_locale() -> Any:
    """flask-babel's locale for the request, when the app set flask-babel up."""
    if "babel" not in current_app.extensions:
        return None
    try:
        from flask_babel import get_locale
    except ImportError:  # another "babel" extension
        return None
    return get_locale()


def template_context() -> dict[str, Any]:
    """The app's context processor: registered by ``init_app``."""
    return {
        "current_billing": template_billing,
        "has_feature": has_feature,
        "usage_balance": usage_balance,
    }


def register_templating(app: Flask) -> None:
    """The context processor and the filters, for every template of ``app``."""
    app.context_processor(template_context)
    app.add_template_filter(money_filter, "flowglad_money")
    app.add_template_filter(date_filter, "flowglad_date")
