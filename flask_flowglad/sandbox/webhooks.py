"""The sandbox's webhooks: what Flowglad announces, signed as Svix signs it, delivered.

The billing rules announce an event where Flowglad would emit one; the event waits until
the transaction that announced it is written, then is delivered to every endpoint, in order,
with Svix's headers (``svix-id``, ``svix-timestamp``, ``svix-signature``) and Flowglad's
body ``{"id", "object", "customer": {"id", "externalId"}, "pricingModelId"}``. The event
type is not in the body, as with Flowglad.

Deliveries come as Flowglad's do: each is a request of its own with no cookie, after the
change. An app's own endpoint is called in process, through its test client, in a fresh
context: the receiver gets its own application context (its own ``g``), an empty session
and no logged-in user, whatever request made the change. When the change was made inside
a request (the hosted checkout's pay button, a call from one of the app's views), its
events wait until that request has ended; outside any request (a test helper, a command)
they are delivered before the call returns. Either way, a receiver sees the records as
the whole change left them, and may call the sandbox itself: its events follow the ones
already waiting.

A URL endpoint is posted to from a background thread, retried like Svix on failure, since
the app may be the one waiting for the sandbox.

Where Flowglad has no equivalent record, the sandbox makes up the id: each paid invoice is
a payment (``pym_...``), a declined card a failed one.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import queue
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..webhooks.signature import new_message_id, signed_headers
from . import limits
from .records import Announcement
from .ring import Ring

logger = logging.getLogger("flask_flowglad.sandbox")

#: Seconds to wait before each new attempt at a URL endpoint (Svix waits far longer).
URL_RETRY_DELAYS = (1.0, 5.0, 25.0)
URL_TIMEOUT = 10.0
#: Where a request keeps the events it made, until it ends.
_WAITING = "flask_flowglad.sandbox.webhooks"


@dataclass
class Delivery:
    """One event sent to one endpoint, and how its last attempt went."""

    id: str
    type: str
    payload: dict[str, Any]
    endpoint: str
    #: The last attempt's HTTP status; ``None`` when nothing answered.
    status: int | None = None
    attempts: int = 0
    body: bytes = field(default=b"", repr=False)
    target: AppEndpoint | URLEndpoint | None = field(default=None, repr=False, compare=False)
    #: Its place in a state file's delivery log, once written there.
    seq: int | None = field(default=None, repr=False, compare=False)

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "payload": self.payload,
            "endpoint": self.endpoint,
            "status": self.status,
            "attempts": self.attempts,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], seq: int) -> Delivery:
        body = json.dumps(data["payload"], separators=(",", ":")).encode()
        return cls(
            data["id"],
            data["type"],
            data["payload"],
            data["endpoint"],
            data["status"],
            data["attempts"],
            body=body,
            seq=seq,
        )


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
        # An empty context: no application or request context of whoever made the
        # change, so the delivery is a request of its own, as Flowglad's are.
        return contextvars.Context().run(self._post, app, body, headers)

    def _post(self, app: Any, body: bytes, headers: dict[str, str]) -> int | None:
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
    """The endpoints of one sandbox, and its latest deliveries (a ring of ``log_size``)."""

    def __init__(self, log_size: int = limits.DELIVERY_LOG_SIZE) -> None:
        self.endpoints: list[AppEndpoint | URLEndpoint] = []
        #: The latest deliveries, in the order the events were announced.
        self.deliveries: Ring[Delivery] = Ring(log_size)
        #: Called with each delivery when it is made and after each attempt (the state
        #: file's delivery log).
        self.on_change: Callable[[Delivery], None] | None = None
        self._local = threading.local()
        self._queue: queue.Queue[Delivery] | None = None
        self._queue_pid = 0

    def deliver_to_app(self, app: Any, path: str, secret: str) -> None:
        """Deliver every event to ``app``'s endpoint at ``path``, in process."""
        self.endpoints = [e for e in self.endpoints if e.alive]
        self.endpoints.append(AppEndpoint(app, path, secret))

    def deliver_to_url(self, url: str, secret: str) -> None:
        """Post every event to ``url``, from a background thread."""
        self.endpoints.append(URLEndpoint(url, secret))

    def send(self, announcements: list[Announcement]) -> None:
        """Deliver events in order: after the current request, if there is one."""
        waiting: list[Announcement] | None = getattr(self._local, "pending", None)
        if waiting is not None:
            # Announced by a receiver: after the events already waiting.
            waiting.extend(announcements)
        elif not _wait_for_request_end(self, announcements):
            self.send_now(announcements)

    def send_now(self, announcements: list[Announcement]) -> None:
        """Deliver events in order; events announced by a receiver wait for their turn."""
        waiting: list[Announcement] | None = getattr(self._local, "pending", None)
        if waiting is not None:
            waiting.extend(announcements)
            return
        pending = self._local.pending = list(announcements)
        try:
            while pending:
                self._deliver(pending.pop(0))
        finally:
            self._local.pending = None

    def _deliver(self, announcement: Announcement) -> None:
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
        self._changed(delivery)
        if isinstance(delivery.target, URLEndpoint):
            self._background().put(delivery)
        else:
            self._attempt(delivery)

    def _changed(self, delivery: Delivery) -> None:
        if self.on_change is not None:
            try:
                self.on_change(delivery)
            except Exception:  # noqa: BLE001 - the log must not fail a delivery
                logger.exception("Webhook %s not written to the delivery log", delivery.id)

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
        else:
            delivery.status = endpoint.post(delivery.body, headers)
        if not delivery.delivered:
            logger.warning(
                "Webhook %s (%s) to %s answered %s",
                delivery.id,
                delivery.type,
                delivery.endpoint,
                delivery.status,
            )
        self._changed(delivery)

    def _background(self) -> queue.Queue[Delivery]:
        # A queue made before a fork has no thread in the child: each process its own.
        if self._queue is None or self._queue_pid != os.getpid():
            self._queue = queue.Queue()
            self._queue_pid = os.getpid()
            threading.Thread(
                target=self._run_background,
                args=(self._queue,),
                name="flowglad-sandbox-webhooks",
                daemon=True,
            ).start()
        return self._queue

    def _run_background(self, deliveries: queue.Queue[Delivery]) -> None:
        while True:
            delivery = deliveries.get()
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
                deliveries.task_done()

    def wait(self, timeout: float = 30.0) -> bool:
        """Wait until every delivery to a URL was attempted; whether they all were."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._queue is None or self._queue.unfinished_tasks == 0:
                return True
            time.sleep(0.01)
        return False


def _wait_for_request_end(webhooks: Webhooks, announcements: list[Announcement]) -> bool:
    """Inside a Flask request, keep the events until it ends; whether they were kept."""
    from flask import has_request_context, request

    if not has_request_context():
        return False
    _listen_for_request_ends()
    waiting = request.environ.setdefault(_WAITING, [])
    waiting.append((webhooks, list(announcements)))
    return True


_listening = threading.Lock()
_listening_done: list[bool] = []


def _listen_for_request_ends() -> None:
    if _listening_done:
        return
    with _listening:
        if not _listening_done:
            from flask import request_tearing_down

            request_tearing_down.connect(_request_ended, weak=False)
            _listening_done.append(True)


def _request_ended(sender: Any, **extra: Any) -> None:
    """Deliver what a request's changes announced, now that it is over."""
    from flask import request

    waiting = request.environ.pop(_WAITING, None)
    for webhooks, announcements in waiting or ():
        webhooks.send_now(announcements)
