"""Speed and memory of flask-flowglad, each reported as a ratio against a baseline
measured in the same run (``python -m benchmarks``; see ``benchmarks/README.md``).

Nothing here is imported by the package or the test suite: timings belong in a report,
never in an assertion.
"""
