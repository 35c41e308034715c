"""The routes of Flowglad's REST API, each a function of one :class:`Request`.

Each handler checks its body (:mod:`.validation`) and runs the rules on the request's
account; :class:`~flask_flowglad.sandbox.api.Api` finds the route, opens the transaction
and answers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from . import limits
from .account import Account
from .errors import bad_request, issue, not_found
from .records import Record, Sub
from .rules import adjustments, checkout, customers, read_models, resources, subscriptions, usage
from .validation import Check, claim_target, first, list_param, usage_input

Handler = Callable[["Request"], tuple[int, Any]]
_TIMINGS = ("immediately", "at_end_of_current_billing_period")


@dataclass
class Request:
    """One API request, parsed, and the account it runs on."""

    method: str
    path: str
    params: list[str]
    query: dict[str, list[str]]
    json: Any
    account: Account
    #: Where the hosted pages are, as the caller sees them.
    pages_url: Callable[[], str]

    def sub(self) -> Sub:
        """The subscription the path names."""
        return self.account.get_sub(self.params[0])

    def checkout_url(self, session_id: str) -> str:
        return f"{self.pages_url()}/checkout/{session_id}"


def route_table() -> list[tuple[str, str, Handler]]:
    """``(method, path under /api/v1, handler)`` for every route."""
    return [
        ("GET", "/customers/{}", _get_customer),
        ("PUT", "/customers/{}", _update_customer),
        ("POST", "/customers", _create_customer),
        ("POST", "/customers/{}/archive", _archive_customer),
        ("GET", "/customers/{}/billing", _billing),
        ("GET", "/customers/{}/usage-balances", _usage_balances),
        ("POST", "/checkout-sessions", _create_checkout_session),
        ("GET", "/checkout-sessions/{}", _get_checkout_session),
        ("POST", "/subscriptions", _create_subscription),
        ("GET", "/subscriptions/{}", _get_subscription),
        ("POST", "/subscriptions/{}/cancel", _cancel),
        ("POST", "/subscriptions/{}/uncancel", _uncancel),
        ("POST", "/subscriptions/{}/adjust", _adjust),
        ("POST", "/subscriptions/{}/preview-adjust", _preview_adjust),
        ("POST", "/subscriptions/{}/cancel-scheduled-adjustment", _cancel_scheduled),
        ("POST", "/usage-events", _usage_event),
        ("POST", "/usage-events/bulk", _usage_events_bulk),
        ("GET", "/pricing-models/default", _default_pricing_model),
        ("GET", "/resource-claims/{}/usages", _resource_usages),
        ("GET", "/resource-claims/{}/usage", _resource_usage),
        ("GET", "/resource-claims/{}/claims", _resource_claims),
        ("POST", "/resource-claims/{}/claim", _claim),
        ("POST", "/resource-claims/{}/release", _release),
    ]


# customers --------------------------------------------------------------------------------


def _get_customer(req: Request) -> tuple[int, Any]:
    return 200, {"customer": req.account.find_customer(req.params[0])}


def _create_customer(req: Request) -> tuple[int, Any]:
    check = Check()
    fields = check.obj(req.json, "customer", [])
    check.string(fields, "email", ["customer"])
    check.string(fields, "name", ["customer"])
    external_id = check.string(fields, "externalId", ["customer"], max_length=limits.MAX_ID)
    for key in ("logoURL", "iconURL", "domain", "userId"):
        check.string(fields, key, ["customer"], required=False, nullable=True)
    check.done()
    if not external_id:
        raise bad_request([issue(["customer", "externalId"], "externalId must not be empty")])
    customer, sub = customers.create(req.account, fields)
    data: Record = {"customer": customer}
    if sub is not None:
        data["subscription"] = read_models.sub_record(sub)
        data["subscriptionItems"] = read_models.item_records(sub)
    return 200, {"data": data}


def _update_customer(req: Request) -> tuple[int, Any]:
    check = Check()
    fields = check.obj(req.json, "customer", [])
    for key in ("email", "name"):
        check.string(fields, key, ["customer"], required=False)
    for key in ("logoURL", "iconURL", "domain", "userId"):
        check.string(fields, key, ["customer"], required=False, nullable=True)
    check.done()
    return 200, {"customer": customers.update(req.account, req.params[0], fields)}


def _archive_customer(req: Request) -> tuple[int, Any]:
    return 200, {"customer": customers.archive(req.account, req.params[0])}


def _billing(req: Request) -> tuple[int, Any]:
    customer = req.account.find_customer(req.params[0])
    portal = f"{req.pages_url()}/portal/{customer['id']}"
    return 200, read_models.billing(req.account, customer, portal)


def _usage_balances(req: Request) -> tuple[int, Any]:
    account = req.account
    customer = account.find_customer(req.params[0])
    wanted = first(req.query, "subscriptionId")
    if wanted is not None:
        sub = account.records.subscriptions.get(wanted)
        if sub is None or sub.customer_id != customer["id"]:
            raise not_found(f"Subscription {wanted} not found")
        subs = [sub]
    else:
        subs = account.current_subs(customer["id"])
    return 200, {"usageMeterBalances": [b for s in subs for b in usage.balances(account, s)]}


# checkout ---------------------------------------------------------------------------------


def _create_checkout_session(req: Request) -> tuple[int, Any]:
    check = Check()
    body = check.obj(req.json, "checkoutSession", [])
    where = ["checkoutSession"]
    kind = check.enum(
        body, "type", where, ("product", "add_payment_method", "activate_subscription")
    )
    if body.get("anonymous") is True:
        raise bad_request("The sandbox does not support anonymous checkout sessions")
    check.string(body, "customerExternalId", where)
    check.url(body, "successUrl", where)
    check.url(body, "cancelUrl", where)
    check.string(body, "outputName", where, required=False)
    check.metadata(body, "outputMetadata", where)
    if kind == "product":
        check.one_of(body, ("priceId", "priceSlug"), where)
        check.ids(body, ("priceId", "priceSlug"), where)
        check.integer(
            body, "quantity", where, required=False, minimum=1, maximum=limits.MAX_QUANTITY
        )
    elif kind == "activate_subscription":
        check.string(body, "targetSubscriptionId", where)
    else:
        check.string(body, "targetSubscriptionId", where, required=False)
    check.done()
    session = checkout.create_session(req.account, body)
    return 200, {"checkoutSession": session, "url": req.checkout_url(session["id"])}


def _get_checkout_session(req: Request) -> tuple[int, Any]:
    session = checkout.get_session(req.account, req.params[0])
    return 200, {"checkoutSession": session, "url": req.checkout_url(session["id"])}


# subscriptions ----------------------------------------------------------------------------


def _create_subscription(req: Request) -> tuple[int, Any]:
    check = Check()
    body = req.json if isinstance(req.json, dict) else {}
    if not isinstance(req.json, dict):
        check.issues.append(issue([], "Expected object"))
    check.one_of(body, ("customerId", "customerExternalId"), [])
    check.one_of(body, ("priceId", "priceSlug"), [])
    check.ids(body, ("customerId", "customerExternalId", "priceId", "priceSlug"), [])
    quantity = check.integer(
        body, "quantity", [], required=False, minimum=1, maximum=limits.MAX_QUANTITY
    )
    trial_end = check.integer(
        body, "trialEnd", [], required=False, minimum=0, maximum=limits.MAX_TIMESTAMP_MS
    )
    interval = check.enum(body, "interval", [], ("day", "week", "month", "year"), required=False)
    interval_count = check.integer(
        body, "intervalCount", [], required=False, minimum=1, maximum=limits.MAX_INTERVAL_COUNT
    )
    name = check.string(body, "name", [], required=False)
    metadata = check.metadata(body, "metadata", [])
    method_id = check.string(body, "defaultPaymentMethodId", [], required=False)
    check.done()
    account = req.account
    if "customerId" in body:
        customer = account.customer_by_id(body["customerId"])
    else:
        customer = account.find_customer(body["customerExternalId"])
    sub = subscriptions.create(
        account,
        customer,
        _subscription_price(account, body),
        quantity or 1,
        name=name,
        metadata=metadata,
        trial_end=trial_end,
        payment_method_id=method_id,
        interval=interval,
        interval_count=interval_count,
    )
    return 200, {"subscription": read_models.sub_record(sub)}


def _subscription_price(account: Account, body: Record) -> Record:
    """The price ``POST /subscriptions`` names, refused as
    ``server/routers/subscriptionsRouter.ts`` refuses it."""
    pricing = account.pricing
    if "priceId" in body:
        price = pricing.prices.get(body["priceId"])
        if price is None:
            raise not_found(f"Price {body['priceId']} not found")
    else:
        price = pricing.price_by_slug(body["priceSlug"])
        if price is None:
            raise not_found(
                f'Price with slug "{body["priceSlug"]}" not found for this '
                "customer's pricing model"
            )
    if price["type"] == "usage":
        raise bad_request(
            f'Price "{price["id"]}" is a usage price and cannot be used to create a '
            "subscription directly. Use a subscription price instead."
        )
    return price


def _get_subscription(req: Request) -> tuple[int, Any]:
    return 200, {"subscription": read_models.sub_record(req.sub())}


def _cancel(req: Request) -> tuple[int, Any]:
    check = Check()
    cancellation = check.obj(req.json, "cancellation", [])
    timing = check.enum(cancellation, "timing", ["cancellation"], _TIMINGS)
    check.done()
    sub = subscriptions.cancel(req.account, req.sub(), str(timing))
    return 200, {"subscription": read_models.sub_record(sub)}


def _uncancel(req: Request) -> tuple[int, Any]:
    sub = subscriptions.uncancel(req.account, req.sub())
    return 200, {"subscription": read_models.sub_record(sub)}


def _adjustment(req: Request) -> tuple[str, list[tuple[Record, int]], bool, str | None]:
    """The body of ``adjust`` and ``preview-adjust``: timing, priced items, proration,
    and the first price id or slug that names no price (refused in Flowglad's order,
    after the subscription's own checks)."""
    check = Check()
    adjustment = check.obj(req.json, "adjustment", [])
    where = ["adjustment"]
    timing = check.enum(adjustment, "timing", where, (*_TIMINGS, "auto"))
    prorate = adjustment.get("prorateCurrentBillingPeriod", True)
    if not isinstance(prorate, bool):
        check.issues.append(issue([*where, "prorateCurrentBillingPeriod"], "Expected boolean"))
    items = adjustment.get("newSubscriptionItems")
    if not isinstance(items, list) or not 0 < len(items) <= limits.MAX_LIST:
        message = f"Expected an array of 1 to {limits.MAX_LIST} items"
        check.issues.append(issue([*where, "newSubscriptionItems"], message))
        items = []
    for i, item in enumerate(items):
        path: Sequence[str | int] = [*where, "newSubscriptionItems", i]
        if not isinstance(item, dict):
            check.issues.append(issue(path, "Expected object"))
            continue
        check.one_of(item, ("priceId", "priceSlug"), path)
        check.ids(item, ("priceId", "priceSlug"), path)
        check.integer(
            item, "quantity", path, required=False, minimum=1, maximum=limits.MAX_QUANTITY
        )
    check.done()
    pricing = req.account.pricing
    new_items = []
    missing: str | None = None
    for item in items:
        price = (
            pricing.prices.get(item["priceId"])
            if "priceId" in item
            else pricing.price_by_slug(item["priceSlug"])
        )
        if price is None:
            missing = missing or str(item.get("priceSlug") or item.get("priceId"))
            continue
        new_items.append((price, int(item.get("quantity", 1))))
    return str(timing), new_items, bool(prorate), missing


def _adjust(req: Request) -> tuple[int, Any]:
    timing, new_items, prorate, missing = _adjustment(req)
    sub, resolved, is_upgrade = adjustments.adjust(
        req.account, req.sub(), timing, new_items, prorate, missing_price=missing
    )
    return 200, {
        "subscription": read_models.sub_record(sub),
        "subscriptionItems": read_models.item_records(sub),
        "resolvedTiming": resolved,
        "isUpgrade": is_upgrade,
    }


def _preview_adjust(req: Request) -> tuple[int, Any]:
    timing, new_items, prorate, missing = _adjustment(req)
    account = req.account
    sub = account.records.subscriptions.get(req.params[0])
    if sub is None:
        # calculateAdjustmentPreview answers an unknown subscription as a refusal.
        return 200, adjustments.refused(account.now(), f"Subscription not found: {req.params[0]}")
    return 200, adjustments.preview(
        account, sub, timing, new_items, prorate, missing_price=missing
    )


def _cancel_scheduled(req: Request) -> tuple[int, Any]:
    sub = req.sub()
    count = adjustments.cancel_scheduled(req.account, sub)
    return 200, {"subscription": read_models.sub_record(sub), "canceledItemCount": count}


# usage ------------------------------------------------------------------------------------


def _usage_event(req: Request) -> tuple[int, Any]:
    check = Check()
    raw = check.obj(req.json, "usageEvent", [])
    event = usage_input(check, raw, ["usageEvent"])
    check.done()
    assert event is not None
    return 200, {"usageEvent": usage.record(req.account, event)}


def _usage_events_bulk(req: Request) -> tuple[int, Any]:
    check = Check()
    raw = req.json.get("usageEvents") if isinstance(req.json, dict) else None
    if not isinstance(raw, list) or not 0 < len(raw) <= limits.MAX_BULK_EVENTS:
        message = f"Expected an array of 1 to {limits.MAX_BULK_EVENTS} usage events"
        check.issues.append(issue(["usageEvents"], message))
        raw = []
    events = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            check.issues.append(issue(["usageEvents", i], "Expected object"))
            continue
        events.append(usage_input(check, item, ["usageEvents", i]))
    check.done()
    # All or nothing: check every event before recording any.
    valid = [event for event in events if event is not None]
    for event in valid:
        usage.resolve(req.account, event)
    return 200, {"usageEvents": [usage.record(req.account, e) for e in valid]}


def _default_pricing_model(req: Request) -> tuple[int, Any]:
    return 200, {"pricingModel": req.account.pricing.record}


# resources --------------------------------------------------------------------------------


def _resource_usages(req: Request) -> tuple[int, Any]:
    account, sub = req.account, req.sub()
    slugs = list_param(req.query, "resourceSlugs")
    ids = list_param(req.query, "resourceIds")
    out = []
    for resource in resources.granted(account, sub):
        # Slugs win over ids when both are given, as in listResourceUsages.
        if slugs and resource["slug"] not in slugs:
            continue
        if not slugs and ids and resource["id"] not in ids:
            continue
        out.append(
            {
                "usage": resources.usage_of(account, sub, resource),
                "claims": resources.active_claims(account, sub, resource["id"]),
            }
        )
    return 200, out


def _resource_usage(req: Request) -> tuple[int, Any]:
    account, sub = req.account, req.sub()
    slug = first(req.query, "resourceSlug")
    resource_id = first(req.query, "resourceId")
    if (slug is None) == (resource_id is None):
        raise bad_request([issue([], "Provide exactly one of resourceSlug or resourceId")])
    resource = resources.find(account, slug=slug, resource_id=resource_id)
    return 200, {
        "usage": resources.usage_of(account, sub, resource),
        "claims": resources.active_claims(account, sub, resource["id"]),
    }


def _resource_claims(req: Request) -> tuple[int, Any]:
    account, sub = req.account, req.sub()
    slug = first(req.query, "resourceSlug")
    resource_id = resources.find(account, slug=slug)["id"] if slug is not None else None
    return 200, {"claims": resources.active_claims(account, sub, resource_id)}


def _claim(req: Request) -> tuple[int, Any]:
    check = Check()
    body = req.json if isinstance(req.json, dict) else {}
    slug = check.string(body, "resourceSlug", [])
    kind = check.one_of(body, ("quantity", "externalId", "externalIds"), [])
    metadata = check.metadata(body, "metadata", [])
    quantity, external_ids = claim_target(check, body, kind)
    check.done()
    account, sub = req.account, req.sub()
    resource = resources.find(account, slug=slug)
    claims, usage_now = resources.claim(
        account, sub, resource, quantity=quantity, external_ids=external_ids, metadata=metadata
    )
    return 200, {"claims": claims, "usage": usage_now}


def _release(req: Request) -> tuple[int, Any]:
    check = Check()
    body = req.json if isinstance(req.json, dict) else {}
    slug = check.string(body, "resourceSlug", [])
    kind = check.one_of(body, ("quantity", "externalId", "externalIds", "claimIds"), [])
    quantity, external_ids = claim_target(check, body, kind)
    claim_ids = check.string_list(body, "claimIds", []) if kind == "claimIds" else None
    check.done()
    account, sub = req.account, req.sub()
    resource = resources.find(account, slug=slug)
    released, usage_now = resources.release(
        account, sub, resource, quantity=quantity, external_ids=external_ids, claim_ids=claim_ids
    )
    return 200, {"releasedClaims": released, "usage": usage_now}
