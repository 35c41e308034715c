"""An app for the ``flask flowglad`` command tests, configured from the environment.

``CLI_APP_ACCOUNTS`` accounts (``acct-0000`` ...) come from its customer source, as a
generator (``CLI_APP_SIZED=0``) or a sized list; ``FLOWGLAD_*`` variables configure it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

from flask import Flask

from flask_flowglad import CustomerIdentity, Flowglad


def accounts(count: int) -> Iterator[CustomerIdentity]:
    for number in range(count):
        external_id = f"acct-{number:04d}"
        yield CustomerIdentity(external_id, f"Account {number}", f"{external_id}@example.com")


def create_app() -> Flask:
    app = Flask(__name__)
    app.config.update({k: v for k, v in os.environ.items() if k.startswith("FLOWGLAD_")})
    flowglad = Flowglad(app)
    count = int(os.environ.get("CLI_APP_ACCOUNTS", "0"))

    @flowglad.customer_source
    def every_account() -> Iterable[CustomerIdentity]:
        if os.environ.get("CLI_APP_SIZED", "1") == "1":
            return list(accounts(count))
        return accounts(count)

    return app
