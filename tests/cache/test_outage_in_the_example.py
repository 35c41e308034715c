"""A Flowglad outage in a real app: the example (an app factory, blueprints, CSRF, a
login, server-rendered pages) on Flowglad over HTTP, with the shared cache in a real
Redis. A customer who used the app lately keeps using it through the outage: the gated
analytics page and the billing page render as before, the usage balance with them. A
customer the cache never saw is refused as ``FLOWGLAD_FAIL_OPEN`` says (closed: 503)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask_login import FlaskLoginClient

from flask_flowglad import cache as cache_module
from flask_flowglad.protocol.actions import STALE_HEADER

from ..support.cache_support import Clock, HTTPUpstream, RedisServer

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "saas"
TTL = 60.0


@pytest.fixture
def bare_upstream() -> Iterator[HTTPUpstream]:
    """Flowglad on 127.0.0.1 with no customer: the example signs its users up."""
    upstream = HTTPUpstream()
    yield upstream
    upstream.close()


def example_app(
    tmp_path: Path, upstream: HTTPUpstream, redis: RedisServer, **config: Any
) -> Flask:
    if str(EXAMPLE) not in sys.path:
        sys.path.insert(0, str(EXAMPLE))
    from saas_app import create_app

    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "outage",
            "DATABASE": str(tmp_path / "saas.sqlite3"),
            "FLOWGLAD_SANDBOX": False,
            "FLOWGLAD_SECRET_KEY": upstream.sandbox.secret_key,
            "FLOWGLAD_BASE_URL": upstream.url,
            "FLOWGLAD_BILLING_CACHE": redis.url,
            "FLOWGLAD_BILLING_CACHE_TTL": TTL,
            "FLOWGLAD_MAX_RETRIES": 0,
            "SAAS_DEMO_USER": None,
            **config,
        }
    )
    app.test_client_class = FlaskLoginClient
    return app


def shown(response: Any, marker: str) -> str:
    """The element of a page that carries ``marker``, up to its end tag."""
    text = response.get_data(as_text=True)
    start = text.index(marker)
    return text[start : text.index("</", start)]


def sign_up(app: Flask, email: str) -> Any:
    from saas_app.models import find_user_by_email

    client = app.test_client()
    client.get("/signup")
    with client.session_transaction() as session:
        token = session.get("_csrf_token")
    form = {"name": email.split("@")[0], "email": email, "password": "a long password"}
    response = client.post("/signup", data={**form, "csrf_token": token or ""})
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:500]
    with app.app_context():
        return find_user_by_email(email)


def test_a_customer_seen_lately_uses_the_example_through_an_outage(
    tmp_path: Path,
    bare_upstream: HTTPUpstream,
    redis_server: RedisServer,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    upstream = bare_upstream
    monkeypatch.setattr(cache_module, "RETRY_SECONDS", 0.0)
    app = example_app(tmp_path, upstream, redis_server)
    app.extensions["flowglad"].billing_cache._clock = clock
    pro = sign_up(app, "pro@example.com")
    upstream.sandbox.put_customer_on_plan(str(pro.id), "pro_monthly")
    app.extensions["flowglad"].billing_cache.invalidate(str(pro.id))
    newcomer = sign_up(app, "new@example.com")
    client = app.test_client(user=pro)
    pages = ["/", "/analytics/", "/billing"]
    before = {page: client.get(page) for page in pages}
    assert {page: r.status_code for page, r in before.items()} == dict.fromkeys(pages, 200)

    clock.now += TTL + 30  # every entry past its TTL: each read asks Flowglad first
    upstream.failing = 503
    during = {page: client.get(page) for page in pages}
    assert {page: r.status_code for page, r in during.items()} == dict.fromkeys(pages, 200)
    for marker in ('data-testid="analytics-unlocked"', 'data-testid="calls-left"'):
        assert shown(during["/analytics/"], marker) == shown(before["/analytics/"], marker)
    # The billing page's React SDK asks the JSON route: answered too, saying it is stale.
    billing = client.post("/api/flowglad/customers/billing", json={})
    assert billing.status_code == 200
    assert int(billing.headers[STALE_HEADER]) >= TTL
    assert upstream.failed_calls
    # Never seen by the cache (signed up, never read): the outage shows, closed by default.
    assert app.test_client(user=newcomer).get("/analytics/").status_code == 503

    upstream.failing = None
    failed = len(upstream.failed_calls)
    after = client.get("/analytics/")
    assert after.status_code == 200
    assert len(upstream.failed_calls) == failed
