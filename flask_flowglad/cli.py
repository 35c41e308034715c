"""``flask flowglad ...`` commands (registered through the ``flask.commands`` entry point)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from .commands.backfill import backfill_command
from .commands.check import check_command
from .commands.inspect import customer_command, pricing_command

flowglad_cli = AppGroup("flowglad", help="Flowglad billing tools.")
for _command in (check_command, customer_command, pricing_command, backfill_command):
    flowglad_cli.add_command(_command)


@flowglad_cli.command("sandbox", with_appcontext=False)
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=5555, show_default=True, type=int, help="Port to listen on.")
@click.option(
    "--pricing",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Pricing model JSON file (default: the demo model).",
)
@click.option(
    "--secret-key",
    default="sk_test_sandbox",
    show_default=True,
    help="The secret key the sandbox accepts.",
)
def sandbox_command(host: str, port: int, pricing: str | None, secret_key: str) -> None:
    """Run an in-memory Flowglad sandbox over HTTP (no account, no network)."""
    from werkzeug.serving import run_simple

    from .sandbox import Sandbox
    from .sandbox.pricing import PricingError

    try:
        sandbox = Sandbox(pricing, secret_key=secret_key)
    except (PricingError, ValueError) as exc:
        raise click.BadParameter(str(exc), param_hint="--pricing") from exc
    base_url = f"http://{host}:{port}"
    click.echo(f"Flowglad sandbox running at {base_url} (billing is simulated)")
    click.echo(f"  FLOWGLAD_BASE_URL={base_url}")
    click.echo(f"  FLOWGLAD_SECRET_KEY={secret_key}")
    click.echo(f"  hosted pages: {base_url}/flowglad-sandbox/")
    run_simple(host, port, sandbox.wsgi_app, threaded=True, use_reloader=False)
