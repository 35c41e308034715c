"""What the pricing page offers a visitor for each price: the call to action.

Anonymous visitors sign up (the plan they picked is kept through it); a customer on the
free plan upgrades through checkout; a paying customer changes plan (with a preview),
switches the interval (a new plan, see :mod:`flask_flowglad.intervals`) or returns to
the free plan by cancelling; one-time products are bought. An action the app's billing
authorizer does not allow is shown as such, not offered.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from ..authorization import BUY, CANCEL, CHANGE_PLAN
from ..summary import Plan, Price, Product


@dataclass(frozen=True)
class Offer:
    """A call to action for one price."""

    #: ``signup``, ``checkout``, ``change``, ``downgrade``, ``current``, ``canceling``,
    #: ``forbidden`` or ``none``.
    kind: str
    price: Price | None
    #: For ``forbidden``: the action the user's role does not allow.
    action: str | None = None

    @property
    def posts(self) -> bool:
        """Offered as a form that posts (a checkout starts at once)."""
        return self.kind == "checkout"


def offer_for(
    product: Product,
    price: Price | None,
    plan: Plan | None,
    *,
    anonymous: bool,
    allowed: Collection[str],
) -> Offer:
    """The call to action for ``price`` of ``product``, given the customer's ``plan``."""
    if price is None:
        return Offer("none", None)
    if anonymous:
        return Offer("none", price) if product.is_default else Offer("signup", price)
    if not price.recurring:
        return _allowed(Offer("checkout", price), BUY, allowed)
    if plan is None:
        return _allowed(Offer("checkout", price), BUY, allowed)
    if plan.price is not None and plan.price.id == price.id:
        return Offer("current", price)
    if plan.product is not None and plan.product.id == product.id and product.is_default:
        return Offer("current", price)
    if plan.is_canceling:
        return Offer("canceling", price)
    if product.is_default:
        # Back to the free plan: the paid plan is cancelled at the end of its period.
        return (
            Offer("none", price)
            if plan.is_free
            else _allowed(Offer("downgrade", price), CANCEL, allowed)
        )
    if plan.is_free:
        return _allowed(Offer("checkout", price), BUY, allowed)
    # The same interval is adjusted with a preview; another one is a new plan.
    return _allowed(Offer("change", price), CHANGE_PLAN, allowed)


def _allowed(offer: Offer, action: str, allowed: Collection[str]) -> Offer:
    return offer if action in allowed else Offer("forbidden", offer.price, action)
