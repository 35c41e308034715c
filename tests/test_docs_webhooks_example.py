"""docs/examples/webhooks.py, included verbatim in docs/webhooks.md, does what it says."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest
from flask import Flask

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "webhooks.py"
DOC = EXAMPLE.parents[1] / "webhooks.md"

pytestmark = pytest.mark.filterwarnings("ignore::flask_flowglad.SandboxWarning")


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_example_webhooks", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def example(tmp_path: Path) -> tuple[ModuleType, Flask]:
    module = load()
    app = module.create_app(
        {
            "DATABASE": str(tmp_path / "activity.sqlite3"),
            "FLOWGLAD_WEBHOOK_STORE": str(tmp_path / "webhooks.sqlite3"),
        }
    )
    return module, app


def test_the_doc_includes_the_example() -> None:
    assert "<!-- generated: include examples/webhooks.py -->" in DOC.read_text()
    assert "```python\n" + EXAMPLE.read_text().strip() + "\n```" in DOC.read_text()


def test_plan_changes_are_logged_once_each(example: tuple[ModuleType, Flask]) -> None:
    module, app = example
    with app.app_context():
        sandbox = module.flowglad.sandbox
        pro = sandbox.put_customer_on_plan("42", "pro_monthly")
        # The webhooks come after the whole change: the free plan had already ended when
        # its subscription.created was read back, so that is what was logged. Subscriptions
        # are named "<product> - <price>" as Flowglad names them.
        assert module.activity_of("42") == [
            "Free - Free plan ended",
            "Pro - Pro monthly plan started",
        ]
        module.flowglad.client.cancel_subscription(pro["id"], "at_end_of_current_billing_period")
        assert module.activity_of("42")[-1] == "Pro - Pro monthly plan will end"
        for delivery in sandbox.webhooks.deliveries:
            delivery.status = None
        sandbox.webhooks.redeliver()
        assert len(module.activity_of("42")) == 3
        assert module.activity_of("other") == []
