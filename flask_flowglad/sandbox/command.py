"""The sandbox as a command: ``python -m flask_flowglad.sandbox`` (no Flask app needed).

The one sandbox command, also run as ``flask flowglad sandbox``: an app in any language can
start a local Flowglad, point its Flowglad SDK at the printed base URL and key, drive the
test controls under :data:`~flask_flowglad.sandbox.controls.CONTROLS_PREFIX`, and receive
signed webhooks at ``--webhook-url``. ``--state FILE`` keeps the sandbox in a file, shared
with every process that opens it.

``advance 30d`` moves a sandbox's time forward and ``reset`` empties it: the one in
``--state FILE``, the one a running sandbox serves at ``--url``, or (under ``flask``) the
app's own when its ``FLOWGLAD_SANDBOX`` is a file.
"""

from __future__ import annotations

import re
from typing import Any

import click

from ..webhooks.signature import decode_secret
from .controls import CONTROLS_PREFIX
from .core import Sandbox
from .pricing import PricingError
from .store import StateFileError
from .wire import PAGES_PREFIX

_STATE = click.option(
    "--state",
    type=click.Path(dir_okay=False),
    default=None,
    help="Keep the sandbox in this SQLite file (made if missing), shared by every process"
    " that opens it; by default it lives in memory.",
)
_PRICING = click.option(
    "--pricing",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Pricing model JSON file (default: the demo model).",
)


@click.group("sandbox", invoke_without_command=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=5555, show_default=True, type=int, help="Port to listen on.")
@_PRICING
@_STATE
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
@click.pass_context
def sandbox_command(
    ctx: click.Context,
    host: str,
    port: int,
    pricing: str | None,
    state: str | None,
    secret_key: str,
    allow_multiple_subscriptions: bool,
    webhook_url: str | None,
    webhook_secret: str | None,
) -> None:
    """Run a Flowglad sandbox over HTTP (no account, no network)."""
    if ctx.invoked_subcommand is not None:
        return
    from werkzeug.serving import run_simple

    sandbox = _open(pricing, state, secret_key=secret_key, allow=allow_multiple_subscriptions)
    if webhook_url or webhook_secret:
        _deliver_webhooks(sandbox, webhook_url, webhook_secret)
    base_url = f"http://{host}:{port}"
    kept = f"kept in {state}" if state else "in memory"
    click.echo(f"Flowglad sandbox running at {base_url} (billing is simulated, {kept})")
    click.echo(f"  FLOWGLAD_BASE_URL={base_url}")
    click.echo(f"  FLOWGLAD_SECRET_KEY={secret_key}")
    click.echo(f"  hosted pages: {base_url}{PAGES_PREFIX}/")
    click.echo(f"  test controls: {base_url}{CONTROLS_PREFIX}/")
    if webhook_url:
        click.echo(f"  webhooks: POST {webhook_url}")
    run_simple(host, port, sandbox.wsgi_app, threaded=True, use_reloader=False)


def _open(pricing: Any, state: str | None, **options: Any) -> Sandbox:
    """The sandbox the options describe, or the usage error that says what is wrong."""
    try:
        return Sandbox(
            pricing,
            secret_key=options.get("secret_key", "sk_test_sandbox"),
            allow_multiple_subscriptions=options.get("allow", False),
            path=state,
        )
    except PricingError as exc:
        raise click.BadParameter(str(exc), param_hint="--pricing") from exc
    except StateFileError as exc:
        raise click.BadParameter(str(exc), param_hint="--state") from exc


def _deliver_webhooks(sandbox: Sandbox, url: str | None, secret: str | None) -> None:
    """Post every event to ``url``, once both options are given and the secret can sign."""
    if not url or not secret:
        raise click.UsageError("--webhook-url and --webhook-secret go together.")
    try:
        decode_secret(secret)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--webhook-secret") from None
    sandbox.webhooks.deliver_to_url(url, secret)


#: What ``advance_time`` reports, as the command says it.
_HAPPENED = {
    "renewed": "renewed",
    "trialsEnded": "trials ended",
    "canceled": "canceled",
    "planChanged": "plans changed",
    "expired": "checkouts expired",
}
_UNITS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
_DURATION = re.compile(r"(?:(\d+)([wdhms]))+")


