"""Billing pages for apps that render on the server: ``FLOWGLAD_UI = True``.

Pricing, the account's billing (plan, usage, seats, purchases, invoices, payment methods),
plan changes with a preview, cancel and uncancel, adding a card, checkout and its return,
all as plain HTML forms (POST, redirect, GET) that extend the app's own layout
(``FLOWGLAD_UI_BASE_TEMPLATE``). No JavaScript is needed; with htmx on the page they swap
in place. Every template can be overridden from the app's ``templates/flowglad/`` folder,
and ``flowglad/components.html`` has macros for the app's own pages.
"""

from __future__ import annotations

from .blueprint import BLUEPRINT_NAME, register_ui

__all__ = ["BLUEPRINT_NAME", "register_ui"]
