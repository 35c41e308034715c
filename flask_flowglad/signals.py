"""Signals sent when Flowglad tells the app about a billing change (a webhook).

Connect a receiver to the kind of object you care about::

    from flask_flowglad.signals import subscription_webhook

    @subscription_webhook.connect
    def on_subscription(app, event, **extra):
        audit_log(event.customer_external_id, event.object_id)

Each signal is sent once per verified delivery that was not handled before, inside the
webhook request (so ``current_app`` and ``g`` work). A receiver that raises makes the
endpoint answer 500 and leaves the delivery unhandled: Flowglad delivers it again, and
every receiver runs again. Write receivers so that running twice does no harm.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: Sent for every verified, first-time webhook delivery, before the signal of its object
#: kind. The sender is the app; the keyword argument ``event`` is a
#: :class:`~flask_flowglad.webhook_event.WebhookEvent`.
webhook_received = _signals.signal("flowglad-webhook-received")

#: Sent for a delivery about a customer (``customer.created``, ``customer.updated``).
#: The sender is the app; the keyword argument ``event`` is a
#: :class:`~flask_flowglad.webhook_event.WebhookEvent` whose ``object`` is ``"customer"``.
customer_webhook = _signals.signal("flowglad-customer-webhook")

#: Sent for a delivery about a subscription (``subscription.created``, ``.updated``,
#: ``.canceled``). The sender is the app; the keyword argument ``event`` is a
#: :class:`~flask_flowglad.webhook_event.WebhookEvent` whose ``object`` is
#: ``"subscription"`` and ``object_id`` the subscription's id.
subscription_webhook = _signals.signal("flowglad-subscription-webhook")

#: Sent for a delivery about a payment (``payment.succeeded``, ``payment.failed``).
#: The sender is the app; the keyword argument ``event`` is a
#: :class:`~flask_flowglad.webhook_event.WebhookEvent` whose ``object`` is ``"payment"``.
payment_webhook = _signals.signal("flowglad-payment-webhook")

#: Sent for a delivery about a purchase (``purchase.completed``). The sender is the app;
#: the keyword argument ``event`` is a
#: :class:`~flask_flowglad.webhook_event.WebhookEvent` whose ``object`` is ``"purchase"``.
purchase_webhook = _signals.signal("flowglad-purchase-webhook")

#: The signal of each object kind, by the payload's ``object``.
SIGNALS_BY_OBJECT = {
    "customer": customer_webhook,
    "subscription": subscription_webhook,
    "payment": payment_webhook,
    "purchase": purchase_webhook,
}
