"""A fake Flowglad for development and tests: stateful, no account, no network.

.. code-block:: python

    from flask_flowglad.sandbox import Sandbox

    sandbox = Sandbox()  # the demo pricing model: free, pro_monthly, api_calls, ...
    app.config["FLOWGLAD_SANDBOX"] = sandbox
    # or kept in a file that survives restarts and serves every worker:
    app.config["FLOWGLAD_SANDBOX"] = "flowglad-sandbox.db"  # in the instance folder

Layout: :mod:`.core` (the :class:`Sandbox`) and :mod:`.helpers` (its test helpers) sit on
:mod:`.transactions`, which runs :mod:`.rules` on an :mod:`.account` of :mod:`.records`
kept by a :mod:`.store`; :mod:`.api`, :mod:`.controls`, :mod:`.pages` and :mod:`.server`
are its HTTP faces, :mod:`.adapter` its in-process transport, :mod:`.webhooks` its
deliveries.
"""

from __future__ import annotations

from . import limits
from .api import Call
from .core import Sandbox
from .errors import SandboxError
from .pricing import PricingError
from .wire import PAGES_PREFIX

__all__ = ["PAGES_PREFIX", "Call", "PricingError", "Sandbox", "SandboxError", "limits"]
