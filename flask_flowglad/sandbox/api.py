"""``/api/v1/...`` requests in, Flowglad-shaped responses out.

:meth:`Api.handle` is the whole HTTP surface as one function of plain values, so the
in-process adapter and the real server answer identically. It checks the secret key, parses
and validates bodies (answering with §7.4's error shapes), and turns routes into calls on
:class:`~flask_flowglad.sandbox.state.State`.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from . import limits
from .errors import SandboxError, bad_request, issue, not_found
from .ids import new_id
from .state import State, Sub, UsageInput
from .wire import TEXT as _TEXT
from .wire import Response, check_key, json_answer, new_request_id, parse_body

Record = dict[str, Any]
Handler = Callable[["_Request"], tuple[int, Any]]
_USAGE_IDENTIFIERS = ("priceId", "priceSlug", "usageMeterId", "usageMeterSlug")
_TIMINGS = ("immediately", "at_end_of_current_billing_period")


@dataclass(frozen=True)
class Call:
    """One request the sandbox answered, for tests that count or inspect upstream calls."""

    method: str
    path: str
    query: dict[str, str]
    json: Any
    status: int


@dataclass
class Fault:
    """A canned failure for the next matching requests (outages, rate limits)."""

    status: int
    times: int
    method: str | None
    path: str | None
    body: bytes
    headers: dict[str, str]


@dataclass
class _Request:
    method: str
    path: str
    params: list[str]
    query: dict[str, list[str]]
    json: Any


class Api:
    """The REST API of one sandbox."""

    def __init__(
        self,
        state: State,
        *,
        secret_key: str,
        pages_url: Callable[[], str],
        lock: threading.RLock,
    ) -> None:
        self.state = state
        self.secret_key = secret_key
        self.pages_url = pages_url
        self.lock = lock
        self.calls: list[Call] = []
        self.faults: list[Fault] = []
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        r = self._route
        r("GET", "/customers/{}", self._get_customer)
        r("PUT", "/customers/{}", self._update_customer)
        r("POST", "/customers", self._create_customer)
        r("POST", "/customers/{}/archive", self._archive_customer)
        r("GET", "/customers/{}/billing", self._billing)
        r("GET", "/customers/{}/usage-balances", self._usage_balances)
        r("POST", "/checkout-sessions", self._create_checkout_session)
        r("GET", "/checkout-sessions/{}", self._get_checkout_session)
        r("POST", "/subscriptions", self._create_subscription)
        r("GET", "/subscriptions/{}", self._get_subscription)
        r("POST", "/subscriptions/{}/cancel", self._cancel)
        r("POST", "/subscriptions/{}/uncancel", self._uncancel)
        r("POST", "/subscriptions/{}/adjust", self._adjust)
        r("POST", "/subscriptions/{}/preview-adjust", self._preview_adjust)
        r("POST", "/subscriptions/{}/cancel-scheduled-adjustment", self._cancel_scheduled)
        r("POST", "/usage-events", self._usage_event)
        r("POST", "/usage-events/bulk", self._usage_events_bulk)
        r("GET", "/pricing-models/default", self._default_pricing_model)
        r("GET", "/resource-claims/{}/usages", self._resource_usages)
        r("GET", "/resource-claims/{}/usage", self._resource_usage)
        r("GET", "/resource-claims/{}/claims", self._resource_claims)
        r("POST", "/resource-claims/{}/claim", self._claim)
        r("POST", "/resource-claims/{}/release", self._release)

    def _route(self, method: str, template: str, handler: Handler) -> None:
        pattern = re.escape("/api/v1" + template).replace(re.escape("{}"), "([^/]+)")
        self._routes.append((method, re.compile(pattern + "/?$"), handler))

    # the core -----------------------------------------------------------------------------

    def handle(
        self,
        method: str,
        path: str,
        query: str | Mapping[str, list[str]],
        body: bytes,
        headers: Mapping[str, str],
    ) -> Response:
        """Answer one request like Flowglad's API; record it in :attr:`calls`."""
        method = method.upper()
        too_long = len(query) > limits.MAX_QUERY_BYTES if isinstance(query, str) else False
        params = (
            {}
            if too_long
            else parse_qs(query, keep_blank_values=True)
            if isinstance(query, str)
            else dict(query)
        )
        parsed = parse_body(body)
        with self.lock:
            status, out_headers, out_body = self._answer(
                method, path, params, parsed, headers, query_too_long=too_long
            )
            self.calls.append(
                Call(
                    method,
                    path,
                    {k: ",".join(v) for k, v in params.items()},
                    None if isinstance(parsed, SandboxError) or not body else parsed,
                    status,
                )
            )
        return status, out_headers, out_body

    def _answer(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        payload: Any,
        headers: Mapping[str, str],
        *,
        query_too_long: bool = False,
    ) -> Response:
        request_id = new_request_id()
        base_headers = {"X-Request-Id": request_id, "X-Trace-Id": new_id("trace")[-16:]}
        fault = self._take_fault(method, path)
        if fault is not None:
            return fault.status, {**base_headers, **fault.headers}, fault.body
        if not path.startswith("/api/v1/"):
            return 404, {**base_headers, "Content-Type": _TEXT}, b"Not Found"
        refused = check_key(headers, self.secret_key, base_headers)
        if refused is not None:
            return refused
        found = self._find_route(method, path)
        if found is None:
            return 404, {**base_headers, "Content-Type": _TEXT}, b"Not Found"
        handler, match = found

        def run() -> tuple[int, Any]:
            if query_too_long:
                raise bad_request(f"Query string longer than {limits.MAX_QUERY_BYTES} bytes")
            if isinstance(payload, SandboxError):
                raise payload
            params = [unquote(p) for p in match.groups()]
            return handler(_Request(method, path, params, query, payload))

        return json_answer(run, request_id, base_headers)

    def _find_route(self, method: str, path: str) -> tuple[Handler, re.Match[str]] | None:
        """An unknown path and a known path with another method are both "Not Found"."""
        for route_method, pattern, handler in self._routes:
            match = pattern.match(path)
            if match and route_method == method:
                return handler, match
        return None

    def _take_fault(self, method: str, path: str) -> Fault | None:
        for fault in self.faults:
            if (fault.method is None or fault.method == method) and (
                fault.path is None or fault.path in path
            ):
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    # customers ----------------------------------------------------------------------------

    def _get_customer(self, req: _Request) -> tuple[int, Any]:
        return 200, {"customer": self.state.find_customer(req.params[0])}

    def _create_customer(self, req: _Request) -> tuple[int, Any]:
        check = _Check()
        fields = check.obj(req.json, "customer", [])
        check.string(fields, "email", ["customer"])
        check.string(fields, "name", ["customer"])
        external_id = check.string(fields, "externalId", ["customer"], max_length=limits.MAX_ID)
        for key in ("logoURL", "iconURL", "domain", "userId"):
            check.string(fields, key, ["customer"], required=False, nullable=True)
        check.done()
        if not external_id:
            raise bad_request([issue(["customer", "externalId"], "externalId must not be empty")])
        customer, sub = self.state.create_customer(fields)
        data: Record = {"customer": customer}
        if sub is not None:
            data["subscription"] = self.state.sub_record(sub)
            data["subscriptionItems"] = self.state.item_records(sub)
        return 200, {"data": data}

    def _update_customer(self, req: _Request) -> tuple[int, Any]:
        check = _Check()
        fields = check.obj(req.json, "customer", [])
        for key in ("email", "name"):
            check.string(fields, key, ["customer"], required=False)
        for key in ("logoURL", "iconURL", "domain", "userId"):
            check.string(fields, key, ["customer"], required=False, nullable=True)
        check.done()
        return 200, {"customer": self.state.update_customer(req.params[0], fields)}

    def _archive_customer(self, req: _Request) -> tuple[int, Any]:
        return 200, {"customer": self.state.archive_customer(req.params[0])}

    def _billing(self, req: _Request) -> tuple[int, Any]:
        customer = self.state.find_customer(req.params[0])
        portal = f"{self.pages_url()}/portal/{customer['id']}"
        return 200, self.state.billing(customer, portal)

    def _usage_balances(self, req: _Request) -> tuple[int, Any]:
        customer = self.state.find_customer(req.params[0])
        wanted = _first(req.query, "subscriptionId")
        if wanted is not None:
            sub = self.state.subs.get(wanted)
            if sub is None or sub.record["customerId"] != customer["id"]:
                raise not_found(f"Subscription {wanted} not found")
            subs = [sub]
        else:
            subs = [s for s in self.state.subs_of(customer["id"]) if s.is_current]
        return 200, {"usageMeterBalances": [b for s in subs for b in self.state.balances(s)]}

    # checkout -----------------------------------------------------------------------------

    def _create_checkout_session(self, req: _Request) -> tuple[int, Any]:
        check = _Check()
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
        session = self.state.create_checkout_session(body)
        return 200, {"checkoutSession": session, "url": self.checkout_url(session["id"])}

    def checkout_url(self, session_id: str) -> str:
        return f"{self.pages_url()}/checkout/{session_id}"

    def _get_checkout_session(self, req: _Request) -> tuple[int, Any]:
        session = self.state.get_checkout_session(req.params[0])
        return 200, {"checkoutSession": session, "url": self.checkout_url(session["id"])}

    # subscriptions ------------------------------------------------------------------------

    def _create_subscription(self, req: _Request) -> tuple[int, Any]:
        check = _Check()
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
        interval = check.enum(
            body, "interval", [], ("day", "week", "month", "year"), required=False
        )
        interval_count = check.integer(
            body,
            "intervalCount",
            [],
            required=False,
            minimum=1,
            maximum=limits.MAX_INTERVAL_COUNT,
        )
        name = check.string(body, "name", [], required=False)
        metadata = check.metadata(body, "metadata", [])
        method_id = check.string(body, "defaultPaymentMethodId", [], required=False)
        check.done()
        state = self.state
        if "customerId" in body:
            customer = state.customer_by_id(body["customerId"])
        else:
            customer = state.find_customer(body["customerExternalId"])
        price = (
            state.pricing.prices.get(body["priceId"])
            if "priceId" in body
            else state.pricing.price_by_slug(body["priceSlug"])
        )
        if price is None and "priceSlug" in body:
            # server/routers/subscriptionsRouter.ts
            raise not_found(
                f'Price with slug "{body["priceSlug"]}" not found for this '
                "customer's pricing model"
            )
        if price is None:
            raise not_found(f"Price {body['priceId']} not found")
        if price["type"] == "usage":
            raise bad_request(
                f'Price "{price["id"]}" is a usage price and cannot be used to create a '
                "subscription directly. Use a subscription price instead."
            )
        sub = state.create_subscription(
            customer,
            price,
            quantity or 1,
            name=name,
            metadata=metadata,
            trial_end=trial_end,
            payment_method_id=method_id,
            interval=interval,
            interval_count=interval_count,
        )
        return 200, {"subscription": state.sub_record(sub)}

    def _get_subscription(self, req: _Request) -> tuple[int, Any]:
        return 200, {"subscription": self.state.sub_record(self.state.get_sub(req.params[0]))}

    def _cancel(self, req: _Request) -> tuple[int, Any]:
        check = _Check()
        cancellation = check.obj(req.json, "cancellation", [])
        timing = check.enum(cancellation, "timing", ["cancellation"], _TIMINGS)
        check.done()
        sub = self.state.cancel(self.state.get_sub(req.params[0]), str(timing))
        return 200, {"subscription": self.state.sub_record(sub)}

    def _uncancel(self, req: _Request) -> tuple[int, Any]:
        sub = self.state.uncancel(self.state.get_sub(req.params[0]))
        return 200, {"subscription": self.state.sub_record(sub)}

    def _adjustment(self, req: _Request) -> tuple[str, list[tuple[Record, int]], bool, str | None]:
        """The body of ``adjust`` and ``preview-adjust``: timing, priced items, proration,
        and the first price id or slug that names no price (refused in Flowglad's order,
        after the subscription's own checks)."""
        check = _Check()
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
        new_items = []
        missing: str | None = None
        for item in items:
            price = (
                self.state.pricing.prices.get(item["priceId"])
                if "priceId" in item
                else self.state.pricing.price_by_slug(item["priceSlug"])
            )
            if price is None:
                missing = missing or str(item.get("priceSlug") or item.get("priceId"))
                continue
            new_items.append((price, int(item.get("quantity", 1))))
        return str(timing), new_items, bool(prorate), missing

    def _adjust(self, req: _Request) -> tuple[int, Any]:
        timing, new_items, prorate, missing = self._adjustment(req)
        sub = self.state.get_sub(req.params[0])
        sub, resolved, is_upgrade = self.state.adjust(
            sub, timing, new_items, prorate, missing_price=missing
        )
        return 200, {
            "subscription": self.state.sub_record(sub),
            "subscriptionItems": self.state.item_records(sub),
            "resolvedTiming": resolved,
            "isUpgrade": is_upgrade,
        }

    def _preview_adjust(self, req: _Request) -> tuple[int, Any]:
        timing, new_items, prorate, missing = self._adjustment(req)
        sub = self.state.subs.get(req.params[0])
        if sub is None:
            # calculateAdjustmentPreview answers an unknown subscription as a refusal.
            now = self.state.clock.now()
            reason = f"Subscription not found: {req.params[0]}"
            return 200, {"canAdjust": False, "previewGeneratedAt": now, "reason": reason}
        return 200, self.state.preview_adjust(
            sub, timing, new_items, prorate, missing_price=missing
        )

    def _cancel_scheduled(self, req: _Request) -> tuple[int, Any]:
        sub = self.state.get_sub(req.params[0])
        count = self.state.cancel_scheduled_adjustment(sub)
        return 200, {"subscription": self.state.sub_record(sub), "canceledItemCount": count}

    # usage --------------------------------------------------------------------------------

    def _usage_event(self, req: _Request) -> tuple[int, Any]:
        check = _Check()
        raw = check.obj(req.json, "usageEvent", [])
        event = _usage_input(check, raw, ["usageEvent"])
        check.done()
        assert event is not None
        return 200, {"usageEvent": self.state.record_usage(event)}

    def _usage_events_bulk(self, req: _Request) -> tuple[int, Any]:
        check = _Check()
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
            events.append(_usage_input(check, item, ["usageEvents", i]))
        check.done()
        # All or nothing: check every event before recording any.
        for event in events:
            assert event is not None
            self.state.resolve_usage(event)
        recorded = [self.state.record_usage(e) for e in events if e is not None]
        return 200, {"usageEvents": recorded}

    def _default_pricing_model(self, req: _Request) -> tuple[int, Any]:
        return 200, {"pricingModel": self.state.pricing.record}

    # resources ----------------------------------------------------------------------------

    def _sub(self, req: _Request) -> Sub:
        return self.state.get_sub(req.params[0])

    def _resource_usages(self, req: _Request) -> tuple[int, Any]:
        sub = self._sub(req)
        slugs = _list_param(req.query, "resourceSlugs")
        ids = _list_param(req.query, "resourceIds")
        out = []
        for resource in self.state.granted_resources(sub):
            # Slugs win over ids when both are given, as in listResourceUsages.
            if slugs and resource["slug"] not in slugs:
                continue
            if not slugs and ids and resource["id"] not in ids:
                continue
            out.append(
                {
                    "usage": self.state.usage_of(sub, resource),
                    "claims": self.state.active_claims(sub, resource["id"]),
                }
            )
        return 200, out

    def _resource_usage(self, req: _Request) -> tuple[int, Any]:
        sub = self._sub(req)
        slug = _first(req.query, "resourceSlug")
        resource_id = _first(req.query, "resourceId")
        if (slug is None) == (resource_id is None):
            raise bad_request([issue([], "Provide exactly one of resourceSlug or resourceId")])
        resource = self.state.resource(slug=slug, resource_id=resource_id)
        return 200, {
            "usage": self.state.usage_of(sub, resource),
            "claims": self.state.active_claims(sub, resource["id"]),
        }

    def _resource_claims(self, req: _Request) -> tuple[int, Any]:
        sub = self._sub(req)
        slug = _first(req.query, "resourceSlug")
        resource_id = self.state.resource(slug=slug)["id"] if slug is not None else None
        return 200, {"claims": self.state.active_claims(sub, resource_id)}

    def _claim(self, req: _Request) -> tuple[int, Any]:
        check = _Check()
        body = req.json if isinstance(req.json, dict) else {}
        slug = check.string(body, "resourceSlug", [])
        kind = check.one_of(body, ("quantity", "externalId", "externalIds"), [])
        metadata = check.metadata(body, "metadata", [])
        quantity, external_ids = _claim_target(check, body, kind)
        check.done()
        sub = self._sub(req)
        resource = self.state.resource(slug=slug)
        claims, usage = self.state.claim(
            sub, resource, quantity=quantity, external_ids=external_ids, metadata=metadata
        )
        return 200, {"claims": claims, "usage": usage}

    def _release(self, req: _Request) -> tuple[int, Any]:
        check = _Check()
        body = req.json if isinstance(req.json, dict) else {}
        slug = check.string(body, "resourceSlug", [])
        kind = check.one_of(body, ("quantity", "externalId", "externalIds", "claimIds"), [])
        quantity, external_ids = _claim_target(check, body, kind)
        claim_ids = None
        if kind == "claimIds":
            claim_ids = check.string_list(body, "claimIds", [])
        check.done()
        sub = self._sub(req)
        resource = self.state.resource(slug=slug)
        released, usage = self.state.release(
            sub, resource, quantity=quantity, external_ids=external_ids, claim_ids=claim_ids
        )
        return 200, {"releasedClaims": released, "usage": usage}


