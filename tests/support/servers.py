"""Real HTTP servers on 127.0.0.1, for tests that need the network path: a Flask app in a
thread of the test, or a server process (gunicorn, ``flask run``) of its own."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from flask import Flask
from werkzeug.serving import make_server


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """``app`` on a real threaded HTTP server on 127.0.0.1; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


class ServerProcess:
    """A server started as its own process (its own session), stopped by its PID."""

    def __init__(self, argv: list[str], port: int, *, cwd: Path, env: dict[str, str], log: Path):
        self.argv, self.port, self.log = argv, port, log
        # The child keeps its own copy of the log's descriptor: ours is closed at once.
        with log.open("wb") as stderr:
            self.process = subprocess.Popen(
                argv,
                cwd=cwd,
                env={**os.environ, **env},
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,
            )
        self.url = f"http://127.0.0.1:{port}"

    def wait_until_listening(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"{self.argv[:3]} exited at startup:\n{self.output()}")
            try:
                requests.get(self.url + "/", timeout=5, allow_redirects=False)
                return
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(0.1)
        self.stop()
        pytest.fail(f"{self.argv[:3]} did not listen within {timeout:.0f} s:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 10 s: the process and nothing else."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()


@contextmanager
def running(
    argv: list[str], port: int, *, cwd: Path, env: dict[str, str], log: Path
) -> Iterator[ServerProcess]:
    """``argv`` serving on ``port`` (started, waited for, stopped at the end)."""
    server = ServerProcess(argv, port, cwd=cwd, env=env, log=log)
    try:
        server.wait_until_listening()
        yield server
    finally:
        server.stop()
