"""The shared billing cache on a real Redis, between apps that share nothing else.

Each app has its own Flowglad client and connections, as two gunicorn workers (or two
machines) have; they share only the Redis server and Flowglad, served over HTTP.
"""

from __future__ import annotations

import logging
import socket
import threading
import time

import pytest
import redis

from flask_flowglad import Flowglad
from flask_flowglad.cache import KEY_PREFIX

from ..support.apps import make_app
from ..support.cache_support import (
    HTTPUpstream,
    RedisServer,
    billing_app,
    free_port,
    plan_of,
    post,
)


def test_two_apps_sharing_redis_read_a_customers_billing_upstream_once(
    upstream: HTTPUpstream, redis_server: RedisServer
) -> None:
    (one, _), (two, _) = (billing_app(upstream, redis_server.url) for _ in range(2))
    answers = [post(app, "customers/billing") for app in (one, two, one, two, two)]
    assert {status for status, _ in answers} == {200}
    assert all(data == answers[0][1] for _, data in answers)
    assert plan_of(answers[0][1]) == "pro_monthly"
    assert upstream.billing_reads("u1") == 1


def test_concurrent_misses_in_two_apps_make_one_upstream_read(
    upstream: HTTPUpstream, redis_server: RedisServer
) -> None:
    apps = [billing_app(upstream, redis_server.url)[0] for _ in range(2)]
    upstream.billing_delay = 0.2  # every worker misses before the first read ends
    statuses: list[int] = []

    def read(index: int) -> None:
        statuses.append(post(apps[index % 2], "customers/billing")[0])

    threads = [threading.Thread(target=read, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 8
    assert upstream.billing_reads("u1") == 1


def test_a_write_through_one_app_is_seen_by_the_next_read_through_the_other(
    upstream: HTTPUpstream, redis_server: RedisServer
) -> None:
    (one, _), (two, _) = (billing_app(upstream, redis_server.url) for _ in range(2))
    _, before = post(two, "usage-meters/balances")
    post(one, "customers/billing")
    status, _ = post(one, "usage-events/create", body={"usageMeterSlug": "api_calls", "amount": 3})
    assert status == 200
    _, after = post(two, "usage-meters/balances")
    [old], [new] = before["usageMeterBalances"], after["usageMeterBalances"]
    assert new["availableBalance"] == old["availableBalance"] - 3


def test_a_cancellation_through_one_app_shows_in_the_others_billing(
    upstream: HTTPUpstream, redis_server: RedisServer
) -> None:
    (one, _), (two, _) = (billing_app(upstream, redis_server.url) for _ in range(2))
    _, billing = post(two, "customers/billing")
    subscription_id = billing["currentSubscriptions"][0]["id"]
    body = {"id": subscription_id, "cancellation": {"timing": "at_end_of_current_billing_period"}}
    assert post(one, "subscriptions/cancel", body=body)[0] == 200
    _, billing = post(two, "customers/billing")
    assert billing["currentSubscriptions"][0]["status"] == "cancellation_scheduled"


def test_a_webhook_invalidation_through_one_app_reaches_both(
    upstream: HTTPUpstream, redis_server: RedisServer
) -> None:
    (one, flowglad_one), (two, _) = (billing_app(upstream, redis_server.url) for _ in range(2))
    post(one, "customers/billing")
    post(two, "customers/billing")
    # A change in Flowglad the app did not make (the dashboard, a renewal) ...
    upstream.sandbox.put_customer_on_plan("u1", "pro_yearly")
    assert plan_of(post(two, "customers/billing")[1]) == "pro_monthly"  # cached, as designed
    # ... then its webhook reaches one worker, which invalidates as the webhook view does.
    with one.app_context():
        flowglad_one.for_customer("u1").invalidate()
    assert plan_of(post(two, "customers/billing")[1]) == "pro_yearly"
    assert plan_of(post(one, "customers/billing")[1]) == "pro_yearly"


def test_a_customer_back_from_a_paid_checkout_sees_the_new_plan_without_a_webhook(
    upstream: HTTPUpstream, redis_server: RedisServer
) -> None:
    (one, _), (two, _) = (billing_app(upstream, redis_server.url) for _ in range(2))
    assert plan_of(post(two, "customers/billing", user="u2")[1]) == "free"
    body = {
        "priceSlug": "pro_monthly",
        "successUrl": "http://127.0.0.1/success",
        "cancelUrl": "http://127.0.0.1/cancel",
    }
    status, data = post(one, "checkout-sessions/create", user="u2", body=body)
    assert status == 200
    # The customer pays on the hosted page; no webhook is delivered.
    upstream.sandbox.complete_checkout(data["checkoutSession"]["id"])
    assert plan_of(post(two, "customers/billing", user="u2")[1]) == "pro_monthly"


def test_an_upstream_read_that_started_before_a_change_is_not_stored(
    upstream: HTTPUpstream, redis_server: RedisServer
) -> None:
    (one, _), (two, flowglad_two) = (billing_app(upstream, redis_server.url) for _ in range(2))
    upstream.gate.clear()
    stale: list[str | None] = []
    reader = threading.Thread(
        target=lambda: stale.append(plan_of(post(one, "customers/billing")[1]))
    )
    reader.start()
    assert upstream.answered.wait(5)
    # A change lands, and is invalidated, while that answer from before it is on its way.
    upstream.sandbox.put_customer_on_plan("u1", "pro_yearly")
    with two.app_context():
        flowglad_two.for_customer("u1").invalidate()
    upstream.gate.set()
    reader.join()
    assert stale == ["pro_monthly"]  # the read in flight answered from before the change
    assert plan_of(post(two, "customers/billing")[1]) == "pro_yearly"


def test_a_killed_redis_degrades_to_upstream_reads_without_a_5xx(
    upstream: HTTPUpstream, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    (one, _), (two, _) = (billing_app(upstream, redis_server.url) for _ in range(2))
    post(one, "customers/billing")
    redis_server.kill()
    with caplog.at_level(logging.WARNING, "flask_flowglad"):
        answers = [post(app, "customers/billing") for app in (one, two, one)]
        usage = post(two, "usage-events/create", body={"usageMeterSlug": "api_calls"})
    assert [status for status, _ in answers] == [200, 200, 200]
    assert usage[0] == 200
    assert all(plan_of(data) == "pro_monthly" for _, data in answers)
    assert upstream.billing_reads("u1") == 1 + 3 + 1  # the usage event checks ownership
    assert "shared billing cache failed" in caplog.text


def test_a_redis_that_never_answers_costs_one_short_timeout_then_is_skipped(
    upstream: HTTPUpstream, caplog: pytest.LogCaptureFixture
) -> None:
    # A server that accepts connections and never answers: a hung or overloaded Redis.
    silent = socket.socket()
    silent.bind(("127.0.0.1", free_port()))
    silent.listen(16)
    try:
        url = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"
        app, _ = billing_app(upstream, url, FLOWGLAD_BILLING_CACHE_TIMEOUT=0.05)
        with caplog.at_level(logging.WARNING, "flask_flowglad"):
            answers = [post(app, "customers/billing") for _ in range(3)]
    finally:
        silent.close()
    assert [status for status, _ in answers] == [200, 200, 200]
    assert caplog.text.count("shared billing cache failed") == 1
    assert "TimeoutError" in caplog.text


def test_two_customers_never_see_each_others_entries(
    upstream: HTTPUpstream, redis_server: RedisServer
) -> None:
    app, _ = billing_app(upstream, redis_server.url)
    for _ in range(2):
        assert plan_of(post(app, "customers/billing", user="u1")[1]) == "pro_monthly"
        assert plan_of(post(app, "customers/billing", user="u2")[1]) == "free"
    assert upstream.billing_reads("u1") == upstream.billing_reads("u2") == 1


def _same_customer_in_two_accounts(redis_url: str, first_key: str, second_key: str) -> list[str]:
    """The same external id, on another plan in each account, read twice through each
    app; every answer must be the account's own. The keys in Redis afterwards."""
    first, second = HTTPUpstream(first_key), HTTPUpstream(second_key)
    try:
        first.sandbox.put_customer_on_plan("u1", "free")
        second.sandbox.put_customer_on_plan("u1", "pro_yearly")
        first_app, _ = billing_app(first, redis_url)
        second_app, _ = billing_app(second, redis_url)
        for _ in range(2):
            assert plan_of(post(first_app, "customers/billing")[1]) == "free"
            assert plan_of(post(second_app, "customers/billing")[1]) == "pro_yearly"
    finally:
        first.close()
        second.close()
    return sorted(k.decode() for k in redis.Redis.from_url(redis_url).keys("*"))


def test_test_and_live_mode_never_see_each_others_entries(redis_server: RedisServer) -> None:
    keys = _same_customer_in_two_accounts(redis_server.url, "sk_test_same", "sk_live_same")
    assert [key.split(":")[2] for key in keys] == ["live", "test"]
    assert all(key.startswith(KEY_PREFIX + ":") for key in keys)
    # Neither the secret key nor the customer's id is readable in a key.
    assert not any("same" in key or "u1" in key for key in keys)


def test_apps_of_two_flowglad_accounts_on_one_redis_never_share_entries(
    redis_server: RedisServer,
) -> None:
    keys = _same_customer_in_two_accounts(redis_server.url, "sk_test_first", "sk_test_second")
    assert len({key.split(":")[3] for key in keys}) == 2


def test_a_flask_caching_cache_on_the_same_redis_is_shared_too(
    upstream: HTTPUpstream, redis_server: RedisServer
) -> None:
    from flask_caching import Cache

    apps = []
    for _ in range(2):
        app = make_app(
            FLOWGLAD_SECRET_KEY=upstream.sandbox.secret_key, FLOWGLAD_BASE_URL=upstream.url
        )
        cache = Cache(
            app, config={"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": redis_server.url}
        )
        Flowglad(app, billing_cache=cache)
        apps.append(app)
    for app in apps * 2:
        assert plan_of(post(app, "customers/billing")[1]) == "pro_monthly"
    assert upstream.billing_reads("u1") == 1
    post(apps[0], "usage-events/create", body={"usageMeterSlug": "api_calls"})
    post(apps[1], "customers/billing")
    # The ownership check of the event was served by the cache; the event dropped it.
    assert upstream.billing_reads("u1") == 2


def test_an_entry_lives_for_the_ttl_then_billing_is_read_again(
    upstream: HTTPUpstream, redis_server: RedisServer
) -> None:
    app, _ = billing_app(upstream, redis_server.url, FLOWGLAD_BILLING_CACHE_TTL=0.3)
    post(app, "customers/billing")
    post(app, "customers/billing")
    assert upstream.billing_reads("u1") == 1
    time.sleep(0.4)
    post(app, "customers/billing")
    assert upstream.billing_reads("u1") == 2


def test_a_checkout_pin_ends_with_its_window_and_caching_resumes(
    upstream: HTTPUpstream, redis_server: RedisServer
) -> None:
    app, _ = billing_app(upstream, redis_server.url, FLOWGLAD_BILLING_CACHE_CHECKOUT_WINDOW=0.3)
    body = {
        "priceSlug": "pro_yearly",
        "successUrl": "http://127.0.0.1/success",
        "cancelUrl": "http://127.0.0.1/cancel",
    }
    assert post(app, "checkout-sessions/create", body=body)[0] == 200
    reads = upstream.billing_reads("u1")
    post(app, "customers/billing")
    post(app, "customers/billing")
    assert upstream.billing_reads("u1") == reads + 2  # pinned: every read goes upstream
    time.sleep(0.4)
    post(app, "customers/billing")
    post(app, "customers/billing")
    assert upstream.billing_reads("u1") == reads + 3  # the pin is over: cached again


def test_webhook_ids_are_kept_in_the_shared_cache_so_two_machines_run_a_receiver_once(
    upstream: HTTPUpstream, redis_server: RedisServer
) -> None:
    # No FLOWGLAD_WEBHOOK_STORE: the handled ids go where the billing cache lives.
    from flask_flowglad.signals import webhook_received

    from ..support.webhook_helpers import SECRET, body_of, recording, signed
    from ..support.webhook_helpers import post as deliver

    apps = [
        billing_app(upstream, redis_server.url, FLOWGLAD_WEBHOOK_SECRET=SECRET)[0]
        for _ in range(2)
    ]
    body = body_of(external_id="u1")
    headers = signed(body, "msg_shared")
    with recording(webhook_received) as seen:
        answers = [deliver(app, body, headers) for app in apps]
    assert [answer.status_code for answer in answers] == [200, 200]
    assert [answer.get_json()["data"]["duplicate"] for answer in answers] == [False, True]
    assert len(seen) == 1
    keys = redis.Redis.from_url(redis_server.url).keys("*msg_shared*")
    assert keys, "the handled id is in the shared Redis"
