"""A small client for Flowglad's REST API.

It imports nothing from Flask, so a script, a worker or a test can use it as
is. The extension builds one from the app's config.
"""

from __future__ import annotations

import json
import logging
import os
import random as _random
import threading
import time
import typing as t
import uuid
from dataclasses import dataclass
from types import TracebackType
from urllib.parse import quote

import requests
from requests.adapters import BaseAdapter
from requests.auth import AuthBase
from urllib3.exceptions import MaxRetryError, NewConnectionError, ReadTimeoutError

from . import wirejson
from ._version import __version__
from .deadline import request_deadline, time_remaining
from .errors import (
    FlowgladAPIError,
    FlowgladConnectionError,
    FlowgladError,
    FlowgladTimeout,
    InvalidUpstreamAnswer,
)
from .redaction import redact
from .responses import api_error_from_response, parse_retry_after
from .telemetry import ClientTelemetry, shown_path, shown_paths
from .transport import Cutoff, DeadlineAdapter, cut_at_deadline

__all__ = ["FlowgladClient", "JSONAnswer", "new_transaction_id"]

logger = logging.getLogger(__name__)

#: Statuses after which a retry may succeed; every 5xx is added to these.
_RETRY_STATUSES = frozenset({408, 429})
#: A retry is taken only if at least this much time is left for it after its wait.
MIN_ATTEMPT_SECONDS = 0.25
#: Transport failures after which a read may be retried: no connection, no answer in
#: time, or a connection dropped in the middle of the answer's body.
_TRANSIENT = (
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    requests.exceptions.ChunkedEncodingError,
)


def new_transaction_id() -> str:
    """A usage event id, ``txn_<32 hex>``: Flowglad records an event once per id, which
    makes sending it again (a retry, a replayed job) safe."""
    return f"txn_{uuid.uuid4().hex}"


def _segment(value: str) -> str:
    """Percent-encode one path parameter.

    Every reserved character is encoded, so an id can never reach another
    route; ``.`` and ``..`` would be collapsed by URL normalisation, and an
    empty id would address the collection, so they are refused.
    """
    if not isinstance(value, str) or value in ("", ".", ".."):
        raise ValueError(f"invalid Flowglad id {value!r}")
    return quote(value, safe="")


def _comma_list(values: t.Sequence[str] | None) -> str | None:
    """Serialise a query array the way Flowglad's own client does."""
    if not values:
        return None
    if isinstance(values, str):
        return values
    return ",".join(values)


def _failed_before_sending(exc: requests.RequestException) -> bool:
    """Whether the connection failed before any byte of the request left.

    Only then can a write be retried without risking a double effect.
    requests reports a refused or unresolvable connection as a
    ``ConnectionError`` wrapping urllib3's ``MaxRetryError`` whose reason is
    a ``NewConnectionError``.
    """
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(exc, requests.exceptions.ConnectionError):
        for cause in exc.args:
            if isinstance(cause, MaxRetryError):
                cause = cause.reason
            if isinstance(cause, NewConnectionError):
                return True
    return False


def _timed_out(exc: requests.RequestException) -> bool:
    """A timeout, also when requests wraps a body read's timeout in a ``ConnectionError``."""
    if isinstance(exc, requests.exceptions.Timeout):
        return True
    return any(isinstance(cause, ReadTimeoutError) for cause in exc.args)


@dataclass(frozen=True)
class JSONAnswer:
    """A JSON object Flowglad answered, with its bytes when they may be sent on as they
    came (see :mod:`flask_flowglad.wirejson`); ``body`` is ``None`` otherwise."""

    data: dict[str, t.Any]
    body: bytes | None


def _text(response: requests.Response, content: bytes) -> str:
    """The body as text: in its declared charset, else UTF-8 (JSON's), bad bytes replaced."""
    try:
        return content.decode(response.encoding or "utf-8", "replace")
    except LookupError:  # a charset Python does not know
        return content.decode("utf-8", "replace")


class _DeadlinePassed(Exception):
    """An attempt ended because the deadline passed (its cause says how it ended)."""

    error_type = "timeout"