# validation helpers ---------------------------------------------------------------------


class _Check:
    """Collects validation issues, then fails once with all of them (as zod does)."""

    def __init__(self) -> None:
        self.issues: list[Record] = []

    def done(self) -> None:
        if self.issues:
            raise bad_request(self.issues)

    def obj(self, data: Any, key: str, path: Sequence[str | int]) -> Record:
        value = data.get(key) if isinstance(data, dict) else None
        if not isinstance(value, dict):
            self.issues.append(issue([*path, key], "Required object", "invalid_type"))
            return {}
        return value

    def string(
        self,
        data: Record,
        key: str,
        path: Sequence[str | int],
        *,
        required: bool = True,
        nullable: bool = False,
        max_length: int = limits.MAX_STRING,
    ) -> str | None:
        if key not in data:
            if required:
                self.issues.append(issue([*path, key], "Required", "invalid_type"))
            return None
        value = data[key]
        if value is None and nullable:
            return None
        if not isinstance(value, str):
            self.issues.append(issue([*path, key], "Expected string", "invalid_type"))
            return None
        if len(value) > max_length:
            message = f"String must contain at most {max_length} character(s)"
            self.issues.append(issue([*path, key], message, "too_big"))
            return None
        return value

    def ids(self, data: Record, keys: tuple[str, ...], path: Sequence[str | int]) -> None:
        """Optional id or slug members: strings of at most :data:`~limits.MAX_ID`."""
        for key in keys:
            self.string(data, key, path, required=False, nullable=True, max_length=limits.MAX_ID)

    def url(self, data: Record, key: str, path: Sequence[str | int]) -> None:
        value = self.string(data, key, path)
        if value is not None:
            parts = urlsplit(value.strip())
            if parts.scheme not in ("http", "https") or not parts.netloc:
                self.issues.append(issue([*path, key], "Invalid url", "invalid_string"))

    def integer(
        self,
        data: Record,
        key: str,
        path: Sequence[str | int],
        *,
        required: bool = True,
        minimum: int | None = None,
        maximum: int = limits.MAX_AMOUNT,
    ) -> int | None:
        if key not in data or (data[key] is None and not required):
            if required:
                self.issues.append(issue([*path, key], "Required", "invalid_type"))
            return None
        value = data[key]
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            self.issues.append(issue([*path, key], "Expected integer", "invalid_type"))
            return None
        if minimum is not None and value < minimum:
            message = f"Number must be greater than or equal to {minimum}"
            self.issues.append(issue([*path, key], message, "too_small"))
            return None
        if value > maximum:
            message = f"Number must be less than or equal to {maximum}"
            self.issues.append(issue([*path, key], message, "too_big"))
            return None
        return value

    def enum(
        self,
        data: Record,
        key: str,
        path: Sequence[str | int],
        options: tuple[str, ...],
        *,
        required: bool = True,
    ) -> str | None:
        if key not in data and not required:
            return None
        value = data.get(key)
        if value not in options:
            expected = " | ".join(repr(o) for o in options)
            self.issues.append(issue([*path, key], f"Expected {expected}", "invalid_enum_value"))
            return None
        return str(value)

    def one_of(self, data: Record, keys: tuple[str, ...], path: Sequence[str | int]) -> str | None:
        present = [k for k in keys if data.get(k) is not None]
        if len(present) != 1:
            message = f"Provide exactly one of {', '.join(keys)}"
            self.issues.append(issue(path, message))
            return None
        return present[0]

    def metadata(self, data: Record, key: str, path: Sequence[str | int]) -> Record | None:
        value = data.get(key)
        if value is None:
            return None
        if (
            not isinstance(value, dict)
            or len(value) > limits.MAX_KEYS
            or not all(len(k) <= limits.MAX_ID for k in value)
            or not all(
                isinstance(v, (int, float, bool)) or (isinstance(v, str) and len(v) <= 500)
                for v in value.values()
            )
        ):
            message = (
                f"Expected an object of at most {limits.MAX_KEYS} members (keys up to "
                f"{limits.MAX_ID} characters): strings (up to 500 characters), numbers or "
                "booleans"
            )
            self.issues.append(issue([*path, key], message))
            return None
        return value

    def string_list(self, data: Record, key: str, path: Sequence[str | int]) -> list[str] | None:
        value = data.get(key)
        if (
            not isinstance(value, list)
            or not 0 < len(value) <= limits.MAX_LIST
            or not all(isinstance(v, str) and len(v) <= limits.MAX_ID for v in value)
        ):
            message = (
                f"Expected an array of 1 to {limits.MAX_LIST} strings of at most "
                f"{limits.MAX_ID} characters"
            )
            self.issues.append(issue([*path, key], message))
            return None
        return value


