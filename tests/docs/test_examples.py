"""What docs/gating.md says of templates, on its example app: a visitor, a free and a Pro
customer each see the link their plan allows, from the names init_app gives templates."""

from __future__ import annotations

import importlib.util
import re
import warnings
from types import ModuleType

from flask_login import FlaskLoginClient, UserMixin

from .pages import DOCS


def gating_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_gating", DOCS / "examples" / "gating.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the sandbox says billing is simulated
        spec.loader.exec_module(module)
    module.app.test_client_class = FlaskLoginClient
    return module


def user(user_id: str) -> UserMixin:
    person = UserMixin()
    person.id = user_id
    return person


def test_a_visitor_sees_the_plans_and_costs_no_billing_read() -> None:
    example = gating_example()
    with example.app.app_context():
        sandbox = example.flowglad.sandbox
    page = example.app.test_client().get("/")
    assert page.status_code == 200
    assert "See the plans" in page.text
    assert sandbox.calls == []


def test_templates_get_the_billing_names_without_registering_them() -> None:
    example = gating_example()
    assert "current_billing" not in example.app.jinja_env.globals  # nothing set by hand
    with example.app.app_context():
        example.flowglad.sandbox.put_customer_on_plan("9", "pro_monthly")
    pro = example.app.test_client(user=user("9")).get("/").text
    assert "href='/reports'" in pro
    left = re.search(r"\((\d+) API calls left\)", pro)
    assert left is not None and int(left.group(1)) > 0  # the plan's credits
    free = example.app.test_client(user=user("10")).get("/").text
    assert "Unlock reports" in free
