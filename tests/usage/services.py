"""Real services for the usage outbox's tests, each started on a free 127.0.0.1 port and
stopped by PID: PostgreSQL (Debian's package, initdb and pg_ctl) and a Redis that keeps an
append-only file and can be killed and started again on the same port and data.

Without the program a test skips, saying why; with ``CI`` set it fails instead.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.cache_support import RedisServer, free_port, redis_executable


def _missing(message: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{message}; .ci/run installs it, so CI must have it")
    pytest.skip(message)


def postgres_bin() -> Path:
    """Debian's PostgreSQL programs (the newest installed)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version)
    if not found:
        _missing("PostgreSQL is not installed (Debian: apt-get install postgresql)")
    return Path(found[-1]).parent


def _version(path: str) -> int:
    digits = Path(path).parts[-3]
    return int(digits) if digits.isdigit() else 0


class PostgresServer:
    """One PostgreSQL cluster of the test's own: ``initdb`` in a fresh directory, the
    server on a free port (127.0.0.1 and a socket in that directory), trust authentication.
    As root it runs as the ``postgres`` user, since PostgreSQL refuses to run as root."""

    def __init__(self) -> None:
        self.bin = postgres_bin()
        self.directory = Path(tempfile.mkdtemp(prefix="flowglad-pg-"))
        self.port = free_port()
        self._as_user = "postgres" if os.geteuid() == 0 else None
        if self._as_user:
            shutil.chown(self.directory, self._as_user)
            os.chmod(self.directory, 0o755)
        data = self.directory / "data"
        self._run(
            [
                str(self.bin / "initdb"),
                "-D",
                str(data),
                "-U",
                "flowglad",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ]
        )
        options = (
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1"
            " -c fsync=off -c max_connections=200"
        )
        self._run(
            [
                str(self.bin / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-l",
                str(self.directory / "log"),
                "-w",
                "-t",
                "30",
                "start",
            ]
        )
        self.pid = int((data / "postmaster.pid").read_text().split()[0])
        self.url = f"postgresql+psycopg://flowglad@127.0.0.1:{self.port}/postgres"

    def _run(self, argv: list[str]) -> None:
        subprocess.run(
            argv, check=True, capture_output=True, user=self._as_user, group=self._as_user
        )

    def new_database(self) -> str:
        """A fresh, empty database; its SQLAlchemy URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=flowglad dbname=postgres", autocommit=True
        ) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://flowglad@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        """A fast shutdown of the postmaster, by its PID."""
        try:
            os.kill(self.pid, signal.SIGINT)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        shutil.rmtree(self.directory, ignore_errors=True)


@contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    try:
        yield server
    finally:
        server.stop()


class DurableRedis(RedisServer):
    """``redis-server`` with its append-only file on (``appendfsync everysec``), which a
    test may kill like a crash and start again on the same port and data."""

    def __init__(self, directory: Path) -> None:
        self.executable = redis_executable()
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.start()

    def start(self) -> None:
        argv = [self.executable, "--port", str(self.port), "--bind", "127.0.0.1"]
        argv += ["--dir", str(self.directory), "--save", "", "--appendonly", "yes"]
        argv += ["--appendfsync", "everysec", "--daemonize", "no"]
        argv += ["--logfile", str(self.directory / "redis.log")]
        self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
        self._wait_until_listening()
