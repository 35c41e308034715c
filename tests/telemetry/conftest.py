"""Fixtures of the telemetry tests: the SDK capturing, and Flowglad's sandbox on a socket."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from flask_flowglad.sandbox import Sandbox
from flask_flowglad.telemetry import otel as otel_module

from ..support.otel_capture import Capture, capturing
from ..support.servers import serving
from ..support.telemetry import SlowPaths


@pytest.fixture
def otel() -> Iterator[Capture]:
    """Spans and metrics of this test, in memory."""
    yield from capturing()


@pytest.fixture
def semconv(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Set ``OTEL_SEMCONV_STABILITY_OPT_IN`` with ``semconv.setenv``; read again at the
    next span, and once more after the test."""
    _reset_semconv_modes()
    yield monkeypatch
    monkeypatch.undo()
    _reset_semconv_modes()


def _reset_semconv_modes() -> None:
    """Ours, and the instrumentations' (each reads the variable once per process)."""
    from opentelemetry.instrumentation._semconv import (
        _OpenTelemetrySemanticConventionStability as Stability,
    )

    otel_module.reset_semconv_mode()
    Stability._initialized = False
    Stability._OTEL_SEMCONV_STABILITY_SIGNAL_MAPPING = {}


@pytest.fixture
def stable_semconv(semconv: pytest.MonkeyPatch) -> None:
    """The stable HTTP attribute names (``http.request.method``, ``url.full``, ...)."""
    semconv.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", "http")


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox()


@pytest.fixture
def slow_paths() -> SlowPaths:
    return SlowPaths()


@pytest.fixture
def flowglad_url(sandbox: Sandbox, slow_paths: SlowPaths) -> Iterator[str]:
    """The sandbox on a real HTTP server on 127.0.0.1, slowed where a test says."""
    with serving(slow_paths.around(sandbox.wsgi_app)) as url:
        yield url


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Every record at DEBUG and above, of every logger."""
    caplog.set_level(logging.DEBUG)
    return caplog
