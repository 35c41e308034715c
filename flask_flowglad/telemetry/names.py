"""The names of what the package tells: span and metric attributes, and the fields of its
log lines, which are the same names (a JSON log formatter or OpenTelemetry's logging
handler shows them as they are on the spans).

Every name outside OpenTelemetry's own conventions is under ``flowglad.``. No value is
ever a customer's external id (only :data:`CUSTOMER_HASH`, a keyed hash of it) or a key.
"""

from __future__ import annotations

#: The logical operation: ``customers.billing.read``, ``webhook.receive``, ...
OPERATION = "flowglad.operation"
#: A keyed hash of the customer's external id (see ``ClientTelemetry.customer_hash``).
CUSTOMER_HASH = "flowglad.customer.hash"
#: How the shared billing cache answered a billing read: one of :data:`CACHE_RESULTS`.
CACHE_RESULT = "flowglad.billing_cache.result"
#: The values of :data:`CACHE_RESULT`: a sealed entry answered; Flowglad did (the entry
#: stored); an older entry did while Flowglad failed; Flowglad did because a checkout
#: pinned the customer; Flowglad did because the store failed lately.
CACHE_RESULTS = ("hit", "miss", "stale", "pinned", "skipped")
#: A read served stale: seconds since Flowglad answered the entry, and why Flowglad was
#: not (the error's class, or ``Flowglad is failing`` while another read asks it again).
STALE_AGE = "flowglad.billing_cache.stale_age"
STALE_REASON = "flowglad.billing_cache.stale_reason"
#: Flowglad's id of its request (its ``X-Request-Id`` header): quote it to Flowglad.
REQUEST_ID = "flowglad.request_id"
#: The class of a call's answer: ``2xx``, ``4xx``, ``5xx``, ...; absent when none came.
STATUS_CLASS = "flowglad.status_class"
#: The attempts a call took (1 without retries).
ATTEMPTS = "flowglad.attempts"
#: How long a call took, in milliseconds (log lines only; metrics and spans have seconds).
DURATION_MS = "flowglad.duration_ms"
#: A webhook delivery's ``svix-id``, the kind of object it is about, and its outcome.
WEBHOOK_ID = "flowglad.webhook.id"
WEBHOOK_OBJECT = "flowglad.webhook.object"
WEBHOOK_OUTCOME = "flowglad.webhook.outcome"
#: The values of :data:`WEBHOOK_OUTCOME`: receivers ran (200); the id was handled before
#: (200) or is being handled (409); not Flowglad's, stale or too large (4xx); a receiver or
#: the store of handled ids failed (5xx).
WEBHOOK_OUTCOMES = ("handled", "duplicate", "refused", "failed")
#: OpenTelemetry's own names used outside HTTP spans.
ERROR_TYPE = "error.type"
HTTP_METHOD = "http.request.method"
HTTP_STATUS = "http.response.status_code"
URL_PATH = "url.path"
