"""Flowglad billing for Flask.

Serves the protocol of Flowglad's React SDK at ``/api/flowglad/<subroute>``, tells views
what the logged-in customer's plan includes, and ships a sandbox to run all of it
without a Flowglad account.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from werkzeug.local import LocalProxy

from .access import BillingUnavailable, FeatureNotAvailable, feature_required
from .billing import BillingSnapshot
from .client import FlowgladClient
from .config import ConfigurationError
from .errors import (
    BillingActionError,
    FlowgladAPIError,
    FlowgladAuthenticationError,
    FlowgladBadRequest,
    FlowgladConflict,
    FlowgladConnectionError,
    FlowgladError,
    FlowgladNotFound,
    FlowgladRateLimited,
    FlowgladServerError,
    FlowgladTimeout,
)
from .extension import Flowglad, SandboxWarning, init_app
from .identity import CustomerIdentity, InvalidCustomerId
from .service import CustomerBilling, PriceQuantity, UsageEvent
from .state import load_current_billing
from .webhooks import WebhookVerificationError, verify_webhook

__version__ = "0.1.0.dev0"

#: The logged-in customer's billing, read at most once per request; ``None`` when
#: nobody is logged in. ``if current_billing and current_billing.check_feature_access(...)``.
current_billing: BillingSnapshot | None
if TYPE_CHECKING:
    current_billing = None
else:
    current_billing = LocalProxy(load_current_billing)

__all__ = [
    "BillingActionError",
    "BillingSnapshot",
    "BillingUnavailable",
    "ConfigurationError",
    "CustomerBilling",
    "CustomerIdentity",
    "FeatureNotAvailable",
    "Flowglad",
    "FlowgladAPIError",
    "FlowgladAuthenticationError",
    "FlowgladBadRequest",
    "FlowgladClient",
    "FlowgladConflict",
    "FlowgladConnectionError",
    "FlowgladError",
    "FlowgladNotFound",
    "FlowgladRateLimited",
    "FlowgladServerError",
    "FlowgladTimeout",
    "InvalidCustomerId",
    "PriceQuantity",
    "SandboxWarning",
    "UsageEvent",
    "WebhookVerificationError",
    "current_billing",
    "feature_required",
    "init_app",
    "verify_webhook",
]
