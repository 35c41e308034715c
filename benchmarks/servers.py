"""The two servers under comparison, each in its own process on a free 127.0.0.1 port.

* ours: the benchmark app (:mod:`benchmarks.app`) served by waitress;
* the reference: ``@flowglad/server`` behind Express (``reference/server.mjs``), on Node;
* for the scale benchmark, ours under gunicorn as the example ships it, and Redis.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

from .processes import ServerProcess, free_port

ROOT = Path(__file__).resolve().parent.parent
REFERENCE_DIR = Path(__file__).resolve().parent / "reference"
#: The gunicorn settings the example ships and docs/deployment.md recommends.
GUNICORN_CONF = ROOT / "examples" / "saas" / "gunicorn.conf.py"
PREFIX = "/api/flowglad"


def reference_missing() -> str | None:
    """Why the reference cannot run here, or ``None``. Installs its packages if needed."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        return "node and npm are needed to run Flowglad's Node server SDK; install Node.js 18+"
    if not (REFERENCE_DIR / "node_modules" / "@flowglad" / "server").is_dir():
        print("installing the reference server's packages (npm ci) ...", flush=True)
        done = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"],
            cwd=REFERENCE_DIR,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            return f"npm ci failed in benchmarks/reference: {done.stderr.strip()[-500:]}"
    return None


def reference_versions() -> dict[str, str]:
    """Versions of what the baseline runs on: Node, @flowglad/server, Express."""
    node = subprocess.run(["node", "--version"], capture_output=True, text=True)
    versions = {"node": node.stdout.strip()}
    for package in ("@flowglad/server", "@flowglad/node", "express"):
        manifest = REFERENCE_DIR / "node_modules" / package / "package.json"
        versions[package] = json.loads(manifest.read_text())["version"]
    return versions


def start_servers(
    stack: ExitStack, upstream_url: str, secret_key: str
) -> tuple[ServerProcess, ServerProcess]:
    """Start ours and the reference; ``stack`` stops both."""
    port = free_port()
    ours = ServerProcess(
        "flask-flowglad (waitress)",
        [sys.executable, "-m", "benchmarks.serve_ours", str(port), upstream_url, secret_key],
        port,
        cwd=ROOT,
        env={},
    )
    return stack.enter_context(ours), stack.enter_context(
        reference_server(upstream_url, secret_key)
    )


def reference_server(upstream_url: str, secret_key: str) -> ServerProcess:
    """``@flowglad/server`` behind Express, on Node, as one process."""
    port = free_port()
    return ServerProcess(
        "@flowglad/server (Express)",
        ["node", "server.mjs"],
        port,
        cwd=REFERENCE_DIR,
        env={
            "PORT": str(port),
            "FLOWGLAD_SECRET_KEY": secret_key,
            "FLOWGLAD_BASE_URL": upstream_url,
            "NODE_ENV": "production",
        },
    )


def gunicorn_server(
    name: str,
    factory: str,
    upstream_url: str,
    secret_key: str,
    billing_cache: str = "",
    threads: int | None = None,
    env: dict[str, str] | None = None,
    usage_outbox: str = "",
) -> ServerProcess:
    """``factory`` (in :mod:`benchmarks.wsgi`) under the example's ``gunicorn.conf.py``:
    the deployment the docs recommend, measured as shipped (``threads`` overrides its
    thread count, to show the deployment before it)."""
    port = free_port()
    return ServerProcess(
        name,
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            str(GUNICORN_CONF),
            "--chdir",
            str(ROOT),
            "--bind",
            f"127.0.0.1:{port}",
            f"benchmarks.wsgi:{factory}()",
        ],
        port,
        cwd=ROOT,
        env={
            "FLOWGLAD_SECRET_KEY": secret_key,
            "FLOWGLAD_BASE_URL": upstream_url,
            "FLOWGLAD_BILLING_CACHE": billing_cache,
            "FLOWGLAD_USAGE_OUTBOX": usage_outbox,
            **({"GUNICORN_THREADS": str(threads)} if threads else {}),
            **(env or {}),
        },
    )


def upstream_server(latency_ms: float, customers: int) -> ServerProcess:
    """The scale benchmark's Flowglad (:mod:`benchmarks.serve_upstream`) in a process of
    its own: every answer delayed ``latency_ms``, ``customers`` customers on the paid plan."""
    port = free_port()
    argv = [sys.executable, "-m", "benchmarks.serve_upstream", str(port), f"{latency_ms:g}"]
    return ServerProcess("sandbox upstream", [*argv, str(customers)], port, cwd=ROOT, env={})


def redis_server(directory: Path) -> ServerProcess:
    """Debian's ``redis-server`` on a free port, persisting nothing."""
    port = free_port()
    argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory)]
    argv += ["--save", "", "--appendonly", "no", "--daemonize", "no"]
    return ServerProcess("redis-server", argv, port, cwd=directory, env={})
