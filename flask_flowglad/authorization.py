"""Who may do what with a customer's billing: the billing actions and the authorizer.

In a B2B app the customer is an organization and several users act on its billing; not
all of them should change the plan. ``@flowglad.billing_authorizer`` registers a function
that answers, for the request's user and the customer (the :class:`CustomerIdentity` the
customer loader returned), which :data:`BILLING_ACTIONS` they may take::

    @flowglad.billing_authorizer
    def billing_roles(customer):
        membership = current_user.membership_in(customer.external_id)
        if membership.role == "admin":
            return ALL_BILLING_ACTIONS
        return {"read"}

The answer is enforced on the UI kit's pages and on the React SDK's routes alike (403,
before anything reaches Flowglad). Without an authorizer every logged-in customer may take
every action, as before. No Flask here: the extension calls the function in a request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Literal

from .identity import CustomerIdentity

#: A billing action a user may be allowed to take for a customer.
BillingAction = Literal["read", "change_plan", "cancel", "buy", "manage_payment_methods"]

#: See the billing: plan, usage, invoices, payment methods.
READ: BillingAction = "read"
#: Change the plan of a subscription (adjust, schedule or undo a change, switch the
#: interval) and its resource claims.
CHANGE_PLAN: BillingAction = "change_plan"
#: Cancel a subscription, or withdraw a cancellation.
CANCEL: BillingAction = "cancel"
#: Start a checkout: a plan, or a one-time purchase.
BUY: BillingAction = "buy"
#: Add a payment method, update the billing details.
MANAGE_PAYMENT_METHODS: BillingAction = "manage_payment_methods"

#: Every billing action, in the order a page lists them.
BILLING_ACTIONS: tuple[BillingAction, ...] = (
    READ,
    CHANGE_PLAN,
    CANCEL,
    BUY,
    MANAGE_PAYMENT_METHODS,
)
ALL_BILLING_ACTIONS: frozenset[str] = frozenset(BILLING_ACTIONS)

#: The function an app registers: the actions allowed for the customer.
BillingAuthorizer = Callable[[CustomerIdentity], Iterable[str]]


def allowed_actions(
    authorizer: BillingAuthorizer | None, customer: CustomerIdentity
) -> frozenset[str]:
    """What ``authorizer`` allows for ``customer``: everything without one. An unknown
    action name is a mistake in the app, said at once."""
    if authorizer is None:
        return ALL_BILLING_ACTIONS
    answer = authorizer(customer)
    if isinstance(answer, str) or answer is None:
        raise TypeError(
            "A billing authorizer returns a collection of billing actions (such as"
            f" {{'read'}}), not {answer!r}."
        )
    allowed = frozenset(answer)
    unknown = allowed - ALL_BILLING_ACTIONS
    if unknown:
        raise ValueError(
            f"The billing authorizer returned unknown actions {sorted(unknown)}; the"
            f" actions are {', '.join(BILLING_ACTIONS)}."
        )
    return allowed
