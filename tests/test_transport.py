"""The client's transport: every connection it opens, direct or through an HTTP proxy,
is one the deadline can cut (the cutting itself is tested against a real server in
tests/faults/test_client_deadline.py)."""

from __future__ import annotations

import pytest
from urllib3 import HTTPConnectionPool

from flask_flowglad import transport
from flask_flowglad.client import FlowgladClient
from flask_flowglad.deadline import request_deadline
from flask_flowglad.transport import Cutoff, DeadlineAdapter, cut_at_deadline


def watched(pool: HTTPConnectionPool) -> bool:
    """Whether the pool's connections are the transport's own, which register with the
    watchdog when they wait for an answer."""
    return pool.ConnectionCls.__module__ == transport.__name__


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_direct_connections_are_watched(scheme: str) -> None:
    adapter = DeadlineAdapter()
    pool = adapter.poolmanager.connection_from_url(f"{scheme}://flowglad.test")
    assert watched(pool)


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_connections_through_an_http_proxy_are_watched(scheme: str) -> None:
    manager = DeadlineAdapter().proxy_manager_for("http://proxy.internal:3128")
    pool = manager.connection_from_url(f"{scheme}://flowglad.test")
    assert watched(pool)


def test_the_client_mounts_the_deadline_adapter_for_both_schemes() -> None:
    session = FlowgladClient("sk_test_x", base_url="https://flowglad.test")._session()
    assert isinstance(session.get_adapter("https://flowglad.test/"), DeadlineAdapter)
    assert isinstance(session.get_adapter("http://flowglad.test/"), DeadlineAdapter)


def test_no_cutoff_without_a_deadline() -> None:
    with cut_at_deadline() as cutoff:
        assert cutoff is None


def test_a_finished_cutoff_never_fires() -> None:
    with request_deadline(5.0), cut_at_deadline() as cutoff:
        assert isinstance(cutoff, Cutoff)
    assert cutoff is not None and cutoff.finished
    cutoff.fire()
    assert not cutoff.fired
