"""``flask flowglad customer`` and ``flask flowglad pricing``: billing as a person reads it.

Both only read: looking at a customer never creates one.
"""

from __future__ import annotations

import json
from typing import Any

import click
from flask.cli import with_appcontext

from ..billing import BillingSnapshot
from ..errors import (
    FlowgladConnectionError,
    FlowgladError,
    FlowgladNotFound,
    InvalidCustomerId,
)
from ..identity import validate_external_id
from ..redaction import one_line
from ..state import get_state
from .check import connection_reason
from .text import date, interval, money, objects, status, table

#: Invoices shown by ``customer``, newest first.
LAST_INVOICES = 5


@click.command("customer", short_help="Show one customer's billing.")
@click.argument("external_id")
@click.option("--json", "as_json", is_flag=True, help="Print the raw billing payload.")
@with_appcontext
def customer_command(external_id: str, as_json: bool) -> None:
    """Show one customer's billing: plan, status, features, usage, cards, invoices."""
    try:
        validate_external_id(external_id)
    except InvalidCustomerId as exc:
        raise click.BadParameter(str(exc), param_hint="EXTERNAL_ID") from None
    try:
        payload = _read(lambda: get_state().client.get_billing(external_id))
    except FlowgladNotFound:
        raise click.ClickException(
            f"No Flowglad customer has the external id {external_id!r}."
        ) from None
    if as_json:
        click.echo(json.dumps(payload, indent=2, sort_keys=True))
        return
    billing = _read(lambda: BillingSnapshot.from_payload(payload))
    click.echo(describe_customer(billing))


@click.command("pricing", short_help="Show the default pricing model.")
@click.option("--json", "as_json", is_flag=True, help="Print the raw pricing model.")
@with_appcontext
def pricing_command(as_json: bool) -> None:
    """Show the default pricing model: products, prices, features, usage meters."""
    model = _read(get_state().default_pricing_model)
    if as_json:
        click.echo(json.dumps(model, indent=2, sort_keys=True))
        return
    click.echo(describe_pricing(model))


def _read(call: Any) -> Any:
    """One read, its failures as one line of standard error and exit status 1."""
    try:
        return call()
    except FlowgladNotFound:
        raise
    except FlowgladConnectionError as exc:
        base_url = get_state().client.base_url
        raise click.ClickException(
            f"Flowglad could not be reached at {base_url}: {connection_reason(exc)}"
        ) from None
    except FlowgladError as exc:
        raise click.ClickException(one_line(exc)) from None


def describe_customer(billing: BillingSnapshot) -> str:
    customer = billing.customer
    who = ", ".join(str(v) for v in (customer.get("name"), customer.get("email")) if v)
    lines = [f"Customer   {customer.get('externalId')}" + (f" ({who})" if who else "")]
    lines.append(
        f"Flowglad   {customer.get('id')}" + ("  ARCHIVED" if customer.get("archived") else "")
    )
    current = billing.current_subscriptions
    if not current:
        lines.append("Plan       none")
    for subscription in current:
        lines.append(f"Plan       {_plan(billing, subscription)}")
        lines.append(
            f"Status     {status(subscription.get('status'))}; {_next_date(subscription)}"
        )
    features = [str(f.get("slug")) for f in billing.granted_features()]
    lines.append("Features   " + (", ".join(features) if features else "none"))
    balances = billing.usage_meter_balances()
    for index, balance in enumerate(balances):
        label = "Usage      " if index == 0 else "           "
        lines.append(f"{label}{balance.get('slug')}: {balance.get('availableBalance')} left")
    if not balances:
        lines.append("Usage      no usage meters")
    methods = billing.payment_methods
    for index, method in enumerate(methods):
        label = "Payment    " if index == 0 else "           "
        raw = method.get("paymentMethodData")
        data: dict[str, Any] = raw if isinstance(raw, dict) else {}
        card = f"{data.get('brand', method.get('type'))} ending {data.get('last4', '????')}"
        lines.append(label + card + (" (default)" if method.get("default") else ""))
    if not methods:
        lines.append("Payment    no payment method")
    entries = sorted(
        billing.invoices,
        key=lambda entry: entry.get("invoice", {}).get("invoiceDate") or 0,
        reverse=True,
    )[:LAST_INVOICES]
    if entries:
        rows = []
        for entry in entries:
            invoice = entry.get("invoice", {})
            total = sum(
                (line.get("price") or 0) * (line.get("quantity") or 0)
                for line in objects(entry.get("invoiceLineItems"))
            )
            rows.append(
                (
                    date(invoice.get("invoiceDate")),
                    invoice.get("invoiceNumber", "-"),
                    status(invoice.get("status")),
                    money(total, invoice.get("currency")),
                )
            )
        lines.append("")
        lines.append(f"Last invoices ({len(entries)} of {len(billing.invoices)})")
        lines.append(table(("Date", "Number", "Status", "Total"), rows))
    else:
        lines.append("Invoices   none")
    return "\n".join(lines)


def _plan(billing: BillingSnapshot, subscription: dict[str, Any]) -> str:
    price = billing.find_price(price_id=subscription.get("priceId")) or {}
    name = subscription.get("name") or price.get("name") or "unnamed"
    if not price:
        return str(name)
    return (
        f"{name} ({price.get('slug')}), {money(price.get('unitPrice'), price.get('currency'))}"
        f" / {interval(price)}"
    )


def _next_date(subscription: dict[str, Any]) -> str:
    if subscription.get("status") == "cancellation_scheduled":
        ends = subscription.get("cancelScheduledAt") or subscription.get("currentBillingPeriodEnd")
        return f"ends {date(ends)}"
    if subscription.get("scheduledAdjustmentAt"):
        return f"plan changes {date(subscription.get('scheduledAdjustmentAt'))}"
    if subscription.get("trialEnd") and subscription.get("status") == "trialing":
        return f"trial ends {date(subscription.get('trialEnd'))}"
    if subscription.get("renews") is False:
        return "does not renew"
    return f"renews {date(subscription.get('currentBillingPeriodEnd'))}"


def describe_pricing(model: dict[str, Any]) -> str:
    lines = [f'Pricing model "{model.get("name") or "unnamed"}" ({model.get("id")})', ""]
    rows = []
    for product in objects(model.get("products")):
        for price in objects(product.get("prices")):
            rows.append(
                (
                    f"{product.get('slug')}{' (default)' if product.get('default') else ''}",
                    price.get("slug"),
                    money(price.get("unitPrice"), price.get("currency")),
                    interval(price),
                    ", ".join(str(f.get("slug")) for f in objects(product.get("features"))) or "-",
                )
            )
    lines.append(table(("Product", "Price", "Amount", "Per", "Features"), rows))
    meters = objects(model.get("usageMeters"))
    if meters:
        meter_rows = []
        for meter in meters:
            prices = objects(meter.get("prices"))
            priced = ", ".join(
                f"{p.get('slug')}: {money(p.get('unitPrice'), p.get('currency'))} per"
                f" {p.get('usageEventsPerUnit') or 1}"
                for p in prices
            )
            meter_rows.append(
                (meter.get("slug"), status(meter.get("aggregationType")), priced or "-")
            )
        lines += ["", table(("Usage meter", "Aggregation", "Prices"), meter_rows)]
    return "\n".join(lines)
