"""``flask flowglad ...`` commands (registered through the ``flask.commands`` entry point)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from .commands.backfill import backfill_command
from .commands.check import check_command
from .commands.inspect import customer_command, pricing_command
from .sandbox.command import sandbox_command

flowglad_cli = AppGroup("flowglad", help="Flowglad billing tools.")
#: ``flask flowglad sandbox`` is ``python -m flask_flowglad.sandbox``: no app needed.
flowglad_cli.add_command(sandbox_command, "sandbox")
for _command in (check_command, customer_command, pricing_command, backfill_command):
    flowglad_cli.add_command(_command)


@flowglad_cli.command("send-test-webhook")
@click.option(
    "--object",
    "object_kind",
    type=click.Choice(["customer", "subscription", "payment", "purchase"]),
    default="subscription",
    show_default=True,
    help="The kind of record the delivery is about.",
)
@click.option("--customer", "external_id", required=True, help="The customer's external id.")
@click.option("--object-id", default=None, help="Flowglad's id of the record (made up if unset).")
@click.option("--message-id", default=None, help="The svix-id; repeat one to see de-duplication.")
@click.option(
    "--url",
    default=None,
    help="Base URL of the running app (e.g. http://127.0.0.1:5000); by default the app is"
    " called in this process.",
)
def send_test_webhook_command(
    object_kind: str,
    external_id: str,
    object_id: str | None,
    message_id: str | None,
    url: str | None,
) -> None:
    """Sign a webhook delivery with FLOWGLAD_WEBHOOK_SECRET and send it to the app's
    endpoint, as Flowglad would."""
    import json

    from flask import current_app

    from .errors import FlowgladError
    from .sandbox.ids import new_id
    from .sandbox.webhooks import new_message_id, signed_headers
    from .state import get_state

    state = get_state()
    settings = state.settings
    if not settings.webhook_secret:
        raise click.UsageError("FLOWGLAD_WEBHOOK_SECRET is not set: the app has no endpoint.")
    try:
        customer = state.client.get_customer(external_id).get("customer") or {}
    except FlowgladError as exc:
        click.echo(f"Customer {external_id!r} not read from Flowglad ({exc}); its id is made up.")
        customer = {}
    payload = {
        "id": object_id or new_id(_ID_PREFIXES[object_kind]),
        "object": object_kind,
        "customer": {"id": customer.get("id") or new_id("cust"), "externalId": external_id},
        "pricingModelId": customer.get("pricingModelId"),
    }
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = signed_headers(settings.webhook_secret[0], message_id or new_message_id(), body)
    if url:
        import requests

        target = url.rstrip("/") + settings.webhook_path
        try:
            response = requests.post(target, data=body, headers=headers, timeout=10)
        except requests.RequestException as exc:
            raise click.ClickException(f"POST {target} failed: {exc}") from None
        status, text = response.status_code, response.text
    else:
        target = settings.webhook_path
        answer = current_app.test_client().post(target, data=body, headers=headers)
        status, text = answer.status_code, answer.get_data(as_text=True)
    click.echo(f"POST {target} svix-id={headers['svix-id']} -> {status}")
    click.echo(text.strip())
    if not 200 <= status < 300:
        raise SystemExit(1)


#: The prefix of Flowglad's ids of each kind of record.
_ID_PREFIXES = {"customer": "cust", "subscription": "sub", "payment": "pym", "purchase": "prch"}
