"""Webhooks: verification, the endpoint, its ledger of handled deliveries (SQLite, Redis,
several workers) and the test-delivery command."""
