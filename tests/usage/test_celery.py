"""Apps that run Celery: a real Celery worker (with its beat) on a real Redis broker drains
the usage outbox on the schedule flask-flowglad gives, and the task can be sent too."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from flask_flowglad.sandbox import Sandbox
from flask_flowglad.usage import new_pending_usage
from flask_flowglad.usage.sql import SQLOutbox

from .services import DurableRedis

ROOT = Path(__file__).resolve().parents[2]


def celery_executable() -> list[str]:
    if shutil.which("celery") is None and not (Path(sys.executable).parent / "celery").exists():
        pytest.skip("celery is not installed: pip install -e '.[test]'")
    return [sys.executable, "-m", "celery"]


def available(sandbox: Sandbox, customer: str) -> int:
    billing = sandbox.billing(customer)
    balances = billing["currentSubscriptions"][0]["experimental"]["usageMeterBalances"]
    return int(balances[0]["availableBalance"]) if balances else 100


def test_a_celery_worker_drains_the_outbox_on_the_beat_schedule(tmp_path: Path) -> None:
    sandbox = Sandbox()
    server = make_server("127.0.0.1", 0, sandbox.wsgi_app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    broker = DurableRedis(tmp_path)
    outbox_url = f"sqlite:///{tmp_path / 'outbox.db'}"
    sandbox.create_customer("celery-user")
    outbox = SQLOutbox.from_url(outbox_url)
    outbox.add([new_pending_usage("celery-user", usage_meter_slug="api_calls", amount=7)])
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "CELERY_BROKER": broker.url,
        "FLOWGLAD_UPSTREAM": f"http://127.0.0.1:{server.server_port}",
        "USAGE_OUTBOX": outbox_url,
    }
    argv = celery_executable() + ["-A", "tests.usage.celery_app:celery_app", "worker", "-B"]
    argv += ["--pool", "solo", "--loglevel", "warning", "-s", str(tmp_path / "beat")]
    log = (tmp_path / "celery.log").open("wb")
    worker = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)
    try:
        assert wait_until(lambda: available(sandbox, "celery-user") == 93, 60)
        # Sent as a task too, by the app's own code.
        outbox.add([new_pending_usage("celery-user", usage_meter_slug="api_calls", amount=3)])
        sent = subprocess.run(
            [
                sys.executable,
                "-c",
                "from tests.usage.celery_app import celery_app;"
                " celery_app.send_task('flask_flowglad.drain_usage_outbox')",
            ],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        assert sent.returncode == 0
        assert wait_until(lambda: available(sandbox, "celery-user") == 90, 60)
        assert outbox.status().pending == 0
    finally:
        os.kill(worker.pid, signal.SIGTERM)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(10)
        log.close()
        broker.stop()
        server.shutdown()
        server.server_close()


def wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False
