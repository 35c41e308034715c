"""One worker process of an app with the webhook endpoint, for the multi-process test.

Run as ``python -m tests.support.webhook_worker STORE LOG``: serves on a free 127.0.0.1 port,
prints it, and appends each delivery its receiver runs to LOG.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from flask import Flask
from werkzeug.serving import make_server

from flask_flowglad import Flowglad
from flask_flowglad.signals import webhook_received

from .webhook_helpers import SECRET


def main(store: str, log: str) -> None:
    app = Flask(__name__)
    app.config.update(
        FLOWGLAD_SECRET_KEY="sk_test_worker",
        FLOWGLAD_WEBHOOK_SECRET=SECRET,
        FLOWGLAD_WEBHOOK_STORE=store,
    )
    Flowglad(app)

    def run(sender: Any, **kwargs: Any) -> None:
        time.sleep(0.3)  # long enough for the other worker to receive the same id meanwhile
        with open(log, "a", encoding="utf-8") as out:
            out.write(kwargs["event"].id + "\n")

    webhook_received.connect(run, sender=app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    print(server.server_port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
