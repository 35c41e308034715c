"""The default customer loader: the flask-login ``current_user`` is the customer.

Kept out of :mod:`~flask_flowglad.identity`, which is Flask-free; this one needs an app.
"""

from __future__ import annotations

from flask import current_app
from flask_login import current_user

from .errors import CustomerLoaderMissing
from .identity import CustomerIdentity

MISSING_LOADER_MESSAGE = (
    "flask-flowglad cannot tell who the customer is: this app has no flask-login"
    " LoginManager and no @flowglad.customer_loader. Either set up flask-login"
    " (login_manager = LoginManager(app), with a user_loader), or register a loader"
    " that returns the billing entity of the request (@flowglad.customer_loader)."
)


def identity_from_flask_login() -> CustomerIdentity | None:
    """The default loader: the flask-login ``current_user`` is the customer (B2C).

    The user's ``name`` and ``email`` attributes are used when present. Without a
    ``LoginManager`` on the app every visitor would look logged out, so that is an error
    rather than a 401 for everyone.
    """
    if getattr(current_app, "login_manager", None) is None:
        raise CustomerLoaderMissing(MISSING_LOADER_MESSAGE)
    user = current_user
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return CustomerIdentity(
        external_id=str(user.get_id()),
        name=_optional_text(getattr(user, "name", None)),
        email=_optional_text(getattr(user, "email", None)),
    )


def _optional_text(value: object) -> str | None:
    return None if value is None else str(value)
