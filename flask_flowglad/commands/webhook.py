"""``flask flowglad send-test-webhook``: a signed delivery to the app's own webhook endpoint,
as Flowglad would send it, to try receivers without a Flowglad account or a tunnel."""

from __future__ import annotations

import json
import secrets

import click
import requests
from flask import current_app
from flask.cli import with_appcontext

from ..errors import FlowgladError
from ..state import get_state
from ..webhooks.signature import new_message_id, signed_headers


@click.command("send-test-webhook")
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
@with_appcontext
def send_test_webhook_command(
    object_kind: str,
    external_id: str,
    object_id: str | None,
    message_id: str | None,
    url: str | None,
) -> None:
    """Sign a webhook delivery with FLOWGLAD_WEBHOOK_SECRET and send it to the app's
    endpoint, as Flowglad would."""
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
        "id": object_id or made_up_id(_ID_PREFIXES[object_kind]),
        "object": object_kind,
        "customer": {"id": customer.get("id") or made_up_id("cust"), "externalId": external_id},
        "pricingModelId": customer.get("pricingModelId"),
    }
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = signed_headers(settings.webhook_secret[0], message_id or new_message_id(), body)
    if url:
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


def made_up_id(prefix: str) -> str:
    """A Flowglad-looking id (``prefix_`` and 21 hex digits) for a record the test
    delivery names but Flowglad does not have."""
    return f"{prefix}_{secrets.token_hex(11)[:21]}"
