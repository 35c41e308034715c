"""request_deadline: one total time for all Flowglad calls of a block, opened by the
blueprint and @feature_required with FLOWGLAD_REQUEST_DEADLINE."""

from __future__ import annotations

import threading
import time
from contextvars import copy_context
from typing import Any

import pytest
import requests_mock as rm
from flask import Flask

from flask_flowglad import ConfigurationError, Flowglad, feature_required
from flask_flowglad.deadline import current_deadline, request_deadline, time_remaining

from .support import payloads
from .support.apps import API, User, make_app


def test_no_deadline_outside_a_block() -> None:
    assert current_deadline() is None
    assert time_remaining() is None


def test_a_block_sets_the_time_remaining_and_restores_it_after() -> None:
    with request_deadline(5.0):
        remaining = time_remaining()
        assert remaining is not None and 4.9 < remaining <= 5.0
    assert time_remaining() is None


def test_an_inner_block_can_shorten_but_never_extend_the_outer_one() -> None:
    with request_deadline(2.0):
        outer = current_deadline()
        with request_deadline(60.0):
            assert current_deadline() == outer
        with request_deadline(0.5):
            inner = time_remaining()
            assert inner is not None and inner <= 0.5
        with request_deadline(None):
            assert current_deadline() == outer
        assert current_deadline() == outer


def test_time_remaining_is_zero_once_the_deadline_passed() -> None:
    with request_deadline(0.01):
        time.sleep(0.02)
        assert time_remaining() == 0.0


def test_the_deadline_belongs_to_its_context_not_to_other_threads() -> None:
    seen: list[float | None] = []
    with request_deadline(5.0):
        other = threading.Thread(target=lambda: seen.append(time_remaining()))
        other.start()
        other.join()
        copied = copy_context().run(time_remaining)
    assert seen == [None]
    assert copied is not None and copied > 4.0


# -- configuration ---------------------------------------------------------------------


def test_request_deadline_and_max_retry_wait_have_documented_defaults() -> None:
    app = make_app()
    flowglad = Flowglad(app)
    with app.app_context():
        assert flowglad.settings.request_deadline == 10.0
        assert flowglad.settings.max_retry_wait == 3.0
        assert flowglad.client.max_retry_wait == 3.0


def test_max_retry_wait_is_read_from_config() -> None:
    app = make_app(FLOWGLAD_MAX_RETRY_WAIT=0.5, FLOWGLAD_REQUEST_DEADLINE=4)
    flowglad = Flowglad(app)
    with app.app_context():
        assert flowglad.client.max_retry_wait == 0.5
        assert flowglad.settings.request_deadline == 4.0


def test_deadline_options_win_over_the_config() -> None:
    app = make_app(FLOWGLAD_MAX_RETRY_WAIT=5, FLOWGLAD_REQUEST_DEADLINE=4)
    flowglad = Flowglad(app, max_retry_wait=0.25, request_deadline=2)
    with app.app_context():
        assert flowglad.client.max_retry_wait == 0.25
        assert flowglad.settings.request_deadline == 2.0


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("FLOWGLAD_REQUEST_DEADLINE", 0),
        ("FLOWGLAD_REQUEST_DEADLINE", "soon"),
        ("FLOWGLAD_REQUEST_DEADLINE", float("inf")),
        ("FLOWGLAD_MAX_RETRY_WAIT", -1),
        ("FLOWGLAD_MAX_RETRY_WAIT", float("nan")),
    ],
)
def test_unusable_deadline_settings_are_refused_at_startup(key: str, value: Any) -> None:
    with pytest.raises(ConfigurationError, match=key):
        Flowglad(make_app(**{key: value}))


def test_settings_repr_masks_the_secret_key() -> None:
    app = make_app(FLOWGLAD_SECRET_KEY="sk_live_0123456789abcdefWXYZ")
    flowglad = Flowglad(app)
    with app.app_context():
        shown = repr(flowglad.settings)
    assert "0123456789abcdef" not in shown
    assert "secret_key='sk_live_\u2026WXYZ'" in shown
    assert "request_deadline=10.0" in shown


# -- opened around every browser request -----------------------------------------------


def remaining_during(upstream: rm.Mocker, url: str, payload: Any) -> list[float | None]:
    seen: list[float | None] = []

    def answer(request: Any, context: Any) -> Any:
        seen.append(time_remaining())
        return payload

    upstream.get(url, json=answer)
    return seen


def test_the_blueprint_bounds_an_action_by_the_configured_deadline(upstream: rm.Mocker) -> None:
    app = make_app(FLOWGLAD_REQUEST_DEADLINE=4)
    Flowglad(app)
    seen = remaining_during(upstream, f"{API}/customers/u1/billing", payloads.billing())

    response = app.test_client(user=User("u1")).post("/api/flowglad/customers/billing", json={})

    assert response.status_code == 200
    assert len(seen) == 1 and seen[0] is not None and 3.0 < seen[0] <= 4.0


def test_feature_required_bounds_its_billing_read(upstream: rm.Mocker) -> None:
    app: Flask = make_app(FLOWGLAD_REQUEST_DEADLINE=2)
    Flowglad(app)

    @app.route("/reports")
    @feature_required("reports")
    def reports() -> str:
        return "the reports"

    billing = payloads.billing(subscriptions=[payloads.subscription(features=("reports",))])
    seen = remaining_during(upstream, f"{API}/customers/u1/billing", billing)

    assert app.test_client(user=User("u1")).get("/reports").status_code == 200
    assert len(seen) == 1 and seen[0] is not None and 1.0 < seen[0] <= 2.0
