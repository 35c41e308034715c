"""Create a Flowglad customer for every account of an app, at a bounded rate.

Flowglad asks that every account has a customer, paying or not. :class:`Backfill` streams
:class:`~flask_flowglad.identity.CustomerIdentity` objects from any iterable (a database
cursor), creates each with a small pool of threads under one shared request rate, and
retries 429 and 5xx answers with back-off. A customer that already exists (Flowglad
answers 409) counts as existing, so a run can always be repeated from the start; the
optional checkpoint (one JSON line per account done) makes a repeated run skip what was
done instead of asking Flowglad again. Like the client, this module knows nothing of
Flask: ``flask flowglad backfill`` drives it.
"""

from __future__ import annotations

import json
import queue
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Literal

from .errors import (
    FlowgladAuthenticationError,
    FlowgladConflict,
    FlowgladConnectionError,
    FlowgladError,
    FlowgladRateLimited,
    FlowgladServerError,
    InvalidCustomerId,
)
from .identity import CustomerIdentity, coerce_identity
from .redaction import one_line

if TYPE_CHECKING:
    from .client import FlowgladClient

Outcome = Literal["created", "existing", "failed", "interrupted"]


@dataclass(frozen=True)
class Result:
    """What became of one account."""

    external_id: str
    outcome: Outcome
    #: Why it failed (one line), for ``failed``.
    reason: str = ""
    #: Answers of 429 (rate limited), and failed attempts (5xx or no answer).
    rate_limited: int = 0
    retried_errors: int = 0


@dataclass
class Report:
    """The run so far: counts, the failed ids and why, and how hard Flowglad pushed back."""

    created: int = 0
    existing: int = 0
    #: Accounts the checkpoint said were done: not sent again.
    skipped: int = 0
    #: Accounts not finished when the run was interrupted.
    interrupted: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    rate_limited: int = 0
    retried_errors: int = 0
    seconds: float = 0.0
    #: Interrupted (Ctrl-C) or aborted before every account was tried.
    stopped: bool = False
    #: Why the run stopped by itself (Flowglad refused the key), if it did.
    aborted: str | None = None

    @property
    def done(self) -> int:
        """Accounts settled by this run, one way or another."""
        return self.created + self.existing + len(self.failed)

    def add(self, result: Result) -> None:
        if result.outcome == "created":
            self.created += 1
        elif result.outcome == "existing":
            self.existing += 1
        elif result.outcome == "failed":
            self.failed[result.external_id] = result.reason
        else:
            self.interrupted += 1
        self.rate_limited += result.rate_limited
        self.retried_errors += result.retried_errors


