"""What only a real HTTP server lets a client send: raw bytes in paths, any method name.

The test client builds well-formed requests; a script on the network does not have to.
These go as raw bytes over a socket to the app on 127.0.0.1 and must still get the JSON
envelope. Each request is written in one piece, small enough to sit in the server's
buffer: an unread body left on the socket makes the development server's close racy.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
import requests

from .world import URL, World, described, serving


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def envelope(self) -> dict[str, object]:
        content_type = self.headers.get("content-type", "")
        assert content_type.startswith("application/json"), (
            self.status,
            content_type,
            self.body[:200],
        )
        parsed = json.loads(self.body)
        assert isinstance(parsed, dict) and "data" in parsed and set(parsed) <= {"data", "error"}
        return parsed


@dataclass
class Server:
    world: World
    host: str
    port: int
    cookie: str

    def send(self, request: bytes) -> Answer:
        """One request, written as given, on a new connection."""
        with socket.create_connection((self.host, self.port), timeout=10) as sock:
            sock.sendall(request)
            received = b""
            while data := sock.recv(65536):
                received += data
        head, _, body = received.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return Answer(int(lines[0].split()[1]), headers, body)

    def request(self, method: bytes, path: bytes, body: bytes = b"") -> Answer:
        headers = {
            b"Host": f"{self.host}:{self.port}".encode(),
            b"Connection": b"close",
            b"Cookie": b"session=" + self.cookie.encode(),
            b"Content-Type": b"application/json",
            b"Content-Length": str(len(body)).encode(),
        }
        lines = [b"%s %s HTTP/1.1" % (method, path)]
        lines += [name + b": " + value for name, value in headers.items()]
        return self.send(b"\r\n".join(lines) + b"\r\n\r\n" + body)


@pytest.fixture
def server() -> Iterator[Server]:
    world = World()
    world.customer("u1")
    with serving(world.app) as base:
        login = requests.post(f"{base}/test-login/u1", timeout=10)
        address = urlsplit(base)
        assert address.hostname and address.port
        yield Server(world, address.hostname, address.port, login.cookies["session"])


PREFIX = URL.encode()
RAW_UNKNOWN_PATHS = [
    PREFIX,
    PREFIX + b"/",
    PREFIX + b"customers/%2e%2e/customers/billing",
    PREFIX + b"customers/billing%0a",
    PREFIX + b"customers/billing%0d%0aX-Injected:%201",
    PREFIX + b"\xff\xfe",
    PREFIX + b"customers/\xc3\xa9",
    PREFIX + b"customers/billing/%00",
    PREFIX + b"%ed%a0%80",
    PREFIX + b"x" * 8_000,
]


@pytest.mark.parametrize("path", RAW_UNKNOWN_PATHS, ids=lambda p: repr(p[len(URL) :][:30]))
def test_raw_paths_that_name_no_action_are_a_json_404(server: Server, path: bytes) -> None:
    server.world.sandbox.calls.clear()
    answer = server.request(b"POST", path, b"{}")
    assert answer.status == 404, (path[:60], answer.status, answer.body[:200])
    answer.envelope()
    assert "x-injected" not in answer.headers
    assert not server.world.sandbox.calls, described(server.world.sandbox.calls)


@pytest.mark.parametrize("method", [b"FOO", b"TRACE", b"CONNECT", b"PROPFIND"])
def test_methods_a_browser_never_sends_are_a_json_405(server: Server, method: bytes) -> None:
    server.world.sandbox.calls.clear()
    answer = server.request(method, PREFIX + b"customers/billing", b"{}")
    assert answer.status == 405, (method, answer.status, answer.body[:200])
    answer.envelope()
    assert answer.headers.get("allow", "").replace(" ", "") == "POST", answer.headers
    assert not server.world.sandbox.calls, described(server.world.sandbox.calls)


def test_options_is_a_preflight_naming_only_the_actions_methods(server: Server) -> None:
    """A CORS preflight carries no cookie: it is answered with the action's own methods,
    never with every method the catch-all route is open to, and calls nothing."""
    server.world.sandbox.calls.clear()
    answer = server.request(b"OPTIONS", PREFIX + b"customers/billing", b"")
    assert answer.status == 200, (answer.status, answer.body[:200])
    assert answer.headers.get("allow", "").replace(" ", "") == "OPTIONS,POST", answer.headers
    assert answer.body == b""
    assert not server.world.sandbox.calls, described(server.world.sandbox.calls)


def test_the_raw_client_is_the_browser_the_app_expects(server: Server) -> None:
    """The helpers above really reach the action as the logged-in customer."""
    answer = server.request(b"POST", PREFIX + b"customers/billing", b"{}")
    assert answer.status == 200, answer.body[:300]
    data = answer.envelope()["data"]
    assert isinstance(data, dict) and data["customer"]["externalId"] == "u1"
