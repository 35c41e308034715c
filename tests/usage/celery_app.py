"""A Flask app with Celery, as Flask's "Background Tasks with Celery" pattern sets it up,
draining the usage outbox by the beat schedule flask-flowglad gives. Configured by the
environment: ``CELERY_BROKER`` (a redis:// URL), ``FLOWGLAD_UPSTREAM``, ``USAGE_OUTBOX``."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery, Task
from flask import Flask

from flask_flowglad import Flowglad
from flask_flowglad.tasks import usage_beat_schedule


def celery_init_app(app: Flask) -> Celery:
    """Flask's own pattern: every task runs in the app's context."""

    class FlaskTask(Task):  # type: ignore[misc]
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(app.config["CELERY"])
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app


def create_app() -> Flask:
    app = Flask(__name__)
    app.config.update(
        FLOWGLAD_SECRET_KEY="sk_test_sandbox",
        FLOWGLAD_BASE_URL=os.environ["FLOWGLAD_UPSTREAM"],
        FLOWGLAD_USAGE_OUTBOX=os.environ["USAGE_OUTBOX"],
        CELERY={
            "broker_url": os.environ["CELERY_BROKER"],
            "task_ignore_result": True,
            "beat_schedule": usage_beat_schedule(every=1.0),
            "imports": ["flask_flowglad.tasks"],
            "worker_hijack_root_logger": False,
        },
    )
    Flowglad(app, customer_loader=lambda: None)
    celery_init_app(app)
    return app


flask_app = create_app() if "CELERY_BROKER" in os.environ else None
celery_app = flask_app.extensions["celery"] if flask_app is not None else None
