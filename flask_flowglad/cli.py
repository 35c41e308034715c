"""``flask flowglad ...`` commands (registered through the ``flask.commands`` entry point).

The operator's commands live in :mod:`flask_flowglad.commands`, one module each. Other
commands plug in through the ``flask_flowglad.commands`` entry point group: the sandbox
adds ``flask flowglad sandbox`` that way, so production code never imports the sandbox.
"""

from __future__ import annotations

from importlib.metadata import entry_points

import click
from flask.cli import AppGroup

from .commands.backfill import backfill_command
from .commands.check import check_command
from .commands.inspect import customer_command, pricing_command
from .commands.usage import (
    usage_dead_letters_command,
    usage_status_command,
    usage_worker_command,
)
from .commands.webhook import send_test_webhook_command

#: The entry point group other packages (and the sandbox) add commands through.
COMMANDS_GROUP = "flask_flowglad.commands"


class FlowgladGroup(AppGroup):
    """The ``flowglad`` group: its own commands, and those of the entry point group, each
    loaded only when it is listed or run."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        plugged = {point.name for point in entry_points(group=COMMANDS_GROUP)}
        return sorted(set(super().list_commands(ctx)) | plugged)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return command
        for point in entry_points(group=COMMANDS_GROUP, name=cmd_name):
            loaded = point.load()
            if isinstance(loaded, click.Command):
                return loaded
        return None


flowglad_cli = FlowgladGroup("flowglad", help="Flowglad billing tools.")
for _command in (
    check_command,
    customer_command,
    pricing_command,
    backfill_command,
    send_test_webhook_command,
    usage_worker_command,
    usage_status_command,
    usage_dead_letters_command,
):
    flowglad_cli.add_command(_command)
