"""A Flask-DebugToolbar panel: what the page just rendered did with Flowglad.

::

    from flask_debugtoolbar import DebugToolbarExtension

    app.config["DEBUG_TB_PANELS"] = [
        *app.config.get("DEBUG_TB_PANELS", DEFAULT_PANELS),
        "flask_flowglad.debug_toolbar.FlowgladPanel",
    ]
    DebugToolbarExtension(app)

The panel lists this request's Flowglad calls (method, path, status, time, retries, how
the shared billing cache answered), the billing each customer was read with, and every
feature check with its answer. It never calls Flowglad itself: a customer whose billing
the request did not read is shown as not read.

Like the toolbar, it is for development: it shows customers' ids and billing in clear.
Install it with ``pip install "flask-flowglad[debug-toolbar]"``.

.. versionadded:: 0.1
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from flask import current_app, g
from flask_debugtoolbar.panels import DebugPanel
from jinja2 import Template
from werkzeug import Request, Response

from ..billing import BillingSnapshot
from ..state import EXTENSION_NAME, G_CACHE_ATTRIBUTE, FlowgladState
from ..telemetry import Recording, start_recording, stop_recording

__all__ = ["FlowgladPanel"]


@dataclass
class CustomerBillingShown:
    """One customer's billing as the request read it, for the panel."""

    external_id: str
    customer_hash: str | None
    snapshot: BillingSnapshot | None
    subscriptions: list[dict[str, Any]] = field(default_factory=list)
    features: list[str] = field(default_factory=list)
    balances: list[dict[str, Any]] = field(default_factory=list)
    raw: str = ""


class FlowgladPanel(DebugPanel):
    """This request's Flowglad calls, customers' billing and feature checks."""

    name = "Flowglad"
    has_content = True
    _template: Template | None = None

    def __init__(self, jinja_env: Any, context: dict[str, Any] | None = None) -> None:
        super().__init__(jinja_env, context)
        self.recording = Recording()
        self.customers: list[CustomerBillingShown] = []

    def process_request(self, request: Request) -> None:
        self.recording = start_recording()

    def process_response(self, request: Request, response: Response) -> None:
        stop_recording()
        self.customers = _customers_read()

    def nav_title(self) -> str:
        return "Flowglad"

    def nav_subtitle(self) -> str:
        calls = [call for call in self.recording.calls if call.method is not None]
        total = sum(call.duration_ms for call in calls)
        return f"{len(calls)} call{'' if len(calls) == 1 else 's'} in {total:.0f} ms"

    def title(self) -> str:
        return "Flowglad billing"

    def url(self) -> str:
        return ""

    def content(self) -> str:
        return self._get_template().render(
            calls=self.recording.calls,
            checks=self.recording.checks,
            dropped=self.recording.dropped,
            customers=self.customers,
        )

    def _get_template(self) -> Template:
        """The panel's template, compiled once in the toolbar's environment (it escapes)."""
        if FlowgladPanel._template is None:
            source = resources.files(__name__).joinpath("panel.html").read_text("utf-8")
            FlowgladPanel._template = self.jinja_env.from_string(source)
        return FlowgladPanel._template


def _customers_read() -> list[CustomerBillingShown]:
    """Each customer whose billing this request read (from the request's cache)."""
    state = current_app.extensions.get(EXTENSION_NAME)
    if not isinstance(state, FlowgladState):
        return []
    shown = []
    for external_id in list(g.get(G_CACHE_ATTRIBUTE) or {}):
        snapshot = state.for_customer(external_id).billing_already_read()
        customer = CustomerBillingShown(
            external_id, state.client.telemetry.customer_hash(external_id), snapshot
        )
        if snapshot is not None:
            customer.subscriptions = snapshot.current_subscriptions
            customer.features = sorted(item["slug"] for item in snapshot.granted_features())
            customer.balances = snapshot.usage_meter_balances()
            customer.raw = json.dumps(snapshot.raw, indent=2, sort_keys=True)
        shown.append(customer)
    return shown
