"""``@feature_required`` on an async view: it runs with asgiref, and without it the app
says at start-up to install ``flask[async]``."""

from __future__ import annotations

import sys

import pytest

from flask_flowglad import feature_required
from flask_flowglad.sandbox import Sandbox

from .support.apps import User, make_sandbox_app


def test_async_view_runs_for_a_customer_with_the_feature(flowglad_sandbox: Sandbox) -> None:
    app = make_sandbox_app(flowglad_sandbox)

    @app.get("/reports")
    @feature_required("advanced_analytics")
    async def reports() -> str:
        return "reports"

    flowglad_sandbox.put_customer_on_plan("u1", "pro_monthly")
    flowglad_sandbox.put_customer_on_plan("u2", "free")
    assert app.test_client(user=User("u1")).get("/reports").get_data() == b"reports"
    assert app.test_client(user=User("u2")).get("/reports").status_code == 402


def test_async_view_without_asgiref_says_to_install_flask_async(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "asgiref", None)  # as if it were not installed
    with pytest.raises(RuntimeError, match=r"pip install 'flask\[async\]'") as raised:

        @feature_required("advanced_analytics")
        async def reports() -> str:
            return "reports"

    assert "'advanced_analytics'" in str(raised.value)
    assert "reports" in str(raised.value)


def test_sync_view_needs_no_asgiref(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "asgiref", None)

    @feature_required("advanced_analytics")
    def reports() -> str:
        return "reports"

    assert reports.__name__ == "reports"  # decorated without a word about asgiref
