"""Harness for the fidelity test: the sandbox started as a command (as an app on another
stack starts it), Flowglad's own Node server SDK in front of it, and Debian's Chromium
running Flowglad's own React SDK.

The browser pieces are the e2e harness's. Missing Node, npm packages, the page bundle or
Chromium skip the test with the command that installs them, except in CI (``CI`` set),
where they fail.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

# The browser is the e2e suite's: Playwright, Debian's Chromium, a fresh page per test
# and the report hook that keeps a failed test's screenshot and console log.
from ..e2e.browser import browser, frontend_built, page, playwright, pytest_runtest_makereport  # noqa: F401
from ..e2e.e2e_harness import unavailable
from .stack import SECRET_KEY, Stack

HERE = Path(__file__).resolve().parent
NODE_APP = HERE / "node"
PRICING = HERE / "pricing.json"
BUILD = (
    "The fidelity test's Node app is not installed: run"
    " `cd tests/fidelity/node && npm ci && npm run build` (scripts/test.sh does)."
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{url} exited with {process.returncode}:\n{log.read_text()[-2000:]}")
        try:
            requests.get(url, timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    pytest.fail(f"{url} did not answer within 30 s:\n{log.read_text()[-2000:]}")


def _start(
    command: list[str], env: dict[str, str], log: Path, cwd: Path | None = None
) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            command, cwd=cwd, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT
        )


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    node = shutil.which("node")
    if node is None:
        unavailable("Node.js is not installed: `apt-get install nodejs npm`")
    if not (NODE_APP / "dist" / "page.js").is_file() or not (NODE_APP / "node_modules").is_dir():
        unavailable(BUILD)
    sandbox_port, app_port = _free_port(), _free_port()
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    processes: list[subprocess.Popen[bytes]] = []
    try:
        sandbox_log = tmp_path / "sandbox.log"
        processes.append(
            _start(
                [
                    sys.executable, "-m", "flask_flowglad.sandbox",
                    "--port", str(sandbox_port),
                    "--pricing", str(PRICING),
                    "--secret-key", SECRET_KEY,
                ],
                {},
                sandbox_log,
            )
        )  # fmt: skip
        _wait_until_up(sandbox_url + "/", processes[0], sandbox_log)
        app_log = tmp_path / "app.log"
        env = {
            "PORT": str(app_port),
            "FLOWGLAD_SECRET_KEY": SECRET_KEY,
            "FLOWGLAD_BASE_URL": sandbox_url,
        }
        processes.append(_start([node, "server.mjs"], env, app_log, cwd=NODE_APP))
        app_url = f"http://127.0.0.1:{app_port}"
        _wait_until_up(app_url + "/", processes[1], app_log)
        yield Stack(sandbox_url, app_url)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
