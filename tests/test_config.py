"""The FLOWGLAD_* keys are parsed strictly: a wrong value stops the app at start-up."""

from __future__ import annotations

import inspect
import warnings
from typing import Any

import pytest

from flask_flowglad import ConfigurationError, Flowglad
from flask_flowglad.config import OPTIONS, ConfigurationWarning, masked_key

from .support.apps import make_app

LIVE_KEY = "sk_live_" + "a" * 36 + "WXYZ"


def settings_of(**config: Any) -> Any:
    app = make_app(**config)
    Flowglad(app)
    return app.extensions["flowglad"].settings


@pytest.mark.parametrize("text", ["false", "False", "0", "no", "OFF", " off "])
def test_sandbox_false_as_a_string_leaves_the_sandbox_off(text: str) -> None:
    settings = settings_of(FLOWGLAD_SANDBOX=text)
    assert settings.sandbox is False


@pytest.mark.parametrize("text", ["true", "1", "YES", "on"])
def test_sandbox_true_as_a_string_turns_it_on(text: str) -> None:
    with pytest.warns(UserWarning, match="simulated"):
        settings = settings_of(FLOWGLAD_SANDBOX=text, FLOWGLAD_SECRET_KEY=None)
    assert settings.sandbox is True


@pytest.mark.parametrize(
    "key", ["FLOWGLAD_SANDBOX", "FLOWGLAD_FAIL_OPEN", "FLOWGLAD_NULL_BILLING_WHEN_LOGGED_OUT"]
)
@pytest.mark.parametrize("value", ["nope", "", "2", 2, 0.5, [], "tru"])
def test_a_boolean_that_is_not_one_is_refused_naming_the_key(key: str, value: Any) -> None:
    with pytest.raises(ConfigurationError, match=key):
        settings_of(**{key: value})


def test_fail_open_false_string_stays_closed() -> None:
    assert settings_of(FLOWGLAD_FAIL_OPEN="false").fail_open is False


def test_sandbox_with_a_live_key_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="live key"):
        settings_of(FLOWGLAD_SANDBOX=True, FLOWGLAD_SECRET_KEY=LIVE_KEY)


@pytest.mark.parametrize("key", ["pk_test_abcdefgh", "whatever", 12345, "sk_"])
def test_a_key_that_is_not_a_secret_key_is_refused(key: Any) -> None:
    with pytest.raises(ConfigurationError, match="secret key") as info:
        settings_of(FLOWGLAD_SECRET_KEY=key)
    if isinstance(key, str) and len(key) > 6:
        assert key not in str(info.value)


def test_an_empty_key_without_the_sandbox_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="not set"):
        settings_of(FLOWGLAD_SECRET_KEY="")


@pytest.mark.parametrize(
    "url", ["app.flowglad.com", "ftp://x.test", "https://", "/api/v1", "https://x.test/?a=1"]
)
def test_a_base_url_without_scheme_or_host_is_refused(url: str) -> None:
    with pytest.raises(ConfigurationError, match="FLOWGLAD_BASE_URL"):
        settings_of(FLOWGLAD_BASE_URL=url)


def test_a_base_url_ending_in_api_v1_is_fixed_with_a_warning() -> None:
    with pytest.warns(ConfigurationWarning, match="'https://x.test'"):
        settings = settings_of(FLOWGLAD_BASE_URL="https://x.test/api/v1/")
    assert settings.base_url == "https://x.test"


@pytest.mark.parametrize(
    ("key", "value", "parsed"),
    [
        ("FLOWGLAD_READ_TIMEOUT", "2.5", 2.5),
        ("FLOWGLAD_MAX_RETRIES", "3", 3),
        ("FLOWGLAD_REQUEST_DEADLINE", 4, 4.0),
    ],
)
def test_numbers_from_the_environment_are_parsed(key: str, value: Any, parsed: Any) -> None:
    option = next(o for o in OPTIONS if o.key == key)
    assert getattr(settings_of(**{key: value}), option.name) == parsed


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("FLOWGLAD_READ_TIMEOUT", "fast"),
        ("FLOWGLAD_READ_TIMEOUT", True),
        ("FLOWGLAD_READ_TIMEOUT", float("nan")),
        ("FLOWGLAD_READ_TIMEOUT", float("inf")),
        ("FLOWGLAD_MAX_RETRIES", "2.5"),
        ("FLOWGLAD_MAX_RETRIES", "-1"),
        ("FLOWGLAD_MAX_RETRIES", True),
        ("FLOWGLAD_MAX_BODY_BYTES", "²"),
    ],
)
def test_a_number_that_is_not_one_is_refused(key: str, value: Any) -> None:
    with pytest.raises(ConfigurationError, match=key):
        settings_of(**{key: value})


def test_a_misspelled_key_warns_with_the_closest_name() -> None:
    with pytest.warns(ConfigurationWarning, match="Did you mean FLOWGLAD_FAIL_OPEN"):
        settings_of(FLOWGLAD_FAILOPEN=True)


def test_known_keys_give_no_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        settings_of(FLOWGLAD_FAIL_OPEN=False, FLOWGLAD_READ_TIMEOUT=3)


def test_the_settings_repr_never_shows_the_key() -> None:
    settings = settings_of(FLOWGLAD_SECRET_KEY=LIVE_KEY)
    assert LIVE_KEY not in repr(settings)
    assert settings.key_mode == "live"
    assert masked_key(LIVE_KEY) == "sk_live_\u2026WXYZ"
    assert masked_key(LIVE_KEY) in repr(settings)


def test_every_option_is_a_keyword_of_the_extension() -> None:
    keywords = set(inspect.signature(Flowglad).parameters) - {"app", "customer_loader"}
    assert keywords == {option.name for option in OPTIONS}


def test_explicit_options_win_over_config() -> None:
    app = make_app(FLOWGLAD_READ_TIMEOUT=9)
    Flowglad(app, read_timeout=1.5)
    assert app.extensions["flowglad"].settings.read_timeout == 1.5