def parse_duration(value: str) -> int:
    """``30d``, ``12h``, ``1d12h``, ``2w``... as seconds."""
    text = value.strip().lower()
    if not text or not _DURATION.fullmatch(text):
        raise click.BadParameter(
            f"{value!r} is not a duration such as 30d, 12h, 90m, 1d12h or 2w",
            param_hint="DURATION",
        )
    return sum(int(n) * _UNITS[unit] for n, unit in re.findall(r"(\d+)([wdhms])", text))


_TARGET = [
    _STATE,
    click.option(
        "--url",
        default=None,
        help="The base URL of a running sandbox (flask flowglad sandbox) instead of a file.",
    ),
    click.option(
        "--secret-key",
        default="sk_test_sandbox",
        show_default=True,
        help="The running sandbox's key (with --url).",
    ),
]


def _target(function: Any) -> Any:
    for option in reversed(_TARGET):
        function = option(function)
    return function


@sandbox_command.command("advance")
@click.argument("duration")
@_target
def advance_command(duration: str, state: str | None, url: str | None, secret_key: str) -> None:
    """Move the sandbox's time forward (30d, 12h, 1d12h, 2w): renewals, trial ends,
    scheduled cancellations and plan changes happen, with their webhooks."""
    seconds = parse_duration(duration)
    if url:
        result = _control(url, secret_key, "POST", "/clock", {"seconds": seconds})
    else:
        result = _local(state).advance_time(seconds=seconds)
    counts = ", ".join(f"{len(result[key])} {label}" for key, label in _HAPPENED.items())
    click.echo(f"Sandbox time moved {duration}: now {_when(result['now'])} ({counts}).")


@sandbox_command.command("reset")
@_target
def reset_command(state: str | None, url: str | None, secret_key: str) -> None:
    """Empty the sandbox: every customer, subscription, invoice and delivery is forgotten."""
    if url:
        _control(url, secret_key, "POST", "/reset", {})
    else:
        _local(state).reset()
    click.echo("Sandbox reset: no customers, no records.")


def _local(state: str | None) -> Sandbox:
    """The sandbox in ``state``, else the Flask app's own when it keeps one in a file."""
    if state:
        return _open(None, state)
    from flask.cli import ScriptInfo

    info = click.get_current_context().find_object(ScriptInfo)
    sandbox = _app_sandbox(info) if info is not None else None
    if sandbox is None:
        raise click.UsageError(
            "Which sandbox? Give --state FILE (a sandbox kept in a file), --url URL (a"
            " running `flask flowglad sandbox`), or run it as `flask --app APP flowglad"
            " sandbox ...` for an app whose FLOWGLAD_SANDBOX is a file."
        )
    if sandbox.path is None:
        raise click.UsageError(
            "The app's sandbox is kept in memory (FLOWGLAD_SANDBOX = True): it lives inside"
            " the server's process, which this command cannot reach. Set FLOWGLAD_SANDBOX to a"
            " file, such as 'flowglad-sandbox.db' (in the instance folder), so the server and"
            " this command share it; or use POST /_sandbox/v1/clock on the running server."
        )
    return sandbox


def _app_sandbox(info: Any) -> Sandbox | None:
    try:
        app = info.load_app()
    except Exception:  # noqa: BLE001 - no app (python -m ...): fall back to the options
        return None
    state = app.extensions.get("flowglad")
    found = getattr(state, "sandbox", None)
    return found if isinstance(found, Sandbox) else None


def _control(url: str, key: str, method: str, route: str, body: dict[str, Any]) -> Any:
    import requests

    target = url.rstrip("/") + CONTROLS_PREFIX + route
    try:
        response = requests.request(
            method, target, json=body, headers={"Authorization": key}, timeout=60
        )
    except requests.RequestException as exc:
        raise click.ClickException(f"{method} {target} failed: {exc}") from None
    if response.status_code != 200:
        raise click.ClickException(
            f"{method} {target} answered {response.status_code}: {response.text[:300]}"
        )
    return response.json()


def _when(epoch_ms: int) -> str:
    import datetime as dt

    moment = dt.datetime.fromtimestamp(epoch_ms / 1000, tz=dt.timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M UTC")
