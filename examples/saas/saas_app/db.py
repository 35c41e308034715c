"""One SQLite connection per app context, on a database file in the instance folder."""

from __future__ import annotations

import os
import sqlite3
from importlib.resources import files

from flask import Flask, current_app, g


def get_db() -> sqlite3.Connection:
    if "db" not in g:
        g.db = sqlite3.connect(current_app.config["DATABASE"])
        g.db.row_factory = sqlite3.Row
        g.db.execute("PRAGMA foreign_keys = ON")
    db: sqlite3.Connection = g.db
    return db


def close_db(exc: BaseException | None = None) -> None:
    db = g.pop("db", None)
    if db is not None:
        db.close()


def init_db() -> None:
    """Create the tables if they are missing; safe to run on every start."""
    schema = files(__package__).joinpath("schema.sql").read_text(encoding="utf-8")
    get_db().executescript(schema)


def init_app(app: Flask) -> None:
    app.config.setdefault("DATABASE", os.path.join(app.instance_path, "saas.sqlite3"))
    os.makedirs(os.path.dirname(app.config["DATABASE"]) or ".", exist_ok=True)
    app.teardown_appcontext(close_db)
    with app.app_context():
        init_db()
