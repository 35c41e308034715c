"""A misbehaving Flowglad on 127.0.0.1: a real socket server, told per test how to fail.

It speaks just enough HTTP/1.1 to answer ``requests``: it reads a request line, headers
and a ``Content-Length`` body, looks up the behaviour set for that method and path, and
writes the bytes itself, so it can also stall, trickle or reset where a framework could
not. Every request is counted per method and path, with its JSON body, before any
behaviour runs.
"""

from __future__ import annotations

import json
import socket
import socketserver
import ssl
import struct
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class Stopped(Exception):
    """The server is shutting down; a stalled behaviour gives up."""


class Connection:
    """One accepted socket, with the server's stop signal for stalls."""

    def __init__(self, sock: socket.socket, stop: threading.Event) -> None:
        self.sock = sock
        self._stop = stop

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def pause(self, seconds: float) -> None:
        if self._stop.wait(seconds):
            raise Stopped()

    def reset(self) -> None:
        """Close with a TCP RST instead of a FIN, as a crashed peer or a proxy does."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()


#: What a behaviour does with a request: write to the connection; return whether the
#: connection may serve another request (keep-alive).
Behaviour = Callable[[Connection, Request], bool]

REASONS = {
    200: "OK",
    301: "Moved Permanently",
    302: "Found",
    307: "Temporary Redirect",
    308: "Permanent Redirect",
    401: "Unauthorized",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def head(status: int, headers: dict[str, str], length: int | None) -> bytes:
    lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}"]
    all_headers = {"Content-Type": "application/json", **headers}
    if length is not None:
        all_headers["Content-Length"] = str(length)
    lines += [f"{name}: {value}" for name, value in all_headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def encode(body: Any) -> bytes:
    if isinstance(body, bytes):
        return body
    return json.dumps(body).encode()


def reply(status: int = 200, body: Any = b"", headers: dict[str, str] | None = None) -> Behaviour:
    """An ordinary answer (a JSON body unless ``body`` is bytes)."""
    data = encode(body)

    def behave(conn: Connection, request: Request) -> bool:
        conn.send(head(status, headers or {}, len(data)) + data)
        return True

    return behave


def echo_error(status: int, headers: dict[str, str] | None = None) -> Behaviour:
    """An error body that repeats the request's ``Authorization`` header, as some
    gateways' error pages do: the secret key must not travel further."""

    def behave(conn: Connection, request: Request) -> bool:
        auth = request.headers.get("authorization", "")
        body = {"error": f"failed for Authorization: {auth}", "code": "ECHO", "key": auth}
        return reply(status, body, headers)(conn, request)

    return behave


def slow(seconds: float, then: Behaviour | None = None) -> Behaviour:
    """Answer nothing for ``seconds``, then behave as ``then`` (by default a 200)."""

    def behave(conn: Connection, request: Request) -> bool:
        conn.pause(seconds)
        return (then or reply(200, {}))(conn, request)

    return behave


def trickle_body(interval: float, body: Any) -> Behaviour:
    """Headers at once, then the body one byte every ``interval`` seconds."""
    data = encode(body)

    def behave(conn: Connection, request: Request) -> bool:
        conn.send(head(200, {}, len(data)))
        for byte in data:
            conn.pause(interval)
            conn.send(bytes([byte]))
        return True

    return behave


def trickle_headers(interval: float) -> Behaviour:
    """The status line and 2 KB of headers one byte every ``interval`` seconds: each read
    of the socket gets a byte well inside any read timeout, and the whole takes minutes."""
    filler = {f"X-Filler-{n}": "y" * 40 for n in range(40)}

    def behave(conn: Connection, request: Request) -> bool:
        for byte in head(200, filler, 2)[:-4]:
            conn.send(bytes([byte]))
            conn.pause(interval)
        return False

    return behave


def reset_mid_body(body: Any) -> Behaviour:
    """Promise the whole body, send half of it, then reset the connection."""
    data = encode(body)

    def behave(conn: Connection, request: Request) -> bool:
        conn.send(head(200, {}, len(data)) + data[: len(data) // 2])
        conn.pause(0.02)
        conn.reset()
        return False

    return behave


def close_without_answer() -> Behaviour:
    def behave(conn: Connection, request: Request) -> bool:
        conn.reset()
        return False

    return behave


@dataclass
class _Fault:
    behaviour: Behaviour
    times: int | None


@dataclass
class FaultServer:
    """Flowglad's API on 127.0.0.1, answering from ``routes`` unless a fault is set."""

    routes: dict[tuple[str, str], Behaviour] = field(default_factory=dict)
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    requests: list[Request] = field(default_factory=list)
    _faults: dict[tuple[str, str], _Fault] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _server: socketserver.ThreadingTCPServer | None = None
    #: Serve HTTPS with this context instead of plain HTTP.
    tls: ssl.SSLContext | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"{'https' if self.tls else 'http'}://{host}:{port}"

    def route(self, method: str, path: str, behaviour: Behaviour) -> None:
        self.routes[(method, path)] = behaviour

    def fault(
        self, method: str, path: str, behaviour: Behaviour, times: int | None = None
    ) -> None:
        """Answer the next ``times`` requests (all, by default) to ``path`` with ``behaviour``."""
        self._faults[(method, path)] = _Fault(behaviour, times)

    def count(self, method: str, path: str) -> int:
        return self.counts[(method, path)]

    def bodies(self, method: str, path: str) -> list[Any]:
        return [r.json() for r in self.requests if (r.method, r.path) == (method, path)]

    # -- serving ---------------------------------------------------------------------

    def start(self) -> FaultServer:
        server = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                sock = self.request
                if server.tls is not None:
                    try:
                        sock = server.tls.wrap_socket(sock, server_side=True)
                    except (OSError, ssl.SSLError):
                        return
                server._serve(Connection(sock, server._stop))

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _serve(self, conn: Connection) -> None:
        reader = conn.sock.makefile("rb")
        try:
            while True:
                request = _read_request(reader)
                if request is None:
                    return
                key = (request.method, request.path)
                with self._lock:
                    self.counts[key] += 1
                    self.requests.append(request)
                    behaviour = self._pick(key)
                if not behaviour(conn, request):
                    return
        except (OSError, Stopped):
            return
        finally:
            reader.close()
            try:
                conn.sock.close()
            except OSError:
                pass

    def _pick(self, key: tuple[str, str]) -> Behaviour:
        fault = self._faults.get(key)
        if fault is not None and fault.times != 0:
            if fault.times is not None:
                fault.times -= 1
            return fault.behaviour
        return self.routes.get(key) or reply(404, b"Not Found", {"Content-Type": "text/plain"})


def _read_request(reader: Any) -> Request | None:
    line = reader.readline(65537)
    if not line.strip():
        return None
    method, target, _ = line.decode("latin-1").split(" ", 2)
    headers: dict[str, str] = {}
    while True:
        header = reader.readline(65537).decode("latin-1")
        if header in ("\r\n", "\n", ""):
            break
        name, _, value = header.partition(":")
        headers[name.strip().lower()] = value.strip()
    body = reader.read(int(headers.get("content-length", "0") or 0))
    return Request(method, target.split("?", 1)[0], headers, body)


def refused_url() -> str:
    """A local address where nothing listens: connecting is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
