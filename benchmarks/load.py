"""The load generator: POSTs to one server as the React SDK sends them, timed."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from .servers import PREFIX
from .upstream import USER


@dataclass
class Reply:
    status: int
    payload: Any
    elapsed_ns: int


@dataclass
class Target:
    """One server, with a keep-alive session as a browser would hold."""

    name: str
    url: str
    session: requests.Session = field(default_factory=requests.Session)

    def __post_init__(self) -> None:
        self.session.headers["X-User"] = USER

    def post(self, action: str, body: dict[str, Any]) -> Reply:
        start = time.perf_counter_ns()
        response = self.session.post(f"{self.url}{PREFIX}/{action}", json=body, timeout=30)
        content = response.content
        elapsed = time.perf_counter_ns() - start
        try:
            payload = response.json() if content else None
        except ValueError:
            payload = content.decode("utf-8", "replace")
        return Reply(response.status_code, payload, elapsed)


def concurrent_wall_ns(
    url: str, action: str, body: Callable[[], dict[str, Any]], clients: int, per_client: int
) -> tuple[int, int]:
    """``clients`` threads, each posting ``per_client`` times on its own connection.

    Returns the wall time from the first request to the last answer, and the number of
    answers that were not 200.
    """
    targets = [Target("client", url) for _ in range(clients)]
    for target in targets:  # connect before the clock starts
        target.post(action, body())
    barrier = threading.Barrier(clients + 1)
    failures: list[int] = []

    def run(target: Target) -> None:
        barrier.wait()
        for _ in range(per_client):
            if target.post(action, body()).status != 200:
                failures.append(1)

    threads = [threading.Thread(target=run, args=(t,)) for t in targets]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter_ns()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter_ns() - start
    for target in targets:
        target.session.close()
    return elapsed, len(failures)
