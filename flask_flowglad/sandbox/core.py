"""The :class:`Sandbox`: one fake Flowglad account, its transports, and helpers for tests.

Everything lives on the instance (records, lock, recorded calls), so two sandboxes in one
process never share anything; two sandboxes (in one process or several) opened on the same
state file share everything but their call logs, queued faults and webhook endpoints.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from . import controls, limits
from .account import Account
from .api import Api, Call, Fault
from .helpers import Helpers
from .ids import Clock, wall_clock_ms
from .pricing import PricingModel, PricingSource, load_pricing_data
from .records import Records
from .ring import Ring
from .store import FileStore, MemoryStore, Store
from .transactions import Transactions
from .webhooks import Delivery, Webhooks
from .wire import PAGES_PREFIX

if TYPE_CHECKING:
    import flask
    import requests.adapters

    from .server import WSGIApp

#: What an app using the sandbox is warned; the pytest fixture expects it (``-W error``).
SIMULATED_WARNING = (
    "FLOWGLAD_SANDBOX is on: billing is simulated, nothing is charged"
    " and nothing reaches Flowglad."
)


class Sandbox(Helpers):
    """A stateful Flowglad: same endpoints, shapes, errors and billing rules.

    :param pricing_model: a path to a JSON pricing file, its parsed ``dict``, or ``None``
        for the demo model shipped with the package (``free``, ``pro_monthly``, ...).
    :param secret_key: the only key the API accepts (raw or as ``Bearer <key>``).
    :param pages_url: absolute URL of the hosted pages; by default taken from the current
        Flask request (``request.host_url + "flowglad-sandbox"``), else from ``base_url``.
    :param base_url: the base URL clients use; never resolved when the adapter is used.
    :param clock: epoch-milliseconds source, for tests that pin time.
    :param allow_multiple_subscriptions: the organization setting of the same name: by
        default (as in Flowglad) a customer has one current subscription at a time.
    :param path: a SQLite file to keep the whole state in (made if missing): every
        process that opens it shares one sandbox, and a restart loses nothing. ``None``
        (the default) keeps everything in this process's memory.
    :param call_log_size: how many API calls :attr:`calls` keeps (the newest).
    :param delivery_log_size: how many webhook deliveries ``webhooks.deliveries`` keeps.
    """

    def __init__(
        self,
        pricing_model: PricingSource = None,
        secret_key: str = "sk_test_sandbox",
        pages_url: str | None = None,
        *,
        base_url: str = "http://flowglad.sandbox",
        clock: Callable[[], int] | None = None,
        allow_multiple_subscriptions: bool = False,
        path: str | os.PathLike[str] | None = None,
        call_log_size: int = limits.CALL_LOG_SIZE,
        delivery_log_size: int = limits.DELIVERY_LOG_SIZE,
    ) -> None:
        self.secret_key = secret_key
        self.allow_multiple_subscriptions = allow_multiple_subscriptions
        self.base_url = base_url.rstrip("/")
        self._pages_url = pages_url.rstrip("/") if pages_url else None
        self._mounted_prefix: str | None = None
        self._store: Store = FileStore(path) if path is not None else MemoryStore()
        source = clock or wall_clock_ms
        organization_id, created_at = self._store.open(int(source()))
        records = Records()
        self.pricing = PricingModel(
            load_pricing_data(pricing_model),
            organization_id=organization_id,
            created_at=created_at,
        )
        account = Account(
            records,
            self.pricing,
            Clock(source, offset=lambda: records.meta["clockOffsetMs"]),
            organization_id=organization_id,
            allow_multiple_subscriptions=allow_multiple_subscriptions,
        )
        #: Where the sandbox delivers webhooks (see :mod:`.webhooks`), and the latest
        #: deliveries (of this process; with a state file, from before it started too).
        self.webhooks = Webhooks(delivery_log_size)
        self._load_deliveries()
        self._transactions = Transactions(account, self._store, self.webhooks.send)
        self.webhooks.on_change = self._log_delivery
        self.api = Api(
            self._transactions.open,
            secret_key=secret_key,
            pages_url=self.pages_url,
            call_log_size=call_log_size,
        )
        #: What the extension's client calls to wait between retries when it talks to this
        #: sandbox in process; ``None`` is ``time.sleep``. The pytest fixture records the
        #: waits instead (:attr:`waits`), so outage tests take no time.
        self.retry_sleep: Callable[[float], None] | None = None
        #: The retry waits :attr:`retry_sleep` was asked for, when it records them.
        self.waits: list[float] = []
        self._wsgi_app: WSGIApp | None = None

    def __repr__(self) -> str:
        where = self.path or "memory"
        return f"<Sandbox {where!r}>"

    @property
    def path(self) -> str | None:
        """The state file, or ``None`` for a sandbox kept in memory."""
        return self._store.path

    @property
    def records(self) -> Records:
        """Every record, as this process last read them: for tests to inspect (change them
        only through the API, the helpers or a :meth:`transaction`)."""
        return self._transactions.account.records

    def transaction(self, write: bool = False) -> AbstractContextManager[Account]:
        """``with sandbox.transaction(write=True) as account:`` runs billing rules
        (:mod:`flask_flowglad.sandbox.rules`) as one change, as the API and the hosted
        pages do; their events are delivered when the block ends."""
        return self._transactions.open(write)

    @property
    def lock(self) -> threading.RLock:
        """The lock every transaction of this process holds."""
        return self._transactions.lock

    def reset(self) -> None:
        """Forget every customer, record, call and webhook delivery (in every process
        sharing the state file); the pricing model (and its ids), the webhook endpoints
        and the sandbox's time stay."""
        with self.transaction(write=True) as account:
            self._store.reset(account.records)
            self._forget_due()
            self.webhooks.deliveries.clear()
            self.api.calls.clear()
            self.api.faults.clear()

    def _forget_due(self) -> None:
        self._transactions.forget_due()

    def _load_deliveries(self) -> None:
        log = self.webhooks.deliveries
        for seq, data in self._store.deliveries(log.size):
            log.append(Delivery.from_json(data, seq))

    def _log_delivery(self, delivery: Delivery) -> None:
        if self._store.path is None:
            return
        with self.lock:
            size = self.webhooks.deliveries.size
            delivery.seq = self._store.log_delivery(delivery.seq, delivery.to_json(), size)

    # transports ---------------------------------------------------------------------------

    @property
    def calls(self) -> Ring[Call]:
        """The latest API requests this process answered: ``(method, path, query, json,
        status)``, oldest first (a ring of ``call_log_size``)."""
        return self.api.calls

    def handle(
        self,
        method: str,
        path: str,
        *,
        query: str = "",
        body: bytes = b"",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        """Answer one HTTP request; what the adapter and the server both call.

        Paths under :data:`~flask_flowglad.sandbox.controls.CONTROLS_PREFIX` are the test
        controls; everything else is Flowglad's API.
        """
        if path == controls.CONTROLS_PREFIX or path.startswith(controls.CONTROLS_PREFIX + "/"):
            return controls.handle(self, method, path, body, headers or {})
        return self.api.handle(method, path, query, body, headers or {})

    def adapter(self) -> requests.adapters.BaseAdapter:
        """A ``requests`` transport answering in process: mount it on :attr:`base_url`."""
        from .adapter import SandboxAdapter

        return SandboxAdapter(self)

    @property
    def wsgi_app(self) -> WSGIApp:
        """The API and the hosted pages as one WSGI app, for a real HTTP server."""
        if self._wsgi_app is None:
            from .server import create_wsgi_app

            self._wsgi_app = create_wsgi_app(self)
        return self._wsgi_app

    def pages_blueprint(self) -> flask.Blueprint:
        """The hosted checkout and portal pages, to register under ``/flowglad-sandbox``."""
        from .pages import create_blueprint

        return create_blueprint(self)

    def mounted_at(self, prefix: str | None) -> None:
        """Say where an app registered the hosted pages, so links to them are right."""
        self._mounted_prefix = (prefix or "").rstrip("/") or None

    def pages_url(self) -> str:
        """Absolute URL of the hosted pages, as a browser of the current request sees it."""
        if self._pages_url:
            return self._pages_url
        from flask import has_request_context, request

        prefix = self._mounted_prefix or PAGES_PREFIX
        if has_request_context():
            return request.host_url.rstrip("/") + prefix
        return self.base_url + prefix

    # failures -----------------------------------------------------------------------------

    def fail_next(
        self,
        status: int = 500,
        *,
        times: int = 1,
        method: str | None = None,
        path: str | None = None,
        body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next ``times`` matching requests with a failure (outage, rate limit).

        ``path`` matches as a substring of the request path. The default body is Flowglad's
        unhandled-error JSON. Faults belong to this process.
        """
        if body is None:
            body = '{"error": "Internal server error", "request_id": "sandbox0"}'
        raw = body.encode() if isinstance(body, str) else body
        fault_headers = {"Content-Type": "application/json", **(headers or {})}
        if not 1 <= times <= limits.MAX_FAULT_TIMES:
            raise ValueError(f"times must be from 1 to {limits.MAX_FAULT_TIMES}")
        self.api.add_fault(
            Fault(status, times, method.upper() if method else None, path, raw, fault_headers)
        )

    def record_waits(self) -> None:
        """Let the extension's client record its retry waits in :attr:`waits` instead of
        sleeping through them: an outage test runs in milliseconds, with the same
        attempts, in the same order. (The request deadline does not see the waits.)"""
        self.retry_sleep = self.waits.append


def configured_sandbox(
    setting: object, pricing: str | None, *, instance_path: str, root_path: str
) -> Sandbox:
    """The sandbox an app's ``FLOWGLAD_SANDBOX`` (and ``FLOWGLAD_SANDBOX_PRICING``) asks for.

    A :class:`Sandbox` is used as it is; ``True`` is a new one in memory; a path is a
    state file, relative to the app's instance folder, as Flask-SQLAlchemy does with
    SQLite files. The pricing file is relative to the app's root path, as
    ``app.config.from_file`` reads.
    """
    if isinstance(setting, Sandbox):
        return setting
    source = os.path.join(root_path, pricing) if pricing else None
    path = os.path.join(instance_path, setting) if isinstance(setting, str) else None
    return Sandbox(source, path=path)
