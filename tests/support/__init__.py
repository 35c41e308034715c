"""Plain helpers of the test suite: apps, payloads, servers, processes.

Fixtures live in the ``conftest.py`` files; what a test imports lives here, so no test
imports a ``conftest``.
"""
