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

-- What Flowglad told the app through webhooks, as the customer's activity log.
-- One row per (record, what happened to it): a redelivered webhook adds nothing.
CREATE TABLE IF NOT EXISTS billing_activity (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_external_id TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    message TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    UNIQUE (subject_id, kind)
);
CREATE INDEX IF NOT EXISTS billing_activity_customer
    ON billing_activity (customer_external_id, id);
