"""What every Jinja template of the app can use: ``current_billing``, ``has_feature`` and
``usage_balance``.

Nothing is read until a template asks: ``current_billing`` is the same lazy proxy views
use, so a page that never mentions billing costs no call to Flowglad.
"""

from __future__ import annotations

import logging
from typing import Any

from .access import BillingUnavailable, feature_allowed
from .errors import FlowgladError
from .state import current_billing

logger = logging.getLogger("flask_flowglad")


def has_feature(feature_slug: str) -> bool:
    """``{% if has_feature('advanced_analytics') %}``: ``False`` for anonymous visitors.

    Decides as ``@feature_required`` does, so a template never shows what the view
    behind a link would refuse (``FLOWGLAD_FAIL_OPEN`` included).
    """
    return feature_allowed(feature_slug) is True


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


def template_context() -> dict[str, Any]:
    """The app's context processor: registered by ``init_app``."""
    return {
        "current_billing": current_billing,
        "has_feature": has_feature,
        "usage_balance": usage_balance,
    }
