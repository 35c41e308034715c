"""The example app runs as docs/deployment.md recommends: gunicorn with the shipped
``gunicorn.conf.py``, two workers, one shared ``flask flowglad sandbox`` process and the
billing cache in Redis. Real processes on 127.0.0.1 throughout."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis

from .support.cache_support import RedisServer, free_port, running_redis
from .support.example import EXAMPLE, gunicorn_argv, logged_in
from .support.servers import running

BILLING_ROUTE = "/api/flowglad/customers/billing"

SANDBOX_KEY = "sk_test_sandbox"


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    with running_redis(tmp_path) as server:
        yield server


def _worker_pids(master: int, expected: int) -> list[int]:
    """gunicorn's workers (its child processes), once ``expected`` of them run."""
    children = Path(f"/proc/{master}/task/{master}/children")
    pids: list[int] = []
    deadline = time.monotonic() + 10
    while len(pids) < expected and time.monotonic() < deadline:
        time.sleep(0.05)
        pids = [int(pid) for pid in children.read_text().split()]
    assert len(pids) == expected, f"gunicorn runs {len(pids)} workers, not {expected}"
    return pids


def _served_by(log: Path, path: str) -> list[str]:
    """The workers (pids) that answered ``path``, from gunicorn's access log."""
    lines = log.read_text().splitlines() if log.exists() else []
    return [line.split()[0].strip("<>") for line in lines if line.endswith(" " + path)]


@pytest.fixture
def sandbox_url(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    argv = [sys.executable, "-m", "flask", "flowglad", "sandbox", "--port", str(port)]
    with running(argv, port, cwd=EXAMPLE, env={}, log=tmp_path / "sandbox.log") as sandbox:
        yield sandbox.url


def test_the_example_serves_billing_from_two_gunicorn_workers_with_the_shipped_config(
    tmp_path: Path, sandbox_url: str, redis_server: RedisServer
) -> None:
    port = free_port()
    access_log = ("--access-logfile", str(tmp_path / "access.log"))
    # Which worker (pid) answered each request.
    argv = gunicorn_argv(
        port, str(tmp_path / "saas.sqlite3"), *access_log, "--access-logformat", "%(p)s %(U)s"
    )
    env = {
        "FLOWGLAD_SECRET_KEY": SANDBOX_KEY,
        "FLOWGLAD_BASE_URL": sandbox_url,
        "FLOWGLAD_BILLING_CACHE": redis_server.url,
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "4",
    }
    with running(argv, port, cwd=EXAMPLE, env=env, log=tmp_path / "gunicorn.log") as server:
        workers = _worker_pids(server.process.pid, 2)
        url = f"http://127.0.0.1:{port}"
        browser = logged_in(url)
        answers: list[tuple[int, str]] = []
        served: set[str] = set()

        def ask(_: int) -> tuple[int, str]:
            answer = browser.post(
                url + BILLING_ROUTE,
                json={},
                headers={"Connection": "close"},
                timeout=10,
            )
            return answer.status_code, answer.json()["data"]["customer"]["email"]

        # Until both workers have answered. The kernel hands each connection to a worker
        # waiting in accept; one at a time, an idle worker can take them all, so ask in
        # bursts that keep one worker busy while the other accepts.
        with ThreadPoolExecutor(4) as pool:
            for _ in range(20):
                answers += pool.map(ask, range(8))
                served = set(_served_by(tmp_path / "access.log", BILLING_ROUTE))
                if len(served) == 2:
                    break
        assert set(answers) == {(200, "demo@example.com")}
        assert served == set(map(str, workers))
        keys = redis.Redis.from_url(redis_server.url).keys("flowglad:*:billing:*")
        assert len(keys) == 1
