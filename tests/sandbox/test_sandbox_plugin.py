"""The pytest plugin, run in a separate pytest session like a user's test suite would."""

from __future__ import annotations

import subprocess
import sys

import pytest
from flask import Flask

from flask_flowglad import Flowglad
from flask_flowglad.sandbox import Sandbox

pytest_plugins = ["pytester"]

#: The plugin reaches the inner session through the package's ``pytest11`` entry point,
#: as it reaches a user's test suite.


def test_fixture_gives_each_test_a_fresh_sandbox_with_helpers(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import requests
        from flask_flowglad.sandbox import Sandbox

        seen = []

        def test_first(flowglad_sandbox):
            assert isinstance(flowglad_sandbox, Sandbox)
            seen.append(flowglad_sandbox)
            sub = flowglad_sandbox.put_customer_on_plan("u", "pro_monthly")
            flowglad_sandbox.record_usage("u", "api_calls", 5)
            flowglad_sandbox.advance_billing_period("u")
            session = requests.Session()
            session.mount(flowglad_sandbox.base_url, flowglad_sandbox.adapter())
            session.get(flowglad_sandbox.base_url + "/api/v1/customers/u",
                        headers={"Authorization": flowglad_sandbox.secret_key})
            assert [c.path for c in flowglad_sandbox.calls] == ["/api/v1/customers/u"]

        def test_second(flowglad_sandbox):
            assert flowglad_sandbox is not seen[0]
            assert flowglad_sandbox.calls == []
            assert flowglad_sandbox.records.customers.rows == {}
        """
    )
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=2)


def test_pricing_file_can_be_set_in_the_ini(pytester: pytest.Pytester) -> None:
    pytester.makefile(
        ".json",
        pricing='{"products": [{"slug": "solo", "default": true, '
        '"prices": [{"slug": "solo", "unitPrice": 0}]}]}',
    )
    pytester.makeini("[pytest]\nflowglad_sandbox_pricing = pricing.json\n")
    pytester.makepyfile(
        """
        def test_it(flowglad_sandbox):
            assert flowglad_sandbox.pricing.record["products"][0]["slug"] == "solo"
        """
    )
    pytester.runpytest_subprocess().assert_outcomes(passed=1)


def test_url_fixture_serves_the_tests_sandbox_over_http(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import requests

        def test_it(flowglad_sandbox, flowglad_sandbox_url):
            assert flowglad_sandbox_url.startswith("http://127.0.0.1:")
            key = {"Authorization": flowglad_sandbox.secret_key}
            created = requests.post(
                flowglad_sandbox_url + "/_sandbox/v1/customers",
                json={"externalId": "u"}, headers=key, timeout=10,
            )
            assert created.status_code == 200
            assert flowglad_sandbox.records.customer_by_external_id("u") is not None
            billing = requests.get(
                flowglad_sandbox_url + "/api/v1/customers/u/billing", headers=key, timeout=10
            ).json()
            assert billing["billingPortalUrl"].startswith(flowglad_sandbox_url + "/")
        """
    )
    pytester.runpytest_subprocess().assert_outcomes(passed=1)


def test_plugin_imports_with_only_the_hard_dependencies() -> None:
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in {'jsonschema', 'referencing', 'requests_mock'}:\n"
        "            raise ImportError(name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import flask_flowglad.sandbox.pytest_plugin as p\n"
        "assert callable(p.flowglad_sandbox)\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"


def test_the_fixtures_sandbox_records_retry_waits_instead_of_sleeping(
    flowglad_sandbox: Sandbox,
) -> None:
    """An outage made with ``fail_next`` is retried as against Flowglad (same attempts,
    same back-off asked for) without the test sleeping through the back-off."""
    app = Flask(__name__)
    app.config.update(FLOWGLAD_SANDBOX=flowglad_sandbox, FLOWGLAD_MAX_RETRIES=2)
    flowglad = Flowglad(app)
    flowglad_sandbox.create_customer("u1")
    flowglad_sandbox.fail_next(503, times=2, path="/billing")
    with app.test_request_context():
        billing = flowglad.for_customer("u1").get_billing()
    assert billing.raw["customer"]["externalId"] == "u1"
    statuses = [c.status for c in flowglad_sandbox.calls if c.path.endswith("/billing")]
    assert statuses == [503, 503, 200]
    # The client's back-off (0.5 s, then 1 s, less up to 25% jitter) was asked for, not slept.
    first, second = flowglad_sandbox.waits
    assert 0.375 <= first <= 0.5 and 0.75 <= second <= 1.0
