"""Flowglad billing for Flask.

Serves the protocol of Flowglad's React SDK at ``/api/flowglad/<subroute>``, tells views
what the logged-in customer's plan includes, and ships a sandbox to run all of it
without a Flowglad account.

The root is lazy (PEP 562): ``from flask_flowglad import Flowglad`` imports the extension
and Flask, but ``import flask_flowglad.client`` (or any module of the Flask-free core: the
client, the service, billing, errors, storage, webhook verification) loads neither Flask,
flask-login nor marshmallow, so a script or a worker pays only for what it uses.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__ as __version__

if TYPE_CHECKING:
    # `X as X`: an explicit re-export, for type checkers (the names resolve lazily below).
    from .access import BillingUnavailable as BillingUnavailable
    from .access import FeatureNotAvailable as FeatureNotAvailable
    from .access import feature_required as feature_required
    from .billing import AnonymousBilling as AnonymousBilling
    from .billing import BillingSnapshot as BillingSnapshot
    from .client import FlowgladClient as FlowgladClient
    from .deadline import request_deadline as request_deadline
    from .errors import BillingActionError as BillingActionError
    from .errors import BillingActionForbidden as BillingActionForbidden
    from .errors import ConfigurationError as ConfigurationError
    from .errors import ConfigurationWarning as ConfigurationWarning
    from .errors import FlowgladAPIError as FlowgladAPIError
    from .errors import FlowgladAuthenticationError as FlowgladAuthenticationError
    from .errors import FlowgladBadRequest as FlowgladBadRequest
    from .errors import FlowgladConflict as FlowgladConflict
    from .errors import FlowgladConnectionError as FlowgladConnectionError
    from .errors import FlowgladError as FlowgladError
    from .errors import FlowgladNotFound as FlowgladNotFound
    from .errors import FlowgladRateLimited as FlowgladRateLimited
    from .errors import FlowgladServerError as FlowgladServerError
    from .errors import FlowgladTimeout as FlowgladTimeout
    from .errors import IntervalChangeRefused as IntervalChangeRefused
    from .errors import IntervalChangeRequiresCheckout as IntervalChangeRequiresCheckout
    from .errors import InvalidCustomerId as InvalidCustomerId
    from .errors import InvalidUsageEvent as InvalidUsageEvent
    from .errors import SandboxWarning as SandboxWarning
    from .errors import UnknownUsageMeter as UnknownUsageMeter
    from .errors import UsageNotRecorded as UsageNotRecorded
    from .errors import UsageOutboxUnavailable as UsageOutboxUnavailable
    from .errors import WebhookVerificationError as WebhookVerificationError
    from .extension import Flowglad as Flowglad
    from .extension import init_app as init_app
    from .identity import CustomerIdentity as CustomerIdentity
    from .metering import UsageLimitReached as UsageLimitReached
    from .metering import metered as metered
    from .service import CustomerBilling as CustomerBilling
    from .service import PriceQuantity as PriceQuantity
    from .service import UsageEvent as UsageEvent
    from .state import current_billing as current_billing
    from .usage import PendingUsage as PendingUsage
    from .usage import UsageStatus as UsageStatus
    from .webhooks import WebhookEvent as WebhookEvent
    from .webhooks import verify_webhook as verify_webhook

#: Each public name, and the module it lives in.
_EXPORTS = {
    "AnonymousBilling": "billing",
    "BillingActionError": "errors",
    "BillingActionForbidden": "errors",
    "BillingSnapshot": "billing",
    "BillingUnavailable": "access",
    "ConfigurationError": "errors",
    "ConfigurationWarning": "errors",
    "CustomerBilling": "service",
    "CustomerIdentity": "identity",
    "FeatureNotAvailable": "access",
    "Flowglad": "extension",
    "FlowgladAPIError": "errors",
    "FlowgladAuthenticationError": "errors",
    "FlowgladBadRequest": "errors",
    "FlowgladClient": "client",
    "FlowgladConflict": "errors",
    "FlowgladConnectionError": "errors",
    "FlowgladError": "errors",
    "FlowgladNotFound": "errors",
    "FlowgladRateLimited": "errors",
    "FlowgladServerError": "errors",
    "FlowgladTimeout": "errors",
    "IntervalChangeRefused": "errors",
    "IntervalChangeRequiresCheckout": "errors",
    "InvalidCustomerId": "errors",
    "InvalidUsageEvent": "errors",
    "PendingUsage": "usage",
    "PriceQuantity": "service",
    "SandboxWarning": "errors",
    "UnknownUsageMeter": "errors",
    "UsageEvent": "service",
    "UsageLimitReached": "metering",
    "UsageNotRecorded": "errors",
    "UsageOutboxUnavailable": "errors",
    "UsageStatus": "usage",
    "WebhookEvent": "webhooks",
    "WebhookVerificationError": "errors",
    "current_billing": "state",
    "feature_required": "access",
    "init_app": "extension",
    "metered": "metering",
    "request_deadline": "deadline",
    "verify_webhook": "webhooks",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """Import a public name's module the first time the name is asked for."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
