"""Pricing models loaded from plain data files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flask_flowglad.sandbox import PricingError, Sandbox


def test_default_model_has_free_pro_usage_and_one_time_products() -> None:
    pricing = Sandbox().pricing
    record = pricing.record
    assert [p["slug"] for p in record["products"]] == ["free", "pro", "report_pack"]
    assert record["defaultProduct"]["slug"] == "free"
    pro = pricing.product_by_slug("pro")
    assert pro is not None
    pro_features = {f["slug"]: f for f in pricing.product_features[pro["id"]]}
    assert pro_features["advanced_analytics"]["type"] == "toggle"
    assert pro_features["pro_api_credits"]["type"] == "usage_credit_grant"
    meter, reports = record["usageMeters"]
    assert meter["slug"] == "api_calls"
    assert meter["prices"][0]["slug"] == "api_call_overage"
    one_time = pricing.price_by_slug("report_pack")
    assert one_time is not None and one_time["type"] == "single_payment"
    # The report pack grants its 10 reports as credits on a meter of their own.
    [grant] = pricing.product_features[one_time["productId"]]
    assert (grant["amount"], grant["renewalFrequency"]) == (10, "once")
    assert grant["usageMeterId"] == reports["id"] and reports["slug"] == "premium_reports"


def test_a_custom_pricing_file_is_loaded(tmp_path: Path) -> None:
    path = tmp_path / "pricing.json"
    path.write_text(
        json.dumps(
            {
                "name": "Mine",
                "currency": "eur",
                "features": [{"slug": "export", "type": "toggle"}],
                "products": [
                    {
                        "slug": "starter",
                        "default": True,
                        "prices": [{"slug": "starter", "unitPrice": 0}],
                    },
                    {
                        "slug": "plus",
                        "features": ["export"],
                        "prices": [
                            {"slug": "plus_weekly", "unitPrice": 500, "intervalUnit": "week"}
                        ],
                    },
                ],
            }
        )
    )
    sandbox = Sandbox(str(path))
    assert sandbox.pricing.record["name"] == "Mine"
    sub = sandbox.put_customer_on_plan("u", "plus_weekly")
    assert sub["interval"] == "week"
    assert sub["subscriptionItems"][0]["price"]["currency"] == "EUR"
    assert [f["slug"] for f in sub["experimental"]["featureItems"]] == ["export"]


def test_a_model_without_default_product_creates_customers_without_subscription() -> None:
    sandbox = Sandbox({"products": [{"slug": "p", "prices": [{"slug": "p", "unitPrice": 100}]}]})
    status, _, body = sandbox.handle(
        "POST",
        "/api/v1/customers",
        body=b'{"customer": {"externalId": "u", "name": "", "email": ""}}',
        headers={"Authorization": sandbox.secret_key},
    )
    assert status == 200
    assert json.loads(body)["data"].keys() == {"customer"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"products": [{"slug": "p", "prices": []}]}, "at least one price"),
        (
            {"products": [{"slug": "p", "features": ["nope"], "prices": [{"slug": "p"}]}]},
            "no feature with slug 'nope'",
        ),
        (
            {
                "features": [
                    {"slug": "c", "type": "usage_credit_grant", "usageMeter": "m", "amount": 1}
                ]
            },
            "names no usage meter",
        ),
        ({"products": [{"slug": "p", "prices": [{"slug": "p", "unitPrice": -1}]}]}, "unitPrice"),
        (
            {"products": [{"slug": "p", "prices": [{"slug": "p", "intervalUnit": "hour"}]}]},
            "intervalUnit",
        ),
    ],
)
def test_invalid_pricing_data_names_the_problem(data: dict[str, object], message: str) -> None:
    with pytest.raises(PricingError, match=message):
        Sandbox(data)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"bad": 1}, "the pricing model: unknown member 'bad'"),
        ({"currency": "dollars"}, "three-letter code"),
        ({"resources": [{"slug": "seats", "capacity": 3}]}, "resources[0]: unknown member"),
        ({"resources": [{"slug": "a"}, {"slug": "a"}]}, "duplicate resource slug 'a'"),
        ({"usageMeters": [{"slug": "m", "price": []}]}, "usageMeters[0]: unknown member"),
        ({"features": [{"slug": "f", "type": "toggle", "amout": 1}]}, "features[0]: unknown"),
        (
            {"products": [{"slug": "p", "prices": [{"unitPrice": 1, "interval": "month"}]}]},
            "products[0].prices[0]: unknown member 'interval'",
        ),
        (
            {"products": [{"slug": "p", "prices": [{"unitPrice": 1, "intervalCount": 10**6}]}]},
            "products[0].prices[0].intervalCount must be an integer from 1 to",
        ),
        (
            {"products": [{"slug": "p", "prices": [{"unitPrice": 10**15}]}]},
            "products[0].prices[0].unitPrice must be an integer from 0",
        ),
        ({"products": [{"slug": "p", "features": "x", "prices": []}]}, "list of feature slugs"),
        (
            {"products": [{"slug": "p", "prices": [{}]}, {"slug": "p", "prices": [{}]}]},
            "duplicate product slug 'p'",
        ),
        ({"products": [{"slug": "p", "default": "yes", "prices": [{}]}]}, "true or false"),
        (
            {"usageMeters": [{"slug": "m", "prices": [{"slug": "m_no_charge"}]}]},
            "usageMeters[0].prices[0].slug: usage price slugs ending with '_no_charge' are",
        ),
        (
            {"products": [{"slug": "p", "default": True, "prices": [{"unitPrice": 100}]}]},
            "products[0].prices[0]: the default product's prices must be free",
        ),
        (
            {"products": [{"slug": "p", "default": True, "prices": [{"trialPeriodDays": 7}]}]},
            "products[0].prices[0]: the default product's prices have no trial",
        ),
    ],
)
def test_invalid_pricing_data_is_refused_when_loaded_with_where_it_is_wrong(
    data: dict[str, object], message: str
) -> None:
    with pytest.raises(PricingError) as raised:
        Sandbox(data)
    assert message in str(raised.value)


def test_an_unreadable_or_malformed_pricing_file_is_a_pricing_error(tmp_path: Path) -> None:
    with pytest.raises(PricingError, match="cannot read"):
        Sandbox(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text('{"products": [}')
    with pytest.raises(PricingError, match="not valid JSON"):
        Sandbox(broken)


def test_every_meter_has_a_no_charge_price_its_default_when_it_has_no_other() -> None:
    """As Flowglad gives every usage meter (``utils/pricingModels/setupTransaction.ts``): a
    meter without prices counts usage at no charge, instead of refusing the first event."""
    sandbox = Sandbox(
        {
            "usageMeters": [
                {"slug": "exports", "prices": []},
                {"slug": "calls", "prices": [{"slug": "call", "unitPrice": 2}]},
            ],
            "features": [
                {"slug": "few", "type": "usage_credit_grant", "usageMeter": "exports", "amount": 2}
            ],
            "products": [
                {
                    "slug": "free",
                    "default": True,
                    "features": ["few"],
                    "prices": [{"slug": "free"}],
                }
            ],
        }
    )
    exports, calls = sandbox.pricing.record["usageMeters"]
    assert [p["slug"] for p in exports["prices"]] == ["exports_no_charge"]
    assert exports["defaultPrice"]["slug"] == "exports_no_charge"
    assert exports["defaultPrice"]["unitPrice"] == 0
    assert [p["slug"] for p in calls["prices"]] == ["call", "calls_no_charge"]
    assert calls["defaultPrice"]["slug"] == "call"
    event = sandbox.record_usage("u1", "exports", 5) if sandbox.create_customer("u1") else None
    assert event is not None and event["priceId"] == exports["defaultPrice"]["id"]
    [renewed] = sandbox.advance_billing_period("u1")
    # Overage at no charge bills nothing: no invoice for a free plan.
    assert sandbox.billing("u1")["invoices"] == []
    assert renewed["experimental"]["usageMeterBalances"][0]["availableBalance"] == 2


def test_ids_are_the_same_for_the_same_file_and_organization() -> None:
    from flask_flowglad.sandbox.pricing import PricingModel, load_pricing_data

    data = load_pricing_data(None)
    one = PricingModel(data, organization_id="org_1", created_at=0)
    again = PricingModel(data, organization_id="org_1", created_at=0)
    other = PricingModel(data, organization_id="org_2", created_at=0)
    assert one.record == again.record
    assert set(one.prices).isdisjoint(other.prices)
