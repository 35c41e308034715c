"""Contract tests: every endpoint's success and error answers have Flowglad's shapes.

The ``api`` fixture validates each response (see conftest); these tests make sure every
endpoint and its error cases are actually exercised, and that the validation can fail.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pytest

from flask_flowglad.sandbox import Sandbox

from .sandbox_helpers import SPEC_PATH, ApiClient, Contract


def test_the_openapi_document_is_the_copy_its_readme_names(contract: Contract) -> None:
    """A formatter or a hand edit would change what the sandbox is checked against."""
    readme = (SPEC_PATH.parent / "README.md").read_text(encoding="utf-8")
    recorded = re.search(r"SHA-256 is\s+`([0-9a-f]{64})`", readme)
    assert recorded is not None, "tests/data/README.md records the document's SHA-256"
    assert hashlib.sha256(SPEC_PATH.read_bytes()).hexdigest() == recorded.group(1)
    assert contract.spec["openapi"].startswith("3.")
    assert contract.spec["info"]["title"] == "Flowglad API"


def test_validation_rejects_a_response_with_a_wrong_shape(contract: Contract) -> None:
    sandbox = Sandbox()
    status, headers, body = sandbox.handle(
        "GET", "/api/v1/pricing-models/default", headers={"Authorization": sandbox.secret_key}
    )
    contract.check("GET", "/api/v1/pricing-models/default", status, body, headers)
    broken = body.replace(b'"isDefault": true', b'"isDefault": "yes"', 1)
    with pytest.raises(AssertionError, match="does not match"):
        contract.check("GET", "/api/v1/pricing-models/default", status, broken, headers)
    with pytest.raises(AssertionError, match="§7.4"):
        contract.check("GET", "/api/v1/customers/x", 404, b'{"message": "gone"}', headers)


def _every_endpoint(api: ApiClient, sandbox: Sandbox) -> None:
    """One scenario touching each endpoint with a success and its typical errors."""
    ext = "contract-user"
    free = api.create_customer(ext)
    sub_id = free["subscription"]["id"]
    assert (
        api.post(
            "/api/v1/customers",
            json={"customer": {"externalId": ext, "name": "Ada", "email": "a@example.com"}},
        ).status_code
        == 409
    )
    assert api.post("/api/v1/customers", json={"customer": {"name": "x"}}).status_code == 400
    assert api.get(f"/api/v1/customers/{ext}").status_code == 200
    assert api.get("/api/v1/customers/nobody").status_code == 404
    assert api.put(f"/api/v1/customers/{ext}", json={"customer": {"name": "Ada L."}}).ok
    assert api.put("/api/v1/customers/nobody", json={"customer": {"name": "x"}}).status_code == 404
    assert api.get("/api/v1/customers/nobody/billing").status_code == 404
    assert api.get(f"/api/v1/customers/{ext}/usage-balances").ok
    assert api.get(f"/api/v1/customers/{ext}/usage-balances", params={"subscriptionId": sub_id}).ok
    assert (
        api.get(
            f"/api/v1/customers/{ext}/usage-balances", params={"subscriptionId": "sub_other"}
        ).status_code
        == 404
    )
    assert api.get("/api/v1/pricing-models/default").ok

    # checkout sessions of every type, then paid on the hosted page
    product = api.checkout(ext, priceSlug="pro_monthly", quantity=1, outputName="Pro")
    session_id = product["checkoutSession"]["id"]
    assert api.get(f"/api/v1/checkout-sessions/{session_id}").ok
    assert api.get("/api/v1/checkout-sessions/chckt_session_missing").status_code == 404
    sandbox.complete_checkout(session_id)
    assert (
        api.get(f"/api/v1/checkout-sessions/{session_id}").json()["checkoutSession"]["status"]
        == "succeeded"
    )
    one_time = api.checkout(ext, priceSlug="report_pack")
    sandbox.complete_checkout(one_time["checkoutSession"]["id"])
    pro_id = api.billing(ext)["currentSubscription"]["id"]
    add_pm = api.checkout(ext, type="add_payment_method", targetSubscriptionId=pro_id)
    assert api.get(f"/api/v1/checkout-sessions/{add_pm['checkoutSession']['id']}").ok
    activate = api.checkout(ext, type="activate_subscription", targetSubscriptionId=pro_id)
    assert activate["checkoutSession"]["type"] == "activate_subscription"
    bad = {"checkoutSession": {"type": "product", "customerExternalId": ext}}
    assert api.post("/api/v1/checkout-sessions", json=bad).status_code == 400

    # billing with a paid plan, invoices, purchases, payment methods
    billing = api.billing(ext)
    assert billing["invoices"] and billing["purchases"] and billing["paymentMethods"]

    # subscriptions
    assert api.get(f"/api/v1/subscriptions/{pro_id}").ok
    assert api.get("/api/v1/subscriptions/sub_missing").status_code == 404
    created = api.post(
        "/api/v1/subscriptions", json={"customerExternalId": ext, "priceSlug": "pro_yearly"}
    )
    assert created.ok
    assert api.post("/api/v1/subscriptions", json={"priceSlug": "pro_yearly"}).status_code == 400
    extra_id = created.json()["subscription"]["id"]
    adjust = {
        "adjustment": {
            "timing": "auto",
            "newSubscriptionItems": [{"priceSlug": "free", "quantity": 1}],
        }
    }
    preview = api.post(f"/api/v1/subscriptions/{extra_id}/preview-adjust", json=adjust)
    assert preview.json()["resolvedTiming"] == "at_end_of_current_billing_period"
    assert api.post(f"/api/v1/subscriptions/{extra_id}/adjust", json=adjust).ok
    undo = f"/api/v1/subscriptions/{extra_id}/cancel-scheduled-adjustment"
    assert api.post(undo).json()["canceledItemCount"] == 1
    assert api.post(undo).status_code == 400
    adjust_now = {
        "adjustment": {
            "timing": "immediately",
            "newSubscriptionItems": [{"priceSlug": "pro_yearly", "quantity": 2}],
            "prorateCurrentBillingPeriod": False,
        }
    }
    bad_preview = {"adjustment": {"timing": "soon"}}
    assert (
        api.post(f"/api/v1/subscriptions/{extra_id}/preview-adjust", json=bad_preview).status_code
        == 400
    )
    assert api.post(f"/api/v1/subscriptions/{extra_id}/adjust", json=adjust_now).ok
    assert (
        api.post(
            f"/api/v1/subscriptions/{extra_id}/adjust", json={"adjustment": {"timing": "soon"}}
        ).status_code
        == 400
    )
    at_end = {"cancellation": {"timing": "at_end_of_current_billing_period"}}
    assert api.post(f"/api/v1/subscriptions/{extra_id}/cancel", json=at_end).ok
    assert api.post(f"/api/v1/subscriptions/{extra_id}/uncancel", json={}).ok
    assert api.post("/api/v1/subscriptions/sub_missing/uncancel").status_code == 404
    now = {"cancellation": {"timing": "immediately"}}
    assert api.post(f"/api/v1/subscriptions/{extra_id}/cancel", json=now).ok
    free_id = api.billing(ext)["subscriptions"][0]["id"]
    assert api.post(f"/api/v1/subscriptions/{free_id}/cancel", json=now).status_code == 400
    sandbox.advance_billing_period(ext)

    # usage events
    event = {
        "subscriptionId": pro_id,
        "amount": 3,
        "transactionId": "txn-1",
        "usageMeterSlug": "api_calls",
    }
    assert api.post("/api/v1/usage-events", json={"usageEvent": event}).ok
    assert (
        api.post("/api/v1/usage-events", json={"usageEvent": {**event, "amount": 0}}).status_code
        == 400
    )
    assert (
        api.post(
            "/api/v1/usage-events",
            json={"usageEvent": {**event, "usageMeterSlug": "nope", "transactionId": "t9"}},
        ).status_code
        == 404
    )
    bulk = [
        {**event, "transactionId": "txn-2"},
        {
            **event,
            "transactionId": "txn-3",
            "usageMeterSlug": None,
            "priceSlug": "api_call_overage",
        },
    ]
    bulk[1] = {k: v for k, v in bulk[1].items() if v is not None}
    assert api.post("/api/v1/usage-events/bulk", json={"usageEvents": bulk}).ok
    assert api.post("/api/v1/usage-events/bulk", json={"usageEvents": []}).status_code == 400
    assert (
        api.post(
            "/api/v1/usage-events", data=b"{not json", headers={"Content-Type": "application/json"}
        ).status_code
        == 400
    )

    # resources
    base = f"/api/v1/resource-claims/{pro_id}"
    assert api.post(f"{base}/claim", json={"resourceSlug": "seats", "quantity": 2}).ok
    assert api.post(f"{base}/claim", json={"resourceSlug": "seats", "externalIds": ["a", "b"]}).ok
    assert (
        api.post(f"{base}/claim", json={"resourceSlug": "seats", "quantity": 99}).status_code
        == 400
    )
    assert api.get(f"{base}/usages").ok
    assert api.get("/api/v1/resource-claims/sub_missing/usages").status_code == 404
    assert api.get(f"{base}/usage", params={"resourceSlug": "seats"}).ok
    assert api.get(f"{base}/usage").status_code == 400
    assert api.get(f"{base}/claims", params={"resourceSlug": "seats"}).ok
    assert api.get("/api/v1/resource-claims/sub_missing/claims").status_code == 404
    assert api.post(f"{base}/release", json={"resourceSlug": "seats", "quantity": 1}).ok
    assert api.post(f"{base}/release", json={"resourceSlug": "seats", "externalId": "a"}).ok
    assert api.post(f"{base}/release", json={"resourceSlug": "seats"}).status_code == 400

    # archive last: the customer disappears from lookups
    assert api.post(f"/api/v1/customers/{ext}/archive").ok
    assert api.get(f"/api/v1/customers/{ext}").status_code == 404
    # auth and unknown routes: plain text
    assert (
        api.get("/api/v1/pricing-models/default", headers={"Authorization": "sk_x"}).status_code
        == 401
    )


ENDPOINTS: set[tuple[str, str]] = {
    ("POST", "/api/v1/customers"),
    ("GET", "/api/v1/customers/{externalId}"),
    ("PUT", "/api/v1/customers/{externalId}"),
    ("POST", "/api/v1/customers/{externalId}/archive"),
    ("GET", "/api/v1/customers/{externalId}/billing"),
    ("GET", "/api/v1/customers/{externalId}/usage-balances"),
    ("POST", "/api/v1/checkout-sessions"),
    ("GET", "/api/v1/checkout-sessions/{id}"),
    ("POST", "/api/v1/subscriptions"),
    ("GET", "/api/v1/subscriptions/{id}"),
    ("POST", "/api/v1/subscriptions/{id}/cancel"),
    ("POST", "/api/v1/subscriptions/{id}/uncancel"),
    ("POST", "/api/v1/subscriptions/{id}/adjust"),
    ("POST", "/api/v1/subscriptions/{id}/preview-adjust"),
    ("POST", "/api/v1/subscriptions/{id}/cancel-scheduled-adjustment"),
    ("POST", "/api/v1/usage-events"),
    ("POST", "/api/v1/usage-events/bulk"),
    ("GET", "/api/v1/pricing-models/default"),
    ("GET", "/api/v1/resource-claims/{subscriptionId}/usages"),
    ("GET", "/api/v1/resource-claims/{subscriptionId}/usage"),
    ("GET", "/api/v1/resource-claims/{subscriptionId}/claims"),
    ("POST", "/api/v1/resource-claims/{subscriptionId}/claim"),
    ("POST", "/api/v1/resource-claims/{subscriptionId}/release"),
}


def test_every_endpoint_answers_success_and_errors_in_contract_shape(contract: Contract) -> None:
    # An organization that allows several subscriptions per customer, to reach every path.
    sandbox = Sandbox(allow_multiple_subscriptions=True)
    contract.seen.clear()
    api = ApiClient(sandbox, contract)
    _every_endpoint(api, sandbox)
    seen: dict[tuple[str, str], set[int]] = {}
    for method, template, status in contract.seen:
        seen.setdefault((method, template), set()).add(status)
    assert set(seen) == ENDPOINTS
    missing_error = sorted(
        k
        for k, statuses in seen.items()
        if all(s < 400 for s in statuses)
        and k not in {("POST", "/api/v1/customers/{externalId}/archive")}
    )
    assert missing_error == [], "each endpoint's error answer is exercised too"
    assert all(any(s == 200 for s in statuses) for statuses in seen.values())


def _with_key(sandbox: Sandbox) -> dict[str, Any]:
    return {"Authorization": f"Bearer {sandbox.secret_key}"}


def test_unknown_route_is_plain_text_not_found(sandbox: Sandbox) -> None:
    status, headers, body = sandbox.handle(
        "GET", "/api/v1/nothing-here", headers=_with_key(sandbox)
    )
    assert (status, body) == (404, b"Not Found")
    assert headers["Content-Type"].startswith("text/plain")
    status, _, body = sandbox.handle("DELETE", "/api/v1/customers/x", headers=_with_key(sandbox))
    assert (status, body) == (404, b"Not Found")
