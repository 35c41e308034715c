"""The sandbox as a command: ``python -m flask_flowglad.sandbox`` (no Flask app needed).

The one sandbox command, also run as ``flask flowglad sandbox``: an app in any language can
start a local Flowglad, point its Flowglad SDK at the printed base URL and key, drive the
test controls under :data:`~flask_flowglad.sandbox.controls.CONTROLS_PREFIX`, and receive
signed webhooks at ``--webhook-url``.
"""

from __future__ import annotations

import click

from ..webhooks.signature import decode_secret
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
@click.option("--webhook-url", default=None, help="Post signed webhooks to this URL.")
@click.option(
    "--webhook-secret",
    default=None,
    help="The whsec_... secret the webhooks are signed with (the app's FLOWGLAD_WEBHOOK_SECRET).",
)
def sandbox_command(
    host: str,
    port: int,
    pricing: str | None,
    secret_key: str,
    allow_multiple_subscriptions: bool,
    webhook_url: str | None,
    webhook_secret: str | None,
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
    if webhook_url or webhook_secret:
        _deliver_webhooks(sandbox, webhook_url, webhook_secret)
    base_url = f"http://{host}:{port}"
    click.echo(f"Flowglad sandbox running at {base_url} (billing is simulated)")
    click.echo(f"  FLOWGLAD_BASE_URL={base_url}")
    click.echo(f"  FLOWGLAD_SECRET_KEY={secret_key}")
    click.echo(f"  hosted pages: {base_url}{PAGES_PREFIX}/")
    click.echo(f"  test controls: {base_url}{CONTROLS_PREFIX}/")
    if webhook_url:
        click.echo(f"  webhooks: POST {webhook_url}")
    run_simple(host, port, sandbox.wsgi_app, threaded=True, use_reloader=False)


def _deliver_webhooks(sandbox: Sandbox, url: str | None, secret: str | None) -> None:
    """Post every event to ``url``, once both options are given and the secret can sign."""
    if not url or not secret:
        raise click.UsageError("--webhook-url and --webhook-secret go together.")
    try:
        decode_secret(secret)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--webhook-secret") from None
    sandbox.webhooks.deliver_to_url(url, secret)
