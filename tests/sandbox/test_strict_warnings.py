"""A user's test suite under ``pytest -W error``: the ``flowglad_sandbox`` fixture expects
the sandbox's warning; everything else still fails the test."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

APP = """
import warnings

from flask import Flask
from flask_login import FlaskLoginClient, LoginManager, UserMixin

from flask_flowglad import Flowglad


class User(UserMixin):
    def __init__(self, user_id):
        self.id = user_id


def create_app(config):
    app = Flask(__name__)
    app.config.update(SECRET_KEY="x", TESTING=True, **config)
    LoginManager(app).user_loader(User)
    Flowglad(app)
    app.test_client_class = FlaskLoginClient
    return app
"""


def test_fixture_passes_under_w_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        APP
        + """

def test_pro_user_reads_billing(flowglad_sandbox):
    app = create_app({"FLOWGLAD_SANDBOX": flowglad_sandbox})
    flowglad_sandbox.put_customer_on_plan("1", "pro_monthly")
    client = app.test_client(user=User("1"))
    response = client.post("/api/flowglad/customers/billing", json={})
    assert response.status_code == 200
"""
    )
    pytester.runpytest_subprocess("-W", "error", "-p", "no:cacheprovider").assert_outcomes(
        passed=1
    )


def test_other_warnings_still_fail_and_the_sandbox_still_warns_outside_the_fixture(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        APP
        + """

def test_another_warning_in_a_fixture_test_fails(flowglad_sandbox):
    create_app({"FLOWGLAD_SANDBOX": flowglad_sandbox})
    warnings.warn("something else", UserWarning)


def test_sandbox_switched_on_by_config_still_warns():
    create_app({"FLOWGLAD_SANDBOX": True})
"""
    )
    result = pytester.runpytest_subprocess("-W", "error", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*UserWarning: something else*", "*SandboxWarning*"])
