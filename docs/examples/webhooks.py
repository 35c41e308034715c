import base64
import os
import sqlite3
from typing import Any

from flask import Flask, current_app, g

from flask_flowglad import Flowglad, WebhookEvent
from flask_flowglad.signals import subscription_webhook

flowglad = Flowglad()


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(
        FLOWGLAD_SANDBOX=True,
        # With the sandbox any secret works: it signs with the one you set.
        # With Flowglad, copy the secret of the webhook made in its dashboard.
        FLOWGLAD_WEBHOOK_SECRET=os.environ.get("FLOWGLAD_WEBHOOK_SECRET")
        or "whsec_" + base64.b64encode(os.urandom(24)).decode(),
        DATABASE=os.path.join(app.instance_path, "activity.sqlite3"),
    )
    app.config.update(config or {})
    flowglad.init_app(app)
    subscription_webhook.connect(log_subscription, sender=app)
    app.teardown_appcontext(close_db)
    return app


# What each state of a subscription means to its customer.
NEWS = {
    "active": "{name} plan started",
    "cancellation_scheduled": "{name} plan will end",
    "canceled": "{name} plan ended",
    "past_due": "Payment failed: {name} plan is past due",
}


def log_subscription(app: Flask, event: WebhookEvent, **extra: Any) -> None:
    """The webhook says which subscription changed, not how: ask Flowglad."""
    if event.customer_external_id is None:
        return
    subscription = flowglad.client.get_subscription(event.object_id)["subscription"]
    news = NEWS.get(subscription["status"])
    if news is None:
        return
    with db() as conn:  # one row per subscription and state: a redelivery adds nothing
        conn.execute(
            "INSERT OR IGNORE INTO activity (customer, subscription, status, message)"
            " VALUES (?, ?, ?, ?)",
            (
                event.customer_external_id,
                subscription["id"],
                subscription["status"],
                news.format(name=subscription["name"]),
            ),
        )


def activity_of(customer: str) -> list[str]:
    """The customer's activity, oldest first, for their billing page."""
    rows = db().execute("SELECT message FROM activity WHERE customer = ? ORDER BY id", (customer,))
    return [message for (message,) in rows]


def db() -> sqlite3.Connection:
    if "db" not in g:
        os.makedirs(os.path.dirname(current_app.config["DATABASE"]), exist_ok=True)
        g.db = sqlite3.connect(current_app.config["DATABASE"])
        g.db.execute(
            "CREATE TABLE IF NOT EXISTS activity (id INTEGER PRIMARY KEY, customer TEXT,"
            " subscription TEXT, status TEXT, message TEXT, UNIQUE (subscription, status))"
        )
    connection: sqlite3.Connection = g.db
    return connection


def close_db(exc: BaseException | None = None) -> None:
    connection = g.pop("db", None)
    if connection is not None:
        connection.close()
