"""The endpoint Flowglad delivers webhooks to (``FLOWGLAD_WEBHOOK_PATH``, POST only).

For each delivery, in this order: read at most ``FLOWGLAD_MAX_BODY_BYTES`` of the raw body;
verify it (docs/protocol.md §8.1) against each configured secret; read the event; claim its
``svix-id`` in the :class:`~flask_flowglad.webhooks.ledger.DeliveryLedger`; drop the
customer's cached billing; send the signals; mark the id handled. Every answer is the JSON
envelope:

=====  ===========================  ====================================================
200    ``{"data": {"received": true, "duplicate": false}}``; ``duplicate`` is true for an id
       handled before (nothing is sent again)
400    ``invalid_webhook``          not signed with a configured secret, stale (over 300 s),
                                    dated over 60 s ahead, a header missing, a body that is
                                    not UTF-8, not JSON, or not an event object
405    ``method_not_allowed``       not a POST
409    ``webhook_in_progress``      another worker is running this id's receivers now
413    ``payload_too_large``        larger than ``FLOWGLAD_MAX_BODY_BYTES``
500    ``webhook_receiver_failed``  a receiver raised: the id stays unhandled, so Flowglad's
                                    redelivery runs every receiver again (``internal_error``
                                    if the endpoint itself failed, e.g. a lost connection)
503    ``webhook_store_unavailable``  the store of handled ids could not be reached
=====  ===========================  ====================================================

Anything but 2xx makes Flowglad deliver again later. Each delivery's ``svix-id`` is logged
(``flask_flowglad`` logger); the secrets never are.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from flask import Blueprint, Flask, Response, current_app, request

from .. import envelope
from ..config import FlowgladSettings
from ..errors import InvalidCustomerId, MalformedWebhook, WebhookVerificationError
from ..identity import CustomerIdentity
from ..signals import SIGNALS_BY_OBJECT, webhook_received
from ..state import get_state
from ..storage import Store, open_store
from ..telemetry import Delivery
from .event import WebhookEvent, parse_event
from .ledger import ClaimState, DeliveryLedger
from .signature import verify_webhook

if TYPE_CHECKING:
    from ..state import SandboxLike

logger = logging.getLogger("flask_flowglad")

#: The name of the blueprint (and the prefix of its endpoint), exempt from Flask-WTF's
#: CSRF protection: deliveries are authenticated by their signature, never by a cookie.
BLUEPRINT_NAME = "flowglad_webhooks"
#: The default store of handled ids, in the app's instance folder.
DEFAULT_STORE_FILE = "flowglad-webhooks.sqlite3"
#: Methods routed to the view, so that a wrong one gets a JSON 405, not an HTML page.
_ROUTED_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
_HEADERS = ("svix-id", "svix-timestamp", "svix-signature")


class WebhookEndpoint:
    """The view of one app's endpoint: its secrets and its ledger of handled ids."""

    def __init__(self, secrets: Sequence[str], ledger: DeliveryLedger, max_bytes: int) -> None:
        self.secrets = tuple(secrets)
        self.ledger = ledger
        self.max_bytes = max_bytes

    def receive(self) -> Response:
        """Answer one delivery; whatever escapes is a logged 500 envelope, not a page."""
        telemetry = get_state().client.telemetry
        with Delivery(telemetry, request.headers.get("svix-id", "")) as delivery:
            try:
                response = self._receive(delivery)
            except Exception:
                logger.exception("flask-flowglad failed on the webhook %r", request.path)
                message = "The webhook failed on the server."
                response = envelope.failure(500, "internal_error", message)
            delivery.answered(response.status_code)
            return response

    def _receive(self, delivery: Delivery) -> Response:
        if request.method != "POST":
            return envelope.failure(
                405, "method_not_allowed", "Method not allowed", headers={"Allow": "POST"}
            )
        raw = self._read_body()
        if raw is None:
            message = f"The body is larger than {self.max_bytes} bytes."
            return envelope.failure(413, "payload_too_large", message)
        try:
            event = self._verify(raw)
        except (WebhookVerificationError, UnicodeDecodeError, MalformedWebhook) as exc:
            logger.warning(
                "Refused a Flowglad webhook (svix-id %r): %s",
                request.headers.get("svix-id", "")[:100],
                exc,
            )
            return envelope.failure(400, "invalid_webhook", "The webhook could not be verified.")
        delivery.verified(event.object, event.customer_external_id)
        try:
            claim = self.ledger.claim(event.id)
        except Exception:
            logger.exception("Flowglad webhook %s: the store of handled ids failed", event.id)
            message = "The webhook cannot be handled right now."
            return envelope.failure(503, "webhook_store_unavailable", message)
        if claim.state is ClaimState.HANDLED:
            delivery.duplicate = True
            logger.info("Flowglad webhook %s was handled before: acknowledged", event.id)
            return envelope.success({"received": True, "duplicate": True})
        if claim.state is ClaimState.IN_PROGRESS:
            logger.info("Flowglad webhook %s is being handled by another worker", event.id)
            message = "This webhook is being handled. Deliver it again later."
            return envelope.failure(409, "webhook_in_progress", message)
        try:
            dispatch(event)
        except Exception:
            logger.exception("A receiver of Flowglad webhook %s failed", event.id)
            self._release(event.id, claim.token)
            message = "The webhook's receivers failed."
            return envelope.failure(500, "webhook_receiver_failed", message)
        self._complete(event.id)
        logger.info("Handled Flowglad webhook %s (%s %s)", event.id, event.object, event.object_id)
        return envelope.success({"received": True, "duplicate": False})

    def _read_body(self) -> bytes | None:
        """The raw body, or ``None`` when it is over the limit; never more is read."""
        length = request.content_length
        if length is not None and length > self.max_bytes:
            return None
        raw = request.stream.read(self.max_bytes + 1)
        return None if len(raw) > self.max_bytes else raw

    def _verify(self, raw: bytes) -> WebhookEvent:
        # A body that is not UTF-8 cannot have been signed: refused before any HMAC.
        raw.decode("utf-8")
        # The first value of each header, as docs/protocol.md §8.1 reads it: a WSGI server joins a
        # repeated header with commas, which neither an id nor a timestamp contains.
        headers = {name: request.headers.get(name, "") for name in _HEADERS}
        for name in ("svix-id", "svix-timestamp"):
            headers[name] = headers[name].split(",", 1)[0].strip()
        error: WebhookVerificationError | None = None
        for secret in self.secrets:
            try:
                payload = verify_webhook(raw, headers, secret)
            except WebhookVerificationError as exc:
                error = exc
                continue
            return parse_event(headers["svix-id"], headers["svix-timestamp"], payload)
        assert error is not None
        raise error

    def _release(self, message_id: str, token: str) -> None:
        try:
            self.ledger.release(message_id, token)
        except Exception:
            # The claim expires on its own; the redelivery waits for that.
            logger.exception("Flowglad webhook %s: its claim could not be released", message_id)

    def _complete(self, message_id: str) -> None:
        try:
            self.ledger.complete(message_id)
        except Exception:
            # The receivers ran: answering 5xx would run them again.
            logger.exception("Flowglad webhook %s: could not be marked handled", message_id)


