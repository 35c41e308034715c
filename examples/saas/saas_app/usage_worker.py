"""Who sends the usage outbox to Flowglad.

In production, worker processes of their own: ``flask --app saas_app flowglad usage-worker``
beside gunicorn. In development on the sandbox (``flask run``), a thread of the app sends
it, so the demo needs no second process.
"""

from __future__ import annotations

import threading

from flask import Flask

from .extensions import flowglad


def init_app(app: Flask) -> None:
    if app.config.get("SAAS_USAGE_WORKER_THREAD", _developing_on_the_sandbox(app)):
        # Kept where whoever made the app (a test's live server) can stop the thread.
        app.extensions["saas_usage_worker"] = start_thread(app)


def _developing_on_the_sandbox(app: Flask) -> bool:
    """Billing simulated by the sandbox, outside the test suite (which sends usage itself)."""
    return bool(app.config.get("FLOWGLAD_SANDBOX")) and not app.config.get("TESTING")


def start_thread(app: Flask) -> threading.Event:
    """Send the outbox from a daemon thread of this process; set the event to stop it."""
    stop = threading.Event()

    def run() -> None:
        with app.app_context():
            flowglad.usage_worker().run(stop)

    threading.Thread(target=run, name="flowglad-usage-worker", daemon=True).start()
    return stop
