"""``flask saas ...`` commands."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from flask_flowglad import FlowgladError

from .billing_identity import billing_for, billing_identity
from .models import all_users

saas_cli = AppGroup("saas", help="Commands of the example SaaS app.")


@saas_cli.command("backfill-customers")
def backfill_customers() -> None:
    """Create a Flowglad customer for every existing account.

    For apps that add billing after they already have users. Safe to run again:
    creating a customer that exists returns the existing one.
    """
    seen: set[str] = set()
    failed = 0
    for user in all_users():
        external_id = billing_identity(user).external_id
        if external_id in seen:  # team mode: teammates share one customer
            continue
        seen.add(external_id)
        try:
            billing_for(user).create_customer()
        except FlowgladError as exc:
            failed += 1
            click.echo(f"  {external_id}: failed ({exc})", err=True)
        else:
            click.echo(f"  {external_id}: ok")
    click.echo(f"{len(seen) - failed} customer(s) ready, {failed} failed.")
    if failed:
        raise SystemExit(1)
