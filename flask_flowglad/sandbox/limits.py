"""Upper bounds on everything the sandbox sizes from a request.

The sandbox runs inside developers' apps and users' test suites, so a request must never
make it allocate, loop or compute without limit. Each bound is generous for real use and
checked before the work it guards; a request past one is answered like any other invalid
request: ``400 {"error", "code": "BAD_REQUEST", "request_id"}``.
"""

from __future__ import annotations

#: Bytes of one request body (the largest real body, a bulk usage upload, is far smaller).
MAX_BODY_BYTES = 1024 * 1024
#: Bytes of a query string.
MAX_QUERY_BYTES = 8 * 1024
#: Nesting of objects and arrays in a body (``properties`` and ``metadata`` included).
MAX_DEPTH = 32
#: Characters of any string member; ids and external ids stop at Flowglad's 255.
MAX_STRING = 2048
MAX_ID = 255
#: Members of one ``metadata`` or ``properties`` object.
MAX_KEYS = 50
#: Entries of a list member (``externalIds``, ``claimIds``, ``newSubscriptionItems``,
#: ``resourceSlugs``: Flowglad caps the last at 100).
MAX_LIST = 100
#: Events of one ``/usage-events/bulk`` request.
MAX_BULK_EVENTS = 1000
#: Units of a subscription, checkout or resource claim.
MAX_QUANTITY = 10_000
#: A usage event's amount: Postgres ``integer``, the column Flowglad stores it in.
MAX_AMOUNT = 2**31 - 1
#: Billing intervals in one period (``intervalCount``): 100 years of months is plenty.
MAX_INTERVAL_COUNT = 1200
#: Epoch milliseconds (``trialEnd``, ``usageDate``): before the year 10000.
MAX_TIMESTAMP_MS = 253_402_300_799_999
#: How many upcoming calls one queued fault may fail, and how many faults may wait.
MAX_FAULT_TIMES = 1000
MAX_FAULTS = 100
#: API calls kept in :attr:`Sandbox.calls <flask_flowglad.sandbox.Sandbox.calls>` and
#: webhook deliveries kept in ``sandbox.webhooks.deliveries``: the newest, in rings, so a
#: sandbox serving for days stays the same size.
CALL_LOG_SIZE = 1000
DELIVERY_LOG_SIZE = 1000
