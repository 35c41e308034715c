"""Two worker processes of one app, one SQLite store: a delivery's receivers run once."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from ..support.webhook_helpers import PATH, body_of, signed

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[tuple[list[str], Path]]:
    store, log = tmp_path / "handled.sqlite3", tmp_path / "runs.log"
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.support.webhook_worker", str(store), str(log)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        urls = []
        for process in processes:
            assert process.stdout is not None
            urls.append(f"http://127.0.0.1:{process.stdout.readline().strip()}{PATH}")
        yield urls, log
    finally:
        for process in processes:
            process.terminate()
            process.wait(10)
            if process.stdout is not None:
                process.stdout.close()


def test_same_delivery_to_two_workers_at_once_runs_once(
    workers: tuple[list[str], Path],
) -> None:
    urls, log = workers
    body = body_of()
    headers = signed(body, "msg_workers")
    barrier = threading.Barrier(2)
    statuses: dict[int, int] = {}

    def deliver(index: int) -> None:
        barrier.wait(5)
        statuses[index] = requests.post(
            urls[index], data=body, headers=headers, timeout=10
        ).status_code

    threads = [threading.Thread(target=deliver, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(15)
    # One worker ran the receivers; the other was told the id is in progress (409) or,
    # had it come later, that it was handled (200).
    assert sorted(statuses.values()) in ([200, 409], [200, 200])
    assert log.read_text().split() == ["msg_workers"]
    # Flowglad's retry of the 409 is acknowledged by either worker without running again.
    for url in urls:
        again = requests.post(url, data=body, headers=signed(body, "msg_workers"), timeout=10)
        assert again.json()["data"] == {"received": True, "duplicate": True}
    assert log.read_text().split() == ["msg_workers"]
