"""The hosted checkout's test cards, named, like a payment processor's."""

from __future__ import annotations

#: Pays (as on Flowglad's own test checkout).
TEST_CARD = "4242 4242 4242 4242"
#: Is declined: the checkout session stays open and ``payment.failed`` is announced.
DECLINED_CARD = "4000 0000 0000 0002"


def digits(card_number: str) -> str:
    """The card number without spaces or dashes."""
    return "".join(ch for ch in card_number if ch.isdigit())
