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
