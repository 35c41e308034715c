"""``flask flowglad check | customer | pricing | backfill``, in process against the
in-memory sandbox and as real processes against ``flask flowglad sandbox`` over HTTP."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner, Result
from flask import Flask
from flask.cli import FlaskGroup, ScriptInfo
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from flask_flowglad import CustomerIdentity, Flowglad, cli
from flask_flowglad.sandbox import Sandbox

from .support.cli_app import accounts

ROOT = Path(__file__).resolve().parents[1]
#: The ``flask`` command of this interpreter, wherever its scripts are installed.
FLASK = [sys.executable, "-m", "flask"]


# -- in process ----------------------------------------------------------------------


def make_cli_app(sandbox: Sandbox, source: Callable[[], Iterable[Any]] | None = None) -> Flask:
    app = Flask("cli_operations")
    app.config.update(FLOWGLAD_SANDBOX=sandbox)
    with pytest.warns(UserWarning, match="simulated"):
        flowglad = Flowglad(app)
    if source is not None:
        flowglad.customer_source(source)
    return app


def invoke(app: Flask, *args: str) -> Result:
    group = FlaskGroup(create_app=lambda: app)
    group.add_command(cli.flowglad_cli)
    return CliRunner().invoke(group, ["flowglad", *args], obj=ScriptInfo(create_app=lambda: app))


def test_check_shows_the_masked_key_and_the_pricing_model(flowglad_sandbox: Sandbox) -> None:
    result = invoke(make_cli_app(flowglad_sandbox), "check")
    assert result.exit_code == 0, result.output
    # The sandbox's key is too short to show any of its characters.
    assert "Secret key:        sk_test_\u2026 (sandbox)" in result.output
    assert flowglad_sandbox.secret_key not in result.output
    assert "Secret key:        accepted" in result.output
    assert "3 products, 8 prices, 6 features, 2 usage meters; default product free" in (
        result.output
    )
    assert result.output.rstrip().endswith("OK")


def test_check_fails_on_one_line_when_flowglad_errs(flowglad_sandbox: Sandbox) -> None:
    flowglad_sandbox.fail_next(500, times=10, path="/pricing-models/default")
    result = invoke(make_cli_app(flowglad_sandbox), "check")
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert errors == [
        "Error: Flowglad answered 500 for the default pricing model: 500: Internal server error"
    ]


def test_check_reports_a_refused_configuration_on_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("FLOWGLAD_SECRET_KEY", raising=False)

    def create_app() -> Flask:
        app = Flask("misconfigured")
        Flowglad(app)  # no secret key, no sandbox
        return app

    group = FlaskGroup(create_app=create_app)
    group.add_command(cli.flowglad_cli)
    result = CliRunner().invoke(
        group, ["flowglad", "check"], obj=ScriptInfo(create_app=create_app)
    )
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "Error: Configuration refused: FLOWGLAD_SECRET_KEY is not set. Did you forget to put your"
        " Flowglad secret key in app.config['FLOWGLAD_SECRET_KEY'] or the environment? For a"
        " local demo without a Flowglad account, set FLOWGLAD_SANDBOX = True."
    ]

    bare = FlaskGroup(create_app=lambda: Flask("bare"))
    bare.add_command(cli.flowglad_cli)
    result = CliRunner().invoke(
        bare, ["flowglad", "check"], obj=ScriptInfo(create_app=lambda: Flask("bare"))
    )
    assert result.exit_code == 1
    assert "Did you forget to call flowglad.init_app(app)?" in result.output


def test_customer_summary_reads_like_a_person_would_write_it(flowglad_sandbox: Sandbox) -> None:
    sub = flowglad_sandbox.put_customer_on_plan("u1", "pro_monthly", name="Ada", email="a@x.io")
    flowglad_sandbox.advance_billing_period("u1")
    flowglad_sandbox.record_usage("u1", "api_calls", 25)
    app = make_cli_app(flowglad_sandbox)
    with app.app_context():
        app.extensions["flowglad"].client.cancel_subscription(
            sub["id"], "at_end_of_current_billing_period"
        )
    calls_before = len(flowglad_sandbox.calls)
    result = invoke(app, "customer", "u1")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Customer   u1 (Ada, a@x.io)" in out
    assert "Plan       Pro - Pro monthly (pro_monthly), $20.00 / month" in out
    ends = re.search(r"Status     cancellation scheduled; ends (\d{4}-\d{2}-\d{2})", out)
    assert ends, out
    assert "advanced_analytics" in out
    assert "api_calls: 9975 left" in out
    assert "visa ending 4242 (default)" in out
    assert re.search(r"\d{4}-\d{2}-\d{2}\s+\S+-0002\s+paid\s+\$20\.00", out), out
    assert "cancellation_scheduled" not in out
    # One read; looking at a customer writes nothing.
    assert [c.method for c in flowglad_sandbox.calls[calls_before:]] == ["GET"]


def test_customer_json_is_the_raw_billing(flowglad_sandbox: Sandbox) -> None:
    flowglad_sandbox.create_customer("u1")
    result = invoke(make_cli_app(flowglad_sandbox), "customer", "u1", "--json")
    assert result.exit_code == 0
    billing = json.loads(result.output)
    assert billing["customer"]["externalId"] == "u1"
    assert (
        billing["currentSubscription"]["id"]
        == (flowglad_sandbox.billing("u1")["currentSubscription"]["id"])
    )


def test_an_unknown_customer_is_an_error_and_is_not_created(flowglad_sandbox: Sandbox) -> None:
    result = invoke(make_cli_app(flowglad_sandbox), "customer", "nobody")
    assert result.exit_code == 1
    assert "No Flowglad customer has the external id 'nobody'." in result.output
    assert not flowglad_sandbox.records.customers
    bad = invoke(make_cli_app(flowglad_sandbox), "customer", "a/b")
    assert bad.exit_code == 2


def test_pricing_table_and_raw_model(flowglad_sandbox: Sandbox) -> None:
    app = make_cli_app(flowglad_sandbox)
    table = invoke(app, "pricing")
    assert table.exit_code == 0
    assert re.search(r"pro\s+pro_yearly\s+\$200\.00\s+year\s+advanced_analytics", table.output)
    assert re.search(r"report_pack\s+report_pack\s+\$49\.00\s+once", table.output)
    assert "api_call_overage: $0.01 per 10" in table.output
    raw = invoke(app, "pricing", "--json")
    assert json.loads(raw.output)["id"] == flowglad_sandbox.pricing.record["id"]


def interrupted_after(count: int, source: Iterable[CustomerIdentity]) -> Iterator[Any]:
    """The accounts, with Ctrl-C pressed after ``count`` of them were read."""
    for number, identity in enumerate(source):
        if number == count:
            raise KeyboardInterrupt
        yield identity


def backfill_numbers(output: str) -> dict[str, int]:
    found = dict(
        re.findall(r"^  (created|existing|failed|skipped|unfinished)\s+(\d+)", output, re.M)
    )
    return {key: int(value) for key, value in found.items()}


def test_backfill_interrupted_half_way_then_resumed_makes_each_customer_once(
    flowglad_sandbox: Sandbox, tmp_path: Path
) -> None:
    checkpoint = str(tmp_path / "backfill.jsonl")
    first = make_cli_app(flowglad_sandbox, lambda: interrupted_after(500, accounts(1000)))
    stopped = invoke(first, "backfill", "--rate", "0", "--checkpoint", checkpoint)
    assert stopped.exit_code == 130, stopped.output
    assert "Back-fill stopped (Ctrl-C)" in stopped.output
    first_run = backfill_numbers(stopped.output)
    assert first_run["failed"] == 0
    assert first_run["created"] + first_run["unfinished"] == 500
    assert len(flowglad_sandbox.records.customers) == first_run["created"]

    again = make_cli_app(flowglad_sandbox, lambda: list(accounts(1000)))
    resumed = invoke(again, "backfill", "--rate", "0", "--checkpoint", checkpoint)
    assert resumed.exit_code == 0, resumed.output
    numbers = backfill_numbers(resumed.output)
    # Only what the first run settled is skipped; nothing is asked twice, nothing fails.
    assert numbers["skipped"] == first_run["created"]
    assert numbers["created"] == 1000 - first_run["created"]
    assert (numbers["existing"], numbers["failed"]) == (0, 0)
    assert len(Path(checkpoint).read_text().splitlines()) == 1000
    assert len(flowglad_sandbox.records.customers) == 1000

    # Without a checkpoint a re-run is still right, only dearer: each asks once more.
    flowglad_sandbox.calls.clear()
    third = invoke(again, "backfill", "--rate", "0")
    assert backfill_numbers(third.output) == {"created": 0, "existing": 1000, "failed": 0}
    assert len(flowglad_sandbox.calls) == 1000
    assert len(flowglad_sandbox.records.customers) == 1000


def test_backfill_survives_a_429_storm_and_counts_it(flowglad_sandbox: Sandbox) -> None:
    flowglad_sandbox.fail_next(
        429,
        times=300,
        method="POST",
        path="/api/v1/customers",
        body='{"error": "Too many requests", "code": "TOO_MANY_REQUESTS", "request_id": "r"}',
        headers={"Retry-After": "0"},
    )
    app = make_cli_app(flowglad_sandbox, lambda: accounts(400))
    result = invoke(app, "backfill", "--rate", "0")
    assert result.exit_code == 0, result.output
    assert backfill_numbers(result.output) == {"created": 400, "existing": 0, "failed": 0}
    assert "retried   300 answers 429" in result.output
    assert len(flowglad_sandbox.records.customers) == 400


def test_backfill_reports_failed_ids_with_their_reason(flowglad_sandbox: Sandbox) -> None:
    flowglad_sandbox.fail_next(503, times=3, method="POST", path="/api/v1/customers")
    app = make_cli_app(flowglad_sandbox, lambda: accounts(3))
    result = invoke(app, "backfill", "--rate", "0", "--concurrency", "1", "--max-attempts", "1")
    assert result.exit_code == 1
    assert "Failed accounts:" in result.output
    assert "  acct-0000: gave up after 1 attempts: 503: Internal server error" in result.output
    assert backfill_numbers(result.output)["failed"] == 3


def test_backfill_logs_progress_lines_when_not_in_a_terminal(
    flowglad_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("flask_flowglad.commands.backfill.LOG_EVERY", 0.0)
    app = make_cli_app(flowglad_sandbox, lambda: list(accounts(3)))
    result = invoke(app, "backfill", "--rate", "0", "--concurrency", "1")
    lines = [line for line in result.output.splitlines() if line.startswith("Customers: ")]
    assert [line.split()[1] for line in lines] == ["1/3", "2/3", "3/3"]
    assert lines[-1].endswith("created 3  existing 0  failed 0")


def test_backfill_dry_run_sends_nothing(flowglad_sandbox: Sandbox) -> None:
    app = make_cli_app(flowglad_sandbox, lambda: [*accounts(5), "ok-id", "bad/id"])
    result = invoke(app, "backfill", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Dry run: 6 accounts would be sent to Flowglad" in result.output
    assert "invalid account 'bad/id'" in result.output
    assert flowglad_sandbox.calls == []


def test_backfill_without_a_source_says_how_to_register_one(flowglad_sandbox: Sandbox) -> None:
    result = invoke(make_cli_app(flowglad_sandbox), "backfill")
    assert result.exit_code == 1
    assert "@flowglad.customer_source" in result.output


# -- over HTTP, as separate processes ------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(url: str, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.05)
    raise AssertionError(f"{url} did not come up")


@pytest.fixture(scope="module")
def sandbox_url() -> Iterator[str]:
    port = free_port()
    server = subprocess.Popen(
        [*FLASK, "flowglad", "sandbox", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(url + "/flowglad-sandbox/")
        yield url
    finally:
        server.terminate()
        server.wait(10)


def flask_env(base_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLOWGLAD_", "FLASK_"))}
    env.update(
        {
            "FLASK_APP": "tests.support.cli_app:create_app",
            "FLOWGLAD_BASE_URL": base_url,
            "FLOWGLAD_SECRET_KEY": "sk_test_sandbox",
            **extra,
        }
    )
    return env


def run_flask(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*FLASK, "flowglad", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def customers_listed(base_url: str) -> int:
    page = requests.get(base_url + "/flowglad-sandbox/", timeout=10).text
    return page.count('href="portal/')


def test_check_over_http_passes_then_fails_on_a_wrong_key_and_a_dead_url(
    sandbox_url: str,
) -> None:
    ok = run_flask(flask_env(sandbox_url), "check")
    assert ok.returncode == 0, ok.stderr
    assert "Flowglad answers:  yes" in ok.stdout and ok.stderr == ""

    wrong = run_flask(
        flask_env(sandbox_url, FLOWGLAD_SECRET_KEY="sk_test_not_the_key_9876"), "check"
    )
    assert wrong.returncode == 1
    assert wrong.stderr.splitlines() == [
        "Error: Flowglad refused the secret key sk_test_\u20269876 (401);"
        " check FLOWGLAD_SECRET_KEY."
    ]
    assert "sk_test_not_the_key_9876" not in wrong.stdout + wrong.stderr

    # A back-fill with that key stops at once instead of failing every account.
    env = flask_env(sandbox_url, FLOWGLAD_SECRET_KEY="sk_test_not_the_key_9876")
    env["CLI_APP_ACCOUNTS"] = "500"
    refused = run_flask(env, "backfill", "--rate", "0")
    assert refused.returncode == 1
    assert refused.stderr.splitlines() == [
        "Error: Flowglad refused the secret key (401); nothing more was sent."
    ]
    assert backfill_numbers(refused.stdout)["failed"] == 0

    dead = f"http://127.0.0.1:{free_port()}"
    down = run_flask(flask_env(dead, FLOWGLAD_MAX_RETRIES="0"), "check")
    assert down.returncode == 1
    assert down.stderr.splitlines() == [
        f"Error: Flowglad could not be reached at {dead}: Connection refused"
    ]
    assert "Flowglad answers:  no" in down.stdout


def test_customer_and_pricing_over_http(sandbox_url: str) -> None:
    env = flask_env(sandbox_url)
    created = requests.post(
        sandbox_url + "/api/v1/customers",
        json={"customer": {"externalId": "http-1", "name": "Grace", "email": "g@x.io"}},
        headers={"Authorization": "sk_test_sandbox"},
        timeout=10,
    )
    assert created.status_code == 200
    shown = run_flask(env, "customer", "http-1")
    assert shown.returncode == 0, shown.stderr
    assert "Plan       Free - Free (free), $0.00 / month" in shown.stdout
    assert re.search(r"Status     active; renews \d{4}-\d{2}-\d{2}", shown.stdout)
    priced = run_flask(env, "pricing")
    assert re.search(r"pro\s+pro_monthly\s+\$20\.00\s+month", priced.stdout)


def _sigint_by_default() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_backfill_over_http_interrupted_by_sigint_and_resumed(
    sandbox_url: str, tmp_path: Path
) -> None:
    checkpoint = tmp_path / "backfill.jsonl"
    before = customers_listed(sandbox_url)
    env = flask_env(sandbox_url, CLI_APP_ACCOUNTS="1000")
    args = [*FLASK, "flowglad", "backfill", "--rate", "300", "--checkpoint", str(checkpoint)]
    started = time.monotonic()
    first = subprocess.Popen(
        args,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        # A shell's background job ignores SIGINT, and its children inherit that.
        preexec_fn=_sigint_by_default,
    )
    while not checkpoint.exists() or len(checkpoint.read_text().splitlines()) < 500:
        assert first.poll() is None, "finished before it could be interrupted"
        time.sleep(0.01)
    first.send_signal(signal.SIGINT)
    out, _ = first.communicate(timeout=60)
    assert first.returncode == 130, out
    stopped = backfill_numbers(out)
    assert 500 <= stopped["created"] < 1000 and stopped["failed"] == 0

    resumed = run_flask(env, "backfill", "--rate", "300", "--checkpoint", str(checkpoint))
    elapsed = time.monotonic() - started
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    numbers = backfill_numbers(resumed.stdout)
    assert numbers["failed"] == 0
    assert numbers["skipped"] == stopped["created"]
    assert stopped["created"] + numbers["created"] + numbers["existing"] == 1000
    assert customers_listed(sandbox_url) - before == 1000
    print(f"\n1,000 accounts over HTTP: stopped at {stopped['created']}, resumed; {elapsed:.1f} s")


class QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


class RateLimitingProxy:
    """Forwards to Flowglad, answering 429 to every other customer create first."""

    def __init__(self, upstream: str, storm: int) -> None:
        self.upstream = upstream
        self.storm = storm
        self.refused = 0
        self.lock = threading.Lock()
        self.server = make_server(
            "127.0.0.1", 0, self.app, threaded=True, request_handler=QuietHandler
        )
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def app(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        with self.lock:
            refuse = (
                request.method == "POST"
                and request.path == "/api/v1/customers"
                and (self.refused < self.storm)
            )
            if refuse:
                self.refused += 1
        if refuse:
            body = '{"error": "Too many requests", "code": "TOO_MANY_REQUESTS"}'
            response = Response(body, 429, {"Retry-After": "0"}, mimetype="application/json")
            return response(environ, start_response)
        forwarded = requests.request(
            request.method,
            self.upstream + request.full_path.rstrip("?"),
            data=request.get_data(),
            headers={k: v for k, v in request.headers.items() if k.lower() != "host"},
            timeout=10,
        )
        response = Response(forwarded.content, forwarded.status_code, mimetype="application/json")
        return response(environ, start_response)


def test_backfill_over_http_survives_a_429_storm(sandbox_url: str) -> None:
    proxy = RateLimitingProxy(sandbox_url, storm=250)
    proxy.thread.start()
    try:
        # A generator source: no total, so the bar counts without an ETA.
        env = flask_env(proxy.url, CLI_APP_ACCOUNTS="200", CLI_APP_SIZED="0")
        result = run_flask(env, "backfill", "--rate", "0")
    finally:
        proxy.server.shutdown()
    assert result.returncode == 0, result.stdout + result.stderr
    numbers = backfill_numbers(result.stdout)
    assert numbers["failed"] == 0
    assert numbers["created"] + numbers["existing"] == 200
    assert f"retried   {proxy.refused} answers 429" in result.stdout
    assert proxy.refused == 250


def test_backfill_with_an_unusable_checkpoint_sends_nothing(
    flowglad_sandbox: Sandbox, tmp_path: Path
) -> None:
    app = make_cli_app(flowglad_sandbox, lambda: accounts(3))
    where = str(tmp_path / "no-such-dir" / "checkpoint.jsonl")
    result = invoke(app, "backfill", "--checkpoint", where)
    assert result.exit_code == 1
    assert f"Error: Cannot use the checkpoint {where}:" in result.output
    assert flowglad_sandbox.calls == []
