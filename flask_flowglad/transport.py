"""A ``requests`` transport that ends a connection when the deadline passes.

Socket timeouts bound each wait for *one* read, not a whole answer: a server that sends
a byte every few tenths of a second, in its headers or its body, resets them forever.
So the client reads its answer inside :func:`cut_at_deadline`, and the connections of
:class:`DeadlineAdapter` are registered, once the request is sent, with one watchdog
thread per process that shuts a connection's socket down when its deadline passes. The
blocked read then ends at once and ``requests`` raises; :attr:`Cutoff.fired` tells the
client that this was the deadline.

What this bounds: the wait for the status line, the headers and the body, however
slowly they trickle. What it does not: resolving the host name (``getaddrinfo`` cannot
be interrupted; the connect timeout starts after it), and sending the request, which
socket timeouts bound per write (Flowglad's request bodies are small).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import socket
import threading
import time
import typing as t
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from requests.adapters import HTTPAdapter
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool, ProxyManager
from urllib3.connection import HTTPConnection, HTTPSConnection

from .deadline import current_deadline

__all__ = ["Cutoff", "DeadlineAdapter", "cut_at_deadline"]

logger = logging.getLogger(__name__)


class Cutoff:
    """The sockets one attempt opened, to be shut down at ``end``."""

    def __init__(self, end: float) -> None:
        self.end = end
        #: Whether the deadline passed while a socket was still watched.
        self.fired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._done = False
        self._scheduled = False

    def watch(self, sock: socket.socket) -> None:
        """Shut ``sock`` down at the deadline unless the attempt finishes first."""
        with self._lock:
            if self._done:
                return
            self._sockets.append(sock)
            first = not self._scheduled
            self._scheduled = True
        if first:
            _watchdog.schedule(self)

    def finish(self) -> None:
        """The attempt is over: leave its sockets alone from now on."""
        with self._lock:
            self._done = True
            self._sockets.clear()

    @property
    def finished(self) -> bool:
        return self._done

    def fire(self) -> None:
        with self._lock:
            if self._done:
                return
            self._done = True
            self.fired = True
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            # The plain socket's shutdown, also under TLS: it wakes a blocked read
            # without touching the TLS object another thread is reading through.
            # (TLS through an HTTPS proxy wraps the socket in an object of urllib3's.)
            raw = sock if isinstance(sock, socket.socket) else getattr(sock, "socket", None)
            if isinstance(raw, socket.socket):
                try:
                    socket.socket.shutdown(raw, socket.SHUT_RDWR)
                except OSError:
                    pass  # already closed


#: Every how many attempts the watchdog forgets those that finished.
_PRUNE_EVERY = 256

_current: ContextVar[Cutoff | None] = ContextVar("flask_flowglad_cutoff", default=None)


@contextmanager
def cut_at_deadline() -> Iterator[Cutoff | None]:
    """Within the block, a :class:`DeadlineAdapter` connection is cut at the deadline.

    Yields ``None`` when no deadline is set.
    """
    end = current_deadline()
    if end is None:
        yield None
        return
    cutoff = Cutoff(end)
    token = _current.set(cutoff)
    try:
        yield cutoff
    finally:
        _current.reset(token)
        cutoff.finish()


class _Watchdog:
    """One daemon thread per process that fires each :class:`Cutoff` at its end."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._heap: list[tuple[float, int, Cutoff]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def reset_after_fork(self) -> None:
        """Start afresh in a child process: the thread is not there, the lock may be held."""
        self._condition = threading.Condition()
        self._heap = []
        self._thread = None

    def schedule(self, cutoff: Cutoff) -> None:
        with self._condition:
            order = next(self._order)
            if order % _PRUNE_EVERY == 0:
                self._prune()
            heapq.heappush(self._heap, (cutoff.end, order, cutoff))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="flask-flowglad-deadline", daemon=True
                )
                self._thread.start()
            if self._heap[0][2] is cutoff:  # the thread sleeps until a later end
                self._condition.notify()

    def _prune(self) -> None:
        """Drop the attempts that finished. Only the earliest end wakes the thread, so
        without this every attempt of a busy process stays here until its deadline (ten
        seconds of a process's requests: thousands of objects for nothing)."""
        self._heap = [entry for entry in self._heap if not entry[2].finished]
        heapq.heapify(self._heap)

    def _run(self) -> None:
        with self._condition:
            while True:
                heap = self._heap
                while heap and heap[0][2].finished:
                    heapq.heappop(heap)
                if not heap:
                    self._condition.wait()
                    continue
                delay = heap[0][0] - time.monotonic()
                if delay > 0:
                    self._condition.wait(delay)
                    continue
                try:
                    heapq.heappop(heap)[2].fire()
                except Exception:  # the watchdog must outlive any one connection
                    logger.exception("Could not cut a connection at its deadline.")


_watchdog = _Watchdog()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_watchdog.reset_after_fork)


def _watch_current(sock: socket.socket | None) -> None:
    cutoff = _current.get()
    if cutoff is not None and sock is not None:
        cutoff.watch(sock)


class _CutHTTPConnection(HTTPConnection):
    def getresponse(self) -> t.Any:
        _watch_current(self.sock)
        return super().getresponse()


class _CutHTTPSConnection(HTTPSConnection):
    def getresponse(self) -> t.Any:
        _watch_current(self.sock)
        return super().getresponse()


class _CutHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _CutHTTPConnection


class _CutHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _CutHTTPSConnection


_POOL_CLASSES = {"http": _CutHTTPConnectionPool, "https": _CutHTTPSConnectionPool}


class DeadlineAdapter(HTTPAdapter):
    """:class:`~requests.adapters.HTTPAdapter` whose connections honour
    :func:`cut_at_deadline`."""

    def init_poolmanager(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOL_CLASSES

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: t.Any) -> t.Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if type(manager) is ProxyManager:  # a SOCKS manager keeps its own pools
            manager.pool_classes_by_scheme = _POOL_CLASSES
        return manager
