"""Usage that is never lost: a durable outbox, and workers that send it to Flowglad in
batches.

``record_usage`` stores a checked event (:mod:`.record`) in the outbox (:mod:`.outbox`)
and returns; workers (:mod:`.worker`) claim batches and send them to Flowglad's bulk
endpoint. The outbox is one of:

- the app's own SQL database, through Flask-SQLAlchemy's ``db`` (the event commits or
  rolls back with the app's change), or a SQLAlchemy URL (:mod:`.sql`);
- Redis, a stream read by a consumer group (:mod:`.redis`);
- a SQLite file, ``sqlite:///path`` (one machine, development; :mod:`.sql` too).

:func:`open_outbox` chooses one from ``FLOWGLAD_USAGE_OUTBOX``. Like the client, this
package knows nothing of Flask.
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..redaction import mask_url_password
from ..storage import REDIS_SCHEMES
from .outbox import Claim, Refusal, UsageOutbox
from .record import DeadLetter, PendingUsage, UsageStatus, new_pending_usage

if TYPE_CHECKING:
    from .worker import DeliverySettings as DeliverySettings
    from .worker import FlushResult as FlushResult
    from .worker import UsageWorker as UsageWorker

__all__ = [
    "Claim",
    "DeadLetter",
    "DeliverySettings",
    "FlushResult",
    "PendingUsage",
    "Refusal",
    "UsageOutbox",
    "UsageStatus",
    "UsageWorker",
    "new_pending_usage",
    "open_outbox",
    "outbox_setting_problem",
]

#: Loaded when first asked for: the worker uses the service, which records through here.
_LAZY = {"DeliverySettings", "FlushResult", "UsageWorker"}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(".worker", __name__), name)
    globals()[name] = value
    return value


#: What an object needs to be an outbox itself.
_OUTBOX_METHODS = ("add", "claim", "complete", "retry", "dead_letter", "pending_amounts", "status")


def open_outbox(
    setting: Any, *, root: str | None = None, namespace: str = "default"
) -> UsageOutbox:
    """The outbox ``setting`` names (see the package's docstring).

    ``root`` is where a relative SQLite path lives (the app's instance folder);
    ``namespace`` keeps apps and Flowglad accounts sharing one Redis apart.
    """
    problem = outbox_setting_problem(setting)
    if problem is not None:
        raise ValueError(problem)
    if isinstance(setting, (str, os.PathLike)):
        url = os.fspath(setting).strip()
        if urlsplit(url).scheme.lower() in REDIS_SCHEMES:
            from .redis import RedisOutbox

            return RedisOutbox(url, namespace=namespace)
        from .sql import SQLOutbox

        return SQLOutbox.from_url(url, root=root)
    if _is_flask_sqlalchemy(setting):
        from .sql import SQLOutbox

        return SQLOutbox.for_flask_sqlalchemy(setting)
    outbox: UsageOutbox = setting
    return outbox


def outbox_setting_problem(value: Any) -> str | None:
    """Why ``value`` cannot name an outbox, or ``None``: checked when the app starts."""
    if isinstance(value, (str, os.PathLike)):
        text = os.fspath(value).strip()
        try:
            scheme = urlsplit(text).scheme.lower()
        except ValueError:
            scheme = ""
        if "://" not in text or not scheme:
            return f"{mask_url_password(text)!r} is not a URL (redis://, sqlite:///path, postgresql://)"
        if scheme in REDIS_SCHEMES:
            return None
        if scheme == "sqlite" and text.rstrip("/") in ("sqlite:", "sqlite:/"):
            return "a sqlite:/// URL needs a file path"
        if scheme.split("+")[0] in ("postgresql", "sqlite"):
            return None
        return f"the scheme {scheme!r} names no supported outbox (redis://, sqlite:///, postgresql://)"
    if _is_flask_sqlalchemy(value):
        return None
    if all(callable(getattr(value, name, None)) for name in _OUTBOX_METHODS):
        return None
    return f"{type(value).__name__} is neither a URL, Flask-SQLAlchemy's db, nor an outbox"


def _is_flask_sqlalchemy(value: Any) -> bool:
    """Flask-SQLAlchemy's ``db`` object, recognised without importing it."""
    return all(hasattr(value, name) for name in ("session", "metadata", "Model")) and hasattr(
        type(value), "engine"
    )
