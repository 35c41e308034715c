"""The upstream of every benchmark: the sandbox served over real HTTP on 127.0.0.1.

Both servers under comparison talk to this same process through sockets, so neither gets
a shortcut. It is served by waitress rather than werkzeug's development server, which
closes every connection and so would make every client reconnect for each upstream call.

``latency_s`` delays every upstream answer, to show what the number of upstream calls
costs when Flowglad is a real network hop away rather than on loopback.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any

from waitress.server import TcpWSGIServer, create_server

from flask_flowglad.sandbox import Sandbox

from .processes import free_port

#: The benchmark customer, on a paid plan so it has features, a usage meter and credits.
USER = "bench-user"
PLAN = "pro_monthly"
#: Enough that the concurrent clients of benchmark 1 never queue for a thread.
THREADS = 16


class Upstream:
    """A :class:`Sandbox` on a waitress server in a daemon thread of this process."""

    def __init__(self) -> None:
        logging.getLogger("waitress").setLevel(logging.ERROR)
        self.sandbox = Sandbox()
        self.latency_s = 0.0
        port = free_port()
        server = create_server(self._app, host="127.0.0.1", port=port, threads=THREADS)
        assert isinstance(server, TcpWSGIServer)
        self._server = server
        self.url = f"http://127.0.0.1:{port}"
        self._thread = threading.Thread(target=server.run, daemon=True)
        details = self.sandbox.put_customer_on_plan(
            USER, PLAN, name="Bench User", email="bench@example.com"
        )
        #: The customer's active subscription.
        self.subscription_id: str = details["id"]

    @property
    def secret_key(self) -> str:
        return self.sandbox.secret_key

    def call_count(self) -> int:
        """How many API requests the sandbox has answered so far."""
        return len(self.sandbox.calls)

    def _app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if self.latency_s:
            time.sleep(self.latency_s)
        return self.sandbox.wsgi_app(environ, start_response)

    def __enter__(self) -> Upstream:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.task_dispatcher.shutdown()
        self._server.close()
