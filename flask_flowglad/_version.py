"""The package's version, in a module of its own so the client can read it without
importing the package root (and everything the root imports)."""

__version__ = "0.1.0.dev0"
