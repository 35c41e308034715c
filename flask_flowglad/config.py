"""The ``FLOWGLAD_*`` configuration keys, their defaults, and how a setting is resolved.

Explicit arguments to :class:`~flask_flowglad.Flowglad` win over the app's config, the
config wins over the environment (secret key only), which wins over the defaults.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from .redaction import mask_key

SECRET_KEY = "FLOWGLAD_SECRET_KEY"
BASE_URL = "FLOWGLAD_BASE_URL"
URL_PREFIX = "FLOWGLAD_URL_PREFIX"
CONNECT_TIMEOUT = "FLOWGLAD_CONNECT_TIMEOUT"
READ_TIMEOUT = "FLOWGLAD_READ_TIMEOUT"
MAX_RETRIES = "FLOWGLAD_MAX_RETRIES"
REQUEST_DEADLINE = "FLOWGLAD_REQUEST_DEADLINE"
MAX_RETRY_WAIT = "FLOWGLAD_MAX_RETRY_WAIT"
FAIL_OPEN = "FLOWGLAD_FAIL_OPEN"
SANDBOX = "FLOWGLAD_SANDBOX"
NULL_BILLING_WHEN_LOGGED_OUT = "FLOWGLAD_NULL_BILLING_WHEN_LOGGED_OUT"

#: Option name (as accepted by ``Flowglad(**options)``) → config key.
OPTION_KEYS: dict[str, str] = {
    "secret_key": SECRET_KEY,
    "base_url": BASE_URL,
    "url_prefix": URL_PREFIX,
    "connect_timeout": CONNECT_TIMEOUT,
    "read_timeout": READ_TIMEOUT,
    "max_retries": MAX_RETRIES,
    "request_deadline": REQUEST_DEADLINE,
    "max_retry_wait": MAX_RETRY_WAIT,
    "fail_open": FAIL_OPEN,
    "sandbox": SANDBOX,
    "null_billing_when_logged_out": NULL_BILLING_WHEN_LOGGED_OUT,
}

DEFAULTS: dict[str, Any] = {
    BASE_URL: "https://app.flowglad.com",
    URL_PREFIX: "/api/flowglad",
    CONNECT_TIMEOUT: 3.05,
    READ_TIMEOUT: 15.0,
    MAX_RETRIES: 2,
    # A browser request waits at most this long on Flowglad, all calls, retries and
    # Retry-After waits together: long enough for a billing read and a retry, short
    # enough that a browser or proxy timeout (often 30 s) never comes first.
    REQUEST_DEADLINE: 10.0,
    # A longer Retry-After is not waited for: the browser gets the 429 and its
    # Retry-After at once.
    MAX_RETRY_WAIT: 3.0,
    FAIL_OPEN: False,
    SANDBOX: False,
    NULL_BILLING_WHEN_LOGGED_OUT: False,
}


class ConfigurationError(RuntimeError):
    """The extension cannot start with the app's configuration.

    .. versionadded:: 0.1
    """


@dataclass(frozen=True)
class FlowgladSettings:
    """The resolved settings of one app."""

    secret_key: str | None
    base_url: str
    url_prefix: str
    connect_timeout: float
    read_timeout: float
    max_retries: int
    #: Seconds all Flowglad calls of one browser request may take together.
    request_deadline: float
    #: Longest ``Retry-After`` a browser request waits for before retrying.
    max_retry_wait: float
    fail_open: bool
    sandbox: Any
    #: Answer a logged-out ``customers/billing`` with ``{"data": null}``, which React shows
    #: as "no customer" instead of an error.
    null_billing_when_logged_out: bool

    def __repr__(self) -> str:
        # The secret key shows its mode and last four characters only.
        shown = {f.name: getattr(self, f.name) for f in fields(self)}
        if self.secret_key:
            shown["secret_key"] = mask_key(self.secret_key)
        inner = ", ".join(f"{name}={value!r}" for name, value in shown.items())
        return f"{type(self).__name__}({inner})"

    @classmethod
    def resolve(cls, config: Mapping[str, Any], options: Mapping[str, Any]) -> FlowgladSettings:
        def pick(option: str) -> Any:
            if options.get(option) is not None:
                return options[option]
            key = OPTION_KEYS[option]
            if config.get(key) is not None:
                return config[key]
            if key == SECRET_KEY:
                return os.environ.get(SECRET_KEY) or None
            return DEFAULTS[key]

        settings = cls(
            secret_key=pick("secret_key"),
            base_url=str(pick("base_url")).rstrip("/"),
            url_prefix="/" + str(pick("url_prefix")).strip("/"),
            connect_timeout=_positive(pick("connect_timeout"), CONNECT_TIMEOUT),
            read_timeout=_positive(pick("read_timeout"), READ_TIMEOUT),
            max_retries=_count(pick("max_retries"), MAX_RETRIES),
            request_deadline=_positive(pick("request_deadline"), REQUEST_DEADLINE),
            max_retry_wait=_not_negative(pick("max_retry_wait"), MAX_RETRY_WAIT),
            fail_open=bool(pick("fail_open")),
            sandbox=pick("sandbox"),
            null_billing_when_logged_out=bool(pick("null_billing_when_logged_out")),
        )
        if not settings.sandbox and not settings.secret_key:
            raise ConfigurationError(
                f"{SECRET_KEY} is not set. Did you forget to put your Flowglad secret key in"
                f" app.config[{SECRET_KEY!r}] or the environment? For a local demo without a"
                f" Flowglad account, set {SANDBOX} = True."
            )
        return settings


def _positive(value: Any, key: str) -> float:
    number = _not_negative(value, key)
    if number <= 0:
        raise ConfigurationError(f"{key} must be greater than 0, not {value!r}.")
    return number


def _not_negative(value: Any, key: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigurationError(f"{key} must be a number of seconds, not {value!r}.") from None
    if not 0 <= number < float("inf"):
        raise ConfigurationError(f"{key} must be a finite number >= 0, not {value!r}.")
    return number


def _count(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigurationError(f"{key} must be a whole number >= 0, not {value!r}.")
    return value