class _SecretKeyAuth(AuthBase):
    """Send the raw secret key, as Flowglad expects (no scheme).

    Passing it as ``auth`` also keeps requests from replacing it with
    credentials found in a ``.netrc`` file.
    """

    def __init__(self, secret_key: str) -> None:
        self.secret_key = secret_key

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = self.secret_key
        return r


class _Local(threading.local):
    session: requests.Session | None = None
    pid: int = 0


class FlowgladClient:
    """Talk to Flowglad's REST API with timeouts, pooled connections and
    careful retries.

    Every method returns the parsed JSON body of Flowglad's answer unchanged,
    or raises a :class:`~flask_flowglad.errors.FlowgladError`.

    Reads are retried on connection errors (a connection dropped in the middle of
    the answer too), timeouts, 408, 429 and 5xx. Writes are retried only when a retry
    cannot double their effect: usage events (their ``transactionId`` is fixed before
    the first attempt), and any write whose connection failed before the request was
    sent. Redirects are never followed: Flowglad does not send them, so one means a
    wrong base URL.

    Every call ends within a total time: the :func:`~flask_flowglad.deadline.request_deadline`
    around it, and at most ``total_timeout``. Each attempt's timeouts shrink to the
    time left, an answer still arriving at the deadline is cut off (see
    :mod:`flask_flowglad.transport` for what that covers), and a retry or a
    ``Retry-After`` wait that does not fit in the time left is not taken.

    Each thread gets its own :class:`requests.Session`, made on first use and
    remade after a fork, since a session is neither documented thread-safe
    nor safe to share with a child process.

    The secret key never appears in the client's repr, its log lines or its errors:
    anything shaped like a Flowglad key in an upstream body is masked.

    :param secret_key: The Flowglad secret key (``sk_test_...``).
    :param base_url: Where Flowglad's API lives.
    :param connect_timeout: Seconds to wait for a connection.
    :param read_timeout: Seconds to wait for each read of the answer.
    :param total_timeout: Seconds one call may take in all, retries and waits
        included, when no shorter deadline is set around it.
    :param max_retries: Extra attempts after the first.
    :param backoff_factor: First retry delay; doubled at each retry.
    :param backoff_max: Longest delay between attempts.
    :param max_retry_wait: A ``Retry-After`` longer than this is not waited
        for; the error is raised at once, since the caller is usually a
        browser request that cannot wait.
    :param adapter: A transport mounted on ``base_url`` in every session, in
        place of the network (the sandbox's in-process adapter).
    :param pool_maxsize: Keep-alive connections kept per thread.
    :param sleep: Called to wait between attempts; tests pass a recorder.
    :param random: Returns a float in [0, 1); drives the jitter.
    :param user_agent: Sent as ``User-Agent``; defaults to
        ``flask-flowglad/<version>``.
    """

    def __init__(
        self,
        secret_key: str,
        *,
        base_url: str = "https://app.flowglad.com",
        connect_timeout: float = 3.05,
        read_timeout: float = 15.0,
        total_timeout: float = 30.0,
        max_retries: int = 2,
        backoff_factor: float = 0.5,
        backoff_max: float = 8.0,
        max_retry_wait: float = 10.0,
        adapter: BaseAdapter | None = None,
        pool_maxsize: int = 10,
        sleep: t.Callable[[float], None] = time.sleep,
        random: t.Callable[[], float] = _random.random,
        user_agent: str | None = None,
    ) -> None:
        if not secret_key:
            raise ValueError("A Flowglad secret key is required.")
        if max_retries < 0:
            raise ValueError("max_retries must not be negative.")
        if total_timeout <= 0:
            raise ValueError("total_timeout must be greater than 0.")
        self._auth = _SecretKeyAuth(secret_key)
        self.base_url = base_url.rstrip("/")
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.total_timeout = total_timeout
        self.max_retries = max_retries
        self.backoff_factor = backoff_factor
        self.backoff_max = backoff_max
        self.max_retry_wait = max_retry_wait
        self.user_agent = user_agent or f"flask-flowglad/{__version__}"
        self._adapter = adapter
        self._pool_maxsize = pool_maxsize
        self._sleep = sleep
        self._random = random
        self._local = _Local()
        #: Sent with every request; requests adds ``Accept-Encoding`` and ``Connection``.
        self._headers: t.Mapping[str, str] = {
            **requests.utils.default_headers(),
            "Accept": "application/json",
            "User-Agent": self.user_agent,
        }
        #: Spans, metrics, log lines and debug toolbar records of every call
        #: (:mod:`flask_flowglad.telemetry`); ``telemetry.customer_hash(external_id)`` is
        #: how they name a customer.
        self.telemetry = ClientTelemetry(secret_key, self.base_url)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.base_url!r}>"

    def redact(self, text: str) -> str:
        """``text`` with this client's secret key, and anything shaped like one, masked,
        and any customer's id in a path of Flowglad's API replaced by ``REDACTED``."""
        return redact(shown_paths(text), (self._auth.secret_key,))

    # -- sessions ---------------------------------------------------------

    def _session(self) -> requests.Session:
        """This thread's session, made now if there is none in this process."""
        local = self._local
        pid = os.getpid()
        if local.session is None or local.pid != pid:
            # A session inherited through fork is dropped, not closed: its
            # sockets still belong to the parent.
            local.session = self._new_session()
            local.pid = pid
        return local.session

    def _new_session(self) -> requests.Session:
        session = requests.Session()
        # requests reads proxy and CA settings from the environment on every call (about
        # a tenth of a billing read in process); read them once per session instead.
        session.proxies.update(requests.utils.get_environ_proxies(self.base_url))
        ca_bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        if ca_bundle:
            session.verify = ca_bundle
        session.trust_env = False
        if self._adapter is not None:
            session.mount(self._adapter_prefix, self._adapter)
        else:
            # retries are ours; urllib3 must never resend a request by itself
            http = DeadlineAdapter(pool_maxsize=self._pool_maxsize, max_retries=0)
            session.mount("https://", http)
            session.mount("http://", http)
        self.telemetry.observe_session(session)
        return session

    @property
    def _adapter_prefix(self) -> str:
        return self.base_url + "/"

    def close(self) -> None:
        """Close this thread's session and its pooled connections.

        A given ``adapter`` is not closed: the client does not own it.
        """
        local = self._local
        session = local.session
        local.session = None
        if session is None or local.pid != os.getpid():
            return
        if self._adapter is not None:
            session.adapters.pop(self._adapter_prefix, None)
        session.close()

    def __enter__(self) -> FlowgladClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- retry decisions --------------------------------------------------

    def _backoff(self, retry: int) -> float:
        """Delay before retry number ``retry`` (0 for the first retry).

        Exponential, capped, minus up to 25% jitter so that clients that
        failed together do not all come back at the same instant.
        """
        delay = min(self.backoff_factor * 2.0 ** min(retry, 30), self.backoff_max)
        return delay * (1 - 0.25 * self._random())

    def _should_retry(
        self,
        retry: int,
        idempotent: bool,
        *,
        exc: requests.RequestException | None = None,
        response: requests.Response | None = None,
        max_retries: int | None = None,
    ) -> bool:
        """Whether a failed attempt may be made again (time allowing).

        A read may be retried after any transient failure; a write only when the
        request provably never left, so that no retry can double its effect.
        """
        if retry >= (self.max_retries if max_retries is None else max_retries):
            return False
        if exc is not None:
            return idempotent and isinstance(exc, _TRANSIENT) or _failed_before_sending(exc)
        assert response is not None
        status = response.status_code
        return idempotent and (status in _RETRY_STATUSES or status >= 500)

    def _sleep_time_seconds(
        self, retry: int, response: requests.Response | None = None
    ) -> float | None:
        """How long to wait before retry number ``retry``; ``None``: do not retry.

        Flowglad's ``Retry-After`` is obeyed up to ``max_retry_wait``; a longer one
        is not waited for at all. Otherwise the backoff applies.
        """
        retry_after = None if response is None else parse_retry_after(response.headers)
        if retry_after is None:
            return self._backoff(retry)
        return retry_after if retry_after <= self.max_retry_wait else None

    @staticmethod
    def _fits_deadline(wait: float) -> bool:
        """Whether waiting ``wait`` seconds still leaves an attempt its time."""
        remaining = time_remaining()
        return remaining is None or wait + MIN_ATTEMPT_SECONDS <= remaining

    # -- the request loop -------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        expect: type[dict[str, t.Any]] | type[list[t.Any]],
        params: t.Mapping[str, str | None] | None = None,
        body: t.Any = None,
        idempotent: bool,
        keep_body: bool = False,
        max_retries: int | None = None,
    ) -> t.Any:
        """Send a request, retrying as the rules allow; return its JSON (a
        :class:`JSONAnswer` with ``keep_body``).

        :param idempotent: Whether repeating the request cannot double an
            effect, so it may be retried after any transient failure.
        """
        url = self.base_url + path
        headers = self._headers
        data: bytes | None = None
        if body is not None:
            # encoded once, so every attempt sends the same bytes
            data = json.dumps(body, separators=(",", ":")).encode()
            headers = {**headers, "Content-Type": "application/json"}
        retry = 0
        error: FlowgladError

        with request_deadline(self.total_timeout), self.telemetry.call(method, path, body):
            while True:
                remaining = time_remaining() or 0.0
                if remaining <= 0:
                    raise FlowgladTimeout(
                        f"The deadline passed before {method} {shown_path(path)} could be sent."
                    )
                wait: float | None
                try:
                    response, content = self._send(method, url, params, data, headers, remaining)
                except _DeadlinePassed:
                    raise FlowgladTimeout(
                        f"The deadline passed before Flowglad answered {method}"
                        f" {shown_path(path)}."
                    ) from None
                except requests.RequestException as exc:
                    error = self._transport_error(exc)
                    if not self._should_retry(retry, idempotent, exc=exc, max_retries=max_retries):
                        # Not chained: requests' own message may quote the request's
                        # headers, the secret key among them; ours is redacted.
                        raise error from None
                    wait = self._sleep_time_seconds(retry)
                    reason = type(exc).__name__
                else:
                    status = response.status_code
                    if 200 <= status < 300:
                        parsed, verbatim = self._parse(response, content, expect)
                        if keep_body:
                            return JSONAnswer(parsed, content if verbatim else None)
                        return parsed
                    error = self._api_error(method, path, response, content)
                    if not self._should_retry(
                        retry, idempotent, response=response, max_retries=max_retries
                    ):
                        raise error
                    wait = self._sleep_time_seconds(retry, response)
                    reason = str(status)
                if wait is None or not self._fits_deadline(wait):
                    raise error
                retry += 1
                self.telemetry.retrying(method, path, reason, wait, retry, self.max_retries)
                self._sleep(wait)

    def _send(
        self,
        method: str,
        url: str,
        params: t.Mapping[str, str | None] | None,
        data: bytes | None,
        headers: t.Mapping[str, str],
        remaining: float,
    ) -> tuple[requests.Response, bytes]:
        """One attempt, its answer and body read whole, over by the deadline;
        :exc:`_DeadlinePassed` if it cut it short.

        The request is prepared here rather than by ``Session.request``: the session's
        defaults (headers, cookies, proxies from the environment) are merged once, when
        the session is made, instead of on every call, and the body is read in one piece
        rather than in requests' 10 KiB chunks. Flowglad's API sets no cookies worth
        sending back, and none are: every customer's calls share a session.
        """
        session = self._session()
        prepared = requests.PreparedRequest()
        prepared.prepare(
            method=method,
            url=url,
            headers=headers,
            data=data,
            params=dict(params) if params else None,  # None values are left out
            auth=self._auth,
        )
        cutoff: Cutoff | None
        attempt = self.telemetry.attempt(method, url, params)
        with attempt, cut_at_deadline() as cutoff:
            try:
                response = session.send(
                    prepared,
                    timeout=(
                        min(self.connect_timeout, remaining),
                        min(self.read_timeout, remaining),
                    ),
                    allow_redirects=False,
                    stream=True,
                    proxies=session.proxies,
                    verify=session.verify,
                    cert=session.cert,
                )
                try:
                    content = b"".join(response.iter_content(None))
                finally:
                    response.close()
            except requests.RequestException as exc:
                if cutoff is not None and cutoff.fired or time_remaining() == 0:
                    raise _DeadlinePassed() from exc
                raise
            if cutoff is not None and cutoff.fired:
                # Cut short, the answer may look whole (headers end at the closed
                # connection, a body without a length ends there too): never use it.
                raise _DeadlinePassed()
            return attempt.answered(response), content

    def _transport_error(self, exc: requests.RequestException) -> FlowgladConnectionError:
        if _timed_out(exc):
            return FlowgladTimeout(self.redact(f"Flowglad did not answer in time: {exc}"))
        return FlowgladConnectionError(self.redact(f"Could not reach Flowglad: {exc}"))

    def _api_error(
        self, method: str, path: str, response: requests.Response, content: bytes
    ) -> FlowgladError:
        """The error for a non-2xx answer; a redirect or a bare 404 means a wrong base URL."""
        status = response.status_code
        if 300 <= status < 400:
            location = self.redact(response.headers.get("Location", ""))
            message = (
                f"Flowglad answered {method} {shown_path(path)} with a redirect to"
                f" {location!r}, which is not followed: check FLOWGLAD_BASE_URL"
                f" ({self.base_url})."
            )
            logger.error("%s", message)
            return FlowgladAPIError(status, None, message, response.headers.get("X-Request-Id"))
        error = api_error_from_response(
            status, _text(response, content), response.headers, secrets=(self._auth.secret_key,)
        )
        if status == 404 and not isinstance(error.body, dict):
            logger.warning(
                "Flowglad answered %s %s with a 404 that is not JSON: check"
                " FLOWGLAD_BASE_URL (%s).",
                method,
                shown_path(path),
                self.base_url,
            )
        return error

    def _parse(
        self,
        response: requests.Response,
        content: bytes,
        expect: type[dict[str, t.Any]] | type[list[t.Any]],
    ) -> tuple[t.Any, bool]:
        """Decode a success body, refusing anything but the expected JSON; and whether
        its bytes may be sent on as they are.

        A proxy or a misrouted base URL can answer 200 with HTML; that must
        surface as a Flowglad error, not as a ``JSONDecodeError`` or a
        ``TypeError`` far from here.
        """
        try:
            data, verbatim = wirejson.decode_verbatim(content)
        except (ValueError, RecursionError):
            problem = "the response body is not JSON"
        else:
            if isinstance(data, expect):
                return data, verbatim
            problem = f"expected a JSON {'object' if expect is dict else 'array'}"
        # The body is kept as redacted text: an echo of the request may hold the key.
        raise InvalidUpstreamAnswer(
            response.status_code,
            None,
            f"Unexpected answer from Flowglad: {problem}",
            response.headers.get("X-Request-Id"),
            self.redact(_text(response, content)[:2000]),
        )

    def _object(self, method: str, path: str, **kwargs: t.Any) -> dict[str, t.Any]:
        return t.cast("dict[str, t.Any]", self._request(method, path, expect=dict, **kwargs))

    def _get(
        self, path: str, params: t.Mapping[str, str | None] | None = None
    ) -> dict[str, t.Any]:
        return self._object("GET", path, params=params, idempotent=True)

    def _write(self, method: str, path: str, body: t.Any) -> dict[str, t.Any]:
        return self._object(method, path, body=body, idempotent=False)

    # -- customers --------------------------------------------------------

    def get_customer(self, external_id: str) -> dict[str, t.Any]:
        """Fetch a customer by your app's id: ``{"customer": {...}}``.

        :raises FlowgladNotFound: If there is no such customer, or it was archived.
        """
        return self._get(f"/api/v1/customers/{_segment(external_id)}")

    def create_customer(
        self, external_id: str, *, name: str, email: str, **extra: t.Any
    ) -> dict[str, t.Any]:
        """Create a customer; Flowglad may start its default plan with it.

        Extra keyword arguments (``logoURL``, ``domain``, ...) are sent in the
        ``customer`` object as given.

        :raises FlowgladConflict: If the external id is taken.
        """
        customer = {**extra, "externalId": external_id, "name": name, "email": email}
        return self._write("POST", "/api/v1/customers", {"customer": customer})

    def update_customer(self, external_id: str, customer: dict[str, t.Any]) -> dict[str, t.Any]:
        """Change a customer's name, email, ... (``customer`` is sent as given)."""
        path = f"/api/v1/customers/{_segment(external_id)}"
        return self._write("PUT", path, {"customer": customer})

    def archive_customer(self, external_id: str) -> dict[str, t.Any]:
        """Archive a customer, cancelling its subscriptions and freeing its id."""
        return self._write("POST", f"/api/v1/customers/{_segment(external_id)}/archive", {})

    def get_billing(self, external_id: str) -> dict[str, t.Any]:
        """Everything the React SDK shows about a customer's billing."""
        return self.get_billing_answer(external_id).data

    def get_billing_answer(self, external_id: str, *, retry: bool = True) -> JSONAnswer:
        """:meth:`get_billing` with the answer's bytes, which the React SDK can be sent
        as they are. ``retry=False`` makes one attempt: for a caller that has a stale
        billing to fall back on, and would rather use it than wait for retries."""
        path = f"/api/v1/customers/{_segment(external_id)}/billing"
        answer = self._request(
            "GET",
            path,
            expect=dict,
            idempotent=True,
            keep_body=True,
            max_retries=None if retry else 0,
        )
        return t.cast(JSONAnswer, answer)

    def get_usage_balances(
        self, external_id: str, subscription_id: str | None = None
    ) -> dict[str, t.Any]:
        """A customer's usage meter balances, optionally for one subscription."""
        path = f"/api/v1/customers/{_segment(external_id)}/usage-balances"
        return self._get(path, {"subscriptionId": subscription_id})

    # -- checkout sessions ------------------------------------------------

    def create_checkout_session(self, checkout_session: dict[str, t.Any]) -> dict[str, t.Any]:
        """Open a hosted checkout: ``{"checkoutSession": {...}, "url": ...}``.

        Not retried after the request was sent: a retry could open a second
        session.
        """
        body = {"checkoutSession": checkout_session}
        return self._write("POST", "/api/v1/checkout-sessions", body)

    def get_checkout_session(self, session_id: str) -> dict[str, t.Any]:
        """Fetch a checkout session, e.g. to see whether it succeeded."""
        return self._get(f"/api/v1/checkout-sessions/{_segment(session_id)}")

    # -- subscriptions ----------------------------------------------------

    def get_subscription(self, subscription_id: str) -> dict[str, t.Any]:
        """Fetch a subscription: ``{"subscription": {...}}``."""
        return self._get(f"/api/v1/subscriptions/{_segment(subscription_id)}")

    def create_subscription(self, body: dict[str, t.Any]) -> dict[str, t.Any]:
        """Create a subscription directly (``body`` is sent as given)."""
        return self._write("POST", "/api/v1/subscriptions", body)

    def cancel_subscription(self, subscription_id: str, timing: str) -> dict[str, t.Any]:
        """Cancel a subscription ``"immediately"`` or
        ``"at_end_of_current_billing_period"``.
        """
        path = f"/api/v1/subscriptions/{_segment(subscription_id)}/cancel"
        return self._write("POST", path, {"cancellation": {"timing": timing}})

    def uncancel_subscription(self, subscription_id: str) -> dict[str, t.Any]:
        """Undo a cancellation scheduled for the end of the period."""
        path = f"/api/v1/subscriptions/{_segment(subscription_id)}/uncancel"
        return self._write("POST", path, {})

    def adjust_subscription(
        self, subscription_id: str, adjustment: dict[str, t.Any]
    ) -> dict[str, t.Any]:
        """Change a subscription's items (upgrade, downgrade, quantity)."""
        path = f"/api/v1/subscriptions/{_segment(subscription_id)}/adjust"
        return self._write("POST", path, {"adjustment": adjustment})

    # -- usage events -----------------------------------------------------

    @staticmethod
    def _with_transaction_id(usage_event: dict[str, t.Any]) -> dict[str, t.Any]:
        """Give an event a ``transactionId`` unless it has one.

        Flowglad ignores a second event with the same id, which is what makes
        retrying usage events safe; so the id is fixed here, once, before the
        first attempt. The caller's dict is not changed.
        """
        if usage_event.get("transactionId"):
            return usage_event
        return {**usage_event, "transactionId": new_transaction_id()}

    def create_usage_event(self, usage_event: dict[str, t.Any]) -> dict[str, t.Any]:
        """Record usage: ``{"usageEvent": {...}}``. Retried like a read."""
        body = {"usageEvent": self._with_transaction_id(usage_event)}
        return self._object("POST", "/api/v1/usage-events", body=body, idempotent=True)

    def create_usage_events(self, usage_events: list[dict[str, t.Any]]) -> dict[str, t.Any]:
        """Record several usage events in one call. Retried like a read."""
        body = {"usageEvents": [self._with_transaction_id(e) for e in usage_events]}
        return self._object("POST", "/api/v1/usage-events/bulk", body=body, idempotent=True)

    # -- pricing model ----------------------------------------------------

    def get_default_pricing_model(self) -> dict[str, t.Any]:
        """The pricing model the secret key is bound to: ``{"pricingModel": ...}``."""
        return self._get("/api/v1/pricing-models/default")

    # -- resources --------------------------------------------------------

    def get_resource_usages(
        self,
        subscription_id: str,
        *,
        resource_slugs: t.Sequence[str] | None = None,
        resource_ids: t.Sequence[str] | None = None,
    ) -> list[dict[str, t.Any]]:
        """Usage and claims of a subscription's resources, as a list.

        An empty sequence is the same as ``None``: no filter.
        """
        path = f"/api/v1/resource-claims/{_segment(subscription_id)}/usages"
        params = {
            "resourceSlugs": _comma_list(resource_slugs),
            "resourceIds": _comma_list(resource_ids),
        }
        result = self._request("GET", path, expect=list, params=params, idempotent=True)
        return t.cast("list[dict[str, t.Any]]", result)

    def get_resource_usage(
        self,
        subscription_id: str,
        *,
        resource_slug: str | None = None,
        resource_id: str | None = None,
    ) -> dict[str, t.Any]:
        """Usage and claims of one resource; Flowglad wants exactly one of
        ``resource_slug`` and ``resource_id``.
        """
        path = f"/api/v1/resource-claims/{_segment(subscription_id)}/usage"
        return self._get(path, {"resourceSlug": resource_slug, "resourceId": resource_id})

    def list_resource_claims(
        self, subscription_id: str, *, resource_slug: str | None = None
    ) -> dict[str, t.Any]:
        """Active claims of a subscription: ``{"claims": [...]}``."""
        path = f"/api/v1/resource-claims/{_segment(subscription_id)}/claims"
        return self._get(path, {"resourceSlug": resource_slug})

    def claim_resource(self, subscription_id: str, body: dict[str, t.Any]) -> dict[str, t.Any]:
        """Claim units of a resource (``body`` is sent as given)."""
        path = f"/api/v1/resource-claims/{_segment(subscription_id)}/claim"
        return self._write("POST", path, body)

    def release_resource(self, subscription_id: str, body: dict[str, t.Any]) -> dict[str, t.Any]:
        """Release claimed units of a resource (``body`` is sent as given)."""
        path = f"/api/v1/resource-claims/{_segment(subscription_id)}/release"
        return self._write("POST", path, body)

    # -- plan changes: preview, undo --------------------------------------

    def preview_adjust_subscription(
        self, subscription_id: str, adjustment: dict[str, t.Any]
    ) -> dict[str, t.Any]:
        """What :meth:`adjust_subscription` would do, changing nothing:
        ``{"canAdjust", "reason"?, "prorationAmount", ...}``. Retried like a
        read, since it writes nothing."""
        path = f"/api/v1/subscriptions/{_segment(subscription_id)}/preview-adjust"
        body = {"adjustment": adjustment}
        return self._object("POST", path, body=body, idempotent=True)

    def cancel_scheduled_adjustment(self, subscription_id: str) -> dict[str, t.Any]:
        """Undo a plan change scheduled for the end of the period:
        ``{"subscription", "canceledItemCount"}``."""
        path = f"/api/v1/subscriptions/{_segment(subscription_id)}/cancel-scheduled-adjustment"
        return self._write("POST", path, {})
