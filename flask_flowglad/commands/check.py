"""``flask flowglad check``: is this deployment's billing set up? For health checks too.

Prints the resolved configuration (the secret key masked to its mode and last four
characters), then asks Flowglad for the default pricing model: one read that shows both
whether Flowglad answers and whether it accepts the key. Any failure exits 1 with the
reason on one line of standard error.
"""

from __future__ import annotations

import re
import time
from typing import Any

import click
from flask.cli import ScriptInfo

from ..config import masked_key
from ..errors import (
    ConfigurationError,
    FlowgladAPIError,
    FlowgladAuthenticationError,
    FlowgladConnectionError,
    FlowgladError,
    FlowgladTimeout,
)
from ..redaction import one_line
from ..state import FlowgladState, get_state
from .text import objects


@click.command("check", short_help="Check the configuration and the connection to Flowglad.")
@click.pass_context
def check_command(ctx: click.Context) -> None:
    """Check the configuration, that Flowglad answers and accepts the secret key."""
    # The app is loaded here, not by ``with_appcontext``, so a configuration the extension
    # refuses is one line too, not a traceback.
    try:
        app = ctx.ensure_object(ScriptInfo).load_app()
    except ConfigurationError as exc:
        raise click.ClickException(f"Configuration refused: {exc}") from None
    with app.app_context():
        try:
            state = get_state()
        except RuntimeError as exc:  # the app never called init_app
            raise click.ClickException(str(exc)) from None
        _check(state)


def _check(state: FlowgladState) -> None:
    _echo_configuration(state)
    started = time.monotonic()
    try:
        response = state.client.get_default_pricing_model()
    except FlowgladConnectionError as exc:
        click.echo("Flowglad answers:  no")
        raise click.ClickException(
            f"Flowglad could not be reached at {state.client.base_url}: {connection_reason(exc)}"
        ) from None
    except FlowgladAuthenticationError as exc:
        click.echo("Flowglad answers:  yes")
        click.echo("Secret key:        refused")
        raise click.ClickException(
            f"Flowglad refused the secret key {masked_key(state.settings.secret_key)}"
            f" ({exc.status}); check FLOWGLAD_SECRET_KEY."
        ) from None
    except FlowgladAPIError as exc:
        click.echo("Flowglad answers:  yes")
        raise click.ClickException(
            f"Flowglad answered {exc.status} for the default pricing model: {one_line(exc)}"
        ) from None
    except FlowgladError as exc:
        raise click.ClickException(one_line(exc)) from None
    elapsed = (time.monotonic() - started) * 1000
    click.echo(f"Flowglad answers:  yes ({elapsed:.0f} ms)")
    click.echo("Secret key:        accepted")
    model = response.get("pricingModel", response)
    if not isinstance(model, dict) or not isinstance(model.get("products"), list):
        raise click.ClickException("Flowglad's answer has no pricing model.")
    click.echo(f"Pricing model:     {pricing_summary(model)}")
    click.echo("OK")


def _echo_configuration(state: FlowgladState) -> None:
    settings = state.settings
    if state.sandbox is not None:
        kept = f"kept in {state.sandbox.path}" if state.sandbox.path else "in memory"
        where = f"sandbox ({kept}, nothing is charged)"
        key = masked_key(state.sandbox.secret_key)
    else:
        where = settings.base_url
        key = masked_key(settings.secret_key)
    click.echo(
        f"Secret key:        {key} ({settings.key_mode if state.sandbox is None else 'sandbox'})"
    )
    click.echo(f"Flowglad:          {where}")
    click.echo(f"Routes:            {settings.url_prefix}")
    click.echo(
        f"Timeouts:          connect {settings.connect_timeout:g} s, read"
        f" {settings.read_timeout:g} s, per request {settings.request_deadline:g} s,"
        f" {settings.max_retries} retries"
    )
    click.echo(f"Fail open:         {'yes' if settings.fail_open else 'no'}")


def pricing_summary(model: dict[str, Any]) -> str:
    """``"Demo" (pricing_model_1): 3 products, 4 prices, 5 features, 1 usage meter; ...``"""
    products = objects(model.get("products"))
    meters = objects(model.get("usageMeters"))
    prices = [p for owner in (*products, *meters) for p in objects(owner.get("prices"))]
    features = {
        str(f.get("slug")) for product in products for f in objects(product.get("features"))
    }
    default = next((p.get("slug") for p in products if p.get("default")), None)
    counts = ", ".join(
        _count(n, noun)
        for n, noun in (
            (len(products), "product"),
            (len(prices), "price"),
            (len(features), "feature"),
            (len(meters), "usage meter"),
        )
    )
    name = model.get("name") or "unnamed"
    summary = f'"{name}" ({model.get("id", "no id")}): {counts}'
    return f"{summary}; default product {default}" if default else summary


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\"()]+)")


def connection_reason(exc: FlowgladConnectionError) -> str:
    """The cause a person acts on (``Connection refused``), not urllib3's whole chain."""
    if isinstance(exc, FlowgladTimeout):
        return "no answer in time"
    found = _ERRNO.search(str(exc))
    return found.group(1).strip() if found else one_line(exc)
