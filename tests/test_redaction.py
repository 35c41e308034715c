"""Masking secret keys before they reach a message, a log record or an error."""

from __future__ import annotations

import pytest

from flask_flowglad.redaction import mask_key, redact


@pytest.mark.parametrize(
    ("key", "shown"),
    [
        ("sk_live_0123456789abcdef", "sk_live_\u2026cdef"),
        ("sk_test_0123456789abcdef", "sk_test_\u2026cdef"),
        ("org-key-0123456789", "\u20266789"),
        ("sk_live_short", "sk_live_\u2026"),
        ("abc", "\u2026"),
    ],
)
def test_mask_key_shows_the_mode_and_at_most_the_last_four(key: str, shown: str) -> None:
    assert mask_key(key) == shown


def test_redact_masks_anything_shaped_like_a_flowglad_key() -> None:
    text = 'Authorization: sk_live_AbC-123_456789xyz, "sk_test_0123456789abcd"'
    masked = redact(text)
    assert "AbC-123_456789xyz" not in masked and "0123456789abcd" not in masked
    assert masked == 'Authorization: sk_live_\u20269xyz, "sk_test_\u2026abcd"'


def test_redact_masks_the_configured_key_whatever_its_shape() -> None:
    assert redact("key=org-7f3a9c2e5b81 sent", ["org-7f3a9c2e5b81"]) == "key=\u20265b81 sent"


def test_a_short_configured_key_is_not_searched_for_in_text() -> None:
    assert redact("a sandbox answer", ["sand"]) == "a sandbox answer"


def test_text_without_keys_is_unchanged() -> None:
    text = "Flowglad answered 500: sk_ is a prefix; task_live_x is not a key"
    assert redact(text, [None, ""]) == text
