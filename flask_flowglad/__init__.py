"""Flowglad billing for Flask.

Serves the protocol of Flowglad's React SDK at ``/api/flowglad/<subroute>``, tells views
what the logged-in customer's plan includes, and ships a sandbox to run all of it
without a Flowglad account.
"""

from __future__ import annotations

from ._version import __version__ as __version__
from .access import BillingUnavailable, FeatureNotAvailable, feature_required
from .billing import AnonymousBilling, BillingSnapshot
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
from .state import current_billing
from .webhook_event import WebhookEvent
from .webhooks import WebhookVerificationError, verify_webhook

__all__ = [
    "AnonymousBilling",
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
    "WebhookEvent",
    "WebhookVerificationError",
    "current_billing",
    "feature_required",
    "init_app",
    "verify_webhook",
]
