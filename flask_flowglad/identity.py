"""Who the customer is.

Flowglad addresses a customer by its *external id*: the id of the billing entity in
the app's own database (a user for B2C, an organization for B2B). It is resolved on the
server from the login session only, never from request data.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import InvalidCustomerId


@dataclass(frozen=True)
class CustomerIdentity:
    """The billing entity of a request, as the app's customer loader describes it.

    ``name`` and ``email`` are only sent when the customer has to be created.
    """

    external_id: str
    name: str | None = None
    email: str | None = None

    def __post_init__(self) -> None:
        validate_external_id(self.external_id)


def validate_external_id(external_id: object) -> str:
    """Reject ids that cannot name a Flowglad customer.

    An id with ``/`` cannot be addressed: Flowglad's routes match one path segment.
    """
    if not isinstance(external_id, str):
        raise InvalidCustomerId(
            f"A customer external id must be a string, not {type(external_id).__name__}."
        )
    if not external_id.strip():
        raise InvalidCustomerId("A customer external id must not be empty.")
    if "/" in external_id:
        raise InvalidCustomerId(f"A customer external id must not contain '/': {external_id!r}.")
    if external_id in (".", ".."):
        raise InvalidCustomerId(f"{external_id!r} is not a usable customer external id.")
    return external_id


def coerce_identity(value: object) -> CustomerIdentity | None:
    """Accept what a loader may reasonably return: an identity, a bare id, or ``None``."""
    if value is None:
        return None
    if isinstance(value, CustomerIdentity):
        return value
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return CustomerIdentity(str(value))
    raise TypeError(
        "A customer loader must return a CustomerIdentity, an external id string or None,"
        f" not {type(value).__name__}."
    )
