"""The shared billing cache: in process, on any get/set/delete backend, and on Redis."""
