"""The sandbox as a command: ``python -m flask_flowglad.sandbox`` (no Flask app needed).

The same options as ``flask flowglad sandbox``, so an app in any language can start a
local Flowglad, point its Flowglad SDK at the printed base URL and key, and drive the test
controls under :data:`~flask_flowglad.sandbox.controls.CONTROLS_PREFIX`.
"""

from __future__ import annotations

import click

from .controls import CONTROLS_PREFIX
from .core import Sandbox
from .pricing import PricingError
from .wire import PAGES_PREFIX


@click.command("sandbox")
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
@click.option(
    "--allow-multiple-subscriptions",
    is_flag=True,
    help="Let a customer have several current subscriptions (Flowglad's organization setting).",
)
def sandbox_command(
    host: str, port: int, pricing: str | None, secret_key: str, allow_multiple_subscriptions: bool
) -> None:
    """Run an in-memory Flowglad sandbox over HTTP (no account, no network)."""
    from werkzeug.serving import run_simple

    try:
        sandbox = Sandbox(
            pricing,
            secret_key=secret_key,
            allow_multiple_subscriptions=allow_multiple_subscriptions,
        )
    except PricingError as exc:
        raise click.BadParameter(str(exc), param_hint="--pricing") from exc
    base_url = f"http://{host}:{port}"
    click.echo(f"Flowglad sandbox running at {base_url} (billing is simulated)")
    click.echo(f"  FLOWGLAD_BASE_URL={base_url}")
    click.echo(f"  FLOWGLAD_SECRET_KEY={secret_key}")
    click.echo(f"  hosted pages: {base_url}{PAGES_PREFIX}/")
    click.echo(f"  test controls: {base_url}{CONTROLS_PREFIX}/")
    run_simple(host, port, sandbox.wsgi_app, threaded=True, use_reloader=False)
