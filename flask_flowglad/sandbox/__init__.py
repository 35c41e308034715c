"""A fake Flowglad for development and tests: stateful, in memory, no account, no network.

.. code-block:: python

    from flask_flowglad.sandbox import Sandbox

    sandbox = Sandbox()  # the demo pricing model: free, pro_monthly, api_calls, ...
    app.config["FLOWGLAD_SANDBOX"] = sandbox
"""

from __future__ import annotations

from . import limits
from .api import Call
from .core import Sandbox
from .errors import SandboxError
from .pricing import PricingError
from .wire import PAGES_PREFIX

__all__ = ["PAGES_PREFIX", "Call", "PricingError", "Sandbox", "SandboxError", "limits"]
