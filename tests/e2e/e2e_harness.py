"""Pieces of the browser-test harness that tests import: the live app, the console
log, failure artifacts, and the skip-or-fail rule for missing tools."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

if TYPE_CHECKING:
    from flask import Flask
    from playwright.sync_api import Page

    from flask_flowglad.sandbox import Sandbox

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "saas"
BUNDLE = EXAMPLE / "saas_app" / "static" / "dist" / "billing.js"
ARTIFACTS = ROOT / "test-artifacts"

#: Debian's Chromium, headless, with nothing that reaches for the network by itself.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

INSTALL_PLAYWRIGHT = (
    "Python Playwright is not installed: `pip install playwright` (the package only;"
    " never `playwright install`: the tests use Debian's Chromium)."
)
INSTALL_CHROMIUM = (
    "Chromium is not installed: `sudo apt-get install chromium` (Debian's package),"
    " or set CHROMIUM_PATH to a Chromium binary."
)
BUILD_FRONTEND = (
    "The example's billing page is not built: run"
    " `cd examples/saas/frontend && npm ci && npm run build`."
)


def unavailable(reason: str) -> NoReturn:
    """Skip on a developer machine; fail in CI, where the e2e tests must run."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so the e2e tests may not be skipped)", pytrace=False)
    pytest.skip(reason)


def find_chromium() -> str | None:
    configured = os.environ.get("CHROMIUM_PATH")
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class LiveApp:
    """The example app served over HTTP, and the sandbox that plays Flowglad for it."""

    app: Flask
    sandbox: Sandbox
    url: str

    def __call__(self, path: str = "/") -> str:
        return self.url + path

    def upstream_calls(self, method: str, path: str) -> list[dict[str, Any]]:
        """The app's calls to (sandboxed) Flowglad with this method and path."""
        calls = [c if isinstance(c, dict) else vars(c) for c in self.sandbox.calls]
        return [c for c in calls if c["method"] == method and c["path"] == path]

    def usage_sent(self, events: int, timeout: float = 15.0) -> list[dict[str, Any]]:
        """The usage events the app's worker has sent to Flowglad's bulk endpoint, once
        there are ``events`` of them (or what there is after ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        while True:
            sent = [
                event
                for call in self.upstream_calls("POST", "/api/v1/usage-events/bulk")
                for event in call["json"]["usageEvents"]
            ]
            if len(sent) >= events or time.monotonic() > deadline:
                return sent
            time.sleep(0.05)


@dataclass
class ConsoleLog:
    """What the page said: console messages, uncaught errors and failed requests."""

    lines: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> None:
        page.on("console", lambda m: self.lines.append(f"[{m.type}] {m.text}  ({m.location})"))
        page.on("pageerror", lambda e: self.lines.append(f"[pageerror] {e}"))
        page.on(
            "requestfailed",
            lambda r: self.lines.append(f"[requestfailed] {r.method} {r.url}: {r.failure}"),
        )
        page.on("response", self._on_response)

    def _on_response(self, response: Any) -> None:
        if response.status >= 400:
            self.lines.append(f"[http {response.status}] {response.request.method} {response.url}")


def save_artifacts(item: pytest.Item, page: Page, console: ConsoleLog) -> None:
    """A full-page screenshot and the console log, named after the failed test."""
    name = re.sub(r"[^\w.-]+", "_", item.nodeid.split("::", 1)[-1])
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / f"{name}.png"
    log = ARTIFACTS / f"{name}.console.log"
    try:
        page.screenshot(path=str(screenshot), full_page=True)
    except Exception as exc:  # a crashed page still gets its log
        console.lines.append(f"[harness] screenshot failed: {exc}")
    step = getattr(item, "e2e_step", None)
    header = f"Failed step: {step}\nURL at failure: {page.url}\n"
    log.write_text(header + "\n".join(console.lines) + "\n", encoding="utf-8")
    sys.stderr.write(f"\ne2e artifacts: {screenshot} {log}\n")


# -- steps of a journey -------------------------------------------------------------

TEST_CARD = "4242 4242 4242 4242"


def sign_up(page: Page, live_app: LiveApp, name: str, email: str) -> None:
    page.goto(live_app("/signup"))
    page.get_by_label("Name").fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_test_id("signup-submit").click()
    page.wait_for_url(live_app("/billing"))


def pay_on_hosted_checkout(page: Page, live_app: LiveApp) -> None:
    """Pay with the test card on the sandbox's hosted checkout page."""
    page.wait_for_url(re.compile(re.escape(live_app("/flowglad-sandbox/"))))
    page.get_by_label(re.compile("card number", re.I)).fill(TEST_CARD)
    page.get_by_role("button", name=re.compile("^pay", re.I)).click()


def dump(value: Any) -> str:
    """Pretty JSON for assertion messages."""
    return json.dumps(value, indent=2, default=str)[:4000]
