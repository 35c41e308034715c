"""Harness for the browser tests: the example app on a real HTTP server, Debian's
Chromium driven by Playwright, and a screenshot plus console log for each failure.

Nothing here downloads a browser. Missing pieces skip the tests with the command that
installs them, except in CI (``CI`` set), where they fail: CI must run the journey.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from werkzeug.serving import make_server

# The browser: Playwright, Chromium, a page per test, failure artifacts (shared with fidelity).
from .browser import browser, frontend_built, page, playwright, pytest_runtest_makereport  # noqa: F401
from .e2e_harness import EXAMPLE, LiveApp

if TYPE_CHECKING:
    from flask import Flask

# The example is not an installed package: make `import saas_app` work.
if str(EXAMPLE) not in sys.path:
    sys.path.insert(0, str(EXAMPLE))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "e2e: end-to-end tests of the example app in headless Chromium"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.e2e)
            # The example runs on the sandbox on purpose; its warning is expected here.
            item.add_marker(pytest.mark.filterwarnings("ignore::flask_flowglad.SandboxWarning"))


@pytest.fixture
def step(
    request: pytest.FixtureRequest,
) -> Callable[[str], contextlib.AbstractContextManager[None]]:
    """``with step("name"):`` names the part of a journey that runs, for the failure
    artifacts, and prints how long each part took (shown with ``-s``)."""

    @contextlib.contextmanager
    def run(name: str) -> Iterator[None]:
        request.node.e2e_step = name
        started = time.perf_counter()
        yield
        print(f"  {name}: {time.perf_counter() - started:.2f}s")

    return run


# -- the app -------------------------------------------------------------------------


@pytest.fixture
def make_app(tmp_path: Path) -> Callable[..., Flask]:
    """Create the example app with a fresh database and its own sandbox."""
    from saas_app import create_app

    from flask_flowglad.sandbox import Sandbox

    count = 0

    def make(**config: Any) -> Flask:
        nonlocal count
        count += 1
        return create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "e2e",
                "DATABASE": str(tmp_path / f"saas-{count}.sqlite3"),
                "FLOWGLAD_SANDBOX": Sandbox(),
                "SAAS_DEMO_USER": None,
                **config,
            }
        )

    return make


@pytest.fixture
def make_live_app(make_app: Callable[..., Flask]) -> Iterator[Callable[..., LiveApp]]:
    """Start the example app on a free 127.0.0.1 port, served by a real HTTP server."""
    servers: list[tuple[Any, threading.Thread]] = []

    def start(**config: Any) -> LiveApp:
        # As `flask run` on the sandbox: a thread of the app sends the usage outbox.
        app = make_app(
            **{"SAAS_USAGE_WORKER_THREAD": True, "FLOWGLAD_USAGE_LINGER": 0.05, **config}
        )
        sandbox = app.config["FLOWGLAD_SANDBOX"]
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        servers.append((server, thread))
        return LiveApp(app, sandbox, f"http://127.0.0.1:{server.server_port}")

    yield start
    for server, thread in servers:
        worker = server.app.extensions.get("saas_usage_worker")
        if worker is not None:
            worker.set()
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


@pytest.fixture
def live_app(make_live_app: Callable[..., LiveApp]) -> LiveApp:
    return make_live_app()
