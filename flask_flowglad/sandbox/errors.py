"""The one exception the sandbox's rules raise, so the API layer can answer like Flowglad."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class SandboxError(Exception):
    """A procedure error: answered as ``{"error", "code", "request_id"}`` with ``status``.

    ``error`` is a message string, or a list of validation issues like the real API's.
    ``code`` is ``None`` for the few answers that carry no code (invalid JSON body).
    """

    def __init__(self, status: int, code: str | None, error: Any) -> None:
        super().__init__(error if isinstance(error, str) else repr(error))
        self.status = status
        self.code = code
        self.error = error


def bad_request(error: Any) -> SandboxError:
    return SandboxError(400, "BAD_REQUEST", error)


def not_found(message: str) -> SandboxError:
    return SandboxError(404, "NOT_FOUND", message)


def conflict(message: str) -> SandboxError:
    return SandboxError(409, "CONFLICT", message)


def internal_error() -> SandboxError:
    """Flowglad hides the reason of an unhandled failure; so does the sandbox."""
    return SandboxError(500, None, "Internal server error")


def issue(path: Sequence[str | int], message: str, code: str = "custom") -> dict[str, Any]:
    """One validation issue, shaped like the zod issues the real API reports."""
    return {"code": code, "path": list(path), "message": message}
