"""Celery glue for apps that already run Celery: a task that drains the usage outbox, and
the beat schedule that runs it.

::

    from flask_flowglad.tasks import usage_beat_schedule

    celery_app.conf.beat_schedule = {**usage_beat_schedule(every=10.0)}

The task runs in the Flask app's context, as tasks do in Flask's Celery pattern (a
``Task`` subclass that pushes ``app.app_context()``, see Flask's "Background Tasks with
Celery"). Any number of these tasks may run at once, on any workers: they share the outbox
as ``flask flowglad usage-worker`` processes do.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task
from flask import has_app_context

from .delivery import usage_worker

#: The task's name, for routing and for the beat schedule.
DRAIN_TASK = "flask_flowglad.drain_usage_outbox"


@shared_task(name=DRAIN_TASK, ignore_result=True)
def drain_usage_outbox(max_seconds: float = 50.0) -> dict[str, int]:
    """Send what the outbox holds, for at most ``max_seconds``; the counts.

    .. versionadded:: 0.1
    """
    if not has_app_context():
        raise RuntimeError(
            f"{DRAIN_TASK} runs in the Flask app's context: give the Celery app a Task class"
            " that pushes app.app_context() (Flask's celery_init_app pattern)."
        )
    totals = usage_worker().drain(max_seconds=max_seconds)
    return {
        "claimed": totals.claimed,
        "sent": totals.sent,
        "dead": totals.dead,
        "retried": totals.retried,
    }


def usage_beat_schedule(every: float = 10.0, max_seconds: float | None = None) -> dict[str, Any]:
    """A ``beat_schedule`` entry draining the outbox every ``every`` seconds; each run
    stops after ``max_seconds`` (by default a little less than ``every``), so runs
    rarely overlap (and do no harm when they do).

    .. versionadded:: 0.1
    """
    limit = max_seconds if max_seconds is not None else max(1.0, every * 0.9)
    return {
        "flowglad-drain-usage-outbox": {
            "task": DRAIN_TASK,
            "schedule": every,
            "kwargs": {"max_seconds": limit},
        }
    }
