"""An example SaaS app billed through Flowglad with flask-flowglad."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask

from . import billing_activity, db, formatting, metrics
from .analytics import bp as analytics_bp
from .auth import bp as auth_bp
from .billing_identity import BILLING_MODES
from .billing_page import bp as billing_bp
from .config import default_config, instance_secret
from .csrf import csrf_token
from .extensions import flowglad, login_manager
from .pages import bp as pages_bp
from .seed import seed_demo_user


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.config.update(default_config())
    if config:
        app.config.update(config)
    if app.config["SAAS_BILLING_MODE"] not in BILLING_MODES:
        raise ValueError(f"SAAS_BILLING_MODE must be one of {BILLING_MODES}.")

    db.init_app(app)
    # Kept beside the app's own database: handled webhook ids; the sandbox (its customers,
    # subscriptions and invoices survive a restart and the reloader, and every gunicorn
    # worker shares them); the key that signs sessions.
    database_dir = os.path.dirname(os.path.abspath(app.config["DATABASE"]))
    app.config.setdefault(
        "FLOWGLAD_WEBHOOK_STORE", os.path.join(database_dir, "flowglad-webhooks.sqlite3")
    )
    app.config.setdefault("FLOWGLAD_SANDBOX", os.path.join(database_dir, "flowglad-sandbox.db"))
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret(database_dir)
    formatting.init_app(app)
    login_manager.init_app(app)
    flowglad.init_app(app)
    billing_activity.init_app(app)
    metrics.init_app(app)

    for blueprint in (pages_bp, auth_bp, billing_bp, analytics_bp):
        app.register_blueprint(blueprint)
    app.jinja_env.globals["csrf_token"] = csrf_token

    seed_demo_user(app)
    return app
