"""What ``record_usage`` refuses before anything is stored, and what it keeps: any JSON
properties and any id survive the trip through the outbox's encoding unchanged."""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flask_flowglad import InvalidUsageEvent, UnknownUsageMeter
from flask_flowglad.sandbox import Sandbox
from flask_flowglad.usage import PendingUsage, new_pending_usage
from flask_flowglad.usage.record import MAX_AMOUNT
from tests.support.apps import flowglad_of, make_sandbox_app

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.text(st.characters(blacklist_categories=("Cs",)), max_size=8), children, max_size=4
        )
    ),
    max_leaves=12,
)
IDS = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=255).filter(
    str.strip
)


@given(
    properties=st.dictionaries(
        st.text(max_size=10).filter(lambda k: "\x00" not in k), JSON, max_size=5
    ),
    customer=IDS,
    txn=IDS,
)
@settings(max_examples=150, deadline=None)
def test_any_json_properties_and_ids_survive_encoding(
    properties: dict[str, Any], customer: str, txn: str
) -> None:
    try:
        event = new_pending_usage(
            customer, usage_meter_slug="api_calls", transaction_id=txn, properties=properties
        )
    except InvalidUsageEvent as exc:
        # Only what Flowglad's jsonb column cannot hold, or a row too big, is refused.
        assert "NUL" in str(exc) or "larger than" in str(exc) or "surrogate" in str(exc)
        return
    back = PendingUsage.decode(event.encode())
    assert back == event
    assert back.wire("sub_1")["properties"] == json.loads(json.dumps(properties))
    assert (back.customer_external_id, back.transaction_id) == (customer, txn)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"amount": 0}, "amount must be a whole number from 1"),
        ({"amount": -3}, "amount must be a whole number from 1"),
        ({"amount": MAX_AMOUNT + 1}, "amount must be a whole number from 1"),
        ({"amount": 1.5}, "amount must be a whole number from 1"),
        ({"amount": True}, "amount must be a whole number from 1"),
        ({"properties": {"x": float("nan")}}, "properties must be JSON"),
        ({"properties": {"x": object()}}, "properties must be JSON"),
        ({"properties": {1: "x"}}, "string keys"),
        ({"properties": ["x"]}, "string keys"),
        ({"properties": {"x": "\ud800"}}, "properties must be JSON"),
        ({"properties": {"x": "a\x00b"}}, "NUL"),
        ({"properties": {"x": "y" * 9000}}, "larger than"),
        ({"transaction_id": ""}, "transaction_id must be a non-empty string"),
        ({"transaction_id": "x" * 256}, "longer than 255"),
        ({"transaction_id": "a\nb"}, "control character"),
        ({"usage_date": datetime(2026, 1, 1)}, "aware datetime"),
        ({"usage_date": -1}, "epoch milliseconds"),
        ({"price_slug": "api_call_overage"}, "exactly one of meter_slug and price_slug"),
    ],
)
def test_bad_input_is_refused_with_a_clear_error(options: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidUsageEvent, match=message):
        new_pending_usage("u1", usage_meter_slug="api_calls", **options)


def test_the_transaction_id_and_the_date_are_fixed_when_recorded() -> None:
    first = new_pending_usage("u1", usage_meter_slug="api_calls", now=1_800_000_000.25)
    again = new_pending_usage("u1", usage_meter_slug="api_calls")
    assert first.transaction_id.startswith("txn_") and first.transaction_id != again.transaction_id
    assert first.usage_date == 1_800_000_000_250
    moment = datetime(2026, 3, 1, 12, 0, 0, 123000, tzinfo=timezone.utc)
    dated = new_pending_usage("u1", usage_meter_slug="api_calls", usage_date=moment)
    assert dated.usage_date == math.floor(moment.timestamp() * 1000)


def test_an_unknown_meter_is_refused_before_anything_is_stored(tmp_path: Path) -> None:
    app = make_sandbox_app(Sandbox(), FLOWGLAD_USAGE_OUTBOX=f"sqlite:///{tmp_path / 'o.db'}")
    with app.test_request_context():
        flowglad = flowglad_of(app)
        customer = flowglad.current_customer() or flowglad.for_customer("u1")
        customer.get_billing()
        with pytest.raises(UnknownUsageMeter, match="Its meters: api_calls"):
            customer.record_usage("api_cals")
        with pytest.raises(UnknownUsageMeter, match="No usage price 'pro_monthly'"):
            customer.record_usage(price_slug="pro_monthly")
        with pytest.raises(InvalidUsageEvent, match="amount"):
            customer.record_usage("api_calls", amount=0)
        customer.record_usage(price_slug="api_call_overage", amount=2)
        assert flowglad.usage_status().pending == 1


def test_recording_never_calls_flowglad(tmp_path: Path) -> None:
    sandbox = Sandbox()
    app = make_sandbox_app(
        sandbox,
        FLOWGLAD_USAGE_OUTBOX=f"sqlite:///{tmp_path / 'o.db'}",
        FLOWGLAD_BILLING_CACHE=str(tmp_path / "cache.db"),
    )
    with app.test_request_context():
        flowglad_of(app).for_customer("u1").get_billing()  # fills the shared cache
    calls = len(sandbox.calls)
    with app.test_request_context():
        customer = flowglad_of(app).for_customer("u1")
        for _ in range(5):
            customer.record_usage("api_calls")
        # The meter was checked against the shared cache's billing: no call at all.
        with pytest.raises(UnknownUsageMeter):
            customer.record_usage("nope")
    with app.test_request_context():
        flowglad_of(app).for_customer("u2").record_usage("nope")  # nothing at hand: stored
    assert len(sandbox.calls) == calls
