"""Resource claims: capacity from the plan, idempotent named claims, release order."""

from __future__ import annotations

from flask_flowglad.sandbox import Sandbox

from .sandbox_helpers import ApiClient


def _base(sandbox: Sandbox, slug: str = "pro_monthly") -> str:
    sub = sandbox.put_customer_on_plan("user-1", slug)
    return f"/api/v1/resource-claims/{sub['id']}"


def test_claims_are_limited_by_capacity(api: ApiClient, sandbox: Sandbox) -> None:
    base = _base(sandbox)
    result = api.post(f"{base}/claim", json={"resourceSlug": "seats", "quantity": 4}).json()
    assert len(result["claims"]) == 4
    assert result["usage"] == {
        "resourceSlug": "seats",
        "resourceId": result["usage"]["resourceId"],
        "capacity": 5,
        "claimed": 4,
        "available": 1,
    }
    refused = api.post(f"{base}/claim", json={"resourceSlug": "seats", "quantity": 2})
    assert refused.status_code == 400
    assert "Insufficient capacity" in refused.json()["error"]
    usage = api.get(f"{base}/usage", params={"resourceSlug": "seats"}).json()["usage"]
    assert usage["claimed"] == 4


def test_free_plan_capacity_is_one_seat(api: ApiClient, sandbox: Sandbox) -> None:
    base = _base(sandbox, "free")
    assert api.post(f"{base}/claim", json={"resourceSlug": "seats", "externalId": "a"}).ok
    refused = api.post(f"{base}/claim", json={"resourceSlug": "seats", "externalId": "b"})
    assert refused.status_code == 400


def test_named_claims_are_idempotent(api: ApiClient, sandbox: Sandbox) -> None:
    base = _base(sandbox)
    first = api.post(f"{base}/claim", json={"resourceSlug": "seats", "externalId": "ann"}).json()
    again = api.post(
        f"{base}/claim", json={"resourceSlug": "seats", "externalIds": ["ann", "bob"]}
    ).json()
    assert again["claims"][0]["id"] == first["claims"][0]["id"]
    assert again["usage"]["claimed"] == 2
    claims = api.get(f"{base}/claims").json()["claims"]
    assert sorted(c["externalId"] for c in claims) == ["ann", "bob"]


def test_release_frees_anonymous_claims_oldest_first(api: ApiClient, sandbox: Sandbox) -> None:
    base = _base(sandbox)
    claims = api.post(f"{base}/claim", json={"resourceSlug": "seats", "quantity": 3}).json()[
        "claims"
    ]
    released = api.post(f"{base}/release", json={"resourceSlug": "seats", "quantity": 2}).json()
    assert [c["id"] for c in released["releasedClaims"]] == [c["id"] for c in claims[:2]]
    assert all(c["releasedAt"] for c in released["releasedClaims"])
    assert released["usage"]["available"] == 4
    too_many = api.post(f"{base}/release", json={"resourceSlug": "seats", "quantity": 5})
    assert too_many.status_code == 400


def test_release_by_claim_id(api: ApiClient, sandbox: Sandbox) -> None:
    base = _base(sandbox)
    claim = api.post(f"{base}/claim", json={"resourceSlug": "seats", "externalId": "x"}).json()
    claim_id = claim["claims"][0]["id"]
    body = {"resourceSlug": "seats", "claimIds": [claim_id]}
    released = api.post(f"{base}/release", json=body).json()
    assert [c["id"] for c in released["releasedClaims"]] == [claim_id]
    assert api.get(f"{base}/claims").json()["claims"] == []


def test_usages_list_every_resource_and_filters(api: ApiClient, sandbox: Sandbox) -> None:
    base = _base(sandbox)
    usages = api.get(f"{base}/usages").json()
    assert [u["usage"]["resourceSlug"] for u in usages] == ["seats"]
    assert api.get(f"{base}/usages", params={"resourceSlugs": "other"}).json() == []
    unknown = api.get(f"{base}/usage", params={"resourceSlug": "rooms"})
    assert unknown.status_code == 404


def test_canceling_releases_the_subscriptions_claims(api: ApiClient, sandbox: Sandbox) -> None:
    base = _base(sandbox)
    api.post(f"{base}/claim", json={"resourceSlug": "seats", "quantity": 2})
    sub_id = base.rsplit("/", 1)[1]
    api.post(
        f"/api/v1/subscriptions/{sub_id}/cancel", json={"cancellation": {"timing": "immediately"}}
    )
    assert api.get(f"{base}/claims").json()["claims"] == []
    refused = api.post(f"{base}/claim", json={"resourceSlug": "seats", "quantity": 1})
    assert refused.status_code == 400
