"""Who sends the usage outbox to Flowglad.

In production, worker processes of their own: ``flask --app saas_app flowglad usage-worker``
beside gunicorn. The in-memory sandbox lives in the app's process, where no other process
can reach it, so in development (``flask run`` on the sandbox) a thread of the app sends it.
"""

from __future__ import annotations

import threading

from flask import Flask

from .extensions import flowglad


def init_app(app: Flask) -> None:
    if app.config.get("SAAS_USAGE_WORKER_THREAD", _in_memory_sandbox(app)):
        start_thread(app)


def _in_memory_sandbox(app: Flask) -> bool:
    """Billing simulated in this process (not a shared `flask flowglad sandbox`), outside
    the test suite, which sends usage itself."""
    return bool(app.config.get("FLOWGLAD_SANDBOX")) and not app.config.get("TESTING")


def start_thread(app: Flask) -> threading.Event:
    """Send the outbox from a daemon thread of this process; set the event to stop it."""
    stop = threading.Event()

    def run() -> None:
        with app.app_context():
            flowglad.usage_worker().run(stop)

    threading.Thread(target=run, name="flowglad-usage-worker", daemon=True).start()
    return stop
