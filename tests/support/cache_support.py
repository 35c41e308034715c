"""Real parts for the shared billing cache's tests: a Redis server and Flowglad over HTTP.

:class:`RedisServer` runs Debian's ``redis-server`` on a free 127.0.0.1 port with its own
directory, persisting nothing, and stops it by PID. :class:`HTTPUpstream` serves a
:class:`Sandbox` on 127.0.0.1, so every app under test reaches it through its own
:class:`FlowgladClient` over a socket, as separate servers would.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from flask_flowglad import Flowglad
from flask_flowglad.sandbox import Sandbox

from .apps import User, make_app

PREFIX = "/api/flowglad"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def redis_executable() -> str:
    """``redis-server``; a missing one skips the test, except in CI, where it fails."""
    found = shutil.which("redis-server")
    if found is None:
        message = "redis-server is not installed (Debian: apt-get install redis-server)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; .ci/run installs it, so CI must have it")
        pytest.skip(message)
    return found


class RedisServer:
    """One ``redis-server`` child process, started and stopped by PID."""

    def __init__(self, executable: str, directory: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        argv = [executable, "--port", str(self.port), "--bind", "127.0.0.1"]
        argv += ["--dir", str(directory), "--save", "", "--appendonly", "no"]
        argv += ["--daemonize", "no", "--logfile", str(directory / "redis.log")]
        self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
        self._wait_until_listening()

    def _wait_until_listening(self) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited at startup ({self.process.returncode})")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.02)
        raise RuntimeError("redis-server did not answer within 10 s")

    def kill(self) -> None:
        """Kill it as a crash would: SIGKILL, no goodbye."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(5)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.kill()


@contextmanager
def running_redis(directory: Path) -> Iterator[RedisServer]:
    """A Redis server of the test's own, stopped by PID (a test may kill it first)."""
    server = RedisServer(redis_executable(), directory)
    try:
        yield server
    finally:
        server.stop()


class HTTPUpstream:
    """A sandbox served over HTTP; ``gate`` holds billing answers back while it is clear."""

    def __init__(self, secret_key: str = "sk_test_sandbox") -> None:
        self.sandbox = Sandbox(secret_key=secret_key)
        #: While cleared, billing answers wait for it (to hold a read in flight).
        self.gate = threading.Event()
        self.gate.set()
        #: Set when Flowglad has answered a billing read (which the gate may hold).
        self.answered = threading.Event()
        #: Seconds every billing read takes (to make concurrent misses overlap).
        self.billing_delay = 0.0
        #: When set, the body of every billing answer (a 200) instead of the sandbox's.
        self.billing_body: bytes | None = None
        #: When set, Flowglad is down: every call answers this status, nothing is done.
        self.failing: int | None = None
        #: ``METHOD /path`` of every call answered while failing.
        self.failed_calls: list[str] = []
        self._server: BaseWSGIServer = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def _app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if self.failing is not None:
            self.failed_calls.append(f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']}")
            status = f"{self.failing} Flowglad is down"
            start_response(status, [("Content-Type", "application/json")])
            return [b'{"error": "down", "code": "INTERNAL_SERVER_ERROR"}']
        if not environ["PATH_INFO"].endswith("/billing"):
            return self.sandbox.wsgi_app(environ, start_response)
        # Flowglad has read the billing; its answer is on the way (held by ``gate``).
        started: list[tuple[str, list[tuple[str, str]]]] = []
        chunks = self.sandbox.wsgi_app(environ, lambda *args: started.append(args[:2]))
        body = b"".join(chunks)
        self.answered.set()
        self.gate.wait(10)
        time.sleep(self.billing_delay)
        if self.billing_body is not None:
            start_response("200 OK", [("Content-Type", "application/json")])
            return [self.billing_body]
        start_response(*started[0])
        return [body]

    def billing_reads(self, external_id: str | None = None) -> int:
        """How many billing reads Flowglad answered (for one customer, or for all)."""
        return sum(
            1
            for call in self.sandbox.calls
            if call.method == "GET"
            and call.path.endswith("/billing")
            and (external_id is None or f"/customers/{external_id}/" in call.path)
        )

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class Clock:
    """A wall clock the test moves: put in place of a cache's to age its entries."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def billing_app(upstream: HTTPUpstream, cache: Any, **config: Any) -> tuple[Flask, Flowglad]:
    """An app of its own (its own client and connections) on ``upstream`` and ``cache``."""
    app = make_app(
        FLOWGLAD_SECRET_KEY=upstream.sandbox.secret_key,
        FLOWGLAD_BASE_URL=upstream.url,
        FLOWGLAD_BILLING_CACHE=cache,
        **config,
    )
    return app, Flowglad(app)


def post(app: Flask, action: str, user: str = "u1", body: dict[str, Any] | None = None) -> Any:
    """The React SDK's POST of ``action`` as ``user``: the answer's status and ``data``."""
    response = app.test_client(user=User(user)).post(f"{PREFIX}/{action}", json=body or {})
    payload = response.get_json()
    return response.status_code, payload.get("data") if isinstance(payload, dict) else None


def plan_of(billing: Any) -> str | None:
    """The price slug of the customer's current subscription, in a billing ``data``."""
    current = billing["currentSubscriptions"]
    if not current:
        return None
    return str(current[0]["subscriptionItems"][0]["price"]["slug"])
