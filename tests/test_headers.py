"""The one case-insensitive header lookup."""

from __future__ import annotations

from requests.structures import CaseInsensitiveDict
from werkzeug.datastructures import Headers

from flask_flowglad.headers import get_header


def test_plain_dict_is_read_whatever_the_case() -> None:
    assert get_header({"X-Request-Id": "r1"}, "x-request-id") == "r1"
    assert get_header({"x-request-id": "r1"}, "X-Request-ID") == "r1"


def test_requests_and_werkzeug_headers_are_read() -> None:
    assert get_header(CaseInsensitiveDict({"Retry-After": "3"}), "retry-after") == "3"
    assert get_header(Headers([("Svix-Id", "a"), ("svix-id", "b")]), "SVIX-ID") == "a"


def test_a_list_value_gives_its_first_item() -> None:
    assert get_header({"svix-id": ["a", "b"]}, "svix-id") == "a"
    assert get_header({"svix-id": []}, "svix-id") is None


def test_absent_header_or_no_headers_give_none() -> None:
    assert get_header({"a": "1"}, "b") is None
    assert get_header(None, "b") is None
    assert get_header({}, "b") is None
