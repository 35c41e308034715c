"""The sandbox's webhooks: what Flowglad announces, signed as Svix signs it, delivered.

The billing rules call :func:`announce` where Flowglad would emit an event; the event waits
in the state's outbox until the sandbox's lock is released by the outermost call (an API
request, a hosted page, a test helper), then is delivered to every endpoint, in order, with
Svix's headers (``svix-id``, ``svix-timestamp``, ``svix-signature``) and Flowglad's body
``{"id", "object", "customer": {"id", "externalId"}, "pricingModelId"}``. The event type is
not in the body, as with Flowglad.

An app's own endpoint is called in process (through its test client), so when the API call
returns, the app's receivers have run. A URL endpoint is posted to from a background thread,
retried like Svix on failure, since the app may be the one waiting for the sandbox.

Where Flowglad has no equivalent record, the sandbox makes up the id: each paid invoice is
a payment (``pym_...``), a declined card or a period that cannot be charged is a failed one.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ..webhooks.signature import new_message_id, signed_headers

if TYPE_CHECKING:
    from .state import State

logger = logging.getLogger("flask_flowglad.sandbox")

Record = dict[str, Any]

#: Seconds to wait before each new attempt at a URL endpoint (Svix waits far longer).
URL_RETRY_DELAYS = (1.0, 5.0, 25.0)
URL_TIMEOUT = 10.0
#: The payment event a period's invoice announces, by the invoice's status.
PAYMENT_EVENTS = {"paid": "succeeded", "open": "failed"}


@dataclass(frozen=True)
class Announcement:
    """One event, as the billing rules announced it."""

    type: str
    payload: Record


def announce(state: State, event_type: str, object_id: str, customer_id: str) -> None:
    """Put the event ``event_type`` about ``object_id`` in the state's outbox."""
    customer = state.customers.get(customer_id) or {}
    payload: Record = {
        "id": object_id,
        "object": event_type.split(".", 1)[0],
        "customer": {"id": customer_id, "externalId": customer.get("externalId")},
        "pricingModelId": state.pricing.id,
    }
    state.outbox.append(Announcement(event_type, payload))


@dataclass
class Delivery:
    """One event sent to one endpoint, and how its last attempt went."""

    id: str
    type: str
    payload: Record
    endpoint: str
    #: The last attempt's HTTP status; ``None`` when nothing answered.
    status: int | None = None
    attempts: int = 0
    body: bytes = field(default=b"", repr=False)
    target: AppEndpoint | URLEndpoint | None = field(default=None, repr=False, compare=False)

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class AppEndpoint:
    """An app's own endpoint, called in process; forgotten once the app is gone."""

    def __init__(self, app: Any, path: str, secret: str) -> None:
        self._app = weakref.ref(app)
        self.name, self.secret = path, secret

    @property
    def alive(self) -> bool:
        return self._app() is not None

    def post(self, body: bytes, headers: dict[str, str]) -> int | None:
        app = self._app()
        if app is None:
            return None
        try:
            response = app.test_client().post(self.name, data=body, headers=headers)
        except Exception:  # noqa: BLE001 - a failed delivery must not fail the API call
            logger.exception("Webhook to the app at %s raised", self.name)
            return None
        status: int = response.status_code
        response.close()
        return status


class URLEndpoint:
    """An endpoint reached over HTTP (``flask flowglad sandbox --webhook-url``)."""

    alive = True

    def __init__(self, url: str, secret: str) -> None:
        self.name, self.secret = url, secret

    def post(self, body: bytes, headers: dict[str, str]) -> int | None:
        import requests

        try:
            response = requests.post(self.name, data=body, headers=headers, timeout=URL_TIMEOUT)
        except requests.RequestException as exc:
            logger.warning("Webhook to %s failed: %s", self.name, exc)
            return None
        return response.status_code


