"""gunicorn settings for the example, as docs/deployment.md recommends.

    cd examples/saas && gunicorn -c gunicorn.conf.py

Each worker is a process with its own interpreter (its own GIL); each worker's threads
wait on Flowglad in parallel. A request spends most of its time waiting for Flowglad, so
threads, not processes, set how many requests are in flight: a worker with ``threads``
threads serves at most ``threads / upstream latency`` requests per second (32 threads at
30 ms: about 1,000/s) before its CPU is the limit.

Environment: ``PORT`` (8000), ``WEB_CONCURRENCY`` (workers), ``GUNICORN_THREADS`` (32).
"""

from __future__ import annotations

import os

#: The app factory, called once in the master (``preload_app``), then forked.
wsgi_app = "saas_app:create_app()"
chdir = os.path.dirname(os.path.abspath(__file__))
bind = f"127.0.0.1:{os.environ.get('PORT', '8000')}"

# One worker per CPU. Billing is one Flowglad for all of them: real Flowglad with a
# FLOWGLAD_SECRET_KEY, else the sandbox kept in instance/flowglad-sandbox.db, which every
# worker opens (a sandbox in memory, FLOWGLAD_SANDBOX = True, would need one worker).
workers = int(os.environ.get("WEB_CONCURRENCY", os.cpu_count() or 1))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "32"))

# Import and set the app up once, before forking: workers share its memory pages, and one
# SECRET_KEY (random per start in the example) signs the sessions of every worker.
# flask-flowglad's HTTP sessions are per thread and per process, so nothing opened in the
# master is used by a worker; redis-py reconnects after a fork by itself.
preload_app = True

# Longer than FLOWGLAD_REQUEST_DEADLINE (10 s), so a slow Flowglad gets a 502 envelope
# from the extension rather than a killed worker.
timeout = 30
graceful_timeout = 30
# Browsers reuse connections; keep them a little longer than gunicorn's 2 s.
keepalive = 5
