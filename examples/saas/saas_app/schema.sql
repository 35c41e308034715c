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

-- The activity log, one row per webhook event (redeliveries share the event's id), so a
-- record that changes back and forth (cancel, keep, cancel) is logged each time.
CREATE TABLE IF NOT EXISTS billing_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    customer_external_id TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    message TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX IF NOT EXISTS billing_events_customer
    ON billing_events (customer_external_id, id);
CREATE INDEX IF NOT EXISTS billing_events_subject ON billing_events (subject_id, id);
