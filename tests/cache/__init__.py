"""The shared billing cache, in process, on any get/set/delete backend and on Redis, and the
storage interface it stands on with the webhook ledger."""
