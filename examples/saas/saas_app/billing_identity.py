"""Who pays: the user (B2C) or the user's team (B2B), by ``SAAS_BILLING_MODE``.

The same function names the Flowglad customer at sign-up, in ``flask flowglad backfill``
(through the customer source) and in the extension's customer loader, so all three always
agree.
"""

from __future__ import annotations

from collections.abc import Iterator

from flask import current_app
from flask_login import current_user

from flask_flowglad import CustomerBilling, CustomerIdentity

from .extensions import flowglad
from .models import User, all_users

BILLING_MODES = ("user", "team")


def billing_identity(user: User) -> CustomerIdentity:
    if current_app.config["SAAS_BILLING_MODE"] == "team":
        team = user.team
        # Prefixed so a team id can never collide with a user id in the same org.
        return CustomerIdentity(f"team-{team.id}", name=team.name, email=user.email)
    return CustomerIdentity(str(user.id), name=user.name, email=user.email)


def billing_for(user: User) -> CustomerBilling:
    identity = billing_identity(user)
    return flowglad.for_customer(identity.external_id, name=identity.name, email=identity.email)


@flowglad.customer_loader
def load_customer() -> CustomerIdentity | None:
    """Tell the extension whose billing the logged-in user's requests act on."""
    if not current_user.is_authenticated:
        return None
    return billing_identity(current_user._get_current_object())


@flowglad.customer_source
def every_customer() -> Iterator[CustomerIdentity]:
    """Every customer the app bills, for ``flask flowglad backfill``: each user, or each
    team once (teammates share one customer)."""
    seen: set[str] = set()
    for user in all_users():
        identity = billing_identity(user)
        if identity.external_id not in seen:
            seen.add(identity.external_id)
            yield identity
