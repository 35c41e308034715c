"""What a webhook delivery tells: a span ``flowglad webhook.receive`` (the receivers' own
Flowglad calls under it), ``flowglad.webhook.deliveries`` by outcome, one log line."""

from __future__ import annotations

import logging
from types import TracebackType

from .calls import ClientTelemetry, Operation, log
from .names import CUSTOMER_HASH, HTTP_STATUS, OPERATION, WEBHOOK_ID, WEBHOOK_OBJECT
from .names import WEBHOOK_OUTCOME as OUTCOME
from .otel import api

__all__ = ["Delivery"]

#: Longest ``svix-id`` kept: the header of a refused delivery may be anyone's.
MAX_ID_LENGTH = 100
OPERATION_NAME = "webhook.receive"


class Delivery:
    """One delivery to the webhook endpoint, from its headers to its answer.

    Its outcome comes from the answer: ``handled`` (200), ``duplicate`` (200 for an id
    handled before, or 409 while another worker handles it), ``refused`` (any other 4xx:
    not signed, stale, too large, not a POST) or ``failed`` (5xx: a receiver or the store
    of handled ids failed). Handled and duplicate deliveries log at DEBUG, the others at
    WARNING.
    """

    def __init__(self, telemetry: ClientTelemetry | None, svix_id: str) -> None:
        self.svix_id = svix_id[:MAX_ID_LENGTH]
        self.operation = Operation(telemetry, OPERATION_NAME, None, {WEBHOOK_ID: self.svix_id})
        self.object: str | None = None
        #: Set when the id was handled before: a 200 is then a duplicate.
        self.duplicate = False
        self.status: int | None = None

    def __enter__(self) -> Delivery:
        self.operation.__enter__()
        return self

    def verified(self, object_kind: str, customer_external_id: str | None) -> None:
        """The delivery is Flowglad's: what it is about is known now."""
        self.object = object_kind
        self.operation.set(WEBHOOK_OBJECT, object_kind)
        if customer_external_id is not None:
            self.operation.set_customer(customer_external_id)

    def answered(self, status: int) -> None:
        self.status = status

    @property
    def outcome(self) -> str:
        status = self.status
        if status is None or status >= 500:
            return "failed"
        if status == 409 or (status < 300 and self.duplicate):
            return "duplicate"
        return "handled" if status < 300 else "refused"

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        outcome = self.outcome
        if outcome == "failed":
            self.operation.failure = str(self.status or 500)
        self.operation.set(OUTCOME, outcome)
        self.operation.set(HTTP_STATUS, self.status)
        otel = api()
        if otel is not None:
            otel.webhook_deliveries.add(1, {OUTCOME: outcome})
        level = logging.DEBUG if outcome in ("handled", "duplicate") else logging.WARNING
        fields = {
            OPERATION: OPERATION_NAME,
            OUTCOME: outcome,
            HTTP_STATUS: self.status,
            WEBHOOK_ID: self.svix_id or None,
            WEBHOOK_OBJECT: self.object,
            CUSTOMER_HASH: self.operation.customer_hash,
        }
        log(level, "webhook", fields)
        self.operation.__exit__(exc_type, exc, tb)
