"""The README's working app is examples/minimal/app.py, and it works."""

from __future__ import annotations

import importlib.util
import logging
import re
import warnings
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "minimal" / "app.py"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("minimal_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the sandbox says billing is simulated
        spec.loader.exec_module(module)
    return module


def test_readme_shows_the_example_verbatim() -> None:
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, re.S)
    assert blocks[0] == EXAMPLE.read_text()


def test_the_example_gates_reports_on_the_plan() -> None:
    example = load_example()
    client = example.app.test_client()
    assert client.get("/reports").status_code == 401
    response = client.post("/signup", data={"name": "Ada", "email": "ada@example.com"})
    assert response.status_code == 302
    assert client.get("/reports").status_code == 402  # the free plan
    with example.app.app_context():
        sandbox = example.flowglad.sandbox
        sandbox.put_customer_on_plan("1", "pro_monthly")
    reports = client.get("/reports")
    assert reports.status_code == 200
    assert reports.json["api_calls_left"] > 0
    billing = client.post("/api/flowglad/customers/billing", json={})
    assert billing.json["data"]["customer"]["email"] == "ada@example.com"


def test_sign_up_goes_on_when_flowglad_fails_and_billing_creates_the_customer_later(
    caplog: pytest.LogCaptureFixture,
) -> None:
    example = load_example()
    with example.app.app_context():
        sandbox = example.flowglad.sandbox
    sandbox.fail_next(503, method="POST", path="/api/v1/customers")
    client = example.app.test_client()
    with caplog.at_level(logging.WARNING):
        response = client.post("/signup", data={"name": "Ada", "email": "ada@example.com"})
    assert response.status_code == 302
    assert "not created yet" in caplog.text
    assert sandbox.records.customers.rows == {}
    billing = client.post("/api/flowglad/customers/billing", json={})
    assert billing.status_code == 200  # logged in; the customer is created on this read
    assert billing.json["data"]["customer"]["email"] == "ada@example.com"
