"""With a real secret key and no sandbox flag, nothing of the sandbox is loaded."""

from __future__ import annotations

import subprocess
import sys

CODE = """
import sys
from flask import Flask
from flask_flowglad import Flowglad
app = Flask(__name__)
app.config["FLOWGLAD_SECRET_KEY"] = "sk_live_example"
Flowglad(app)
loaded = sorted(name for name in sys.modules if name.startswith("flask_flowglad.sandbox"))
routes = sorted(rule.rule for rule in app.url_map.iter_rules() if "sandbox" in rule.rule)
print(loaded, routes)
"""


def test_sandbox_is_neither_imported_nor_routed_without_the_flag() -> None:
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", CODE], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[] []"
