"""The example app on a sandbox kept in a state file, as a developer runs it: the debug
reloader restarts the process and loses nothing; gunicorn's four workers are one Flowglad
for a customer's whole journey in Chromium."""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests

from flask_flowglad.sandbox import Sandbox

from ..support.cache_support import free_port
from ..support.servers import ServerProcess, running
from .e2e_harness import EXAMPLE, LiveApp, pay_on_hosted_checkout, sign_up

if TYPE_CHECKING:
    from playwright.sync_api import Page

TEST_CARD = "4242 4242 4242 4242"


def _app_argument(tmp_path: Path) -> str:
    """The example's factory, with its database (and so its sandbox) under ``tmp_path``."""
    database = str(tmp_path / "saas.sqlite3")
    return f"saas_app:create_app({{'DATABASE': {database!r}, 'SAAS_DEMO_USER': None}})"


def _form_token(session: requests.Session, url: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', session.get(url, timeout=10).text)
    assert found is not None, url
    return found.group(1)


def _buy_pro(session: requests.Session, url: str) -> None:
    """Sign up, then pay for Pro on the hosted checkout, as the browser would."""
    form = {
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "password": "correct horse battery",
        "csrf_token": _form_token(session, f"{url}/signup"),
    }
    assert session.post(f"{url}/signup", data=form, timeout=10).status_code == 200
    body = {"priceSlug": "pro_monthly", "successUrl": f"{url}/billing", "cancelUrl": url}
    created = session.post(f"{url}/api/flowglad/checkout-sessions/create", json=body, timeout=10)
    page = urlsplit(created.json()["data"]["url"]).path
    paid = session.post(url + page, data={"card_number": TEST_CARD}, allow_redirects=False)
    assert paid.status_code == 303, paid.text[:300]


def _billing(session: requests.Session, url: str) -> dict[str, Any]:
    answer = session.post(f"{url}/api/flowglad/customers/billing", json={}, timeout=10)
    assert answer.status_code == 200, answer.text[:300]
    data: dict[str, Any] = answer.json()["data"]
    return data


def _children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _reloaded(server: ServerProcess, before: list[int], timeout: float = 30.0) -> None:
    """Wait until the reloader's parent runs a new child, and it answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        children = _children(server.process.pid)
        if children and children != before:
            server.wait_until_listening()
            return
        time.sleep(0.1)
    raise AssertionError(f"the reloader did not restart:\n{server.output()}")


def test_the_reloader_and_a_restart_lose_nothing(tmp_path: Path) -> None:
    """Pro bought in one process is there in the next: after the debug reloader restarts
    on a change, and after the server is stopped and started again."""
    touched = tmp_path / "edited.py"
    touched.write_text("")
    port = free_port()
    argv = [sys.executable, "-m", "flask", "--app", _app_argument(tmp_path), "run"]
    argv += ["--port", str(port), "--reload", "--extra-files", str(touched)]
    session = requests.Session()
    with running(argv, port, cwd=EXAMPLE, env={}, log=tmp_path / "first.log") as server:
        _buy_pro(session, server.url)
        bought = _billing(session, server.url)
        assert bought["currentSubscription"]["name"] == "Pro - Pro monthly"
        first_process = _children(server.process.pid)
        touched.write_text("# an edit\n")
        _reloaded(server, first_process)
        after_reload = _billing(session, server.url)  # the same login cookie
    with running(argv[:-3], port, cwd=EXAMPLE, env={}, log=tmp_path / "second.log") as server:
        after_restart = _billing(session, server.url)
    for billing in (after_reload, after_restart):
        assert billing["currentSubscription"]["id"] == bought["currentSubscription"]["id"]
        assert billing["invoices"] == bought["invoices"]
        assert billing["paymentMethods"] == bought["paymentMethods"]
    assert [i["invoice"]["subtotal"] for i in bought["invoices"]] == [2000]


def _served_by(log: Path) -> set[str]:
    lines = log.read_text().splitlines() if log.exists() else []
    return {line.split()[0] for line in lines}


def test_four_gunicorn_workers_share_one_sandbox_through_the_journey(
    tmp_path: Path, page: Page, step: Callable[[str], Any]
) -> None:
    from playwright.sync_api import expect

    port = free_port()
    access = tmp_path / "access.log"
    argv = [sys.executable, "-m", "gunicorn", "-c", str(EXAMPLE / "gunicorn.conf.py")]
    argv += ["--bind", f"127.0.0.1:{port}", "--access-logfile", str(access)]
    argv += ["--access-logformat", "%(p)s %(U)s", _app_argument(tmp_path)]
    env = {"WEB_CONCURRENCY": "4", "GUNICORN_THREADS": "4"}
    with running(argv, port, cwd=EXAMPLE, env=env, log=tmp_path / "gunicorn.log") as server:
        # The test reads the same file the workers write.
        sandbox = Sandbox(path=tmp_path / "flowglad-sandbox.db")
        live = LiveApp(None, sandbox, server.url)  # type: ignore[arg-type]
        with step("sign up"):
            sign_up(page, live, "Ada Lovelace", "ada@example.com")
            expect(page.get_by_test_id("current-plan-name")).to_have_text("Free")
        with step("hosted checkout, Pro shown"):
            page.get_by_test_id("checkout-pro_monthly").click()
            pay_on_hosted_checkout(page, live)
            page.wait_for_url(live("/billing?checkout=success"))
            expect(page.get_by_test_id("current-plan-name")).to_have_text("Pro")
            expect(page.get_by_test_id("subscription-status")).to_have_text("Active")
        with step("usage"):
            page.goto(live("/analytics/"))
            calls_left = page.get_by_test_id("calls-left")
            before = int(calls_left.inner_text().replace(",", ""))
            page.get_by_test_id("calls").fill("3")
            page.get_by_test_id("run-analysis").click()
            expect(calls_left).to_have_text(f"{before - 3:,}")
        with step("cancel"):
            page.goto(live("/billing"))
            page.get_by_test_id("cancel-subscription").click()
            page.get_by_test_id("cancel-confirm-yes").click()
            expect(page.get_by_test_id("subscription-status")).to_have_text(
                "Cancels at period end"
            )
        with step("every worker sees the same sandbox"):
            cookies = {c["name"]: c["value"] for c in page.context.cookies()}
            seen = []
            for _ in range(200):  # until all four have answered (the kernel picks one)
                answer = requests.post(
                    live("/api/flowglad/customers/billing"),
                    json={},
                    cookies=cookies,
                    headers={"Connection": "close"},
                    timeout=10,
                )
                current = answer.json()["data"]["currentSubscription"]
                seen.append((current["name"], current["status"]))
                if len(_served_by(access)) >= 4:
                    break
            assert len(_served_by(access)) == 4
            assert set(seen) == {("Pro - Pro monthly", "cancellation_scheduled")}
        billing = sandbox.billing("1")
        assert billing["currentSubscription"]["status"] == "cancellation_scheduled"
        [balance] = billing["currentSubscription"]["experimental"]["usageMeterBalances"]
        assert balance["availableBalance"] == before - 3