class Checkpoint:
    """The accounts already settled, one JSON object a line, appended as each finishes.

    Created and existing accounts are skipped on the next run; failed ones are tried
    again. A line is flushed as soon as it is written, so even a killed run loses at
    most the accounts that were in flight, and those answer 409 (existing) next time.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.settled: set[str] = set()
        if self.path.exists():
            with self.path.open(encoding="utf-8") as lines:
                for line in lines:
                    self._read(line)
        # Opened now, so an unwritable path fails before anything is sent.
        self._file: IO[str] | None = self.path.open("a", encoding="utf-8")

    def _read(self, line: str) -> None:
        try:
            entry = json.loads(line)
        except ValueError:
            return  # a line cut short by a crash: that account is simply tried again
        if isinstance(entry, dict) and entry.get("outcome") in ("created", "existing"):
            self.settled.add(str(entry.get("id")))

    def __contains__(self, external_id: object) -> bool:
        return external_id in self.settled

    def record(self, result: Result) -> None:
        if result.outcome == "interrupted":
            return
        if self._file is None:
            raise ValueError("the checkpoint is closed")
        entry = {"id": result.external_id, "outcome": result.outcome}
        if result.reason:
            entry["reason"] = result.reason
        self._file.write(json.dumps(entry) + "\n")
        self._file.flush()
        if result.outcome != "failed":
            self.settled.add(result.external_id)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class RateLimit:
    """At most ``rate`` request starts per second across all threads, evenly spaced."""

    def __init__(self, rate: float, stop: threading.Event) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._next = time.monotonic()
        self._lock = threading.Lock()
        self._stop = stop

    def wait(self) -> bool:
        """Wait for the next slot; ``False`` when the run is stopping instead."""
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self.interval
        return not self._stop.wait(max(0.0, slot - now))

    def pause(self, seconds: float) -> None:
        """Start nothing for ``seconds``, in any thread: Flowglad asked us to slow down."""
        with self._lock:
            self._next = max(self._next, time.monotonic() + seconds)


class Backfill:
    """Create customers for a stream of identities; see the module's docstring.

    :param client: the REST client to create customers with.
    :param concurrency: requests in flight at once.
    :param rate: request starts per second, retries included (0: unlimited).
    :param max_attempts: tries per account on 5xx or no answer before it counts as
        failed (429s are waited out, not counted).
    :param backoff: first wait after a 5xx or no answer, doubled each time (with
        jitter), at most ``max_backoff``; a 429's ``Retry-After`` is honoured instead, up
        to ``max_backoff`` too.
    """

    def __init__(
        self,
        client: FlowgladClient,
        *,
        concurrency: int = 4,
        rate: float = 10.0,
        max_attempts: int = 8,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.client = client
        self.concurrency = concurrency
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.stop = threading.Event()
        self.rate = RateLimit(rate, self.stop)
        #: Why the run stopped by itself, when it did.
        self.aborted: str | None = None

    def run(
        self,
        accounts: Iterable[object],
        *,
        checkpoint: Checkpoint | None = None,
        on_result: Callable[[Result | None], None] = lambda result: None,
    ) -> Report:
        """Process every account; ``on_result`` is called on this thread for each result
        (``None`` for an account the checkpoint skipped). Interrupted by Ctrl-C (or
        :meth:`halt`, or a refused secret key), it stops starting new accounts, lets the
        requests in flight finish and returns the report so far with ``stopped`` set."""
        report = Report()
        started = time.monotonic()
        work: queue.Queue[CustomerIdentity | None] = queue.Queue(self.concurrency * 2)
        results: queue.Queue[Result] = queue.Queue()
        workers = [
            threading.Thread(target=self._work, args=(work, results), daemon=True)
            for _ in range(self.concurrency)
        ]
        for worker in workers:
            worker.start()

        def settle(result: Result) -> None:
            report.add(result)
            if checkpoint is not None:
                checkpoint.record(result)
            on_result(result)

        def drain() -> None:
            while True:
                try:
                    settle(results.get_nowait())
                except queue.Empty:
                    return

        try:
            for item in accounts:
                try:
                    identity = coerce_identity(item)
                except (InvalidCustomerId, TypeError) as exc:
                    settle(Result(repr(item)[:80], "failed", one_line(exc)))
                    continue
                if identity is None:
                    continue
                if checkpoint is not None and identity.external_id in checkpoint:
                    report.skipped += 1
                    on_result(None)
                    continue
                if not self._put(work, identity, drain):
                    break
            for _ in workers:
                if not self._put(work, None, drain):
                    break
            while any(worker.is_alive() for worker in workers):
                drain()
                time.sleep(0.02)
            report.stopped = self.stop.is_set()
        except KeyboardInterrupt:
            report.stopped = True
            self.halt()
            try:
                while any(worker.is_alive() for worker in workers):
                    time.sleep(0.02)
            except KeyboardInterrupt:
                pass  # a second Ctrl-C: report now, without waiting for the requests
        drain()
        if report.stopped:
            self._count_unstarted(work, report)
        report.aborted = self.aborted
        report.seconds = time.monotonic() - started
        return report

    def halt(self) -> None:
        """Stop starting new accounts; workers finish the request in flight."""
        self.stop.set()

    def _abort(self, reason: str) -> None:
        """Stop the whole run: no account can succeed (Flowglad refuses the key)."""
        if self.aborted is None:
            self.aborted = reason
        self.halt()

    def _put(
        self,
        work: queue.Queue[CustomerIdentity | None],
        item: CustomerIdentity | None,
        drain: Callable[[], None],
    ) -> bool:
        """Queue ``item`` once a worker has room, settling results while waiting;
        ``False`` when the run stopped instead."""
        while not self.stop.is_set():
            drain()
            try:
                work.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def _count_unstarted(self, work: queue.Queue[CustomerIdentity | None], report: Report) -> None:
        for identity in _drain_queue(work):
            if identity is not None:
                report.add(Result(identity.external_id, "interrupted"))

    def _work(
        self, work: queue.Queue[CustomerIdentity | None], results: queue.Queue[Result]
    ) -> None:
        while not self.stop.is_set():
            try:
                identity = work.get(timeout=0.05)
            except queue.Empty:
                continue
            if identity is None:
                return
            results.put(self.create(identity))

    def create(self, identity: CustomerIdentity) -> Result:
        """Create one customer. A 5xx or no answer is tried again up to ``max_attempts``
        times (a 409 on a later attempt still tells the truth: the customer exists). A
        429 is Flowglad asking to slow down, not a failure of the account: every thread
        pauses for its ``Retry-After`` (or a growing back-off) and the account is tried
        again, however long the storm lasts; Ctrl-C stops the run."""
        rate_limited = errors = 0
        while True:
            if not self.rate.wait():
                return Result(identity.external_id, "interrupted", "", rate_limited, errors)
            try:
                self.client.create_customer(
                    identity.external_id, name=identity.name or "", email=identity.email or ""
                )
            except FlowgladConflict:
                return Result(identity.external_id, "existing", "", rate_limited, errors)
            except FlowgladAuthenticationError as exc:
                self._abort(
                    f"Flowglad refused the secret key ({exc.status}); nothing more was sent."
                )
                return Result(identity.external_id, "interrupted", "", rate_limited, errors)
            except FlowgladRateLimited as exc:
                rate_limited += 1
                wait = exc.retry_after
                self.rate.pause(
                    self._delay(rate_limited) if wait is None else min(wait, self.max_backoff)
                )
                continue
            except (FlowgladServerError, FlowgladConnectionError) as exc:
                errors += 1
                if errors >= self.max_attempts:
                    reason = f"gave up after {errors} attempts: {one_line(exc)}"
                    return Result(identity.external_id, "failed", reason, rate_limited, errors)
                if self.stop.wait(self._delay(errors)):
                    return Result(identity.external_id, "interrupted", "", rate_limited, errors)
                continue
            except FlowgladError as exc:
                return Result(identity.external_id, "failed", one_line(exc), rate_limited, errors)
            return Result(identity.external_id, "created", "", rate_limited, errors)

    def _delay(self, attempt: int) -> float:
        delay = min(self.backoff * 2.0 ** min(attempt - 1, 30), self.max_backoff)
        return delay * (1 - 0.25 * random.random())


def _drain_queue(work: queue.Queue[CustomerIdentity | None]) -> Iterator[CustomerIdentity | None]:
    while True:
        try:
            yield work.get_nowait()
        except queue.Empty:
            return
