"""``flask flowglad usage-worker``, ``usage-status`` and ``usage-dead-letters``: the usage
outbox's worker and its operator's view."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
import time
from types import FrameType

import click
from flask.cli import with_appcontext

from ..delivery import usage_outbox, usage_worker
from ..errors import ConfigurationError
from ..usage import UsageOutbox
from .text import table


@click.command("usage-worker")
@click.option("--once", is_flag=True, help="Send what is ready, then exit (for cron and tests).")
@click.option(
    "--batch-size", type=click.IntRange(1, 1000), default=None, help="Events per request."
)
@click.option("--linger", type=click.FloatRange(0, min_open=True), default=None, help="Seconds.")
@click.option("--lease", type=click.FloatRange(1), default=None, help="Seconds a batch is held.")
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
    help="debug logs every batch.",
)
@with_appcontext
def usage_worker_command(
    once: bool, batch_size: int | None, linger: float | None, lease: float | None, log_level: str
) -> None:
    """Send the usage outbox to Flowglad in batches, until SIGTERM or Ctrl-C (a batch in
    flight is finished first). Run as many as you like, on any machines: they share the
    work and never send one event twice at once."""
    _log_to_stderr(log_level)
    try:
        worker = usage_worker(batch_size=batch_size, linger=linger, lease=lease)
    except ConfigurationError as exc:
        raise click.UsageError(str(exc)) from None
    if once:
        started = time.monotonic()
        totals = worker.drain()
        click.echo(
            f"sent {totals.sent}, dead letters {totals.dead}, waiting {totals.retried}"
            f" ({totals.requests} requests, {time.monotonic() - started:.1f} s)"
        )
        if totals.retried:
            raise SystemExit(1)
        return
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    click.echo(f"usage worker started: {worker!r}", err=True)
    worker.run(stop)
    click.echo("usage worker stopped", err=True)


@click.command("usage-status")
@click.option("--json", "as_json", is_flag=True, help="One JSON object, for scripts.")
@with_appcontext
def usage_status_command(as_json: bool) -> None:
    """Pending events, the oldest one's age, events sent in the last minute, dead letters."""
    status = _outbox().status()
    if as_json:
        click.echo(json.dumps(status.as_dict()))
        return
    age = status.oldest_age_seconds
    rows = [
        ("pending", status.pending),
        ("oldest pending", "-" if age is None else f"{age:.1f} s"),
        ("sent in the last minute", status.sent_last_minute),
        ("dead letters", status.dead_letters),
    ]
    click.echo(table(["usage outbox", ""], rows))


@click.command("usage-dead-letters")
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)
@click.option("--requeue", "requeue_ids", multiple=True, help="Send this one again (repeatable).")
@click.option("--requeue-all", is_flag=True, help="Send every dead letter again.")
@click.option("--discard", "discard_ids", multiple=True, help="Drop this one for good.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@with_appcontext
def usage_dead_letters_command(
    limit: int,
    requeue_ids: tuple[str, ...],
    requeue_all: bool,
    discard_ids: tuple[str, ...],
    as_json: bool,
) -> None:
    """List the usage events Flowglad refused for good, with the reason; requeue them once
    the cause is fixed (a meter added, a customer subscribed), or discard them."""
    outbox = _outbox()
    if requeue_all or requeue_ids:
        moved = outbox.requeue(None if requeue_all else list(requeue_ids))
        click.echo(f"requeued {moved}")
        return
    if discard_ids:
        click.echo(f"discarded {outbox.discard(list(discard_ids))}")
        return
    letters = outbox.dead_letters(limit)
    if as_json:
        for letter in letters:
            event = letter.event
            record = {
                "id": letter.id,
                "reason": letter.reason,
                "status": letter.status,
                "failedAt": letter.failed_at,
                "customerExternalId": event.customer_external_id,
                "transactionId": event.transaction_id,
                "usageMeterSlug": event.usage_meter_slug,
                "priceSlug": event.price_slug,
                "amount": event.amount,
            }
            click.echo(json.dumps(record))
        return
    rows = [
        (
            letter.id,
            letter.event.customer_external_id,
            letter.event.usage_meter_slug or f"price {letter.event.price_slug}",
            letter.event.amount,
            letter.event.transaction_id,
            letter.reason,
        )
        for letter in letters
    ]
    click.echo(table(["id", "customer", "meter", "amount", "transaction", "reason"], rows))


def _outbox() -> UsageOutbox:
    try:
        return usage_outbox()
    except ConfigurationError as exc:
        raise click.UsageError(str(exc)) from None


def _log_to_stderr(level: str) -> None:
    """The worker's log lines on stderr, unless the app configured logging itself."""
    log = logging.getLogger("flask_flowglad")
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        log.addHandler(handler)
    log.setLevel(level.upper())
