"""Users and teams, read and written with plain SQL."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from flask_login import UserMixin
from werkzeug.security import check_password_hash, generate_password_hash

from .db import get_db


@dataclass
class Team:
    id: int
    name: str


@dataclass
class User(UserMixin):
    id: int
    email: str
    name: str
    team_id: int
    password_hash: str

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def team(self) -> Team:
        team = get_team(self.team_id)
        assert team is not None, "every user belongs to a team"
        return team


class EmailTaken(ValueError):
    """Sign-up with an address that already has an account."""


_USER_COLUMNS = "id, email, name, team_id, password_hash"


def get_user(user_id: int) -> User | None:
    row = (
        get_db().execute(f"SELECT {_USER_COLUMNS} FROM users WHERE id = ?", (user_id,)).fetchone()
    )
    return User(**row) if row else None


def find_user_by_email(email: str) -> User | None:
    row = (
        get_db()
        .execute(f"SELECT {_USER_COLUMNS} FROM users WHERE email = ?", (email.strip(),))
        .fetchone()
    )
    return User(**row) if row else None


def all_users() -> list[User]:
    rows = get_db().execute(f"SELECT {_USER_COLUMNS} FROM users ORDER BY id").fetchall()
    return [User(**row) for row in rows]


def count_users() -> int:
    row = get_db().execute("SELECT COUNT(*) FROM users").fetchone()
    return int(row[0])


def get_team(team_id: int) -> Team | None:
    row = get_db().execute("SELECT id, name FROM teams WHERE id = ?", (team_id,)).fetchone()
    return Team(**row) if row else None


def create_user(email: str, name: str, password: str) -> User:
    """Create the user and the team it belongs to, in one transaction."""
    db = get_db()
    email = email.strip()
    try:
        with db:
            team_id = db.execute(
                "INSERT INTO teams (name) VALUES (?)", (f"{name}'s team",)
            ).lastrowid
            user_id = db.execute(
                "INSERT INTO users (email, name, password_hash, team_id) VALUES (?, ?, ?, ?)",
                (email, name, generate_password_hash(password), team_id),
            ).lastrowid
    except sqlite3.IntegrityError as exc:  # the UNIQUE email constraint
        raise EmailTaken(email) from exc
    assert user_id is not None
    user = get_user(user_id)
    assert user is not None
    return user
