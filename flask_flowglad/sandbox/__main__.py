"""``python -m flask_flowglad.sandbox``: see :mod:`flask_flowglad.sandbox.command`."""

from __future__ import annotations

from .command import sandbox_command

if __name__ == "__main__":
    sandbox_command(prog_name="python -m flask_flowglad.sandbox")
