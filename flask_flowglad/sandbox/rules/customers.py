"""Customers: created on the default plan, updated, archived."""

from __future__ import annotations

from ..account import Account
from ..errors import conflict
from ..ids import new_id
from ..records import Record, Sub
from . import subscriptions

#: The members of a customer a secret key may change (``PUT /customers/{externalId}``).
UPDATABLE = ("email", "name", "logoURL", "iconURL", "domain", "userId")


def create(account: Account, fields: Record) -> tuple[Record, Sub | None]:
    """A new customer starts on the default plan, when the model has one."""
    external_id = fields["externalId"]
    if account.records.customer_by_external_id(external_id) is not None:
        raise conflict(f"A customer with externalId {external_id} already exists")
    customer = account.records.customers.add(
        {
            **account.base("cust"),
            "organizationId": account.organization_id,
            "email": fields["email"],
            "name": fields["name"],
            "invoiceNumberBase": new_id("inv")[-8:].upper(),
            "archived": bool(fields.get("archived", False)),
            "logoURL": fields.get("logoURL"),
            "iconURL": fields.get("iconURL"),
            "domain": fields.get("domain"),
            "externalId": external_id,
            "userId": fields.get("userId"),
            "pricingModelId": account.pricing.id,
            "billingAddress": None,
        }
    )
    account.announce("customer.created", customer["id"], customer["id"])
    default_price = account.pricing.default_price()
    sub = None
    if default_price is not None and default_price["type"] == "subscription":
        sub = subscriptions.create(account, customer, default_price, 1)
    return customer, sub


def update(account: Account, external_id: str, fields: Record) -> Record:
    """Only the members Flowglad lets a secret key change."""
    customer = account.find_customer(external_id)
    for key in UPDATABLE:
        if key in fields:
            customer[key] = fields[key]
    account.touch(account.records.customers, customer)
    account.announce("customer.updated", customer["id"], customer["id"])
    return customer


def archive(account: Account, external_id: str) -> Record:
    customer = account.find_customer(external_id)
    customer["archived"] = True
    account.touch(account.records.customers, customer)
    account.announce("customer.updated", customer["id"], customer["id"])
    return customer
