"""Resources (seats, projects...): capacity from the plan's features, claims against it."""

from __future__ import annotations

from ..account import Account
from ..errors import bad_request, not_found
from ..records import Record, Sub


def find(account: Account, *, slug: str | None = None, resource_id: str | None = None) -> Record:
    found = (
        account.pricing.resource_by_slug(slug)
        if slug is not None
        else account.pricing.resources.get(resource_id or "")
    )
    if found is None:
        raise not_found(f"Resource {slug or resource_id} not found")
    return found


def active_claims(account: Account, sub: Sub, resource_id: str | None = None) -> list[Record]:
    return [
        c
        for c in account.records.claims.of(sub.id)
        if c["releasedAt"] is None and (resource_id is None or c["resourceId"] == resource_id)
    ]


def granted(account: Account, sub: Sub) -> list[Record]:
    """Resources the subscription's items have resource features for, in model order.

    ``listResourceUsages`` (``server/routers/resourceClaimsRouter.ts``) lists only
    these: a plan without resource features has none.
    """
    ids = {f["resourceId"] for i in sub.items for f in i.features if f["type"] == "resource"}
    return [r for r in account.pricing.resources.values() if r["id"] in ids]


def usage_of(account: Account, sub: Sub, resource: Record) -> Record:
    capacity = sum(
        f["amount"]
        for item in sub.items
        for f in item.features
        if f["type"] == "resource" and f["resourceId"] == resource["id"]
    )
    claimed = len(active_claims(account, sub, resource["id"]))
    return {
        "resourceSlug": resource["slug"],
        "resourceId": resource["id"],
        "capacity": capacity,
        "claimed": claimed,
        "available": capacity - claimed,
    }


def claim(
    account: Account,
    sub: Sub,
    resource: Record,
    *,
    quantity: int | None = None,
    external_ids: list[str] | None = None,
    metadata: Record | None = None,
) -> tuple[list[Record], Record]:
    """Claims beyond capacity are refused; named claims are idempotent."""
    if not sub.is_current:
        raise bad_request(f"Subscription {sub.id} is {sub.record['status']}")
    active = active_claims(account, sub, resource["id"])
    result: list[Record] = []
    to_create: list[str | None] = []
    if external_ids is not None:
        for ext in dict.fromkeys(external_ids):
            existing = next((c for c in active if c["externalId"] == ext), None)
            if existing is not None:
                result.append(existing)
            else:
                to_create.append(ext)
    requested = len(to_create) if external_ids is not None else (quantity or 1)
    usage = usage_of(account, sub, resource)
    # Capacity is checked before anything is allocated for the request.
    if requested > usage["available"]:
        raise bad_request(
            f"Insufficient capacity for resource {resource['slug']}: requested "
            f"{requested}, available {usage['available']} of {usage['capacity']}"
        )
    if external_ids is None:
        to_create = [None] * requested
    for external_id in to_create:
        result.append(_new_claim(account, sub, resource, external_id, metadata))
    return result, usage_of(account, sub, resource)


def _new_claim(
    account: Account, sub: Sub, resource: Record, external_id: str | None, metadata: Record | None
) -> Record:
    base = account.base("resource_claim")
    return account.records.claims.add(
        {
            **base,
            "organizationId": account.organization_id,
            "resourceId": resource["id"],
            "subscriptionId": sub.id,
            "pricingModelId": account.pricing.id,
            "externalId": external_id,
            "claimedAt": base["createdAt"],
            "releasedAt": None,
            "releaseReason": None,
            "expiredAt": None,
            "metadata": metadata,
        }
    )


def release(
    account: Account,
    sub: Sub,
    resource: Record,
    *,
    quantity: int | None = None,
    external_ids: list[str] | None = None,
    claim_ids: list[str] | None = None,
) -> tuple[list[Record], Record]:
    """Anonymous claims oldest first, or the named / listed ones."""
    active = active_claims(account, sub, resource["id"])
    if quantity is not None:
        anonymous = [c for c in active if c["externalId"] is None]
        if len(anonymous) < quantity:
            raise bad_request(
                f"Cannot release {quantity} anonymous claims of {resource['slug']}: "
                f"only {len(anonymous)} exist"
            )
        chosen = anonymous[:quantity]
    elif external_ids is not None:
        chosen = [c for c in active if c["externalId"] in external_ids]
    else:
        chosen = [c for c in active if c["id"] in (claim_ids or [])]
    now = account.now()
    for found in chosen:
        found.update(releasedAt=now, releaseReason="released", updatedAt=now)
        account.records.claims.changed(found)
    return chosen, usage_of(account, sub, resource)
