"""The billing helpers of ``docs/protocol.md`` §5 on BillingSnapshot."""

from __future__ import annotations

from flask_flowglad import BillingSnapshot

from .support import payloads


def snapshot(**kwargs: object) -> BillingSnapshot:
    return BillingSnapshot(payloads.billing(**kwargs))  # type: ignore[arg-type]


def test_feature_granted_by_current_subscription() -> None:
    billing = snapshot(subscriptions=[payloads.subscription(features=("exports",))])
    assert billing.check_feature_access("exports") is True
    assert billing.check_feature_access("reports") is False


def test_feature_of_second_current_subscription_counts() -> None:
    base = payloads.subscription("sub_base", features=("basic",))
    addon = payloads.subscription("sub_addon", features=("exports",))
    billing = snapshot(subscriptions=[base, addon])
    assert billing.check_feature_access("exports") is True


def test_feature_with_subscription_id_reads_only_that_subscription() -> None:
    base = payloads.subscription("sub_base", features=("basic",))
    addon = payloads.subscription("sub_addon", features=("exports",))
    billing = snapshot(subscriptions=[base, addon])
    assert billing.check_feature_access("exports", subscription_id="sub_base") is False
    assert billing.check_feature_access("exports", subscription_id="sub_addon") is True
    assert billing.check_feature_access("exports", subscription_id="sub_unknown") is False


def test_feature_of_canceled_subscription_does_not_count() -> None:
    canceled = payloads.subscription("sub_old", status="canceled", features=("exports",))
    billing = snapshot(subscriptions=[canceled], current=[])
    assert billing.check_feature_access("exports") is False


def test_usage_credit_grant_is_not_a_toggle_feature() -> None:
    sub = payloads.subscription()
    sub["experimental"]["featureItems"] = [
        {"id": "fi", "type": "usage_credit_grant", "slug": "credits"}
    ]
    assert snapshot(subscriptions=[sub]).check_feature_access("credits") is False


def test_top_level_feature_items_win_over_experimental() -> None:
    sub = payloads.subscription(features=("old",))
    sub["featureItems"] = [payloads.toggle("new")]
    billing = snapshot(subscriptions=[sub])
    assert billing.check_feature_access("new") is True
    assert billing.check_feature_access("old") is False


def test_no_current_subscription_means_no_feature_and_no_balance() -> None:
    billing = snapshot(subscriptions=[], current=[])
    assert billing.check_feature_access("exports") is False
    assert billing.check_usage_balance("api_calls") is None


def test_usage_balance_returns_the_whole_record() -> None:
    billing = snapshot(subscriptions=[payloads.subscription(balances={"api_calls": 42})])
    record = billing.check_usage_balance("api_calls")
    assert record is not None
    assert record["availableBalance"] == 42
    assert record["slug"] == "api_calls"
    assert record["subscriptionId"] == "sub_1"
    assert billing.check_usage_balance("storage") is None


def test_usage_balance_later_duplicate_slug_overwrites() -> None:
    sub = payloads.subscription(balances={"api_calls": 1})
    sub["experimental"]["usageMeterBalances"].append(payloads.balance("api_calls", 7, "sub_1"))
    assert snapshot(subscriptions=[sub]).check_usage_balance("api_calls")["availableBalance"] == 7  # type: ignore[index]


def test_usage_balance_with_subscription_id() -> None:
    a = payloads.subscription("sub_a", balances={"api_calls": 1})
    b = payloads.subscription("sub_b", balances={"api_calls": 9})
    billing = snapshot(subscriptions=[a, b])
    assert (
        billing.check_usage_balance("api_calls", subscription_id="sub_b")["availableBalance"] == 9
    )  # type: ignore[index]
    assert billing.check_usage_balance("api_calls", subscription_id="sub_x") is None


def test_get_product_and_price_by_slug() -> None:
    billing = snapshot()
    product = billing.get_product("pro")
    assert product is not None and product["id"] == "prod_pro"
    assert billing.get_product("enterprise") is None
    price = billing.get_price("pro_monthly")
    assert price is not None and price["unitPrice"] == 2000
    assert billing.get_price("missing") is None


def test_usage_prices_under_meters_are_not_found_by_get_price() -> None:
    assert snapshot().get_price("api_call_usage") is None


def test_has_purchased_matches_any_price_of_the_product_whatever_the_status() -> None:
    refunded = {"id": "pur_1", "priceId": "price_pack_once", "status": "refunded", "name": "Pack"}
    assert snapshot(purchases=[refunded]).has_purchased("pack") is True
    assert snapshot(purchases=[]).has_purchased("pack") is False
    assert snapshot(purchases=[refunded]).has_purchased("pro") is False
    assert snapshot(purchases=[refunded]).has_purchased("unknown") is False


def test_raw_payload_is_kept_unchanged() -> None:
    payload = payloads.billing()
    payload["somethingNew"] = {"x": 1}
    assert BillingSnapshot(payload).raw == payload


def test_tolerates_missing_and_null_members() -> None:
    billing = BillingSnapshot({"pricingModel": None, "purchases": None})
    assert billing.check_feature_access("x") is False
    assert billing.get_product("x") is None
    assert billing.has_purchased("x") is False
    assert billing.current_subscription is None
