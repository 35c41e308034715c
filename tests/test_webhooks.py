"""verify_webhook against the reference's test vector (PROTOCOL §8.1)."""

from __future__ import annotations

import pytest

from flask_flowglad.webhooks import WebhookVerificationError, verify_webhook

SECRET = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
BODY = (
    b'{"id":"sub_123","object":"subscription","customer":{"id":"cust_1","externalId":"user_42"},'
    b'"pricingModelId":"pricing_model_abc"}'
)
SIGNATURE = "v1,Y0mC+Lok3MsC0/1elrSftwFPpLVrWFaERcClZBeR+KU="


def headers(signature: str = SIGNATURE, timestamp: str = "1700000000") -> dict[str, str]:
    return {
        "svix-id": "msg_2Lz8yJ3kQ1wXyZ",
        "svix-timestamp": timestamp,
        "svix-signature": signature,
    }


def test_reference_vector_verifies() -> None:
    assert len(BODY) == 127
    payload = verify_webhook(BODY, headers(), SECRET, tolerance=None)
    assert payload["customer"]["externalId"] == "user_42"


def test_any_matching_signature_verifies_and_other_versions_are_skipped() -> None:
    assert verify_webhook(BODY, headers(f"v0,xxx {SIGNATURE}"), SECRET, tolerance=None)


def test_header_names_are_case_insensitive() -> None:
    upper = {k.upper(): v for k, v in headers().items()}
    assert verify_webhook(BODY, upper, SECRET, tolerance=None)


def test_tampered_body_is_refused() -> None:
    with pytest.raises(WebhookVerificationError, match="None of the 1"):
        verify_webhook(BODY.replace(b"user_42", b"user_43"), headers(), SECRET, tolerance=None)


def test_unpadded_secret_is_refused() -> None:
    with pytest.raises(WebhookVerificationError, match="base64"):
        verify_webhook(BODY, headers(), SECRET.rstrip("="), tolerance=None)


def test_secret_without_prefix_is_refused() -> None:
    with pytest.raises(WebhookVerificationError, match="whsec_"):
        verify_webhook(BODY, headers(), SECRET[6:], tolerance=None)


@pytest.mark.parametrize("missing", ["svix-id", "svix-timestamp", "svix-signature"])
def test_missing_header_is_refused(missing: str) -> None:
    partial = {k: v for k, v in headers().items() if k != missing}
    with pytest.raises(WebhookVerificationError, match=f"Missing required header: {missing}"):
        verify_webhook(BODY, partial, SECRET, tolerance=None)


def test_age_limits() -> None:
    sent = 1_700_000_000
    assert verify_webhook(BODY, headers(), SECRET, now=sent + 300)
    with pytest.raises(WebhookVerificationError, match="too old"):
        verify_webhook(BODY, headers(), SECRET, now=sent + 301)
    assert verify_webhook(BODY, headers(), SECRET, now=sent - 60)
    with pytest.raises(WebhookVerificationError, match="future"):
        verify_webhook(BODY, headers(), SECRET, now=sent - 61)
    with pytest.raises(WebhookVerificationError, match="not a number"):
        verify_webhook(BODY, headers(timestamp="17e8"), SECRET, now=sent)


def test_invalid_json_body_is_refused_after_the_signature() -> None:
    import base64
    import hashlib
    import hmac

    key = base64.b64decode(SECRET[6:])
    body = b"not json"
    digest = hmac.new(key, b"msg_2Lz8yJ3kQ1wXyZ.1700000000." + body, hashlib.sha256).digest()
    signature = "v1," + base64.b64encode(digest).decode()
    with pytest.raises(WebhookVerificationError, match="not JSON"):
        verify_webhook(body, headers(signature), SECRET, tolerance=None)
