-- Accounts of the example app. A team exists for every user, so the app can
-- switch between billing users and billing teams without a migration.
CREATE TABLE IF NOT EXISTS teams (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    email TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    team_id INTEGER NOT NULL REFERENCES teams (id),
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);
