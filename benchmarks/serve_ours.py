"""Serve the benchmark app with waitress: ``python -m benchmarks.serve_ours PORT URL KEY``.

waitress because, like the Node reference, it is one process (so its memory is one
number, not a sum over a master and its workers), it needs no C compiler and it runs
everywhere Python runs. Its four worker threads are its default.
"""

from __future__ import annotations

import logging
import sys

from waitress import serve

from .app import create_app

THREADS = 4


def main(argv: list[str]) -> None:
    port, upstream_url, secret_key = argv
    app, _ = create_app(upstream_url, secret_key)
    # "Task queue depth" warnings under the concurrent run would only be noise.
    logging.getLogger("waitress").setLevel(logging.ERROR)
    serve(app, host="127.0.0.1", port=int(port), threads=THREADS)


if __name__ == "__main__":
    main(sys.argv[1:])
