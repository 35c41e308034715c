"""pytest plugin: a fresh Flowglad sandbox for every test that asks for one.

Registered through the ``pytest11`` entry point, so installing flask-flowglad is enough.
Importing this module imports nothing beyond pytest; the sandbox is loaded by the fixture.

.. code-block:: python

    def test_pro_users_see_reports(flowglad_sandbox):
        app = create_app({"FLOWGLAD_SANDBOX": flowglad_sandbox})
        flowglad_sandbox.put_customer_on_plan("user-1", "pro_monthly")
        ...
        assert [c.path for c in flowglad_sandbox.calls] == [...]
"""

from __future__ import annotations

import re
import threading
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .core import Sandbox

_PRICING_INI = "flowglad_sandbox_pricing"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        _PRICING_INI,
        "Pricing model JSON file for the flowglad_sandbox fixture (relative to the rootdir); "
        "the demo model when unset.",
        default="",
    )


@pytest.fixture
def flowglad_sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    """A new, empty :class:`~flask_flowglad.sandbox.Sandbox` for each test, in memory.

    The app's warning that billing is simulated is expected here, so it is ignored
    during the test, even under ``pytest -W error``. The extension's client records its
    retry waits in ``flowglad_sandbox.waits`` instead of sleeping through them
    (:meth:`~flask_flowglad.sandbox.Sandbox.record_waits`): a test of an outage made with
    ``fail_next`` runs in milliseconds and sees the same attempts.
    """
    from .core import SIMULATED_WARNING, Sandbox

    pricing = str(request.config.getini(_PRICING_INI) or "")
    path = str(request.config.rootpath / pricing) if pricing else None
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=re.escape(SIMULATED_WARNING))
        sandbox = Sandbox(path)
        sandbox.record_waits()
        yield sandbox


@pytest.fixture
def flowglad_sandbox_url(flowglad_sandbox: Sandbox) -> Iterator[str]:
    """The test's :func:`flowglad_sandbox` served over HTTP on 127.0.0.1: its base URL.

    For an app under test that runs in another process or language: give it this URL as
    its Flowglad base URL and ``flowglad_sandbox.secret_key`` as its key. The API, the
    hosted pages and the test controls (``/_sandbox/v1``) are all there.
    """
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, flowglad_sandbox.wsgi_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
