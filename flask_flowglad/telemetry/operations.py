"""Which Flowglad operation each call of the client is, and its path as it may be shown.

An operation's name is what a dashboard groups by: ``customers.billing.read`` for every
customer's billing read, whoever the customer. Of the ids in Flowglad's paths, one is the
app's own: the customer's external id (a user's id, an email, an organization's slug). It
is never shown: its path segment reads ``REDACTED`` (the word OpenTelemetry's HTTP
conventions use for a redacted part of a URL), and the customer is named by a keyed hash.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

__all__ = [
    "REDACTED",
    "ROUTES",
    "Route",
    "route_of",
    "shown_base_url",
    "shown_path",
    "shown_paths",
]

#: Shown in place of the customer's external id, and of a URL's credentials.
REDACTED = "REDACTED"
#: Where Flowglad's REST API lives on its host.
API_PREFIX = "/api/v1/"
#: The path below :data:`API_PREFIX` of every customer's own resources.
_CUSTOMERS = "customers/"

#: Every call the client makes: method, path below ``/api/v1/``, operation. ``{customer}``
#: is the customer's external id; ``{id}`` one of Flowglad's own ids.
ROUTES: tuple[tuple[str, str, str], ...] = (
    ("GET", "customers/{customer}", "customers.read"),
    ("POST", "customers", "customers.create"),
    ("PUT", "customers/{customer}", "customers.update"),
    ("POST", "customers/{customer}/archive", "customers.archive"),
    ("GET", "customers/{customer}/billing", "customers.billing.read"),
    ("GET", "customers/{customer}/usage-balances", "customers.usage_balances.read"),
    ("POST", "checkout-sessions", "checkout_sessions.create"),
    ("GET", "checkout-sessions/{id}", "checkout_sessions.read"),
    ("POST", "subscriptions", "subscriptions.create"),
    ("GET", "subscriptions/{id}", "subscriptions.read"),
    ("POST", "subscriptions/{id}/cancel", "subscriptions.cancel"),
    ("POST", "subscriptions/{id}/uncancel", "subscriptions.uncancel"),
    ("POST", "subscriptions/{id}/adjust", "subscriptions.adjust"),
    ("POST", "subscriptions/{id}/preview-adjust", "subscriptions.preview_adjust"),
    (
        "POST",
        "subscriptions/{id}/cancel-scheduled-adjustment",
        "subscriptions.cancel_scheduled_adjustment",
    ),
    ("POST", "usage-events", "usage_events.create"),
    ("POST", "usage-events/bulk", "usage_events.create_bulk"),
    ("GET", "pricing-models/default", "pricing_models.default.read"),
    ("GET", "resource-claims/{id}/usages", "resource_claims.usages.read"),
    ("GET", "resource-claims/{id}/usage", "resource_claims.usage.read"),
    ("GET", "resource-claims/{id}/claims", "resource_claims.claims.read"),
    ("POST", "resource-claims/{id}/claim", "resource_claims.claim"),
    ("POST", "resource-claims/{id}/release", "resource_claims.release"),
)


@dataclass(frozen=True)
class Route:
    """What a call is: its operation, its path template, and the customer it names."""

    operation: str
    #: The path with ``{customer}`` and ``{id}`` for its ids (``url.template``).
    template: str | None
    #: The customer's external id, when the path or the body names one.
    customer: str | None = None


def _pattern(template: str) -> re.Pattern[str]:
    """A template as a regular expression: each ``{customer}`` or ``{id}`` one segment."""
    escaped = re.escape(API_PREFIX + template)
    return re.compile(re.sub(r"\\\{(?:customer|id)\\\}", "[^/]+", escaped) + "$")


_MATCHERS: dict[str, list[tuple[re.Pattern[str], str, str]]] = {}
for _method, _template, _operation in ROUTES:
    _MATCHERS.setdefault(_method, []).append(
        (_pattern(_template), API_PREFIX + _template, _operation)
    )


def route_of(method: str, path: str, body: Any = None) -> Route:
    """The route of a call of the client; an unknown path gets a name of its first
    segment (a client method added without a line in :data:`ROUTES`: a test catches it)."""
    for pattern, template, operation in _MATCHERS.get(method, ()):
        if pattern.match(path):
            return Route(operation, template, _customer_of(path, body))
    first = path.removeprefix(API_PREFIX).split("/", 1)[0].replace("-", "_") or "api"
    return Route(f"{first}.{method.lower()}", None, _customer_of(path, body))


def _customer_of(path: str, body: Any) -> str | None:
    """The customer's external id in a path of :data:`ROUTES`, or in a body that names
    the customer: ``customerExternalId`` (a checkout session's, a subscription's), or a
    new ``customer``'s ``externalId``."""
    if path.startswith(API_PREFIX + _CUSTOMERS):
        segment = path[len(API_PREFIX + _CUSTOMERS) :].split("/", 1)[0]
        return unquote(segment) if segment else None
    if not isinstance(body, dict):
        return None
    for part in (body, *(value for value in body.values() if isinstance(value, dict))):
        named = part.get("customerExternalId")
        if isinstance(named, str):
            return named
    customer = body.get("customer")
    named = customer.get("externalId") if isinstance(customer, dict) else None
    return named if isinstance(named, str) else None


def shown_path(path: str) -> str:
    """``path`` with the customer's external id replaced by :data:`REDACTED`."""
    prefix = API_PREFIX + _CUSTOMERS
    if not path.startswith(prefix) or len(path) == len(prefix):
        return path
    _, slash, rest = path[len(prefix) :].partition("/")
    return f"{prefix}{REDACTED}{slash}{rest}"


_CUSTOMER_SEGMENT = re.compile(re.escape(API_PREFIX + _CUSTOMERS) + r"[^/\s?#'\"]+")


def shown_paths(text: str) -> str:
    """``text`` (an error of ``requests`` that quotes the URL) with every customer's id
    in a path replaced by :data:`REDACTED`."""
    return _CUSTOMER_SEGMENT.sub(API_PREFIX + _CUSTOMERS + REDACTED, text)


def shown_base_url(base_url: str) -> str:
    """The API's base URL without credentials: ``https://REDACTED:REDACTED@host`` when it
    has any, as OpenTelemetry's conventions ask of ``url.full``."""
    parts = urlsplit(base_url)
    if "@" not in parts.netloc:
        return base_url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{REDACTED}:{REDACTED}@{host}"))
