"""The chaos test's parts: Flowglad (the sandbox over HTTP) behind a front that fails on
cue, and usage workers run as processes that the test kills in the middle of a batch.

The front is an HTTP proxy on 127.0.0.1. It passes requests to the sandbox's own HTTP
server, and for each request to the bulk endpoint it can answer 500 or 429 itself, reset
the connection before or after the sandbox recorded the batch, hold the request (a window
to kill its worker in), or, when "down", close its port and every open connection. It
counts, per transaction id, the batches the sandbox accepted, and notes any event that
was in two requests at once.
"""

from __future__ import annotations

import http.server
import json
import logging
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import requests
from werkzeug.serving import make_server

from flask_flowglad.sandbox import Sandbox

BULK = "/api/v1/usage-events/bulk"
ROOT = Path(__file__).resolve().parents[2]


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A reset connection is the point of the exercise: nothing to print."""


class Front:
    """The failing front of a sandbox served over HTTP (see the module's docstring)."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._upstream = make_server("127.0.0.1", 0, sandbox.wsgi_app, threaded=True)
        threading.Thread(target=self._upstream.serve_forever, daemon=True).start()
        self.upstream_url = f"http://127.0.0.1:{self._upstream.server_port}"
        #: ``ok``, ``500``, ``429``, ``reset``.
        self.mode = "ok"
        #: Seconds each bulk request waits before anything else happens.
        self.hold = 0.0
        self.accepted: Counter[str] = Counter()
        self.outcomes: Counter[str] = Counter()
        #: Statuses of the bulk answers the sandbox itself gave.
        self.statuses: Counter[int] = Counter()
        self.overlaps = 0
        self._in_flight: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._server: _Server | None = None
        self.port = 0
        self.up()
        self.url = f"http://127.0.0.1:{self.port}"

    # -- up and down -----------------------------------------------------------------

    def up(self) -> None:
        front = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                with front._lock:
                    front._connections.add(self.connection)

            def finish(self) -> None:
                with front._lock:
                    front._connections.discard(self.connection)
                try:
                    super().finish()
                except OSError:
                    pass

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                front.handle(self)

            do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

        server = _Server(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()

    def down(self) -> None:
        """Close the port and every open connection: clients see refused connections."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            _reset(connection)

    def close(self) -> None:
        self.down()
        self._upstream.shutdown()
        self._upstream.server_close()
        for session in self._sessions:
            session.close()

    # -- requests --------------------------------------------------------------------

    def handle(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        if handler.path != BULK or handler.command != "POST":
            self._forward(handler, body)
            return
        ids = [e.get("transactionId") for e in json.loads(body).get("usageEvents", [])]
        with self._lock:
            if any(self._in_flight[i] for i in ids):
                self.overlaps += 1
            self._in_flight.update(ids)
        try:
            self._bulk(handler, body, ids)
        finally:
            with self._lock:
                self._in_flight.subtract(ids)

    def _bulk(
        self, handler: http.server.BaseHTTPRequestHandler, body: bytes, ids: list[str]
    ) -> None:
        if self.hold:
            time.sleep(self.hold)
        mode = self.mode
        self.outcomes[mode] += 1
        if mode == "500":
            _answer(handler, 500, {"error": "Internal server error"})
        elif mode == "429":
            _answer(handler, 429, {"error": "Too many requests"}, {"Retry-After": "1"})
        elif mode == "reset" and self.outcomes[mode] % 2:
            # Reset before Flowglad saw the batch: nothing recorded.
            _reset(handler.connection)
            handler.close_connection = True
        else:
            status = self._forward(handler, body, send=mode != "reset")
            self.statuses[status] += 1
            if status == 200:
                with self._lock:
                    self.accepted.update(ids)
            if mode == "reset":
                # Reset after Flowglad recorded it: the answer is lost, the batch is not.
                _reset(handler.connection)
                handler.close_connection = True

    def _forward(
        self, handler: http.server.BaseHTTPRequestHandler, body: bytes, send: bool = True
    ) -> int:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            with self._lock:
                self._sessions.append(session)
        headers = {
            k: v for k, v in handler.headers.items() if k.lower() not in ("host", "content-length")
        }
        response = session.request(
            handler.command,
            self.upstream_url + handler.path,
            data=body,
            headers=headers,
            timeout=30,
        )
        if send:
            extra = (
                {"Retry-After": response.headers["Retry-After"]}
                if "Retry-After" in response.headers
                else {}
            )
            _answer(handler, response.status_code, response.content, extra)
        return response.status_code


def _answer(
    handler: http.server.BaseHTTPRequestHandler,
    status: int,
    body: Any,
    headers: dict[str, str] | None = None,
) -> None:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    try:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)
    except OSError:
        handler.close_connection = True


def _reset(connection: socket.socket) -> None:
    """Close with a TCP reset (SO_LINGER 0), as a crashing proxy would."""
    try:
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class WorkerProcess:
    """``flask flowglad usage-worker`` in a process of its own, its log lines read as
    they come (``debug``: a line before each batch is sent and after it is settled)."""

    def __init__(self, name: str, env: dict[str, str]) -> None:
        self.name = name
        self.env = env
        self.lines: list[str] = []
        self.kills = 0
        self.mid_batch_kills = 0
        self.kill_context: list[list[str]] = []
        self.process: subprocess.Popen[str] | None = None
        self.start()

    def start(self) -> None:
        argv = [sys.executable, "-m", "flask", "--app", "tests.usage.chaos_app"]
        argv += ["flowglad", "usage-worker", "--log-level", "debug"]
        self.process = subprocess.Popen(
            argv,
            cwd=ROOT,
            env={**os.environ, **self.env, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        threading.Thread(target=self._read, args=(self.process,), daemon=True).start()

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stderr is not None
        with process.stderr:
            for line in process.stderr:
                self.lines.append(line.rstrip())

    def kill_mid_batch(self, timeout: float = 15.0) -> bool:
        """SIGKILL the worker as soon as it starts sending a batch; whether it died
        between sending and settling (its last line says a batch was being sent)."""
        seen = len(self.lines)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any("Sending" in line for line in self.lines[seen:]):
                break
            time.sleep(0.005)
        time.sleep(0.05)
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)
        time.sleep(0.1)
        self.kills += 1
        # The worker's own lines: a call's telemetry line may follow "Sending" in a batch.
        own = [line for line in self.lines if "flask_flowglad.telemetry" not in line]
        mid = bool(own) and "Sending" in own[-1]
        #: The worker's last lines at each kill, to tell why one missed the middle.
        self.kill_context.append(self.lines[-3:])
        self.mid_batch_kills += mid
        return mid

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(10)


def recorder(
    process: int, threads: int, events: int, customers: int, out: Path, env: dict[str, str]
) -> subprocess.Popen[bytes]:
    """One app process recording ``events`` from ``threads`` threads."""
    argv = [sys.executable, "-m", "tests.usage.chaos_app", "record"]
    argv += [str(process), str(threads), str(events), str(customers), str(out)]
    return subprocess.Popen(argv, cwd=ROOT, env={**os.environ, **env, "PYTHONPATH": str(ROOT)})
