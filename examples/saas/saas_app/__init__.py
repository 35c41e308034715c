"""An example SaaS app billed through Flowglad with flask-flowglad."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask

from . import billing_activity, db, formatting, metrics, usage_worker
from .analytics import bp as analytics_bp
from .auth import bp as auth_bp
from .billing_identity import BILLING_MODES
from .billing_page import bp as billing_bp
from .config import HTMX_INTEGRITY, default_config, instance_secret
from .csrf import csrf_token
from .extensions import flowglad, login_manager
from .pages import bp as pages_bp
from .seed import seed_demo_user

#: The two billing pages the example can show (SAAS_UI).
UI_MODES = ("react", "jinja")


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.config.update(default_config())
    if config:
        app.config.update(config)
    if app.config["SAAS_BILLING_MODE"] not in BILLING_MODES:
        raise ValueError(f"SAAS_BILLING_MODE must be one of {BILLING_MODES}.")
    if app.config["SAAS_UI"] not in UI_MODES:
        raise ValueError(f"SAAS_UI must be one of {UI_MODES}.")
    server_rendered = app.config["SAAS_UI"] == "jinja"
    if server_rendered:
        # flask-flowglad's billing pages at /billing, in this app's layout; the React
        # SDK's routes are not needed.
        app.config.setdefault("FLOWGLAD_UI", True)
        app.config.setdefault("FLOWGLAD_UI_SIGNUP_ENDPOINT", "auth.signup")
        app.config.setdefault("FLOWGLAD_REACT_ROUTES", False)

    db.init_app(app)
    # Kept beside the app's own database: handled webhook ids; the sandbox (its customers,
    # subscriptions and invoices survive a restart and the reloader, and every gunicorn
    # worker shares them); the key that signs sessions.
    database_dir = os.path.dirname(os.path.abspath(app.config["DATABASE"]))
    app.config.setdefault(
        "FLOWGLAD_WEBHOOK_STORE", os.path.join(database_dir, "flowglad-webhooks.sqlite3")
    )
    # Usage events wait for the worker in a SQLite file beside it (FLOWGLAD_USAGE_OUTBOX in
    # the environment for Redis or PostgreSQL).
    outbox = os.path.join(database_dir, "flowglad-usage.sqlite3")
    app.config.setdefault("FLOWGLAD_USAGE_OUTBOX", f"sqlite:///{outbox}")
    app.config.setdefault("FLOWGLAD_SANDBOX", os.path.join(database_dir, "flowglad-sandbox.db"))
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret(database_dir)
    formatting.init_app(app)
    login_manager.init_app(app)
    flowglad.init_app(app)
    billing_activity.init_app(app)
    metrics.init_app(app)

    for blueprint in (pages_bp, auth_bp, analytics_bp):
        app.register_blueprint(blueprint)
    if not server_rendered:
        app.register_blueprint(billing_bp)
    app.jinja_env.globals.update(
        csrf_token=csrf_token,
        # Where the navigation leads: the React page or the server-rendered ones.
        billing_endpoint="flowglad_ui.account" if server_rendered else "billing.page",
        pricing_endpoint="flowglad_ui.pricing" if server_rendered else "pages.pricing",
        htmx_integrity=HTMX_INTEGRITY,
        billing_activity=billing_activity.for_current_customer,
    )

    usage_worker.init_app(app)
    seed_demo_user(app)
    return app