def dispatch(event: WebhookEvent) -> None:
    """Drop the customer's cached billing, then send ``webhook_received`` and the signal
    of the event's object kind."""
    if event.customer_external_id is not None:
        try:
            identity = CustomerIdentity(event.customer_external_id)
        except InvalidCustomerId:
            logger.warning("Flowglad webhook %s names an unusable customer id", event.id)
        else:
            get_state().for_identity(identity).invalidate()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    webhook_received.send(app, event=event)
    signal = SIGNALS_BY_OBJECT.get(event.object)
    if signal is not None:
        signal.send(app, event=event)


def register_webhook_endpoint(
    app: Flask,
    settings: FlowgladSettings,
    sandbox: SandboxLike | None,
    shared: Store | None = None,
) -> str:
    """Serve the endpoint on ``app`` and return its blueprint's name; a sandbox delivers
    its events to it.

    ``shared`` is the shared billing cache's store, when there is one: without a
    ``FLOWGLAD_WEBHOOK_STORE`` of their own, handled ids are kept there, so a redelivery
    is recognised by every worker on every machine. Else they are kept in a SQLite file in
    the instance folder, which every worker of one machine shares.
    """
    secrets = settings.webhook_secret or ()
    setting = settings.webhook_store
    if setting is None:
        setting = shared if shared is not None else DEFAULT_STORE_FILE
    store = open_store(setting, timeout=settings.billing_cache_timeout, root=app.instance_path)
    endpoint = WebhookEndpoint(secrets, DeliveryLedger(store), settings.max_body_bytes)
    blueprint = Blueprint(BLUEPRINT_NAME, __name__)
    blueprint.add_url_rule(
        settings.webhook_path, "receive", endpoint.receive, methods=_ROUTED_METHODS
    )
    app.register_blueprint(blueprint)
    if sandbox is not None:
        sandbox.webhooks.deliver_to_app(app, settings.webhook_path, secrets[0])
    return BLUEPRINT_NAME