class Webhooks:
    """The endpoints of one sandbox, and every delivery made to them."""

    def __init__(self) -> None:
        self.endpoints: list[AppEndpoint | URLEndpoint] = []
        #: Every delivery, in the order the events were announced.
        self.deliveries: list[Delivery] = []
        self._local = threading.local()
        self._queue: queue.Queue[Delivery] | None = None

    def deliver_to_app(self, app: Any, path: str, secret: str) -> None:
        """Deliver every event to ``app``'s endpoint at ``path``, in process."""
        self.endpoints = [e for e in self.endpoints if e.alive]
        self.endpoints.append(AppEndpoint(app, path, secret))

    def deliver_to_url(self, url: str, secret: str) -> None:
        """Post every event to ``url``, from a background thread."""
        self.endpoints.append(URLEndpoint(url, secret))

    def send(self, announcements: list[Announcement]) -> None:
        """Deliver events in order; events announced by a receiver wait for their turn."""
        pending: list[Announcement] | None = getattr(self._local, "pending", None)
        if pending is not None:
            pending.extend(announcements)
            return
        pending = self._local.pending = list(announcements)
        try:
            while pending:
                announcement = pending.pop(0)
                body = json.dumps(announcement.payload, separators=(",", ":")).encode()
                message_id = new_message_id()
                for endpoint in list(self.endpoints):
                    if endpoint.alive:
                        delivery = Delivery(
                            message_id,
                            announcement.type,
                            announcement.payload,
                            endpoint.name,
                            body=body,
                            target=endpoint,
                        )
                        self._start(delivery)
        finally:
            self._local.pending = None

    def redeliver(self) -> list[Delivery]:
        """Send every failed in-process delivery again, with its id, signed anew (as
        Flowglad retries); returns the ones that were sent."""
        retried = [
            d
            for d in self.deliveries
            if not d.delivered and isinstance(d.target, AppEndpoint) and d.target.alive
        ]
        for delivery in retried:
            self._attempt(delivery)
        return retried

    def _start(self, delivery: Delivery) -> None:
        self.deliveries.append(delivery)
        if isinstance(delivery.target, URLEndpoint):
            self._background().put(delivery)
        else:
            self._attempt(delivery)

    def _attempt(self, delivery: Delivery) -> None:
        """One attempt; whatever fails is logged, never raised into the billing call."""
        endpoint = delivery.target
        assert endpoint is not None
        delivery.attempts += 1
        try:
            headers = signed_headers(endpoint.secret, delivery.id, delivery.body)
        except ValueError as exc:
            logger.error("Webhook %s not signed: %s", delivery.id, exc)
            delivery.status = None
            return
        delivery.status = endpoint.post(delivery.body, headers)
        if not delivery.delivered:
            logger.warning(
                "Webhook %s (%s) to %s answered %s",
                delivery.id,
                delivery.type,
                delivery.endpoint,
                delivery.status,
            )

    def _background(self) -> queue.Queue[Delivery]:
        if self._queue is None:
            self._queue = queue.Queue()
            threading.Thread(
                target=self._run_background, name="flowglad-sandbox-webhooks", daemon=True
            ).start()
        return self._queue

    def _run_background(self) -> None:
        assert self._queue is not None
        while True:
            delivery = self._queue.get()
            try:
                self._attempt(delivery)
                for delay in URL_RETRY_DELAYS:
                    if delivery.delivered:
                        break
                    time.sleep(delay)
                    self._attempt(delivery)
            except Exception:  # noqa: BLE001 - the thread serves every later delivery
                logger.exception("Webhook %s could not be delivered", delivery.id)
            finally:
                self._queue.task_done()

    def wait(self, timeout: float = 30.0) -> bool:
        """Wait until every delivery to a URL was attempted; whether they all were."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._queue is None or self._queue.unfinished_tasks == 0:
                return True
            time.sleep(0.01)
        return False


class SandboxLock:
    """The sandbox's one lock (re-entrant): when its outermost holder releases it, the events
    that holder announced are delivered, outside the lock, so receivers may call the sandbox.
    """

    def __init__(self, webhooks: Webhooks, outbox: Callable[[], list[Announcement]]) -> None:
        self._lock = threading.RLock()
        self._webhooks = webhooks
        self._outbox = outbox
        #: How deep the holding thread is; only that thread reads or writes it.
        self._depth = 0

    def __enter__(self) -> bool:
        self._lock.acquire()
        self._depth += 1
        return True

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._depth -= 1
        batch: list[Announcement] = []
        if self._depth == 0:
            outbox = self._outbox()
            batch, outbox[:] = list(outbox), []
        self._lock.release()
        if batch:
            self._webhooks.send(batch)
