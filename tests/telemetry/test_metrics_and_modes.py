"""The call duration histogram; the HTTP attribute names by ``OTEL_SEMCONV_STABILITY_OPT_IN``;
every call of the client named; nothing started without an SDK or without the extra."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest
import requests_mock as rm
from opentelemetry.trace import SpanKind

from flask_flowglad import FlowgladClient
from flask_flowglad.sandbox import Sandbox
from flask_flowglad.telemetry import ROUTES, route_of

from ..support.otel_capture import Capture
from ..support.telemetry import CUSTOMER


def _client(sandbox: Sandbox) -> FlowgladClient:
    return FlowgladClient(
        sandbox.secret_key,
        base_url=sandbox.base_url,
        adapter=sandbox.adapter(),
        sleep=lambda s: None,
    )


def test_the_duration_histogram_is_by_operation_method_and_status_class(
    otel: Capture, sandbox: Sandbox
) -> None:
    sandbox.put_customer_on_plan(CUSTOMER, "pro_monthly")
    client = _client(sandbox)
    client.get_billing(CUSTOMER)
    client.get_billing(CUSTOMER)
    sandbox.fail_next(503, path="/billing", times=3)
    with pytest.raises(Exception, match="503"):
        client.get_billing(CUSTOMER)

    points = {
        tuple(sorted(point.attributes.items())): point
        for point in otel.points("flowglad.client.request.duration")
    }
    ok = (
        ("flowglad.operation", "customers.billing.read"),
        ("flowglad.status_class", "2xx"),
        ("http.request.method", "GET"),
    )
    failed = (
        ("error.type", "FlowgladServerError"),
        ("flowglad.operation", "customers.billing.read"),
        ("flowglad.status_class", "5xx"),
        ("http.request.method", "GET"),
    )
    assert set(points) == {ok, failed}
    assert points[ok].count == 2 and points[failed].count == 1  # retries are in one call
    assert 0 < points[ok].sum < 10
    assert list(points[ok].explicit_bounds)[:3] == [0.005, 0.01, 0.025]


@pytest.mark.parametrize(
    ("opt_in", "present", "absent"),
    [
        (None, {"http.method", "http.url", "http.status_code", "net.peer.name"}, {"url.full"}),
        ("http", {"http.request.method", "url.full", "server.address"}, {"http.url"}),
        ("http/dup", {"http.method", "http.url", "http.request.method", "url.full"}, set()),
    ],
)
def test_the_http_attribute_names_follow_the_stability_opt_in(
    otel: Capture,
    semconv: pytest.MonkeyPatch,
    sandbox: Sandbox,
    opt_in: str | None,
    present: set[str],
    absent: set[str],
) -> None:
    if opt_in is not None:
        semconv.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", f"database,{opt_in}")
    sandbox.put_customer_on_plan(CUSTOMER, "pro_monthly")
    _client(sandbox).get_billing(CUSTOMER)

    [http] = [span for span in otel.spans() if span.kind is SpanKind.CLIENT]
    assert present <= set(http.attributes or {})
    assert not absent & set(http.attributes or {})


def test_every_method_of_the_client_is_a_named_operation() -> None:
    """A client method added without its line in ROUTES gets a made-up name: caught here."""
    client = FlowgladClient("sk_test_routes", base_url="https://flowglad.test")
    seen: dict[str, str] = {}
    with rm.Mocker() as mocker:
        mocker.register_uri(rm.ANY, rm.ANY, json={})
        for name, method in inspect.getmembers(client, inspect.ismethod):
            if name.startswith("_") or name in ("close", "redact"):
                continue
            parameters = inspect.signature(method).parameters.values()
            required = [p for p in parameters if p.default is p.empty]
            positional = [_argument(p.name) for p in required if p.kind is p.POSITIONAL_OR_KEYWORD]
            keywords = {p.name: "x" for p in required if p.kind is p.KEYWORD_ONLY}
            before = len(mocker.request_history)
            try:
                method(*positional, **keywords)
            except Exception:  # noqa: BLE001 - only the request's route matters here
                pass
            assert len(mocker.request_history) > before, name
            request = mocker.request_history[-1]
            seen[name] = route_of(request.method, request.path).operation
    named = {operation for _, _, operation in ROUTES}
    assert {name: op for name, op in seen.items() if op not in named} == {}
    assert len(set(seen.values())) == len(ROUTES)  # and each route is some method's


def _argument(name: str) -> object:
    """Something each client method accepts: an id, a body, a list of usage events."""
    if name.endswith("events"):
        return [{}]
    if name.endswith(("body", "event", "adjustment", "session", "customer")):
        return {}
    return "x"


def test_without_an_sdk_no_span_is_started(sandbox: Sandbox) -> None:
    """A fresh interpreter with opentelemetry-api and no SDK: the client's calls start no
    span at all (not even a non-recording one) and still log."""
    code = """
import logging
from opentelemetry import trace
from opentelemetry.trace import ProxyTracer
started = []
original = ProxyTracer.start_span
ProxyTracer.start_span = lambda self, *a, **k: started.append(a) or original(self, *a, **k)
from flask_flowglad import FlowgladClient
from flask_flowglad.sandbox import Sandbox
logging.basicConfig(level=logging.DEBUG, format="%(name)s %(message)s")
sandbox = Sandbox()
sandbox.put_customer_on_plan("u1", "pro_monthly")
client = FlowgladClient(sandbox.secret_key, base_url=sandbox.base_url, adapter=sandbox.adapter())
client.get_billing("u1")
print("spans started:", len(started))
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert "spans started: 0" in result.stdout
    assert (
        "flask_flowglad.telemetry flowglad call operation=customers.billing.read" in result.stderr
    )


def test_without_the_extra_the_client_works_and_logs() -> None:
    """opentelemetry cannot be imported: the hooks keep to the log."""
    code = """
import logging, sys
sys.modules["opentelemetry"] = None  # an import of it fails, as without the extra
from flask_flowglad import FlowgladClient
from flask_flowglad.sandbox import Sandbox
from flask_flowglad.telemetry.otel import api
logging.basicConfig(level=logging.DEBUG, format="%(name)s %(message)s")
sandbox = Sandbox()
sandbox.put_customer_on_plan("u1", "pro_monthly")
client = FlowgladClient(sandbox.secret_key, base_url=sandbox.base_url, adapter=sandbox.adapter())
print(client.get_billing("u1")["customer"]["externalId"], api())
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "u1 None"
    assert "flowglad call operation=customers.billing.read" in result.stderr
