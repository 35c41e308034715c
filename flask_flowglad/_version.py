"""The package's version: read by setup.cfg (``attr:``, without importing anything) and by
the client for its User-Agent. The package root is lazy, so importing this loads nothing
else."""

__version__ = "0.1.0.dev0"
