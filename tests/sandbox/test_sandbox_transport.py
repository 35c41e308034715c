"""Reaching the sandbox: the in-process adapter, the real server, keys, calls and faults."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import requests
from werkzeug.serving import BaseWSGIServer, make_server

from flask_flowglad.sandbox import Sandbox, SandboxError

from .sandbox_helpers import ApiClient


def test_wrong_or_missing_key_is_plain_text_401(api: ApiClient) -> None:
    for headers in ({"Authorization": "sk_test_other"}, {"Authorization": ""}):
        response = api.get("/api/v1/pricing-models/default", headers=headers)
        assert response.status_code == 401
        assert response.headers["Content-Type"].startswith("text/plain")
        with pytest.raises(ValueError):
            response.json()


def test_raw_key_and_bearer_key_are_both_accepted(api: ApiClient, sandbox: Sandbox) -> None:
    for value in (sandbox.secret_key, f"Bearer {sandbox.secret_key}"):
        response = api.get("/api/v1/pricing-models/default", headers={"Authorization": value})
        assert response.status_code == 200


def test_custom_secret_key_is_the_only_key_accepted() -> None:
    sandbox = Sandbox(secret_key="sk_test_mine")
    assert (
        sandbox.handle(
            "GET", "/api/v1/pricing-models/default", headers={"Authorization": "sk_test_sandbox"}
        )[0]
        == 401
    )
    assert (
        sandbox.handle(
            "GET", "/api/v1/pricing-models/default", headers={"Authorization": "sk_test_mine"}
        )[0]
        == 200
    )


def test_adapter_builds_a_real_requests_response(api: ApiClient, sandbox: Sandbox) -> None:
    response = api.get("/api/v1/customers/nobody")
    assert isinstance(response, requests.Response)
    assert response.url == sandbox.base_url + "/api/v1/customers/nobody"
    assert response.reason == "Not Found"
    assert response.headers["x-request-id"] == response.json()["request_id"]
    assert response.request is not None and response.request.method == "GET"
    with pytest.raises(requests.HTTPError):
        response.raise_for_status()


def test_calls_record_method_path_query_body_and_status(api: ApiClient, sandbox: Sandbox) -> None:
    api.create_customer()
    api.get("/api/v1/customers/user-1/usage-balances", params={"subscriptionId": "sub_x"})
    first, second = sandbox.calls
    assert (first.method, first.path, first.status) == ("POST", "/api/v1/customers", 200)
    assert first.json["customer"]["externalId"] == "user-1"
    assert second.query == {"subscriptionId": "sub_x"}
    assert (second.json, second.status) == (None, 404)
    assert vars(second)["path"] == "/api/v1/customers/user-1/usage-balances"
    sandbox.reset()
    assert sandbox.calls == []


def test_reset_forgets_customers_but_keeps_price_ids(sandbox: Sandbox) -> None:
    price = sandbox.pricing.price_by_slug("pro_monthly")
    sandbox.create_customer("u")
    sandbox.reset()
    with pytest.raises(SandboxError, match="not found"):
        sandbox.billing("u")
    assert sandbox.pricing.price_by_slug("pro_monthly") == price


def test_fail_next_answers_the_next_matching_requests_with_a_failure(
    api: ApiClient, sandbox: Sandbox
) -> None:
    sandbox.fail_next(503, times=2, path="/pricing-models", headers={"Retry-After": "1"})
    statuses = [api.get("/api/v1/pricing-models/default").status_code for _ in range(3)]
    assert statuses == [503, 503, 200]
    assert [c.status for c in sandbox.calls] == [503, 503, 200]
    sandbox.fail_next(429, method="POST")
    assert api.get("/api/v1/pricing-models/default").status_code == 200
    assert api.post("/api/v1/usage-events", json={}).status_code == 429


def test_two_sandboxes_share_nothing() -> None:
    one, two = Sandbox(), Sandbox()
    one.create_customer("u")
    assert one.pricing.id != two.pricing.id
    with pytest.raises(SandboxError, match="not found"):
        two.billing("u")
    assert two.calls == [] and one.calls == []


def test_concurrent_usage_events_are_all_counted(sandbox: Sandbox) -> None:
    sandbox.put_customer_on_plan("u", "pro_monthly")

    def work(n: int) -> None:
        session = requests.Session()
        session.mount(sandbox.base_url, sandbox.adapter())
        sub_id = sandbox.billing("u")["currentSubscription"]["id"]
        for i in range(25):
            body = {
                "usageEvent": {
                    "subscriptionId": sub_id,
                    "amount": 1,
                    "transactionId": f"{n}-{i}",
                    "usageMeterSlug": "api_calls",
                }
            }
            response = session.post(
                sandbox.base_url + "/api/v1/usage-events",
                json=body,
                headers={"Authorization": sandbox.secret_key},
            )
            assert response.status_code == 200

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    balances = sandbox.billing("u")["currentSubscription"]["experimental"]["usageMeterBalances"]
    assert balances[0]["availableBalance"] == 10000 - 200
    assert len(sandbox.calls) == 200


def test_flowglad_client_works_through_the_adapter(sandbox: Sandbox) -> None:
    client_module = pytest.importorskip("flask_flowglad.client")
    client = client_module.FlowgladClient(
        sandbox.secret_key, base_url=sandbox.base_url, adapter=sandbox.adapter()
    )
    created = client.create_customer("user-1", name="Ada", email="ada@example.com")
    assert created["data"]["subscription"]["status"] == "active"
    billing = client.get_billing("user-1")
    assert billing["customer"]["externalId"] == "user-1"
    sub_id = billing["currentSubscription"]["id"]
    client.create_usage_event(
        {"subscriptionId": sub_id, "amount": 2, "usageMeterSlug": "api_calls"}
    )
    balances = client.get_usage_balances("user-1")["usageMeterBalances"]
    assert balances[0]["availableBalance"] == 98
    errors = pytest.importorskip("flask_flowglad.errors")
    with pytest.raises(errors.FlowgladNotFound):
        client.get_customer("ghost")
    with pytest.raises(errors.FlowgladConflict):
        client.create_customer("user-1", name="Ada", email="ada@example.com")


@pytest.fixture
def server(sandbox: Sandbox) -> Iterator[BaseWSGIServer]:
    srv = make_server("127.0.0.1", 0, sandbox.wsgi_app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    thread.join()


def test_server_serves_the_api_and_the_pages_over_http(
    server: BaseWSGIServer, sandbox: Sandbox
) -> None:
    base = f"http://127.0.0.1:{server.server_port}"
    headers = {"Authorization": sandbox.secret_key}
    body = {"customer": {"externalId": "u", "name": "U", "email": "u@example.com"}}
    assert requests.post(f"{base}/api/v1/customers", json=body, headers=headers).ok
    checkout = {
        "checkoutSession": {
            "type": "product",
            "customerExternalId": "u",
            "priceSlug": "pro_monthly",
            "successUrl": "http://x/ok",
            "cancelUrl": "http://x/no",
        }
    }
    data = requests.post(f"{base}/api/v1/checkout-sessions", json=checkout, headers=headers)
    url = data.json()["url"]
    assert url.startswith(f"{base}/flowglad-sandbox/checkout/")
    assert "Pay" in requests.get(url).text
    paid = requests.post(url, data={"card_number": "4242424242424242"}, allow_redirects=False)
    assert (paid.status_code, paid.headers["Location"]) == (303, "http://x/ok")
    unknown = requests.get(f"{base}/api/v1/unknown", headers=headers)
    assert (unknown.status_code, unknown.text) == (404, "Not Found")
    assert (
        requests.get(f"{base}/api/v1/customers/u", headers={"Authorization": "x"}).status_code
        == 401
    )
    assert "sk_test_sandbox" in requests.get(f"{base}/").text
