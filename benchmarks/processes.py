"""Start a server in a child process, wait until it listens, read its memory, stop it."""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

KIB_PER_MIB = 1024
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def free_port() -> int:
    """A port nobody listens on right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ServerProcess:
    """A child process serving HTTP on 127.0.0.1:``port``; its stderr is kept for errors."""

    def __init__(
        self, name: str, argv: list[str], port: int, *, cwd: Path, env: dict[str, str]
    ) -> None:
        self.name = name
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self._argv = argv
        self._cwd = cwd
        self._env = {**os.environ, **env}
        self._log = tempfile.TemporaryFile()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def __enter__(self) -> ServerProcess:
        self._process = subprocess.Popen(
            self._argv,
            cwd=self._cwd,
            env=self._env,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"{self.name} exited at startup:\n{self._stderr()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not listen on {self.url} within 30 s")

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._log.close()

    def rss_mib(self, *, peak: bool = False) -> float | None:
        """Resident memory now, or its peak so far (Linux ``/proc``; ``None`` elsewhere)."""
        return _rss_mib(self.pid, peak=peak)

    def tree(self) -> list[int]:
        """This process and its descendants (gunicorn's master and its workers)."""
        pids, i = [self.pid], 0
        while i < len(pids):
            pids += _children(pids[i])
            i += 1
        return pids

    def cpu_seconds(self) -> float:
        """User and system CPU spent so far by the process and its live descendants."""
        return sum(_cpu_seconds(pid) for pid in self.tree())

    def children_rss_mib(self) -> list[float]:
        """Resident memory of each child process (gunicorn's workers)."""
        return [rss for pid in _children(self.pid) if (rss := _rss_mib(pid)) is not None]

    def stderr_text(self) -> str:
        """Everything the process wrote to stderr so far."""
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")

    def _stderr(self) -> str:
        return self.stderr_text()[-4000:]


def _rss_mib(pid: int, *, peak: bool = False) -> float | None:
    field = "VmHWM:" if peak else "VmRSS:"
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith(field):
            return int(line.split()[1]) / KIB_PER_MIB
    return None


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


def _cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` (all its threads), from ``/proc/<pid>/stat``."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    # Fields after the command name, which is in parentheses and may hold spaces.
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