def _usage_input(check: _Check, raw: Record, path: Sequence[str | int]) -> UsageInput | None:
    before = len(check.issues)
    subscription_id = check.string(raw, "subscriptionId", path, max_length=limits.MAX_ID)
    amount = check.integer(raw, "amount", path, minimum=1)
    transaction_id = check.string(raw, "transactionId", path, max_length=limits.MAX_ID)
    kind = check.one_of(raw, _USAGE_IDENTIFIERS, path)
    identifier = check.string(raw, kind, path, max_length=limits.MAX_ID) if kind else None
    usage_date = check.integer(
        raw, "usageDate", path, required=False, minimum=0, maximum=limits.MAX_TIMESTAMP_MS
    )
    properties = raw.get("properties")
    if properties is not None and (
        not isinstance(properties, dict) or len(properties) > limits.MAX_KEYS
    ):
        message = f"Expected an object of at most {limits.MAX_KEYS} members"
        check.issues.append(issue([*path, "properties"], message))
    if len(check.issues) > before:
        return None
    assert subscription_id is not None and amount is not None and transaction_id is not None
    assert kind is not None and identifier is not None
    return UsageInput(
        subscription_id=subscription_id,
        amount=amount,
        transaction_id=transaction_id,
        identifier=(kind, identifier),
        usage_date=usage_date,
        properties=properties,
    )


def _claim_target(
    check: _Check, body: Record, kind: str | None
) -> tuple[int | None, list[str] | None]:
    if kind == "quantity":
        return check.integer(body, "quantity", [], minimum=1, maximum=limits.MAX_QUANTITY), None
    if kind == "externalId":
        value = check.string(body, "externalId", [], max_length=limits.MAX_ID)
        return None, [value] if value is not None else None
    if kind == "externalIds":
        return None, check.string_list(body, "externalIds", [])
    return None, None


def _first(query: dict[str, list[str]], key: str) -> str | None:
    values = query.get(key)
    return values[0] if values else None


def _list_param(query: dict[str, list[str]], key: str) -> list[str] | None:
    """Arrays arrive comma-joined (the Node client) or repeated (``requests``)."""
    values = query.get(key, []) + query.get(key + "[]", [])
    if not values:
        return None
    parts = [part for value in values for part in value.split(",") if part]
    if len(parts) > limits.MAX_LIST:
        raise bad_request([issue([key], f"Array must contain at most {limits.MAX_LIST} items")])
    return parts
