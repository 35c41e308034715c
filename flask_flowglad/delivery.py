"""The current app's usage outbox and its workers, built from the app's settings.

For ``flask flowglad usage-worker``, the Celery task and :meth:`Flowglad.usage_worker
<flask_flowglad.Flowglad.usage_worker>`: each needs the app only to find its outbox, its
REST client and its shared billing cache.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from .errors import ConfigurationError
from .state import get_state
from .usage import DeliverySettings, UsageOutbox, UsageWorker


def usage_outbox() -> UsageOutbox:
    """The current app's outbox; :exc:`ConfigurationError` when it has none."""
    outbox = get_state().usage_outbox
    if outbox is None:
        raise ConfigurationError(
            "FLOWGLAD_USAGE_OUTBOX is not set: there is no usage outbox. Set it to"
            " Flask-SQLAlchemy's db, a postgresql:// or redis:// URL, or sqlite:///path."
        )
    return outbox


def delivery_settings(**overrides: Any) -> DeliverySettings:
    """The app's ``FLOWGLAD_USAGE_*`` settings; ``overrides`` that are not ``None`` win."""
    settings = get_state().settings
    values: dict[str, Any] = {
        "batch_size": settings.usage_batch_size,
        "linger": settings.usage_linger,
        "lease": settings.usage_lease,
    }
    values.update({k: v for k, v in overrides.items() if v is not None})
    return dataclasses.replace(DeliverySettings(), **values)


def usage_worker(**overrides: Any) -> UsageWorker:
    """A worker for the current app's outbox, with its client and shared billing cache."""
    state = get_state()
    return UsageWorker(
        usage_outbox(),
        state.client,
        billing_cache=state.billing_cache,
        settings=delivery_settings(**overrides),
    )
