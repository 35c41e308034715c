"""verify_webhook against the reference's test vector (``docs/protocol.md`` §8.1), and
against anything else: whatever the bytes and headers, a payload or WebhookVerificationError."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import Headers

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


def sign(
    body: bytes,
    message_id: str = "msg_2Lz8yJ3kQ1wXyZ",
    timestamp: str = "1700000000",
    secret: str = SECRET,
) -> str:
    key = base64.b64decode(secret[6:])
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def test_invalid_json_body_is_refused_after_the_signature() -> None:
    body = b"not json"
    with pytest.raises(WebhookVerificationError, match="not JSON"):
        verify_webhook(body, headers(sign(body)), SECRET, tolerance=None)


def test_signature_is_checked_before_the_body_is_decoded() -> None:
    # Not UTF-8, and not signed: the signature is what fails.
    with pytest.raises(WebhookVerificationError, match="Invalid signature"):
        verify_webhook(b"\xff\xfe{}", headers(), SECRET, tolerance=None)


def test_signed_body_that_is_not_utf8_is_refused_as_not_json() -> None:
    body = b'{"id": "\xff"}'
    with pytest.raises(WebhookVerificationError, match="not JSON"):
        verify_webhook(body, headers(sign(body)), SECRET, tolerance=None)


def test_str_body_is_verified_as_its_utf8_bytes() -> None:
    assert verify_webhook(BODY.decode(), headers(), SECRET, tolerance=None)
    with pytest.raises(WebhookVerificationError, match="body is not valid text"):
        verify_webhook("\ud800", headers(), SECRET, tolerance=None)


def test_non_ascii_signature_is_skipped_not_an_unicode_error() -> None:
    with pytest.raises(WebhookVerificationError, match="None of the 0"):
        verify_webhook(BODY, headers("v1,\u00e9t\u00e9"), SECRET, tolerance=None)
    assert verify_webhook(BODY, headers(f"v1,\u00e9t\u00e9 {SIGNATURE}"), SECRET, tolerance=None)


@pytest.mark.parametrize(
    "timestamp",
    [
        "\u0661\u0662\u0663",
        "\u00b2",
        "1_700_000_000",
        " 1700000000",
        "9" * 5000,
        "-1",
        "+1700000000",
    ],
)
def test_timestamp_must_be_ascii_digits(timestamp: str) -> None:
    with pytest.raises(WebhookVerificationError, match="not a number"):
        verify_webhook(BODY, headers(timestamp=timestamp), SECRET, now=1_700_000_000)


def test_surrogate_in_message_id_is_refused() -> None:
    lone = {**headers(), "svix-id": "\ud800"}
    with pytest.raises(WebhookVerificationError, match="not valid text"):
        verify_webhook(BODY, lone, SECRET, tolerance=None)


def test_rotated_secrets_any_of_several_v1_signatures_verifies() -> None:
    old = "whsec_" + base64.b64encode(bytes(range(32, 64))).decode()
    both = f"{sign(BODY, secret=old)} {SIGNATURE}"
    assert verify_webhook(BODY, headers(both), SECRET, tolerance=None)
    assert verify_webhook(BODY, headers(both), old, tolerance=None)


def test_werkzeug_headers_give_their_first_value() -> None:
    flask_headers = Headers(list(headers().items()))
    flask_headers.add("Svix-Signature", "v1,AAAA")
    assert verify_webhook(BODY, flask_headers, SECRET, tolerance=None)


def test_header_given_as_a_list_uses_its_first_value() -> None:
    listed: dict[str, Any] = {**headers(), "svix-signature": [SIGNATURE, "v1,AAAA"]}
    assert verify_webhook(BODY, listed, SECRET, tolerance=None)


_TEXT = st.text(max_size=40)
_HEADER_VALUES = st.one_of(
    _TEXT,
    st.just(SIGNATURE),
    st.just("1700000000"),
    st.lists(_TEXT, max_size=2),
    st.none(),
)
_HEADERS = st.dictionaries(
    st.sampled_from(
        ["svix-id", "SVIX-ID", "svix-timestamp", "Svix-Timestamp", "svix-signature", "x-other"]
    )
    | _TEXT,
    _HEADER_VALUES,
    max_size=5,
)


@settings(max_examples=300, deadline=None)
@given(
    payload=st.one_of(st.binary(max_size=200), st.text(max_size=200), st.just(BODY)),
    message_headers=_HEADERS,
    secret=st.one_of(st.just(SECRET), _TEXT, st.just("whsec_" + "\u0661" * 4)),
    tolerance=st.one_of(st.none(), st.integers(-(10**20), 10**20)),
    now=st.floats(allow_nan=False, allow_infinity=False, min_value=-1e15, max_value=1e15),
)
@example(payload=b"\xff", message_headers=headers(), secret=SECRET, tolerance=None, now=0.0)
@example(
    payload=BODY,
    message_headers=headers(timestamp="\u0661\u0662\u0663"),
    secret=SECRET,
    tolerance=300,
    now=0.0,
)
def test_any_input_gives_a_payload_or_a_verification_error(
    payload: bytes | str,
    message_headers: dict[str, Any],
    secret: str,
    tolerance: int | None,
    now: float,
) -> None:
    try:
        verify_webhook(payload, message_headers, secret, tolerance, now=now)
    except WebhookVerificationError:
        pass


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=300), message_id=st.text(max_size=30).filter(bool))
def test_any_signed_body_verifies_or_is_refused_as_not_json(body: bytes, message_id: str) -> None:
    try:
        signature = sign(body, message_id=message_id)
    except UnicodeEncodeError:
        return  # a lone surrogate cannot be sent in a header
    signed = {**headers(signature), "svix-id": message_id}
    try:
        verify_webhook(body, signed, SECRET, tolerance=None)
    except WebhookVerificationError as exc:
        assert str(exc) == "The webhook body is not JSON."
