"""``flask flowglad backfill``: a Flowglad customer for every account of the app.

The accounts come from the function the app registers with ``@flowglad.customer_source``.
Repeating a run is always correct (an existing customer counts as existing, never as
failed), so ``--checkpoint`` is about cost, not correctness: with it, a resumed run skips
the accounts already settled instead of asking Flowglad about each again.
"""

from __future__ import annotations

import operator
import sys
import time
from collections.abc import Iterator

import click
from flask.cli import with_appcontext

from ..backfill import Backfill, Checkpoint, Report, Result
from ..errors import InvalidCustomerId
from ..identity import coerce_identity
from ..state import get_state

#: Failed ids printed in the report; the checkpoint file keeps all of them.
SHOWN_FAILURES = 50
#: Seconds between progress lines when the output is not a terminal.
LOG_EVERY = 10.0


#: Why a back-fill refuses ``FLOWGLAD_SANDBOX = True``.
MEMORY_SANDBOX = (
    "FLOWGLAD_SANDBOX = True keeps the sandbox in each process's memory: customers made by"
    " this command would vanish when it exits, unseen by the server. Set FLOWGLAD_SANDBOX to"
    " a file, such as 'flowglad-sandbox.db' (in the instance folder), which the server and"
    " this command then share."
)


@click.command("backfill", short_help="Create a Flowglad customer for every account.")
@click.option(
    "--concurrency",
    default=4,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Requests in flight at once.",
)
@click.option(
    "--rate",
    default=10.0,
    show_default=True,
    type=click.FloatRange(0),
    help="Requests started per second, retries included (0: no limit).",
)
@click.option(
    "--max-attempts",
    default=8,
    show_default=True,
    type=click.IntRange(1, 100),
    help="Tries per account on 5xx or no answer before it counts as failed (429s are"
    " waited out as Flowglad asks, not counted).",
)
@click.option(
    "--checkpoint",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="File of settled accounts (JSON lines): a re-run skips them. Created if missing.",
)
@click.option("--dry-run", is_flag=True, help="Read the accounts, create nothing.")
@with_appcontext
def backfill_command(
    concurrency: int, rate: float, max_attempts: int, checkpoint: str | None, dry_run: bool
) -> None:
    """Create a Flowglad customer for every account of @flowglad.customer_source."""
    state = get_state()
    if state.settings.sandbox is True and not dry_run:
        raise click.UsageError(MEMORY_SANDBOX)
    try:
        accounts = state.accounts()
    except LookupError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        done = Checkpoint(checkpoint) if checkpoint else None
    except OSError as exc:
        raise click.ClickException(f"Cannot use the checkpoint {checkpoint}: {exc}") from None
    if dry_run:
        _dry_run(accounts, done)
        if done is not None:
            done.close()
        return
    total = operator.length_hint(accounts, 0) or None
    job = Backfill(state.client, concurrency=concurrency, rate=rate, max_attempts=max_attempts)
    where = state.client.base_url
    if state.sandbox is not None:
        where = f"the sandbox in {state.sandbox.path}" if state.sandbox.path else "the sandbox"
    click.echo(
        f"Back-filling customers on {where}: {concurrency} at once, at most {rate:g} requests/s"
        if rate
        else f"Back-filling customers on {where}: no rate limit"
    )
    live = Report()
    started = time.monotonic()

    def counts(_: object) -> str:
        per_second = live.done / max(time.monotonic() - started, 1e-3)
        return (
            f"{per_second:.0f}/s  created {live.created}  existing {live.existing}"
            f"  failed {len(live.failed)}"
        )

    progress = click.progressbar(
        length=total,
        iterable=None if total else _unsized(),
        label="Customers",
        show_pos=True,
        show_eta=True,
        item_show_func=counts,
    )
    # Without a terminal (a container's job, a CI log) the bar draws nothing: a line every
    # LOG_EVERY seconds says how far the run is instead.
    interactive = sys.stdout.isatty()
    last_line = started

    with progress as bar:

        def advance(result: Result | None) -> None:
            nonlocal last_line
            if result is None:
                live.skipped += 1
            else:
                live.add(result)
            bar.update(1)
            now = time.monotonic()
            if not interactive and now - last_line >= LOG_EVERY:
                last_line = now
                of = f"/{total}" if total else ""
                click.echo(f"Customers: {bar.pos}{of}  {counts(None)}")

        try:
            report = job.run(accounts, checkpoint=done, on_result=advance)
        finally:
            if done is not None:
                done.close()
    click.echo(describe(report, checkpoint))
    if report.aborted:
        raise click.ClickException(report.aborted)
    if report.stopped:
        raise click.exceptions.Exit(130)
    if report.failed:
        raise click.exceptions.Exit(1)


def _unsized() -> Iterator[None]:
    """An iterable without a length: the bar then counts without a percentage or ETA."""
    yield None


def _dry_run(accounts: object, done: Checkpoint | None) -> None:
    would = skipped = 0
    invalid: list[str] = []
    for item in accounts:  # type: ignore[attr-defined]
        try:
            identity = coerce_identity(item)
        except (InvalidCustomerId, TypeError) as exc:
            invalid.append(f"{item!r}: {exc}")
            continue
        if identity is None:
            continue
        if done is not None and identity.external_id in done:
            skipped += 1
        else:
            would += 1
    click.echo(f"Dry run: {would} accounts would be sent to Flowglad (nothing was sent).")
    if done is not None:
        click.echo(f"  {skipped} skipped: settled in an earlier run, per the checkpoint")
    for line in invalid[:SHOWN_FAILURES]:
        click.echo(f"  invalid account {line}")


def describe(report: Report, checkpoint: str | None) -> str:
    """The final report: counts, the failed ids and why, how to continue."""
    if report.aborted:
        head = "Back-fill stopped"
    elif report.stopped:
        head = "Back-fill stopped (Ctrl-C)"
    else:
        head = "Back-fill finished"
    per_second = report.done / report.seconds if report.seconds else 0.0
    lines = [
        f"{head} in {report.seconds:.1f} s ({per_second:.0f} accounts/s)",
        f"  created   {report.created}",
        f"  existing  {report.existing}",
        f"  failed    {len(report.failed)}",
    ]
    if report.skipped:
        lines.append(
            f"  skipped   {report.skipped} (settled in an earlier run, per the checkpoint)"
        )
    if report.stopped:
        lines.append(f"  unfinished {report.interrupted} (in flight or queued when stopped)")
    lines.append(
        f"  retried   {report.rate_limited} answers 429 (rate limited),"
        f" {report.retried_errors} 5xx or no answer"
    )
    if report.failed:
        lines.append("Failed accounts:")
        for external_id, reason in list(report.failed.items())[:SHOWN_FAILURES]:
            lines.append(f"  {external_id}: {reason}")
        hidden = len(report.failed) - SHOWN_FAILURES
        if hidden > 0:
            where = f" (all are in {checkpoint})" if checkpoint else ""
            lines.append(f"  ... and {hidden} more{where}")
    if report.stopped or report.failed:
        if checkpoint:
            lines.append("Run the same command again to continue: settled accounts are skipped.")
        else:
            lines.append(
                "Run it again to continue: existing customers count as existing; add"
                " --checkpoint FILE to skip them without asking Flowglad."
            )
    return "\n".join(lines)
