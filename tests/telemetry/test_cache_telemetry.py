"""A billing read through the shared cache: one span ``flowglad customers.billing.read``
around the cache, the upstream call of a miss inside it (not a second operation), the
cache's answer as an attribute and a count."""

from __future__ import annotations

import pytest
from opentelemetry.trace import SpanKind

from flask_flowglad import FlowgladClient
from flask_flowglad.cache import Lookup, Outcome
from flask_flowglad.sandbox import Sandbox
from flask_flowglad.telemetry import CACHE_RESULTS, BillingRead

from ..support.otel_capture import Capture
from ..support.telemetry import CUSTOMER


@pytest.fixture
def client(sandbox: Sandbox) -> FlowgladClient:
    sandbox.put_customer_on_plan(CUSTOMER, "pro_monthly")
    return FlowgladClient(sandbox.secret_key, base_url=sandbox.base_url, adapter=sandbox.adapter())


@pytest.mark.usefixtures("stable_semconv")
def test_a_miss_is_one_operation_with_the_upstream_call_inside(
    otel: Capture, client: FlowgladClient
) -> None:
    with BillingRead(client.telemetry, CUSTOMER) as read:
        client.get_billing(CUSTOMER)  # the cache's load
        read.found(Lookup(b"{}", Outcome.MISS))

    operation = otel.span("flowglad customers.billing.read")  # one, not two
    assert operation.attributes["flowglad.billing_cache.result"] == "miss"
    assert operation.attributes["flowglad.customer.hash"] == client.telemetry.customer_hash(
        CUSTOMER
    )
    [http] = otel.children(operation)
    assert http.kind is SpanKind.CLIENT
    [point] = otel.points("flowglad.billing_cache.lookups")
    assert (dict(point.attributes), point.value) == ({"flowglad.billing_cache.result": "miss"}, 1)


@pytest.mark.parametrize(
    ("outcome", "result"),
    [
        (Outcome.HIT, "hit"),
        (Outcome.STALE, "stale"),
        (Outcome.BYPASS, "pinned"),
        (Outcome.SKIPPED, "skipped"),
    ],
)
def test_the_caches_answer_is_the_reads_attribute(
    otel: Capture, client: FlowgladClient, outcome: Outcome, result: str
) -> None:
    with BillingRead(client.telemetry, CUSTOMER) as read:
        read.found(Lookup(b"{}", outcome))

    operation = otel.span("flowglad customers.billing.read")
    assert operation.attributes["flowglad.billing_cache.result"] == result
    assert otel.children(operation) == []
    [point] = otel.points("flowglad.billing_cache.lookups")
    assert dict(point.attributes) == {"flowglad.billing_cache.result": result}


def test_every_answer_the_cache_can_give_has_one_of_the_documented_names(
    otel: Capture, client: FlowgladClient
) -> None:
    for outcome in Outcome:
        with BillingRead(client.telemetry, CUSTOMER) as read:
            read.found(Lookup(b"{}", outcome))

    results = [span.attributes["flowglad.billing_cache.result"] for span in otel.spans()]
    assert sorted(results) == sorted(CACHE_RESULTS)  # each once: none unnamed, none shared
