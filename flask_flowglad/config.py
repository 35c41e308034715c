"""The ``FLOWGLAD_*`` configuration keys: one table, read strictly once per app.

Explicit arguments to :class:`~flask_flowglad.Flowglad` win over the app's config, the
config wins over the environment (secret key only), which wins over the defaults.

Values are parsed strictly because config often comes from environment variables, where
``"false"`` is a true string: a boolean is ``True``/``False`` or one of ``1/0, true/false,
yes/no, on/off`` in any case, and anything else is a :exc:`ConfigurationError` naming the
key. A mistake is found when the app starts, not as a 503 (or a free paid plan) later.
"""

from __future__ import annotations

import difflib
import os
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .errors import ConfigurationError, ConfigurationWarning, WebhookVerificationError
from .redaction import mask_key, mask_url_password
from .storage import store_setting_problem
from .usage import outbox_setting_problem
from .webhooks.signature import decode_secret

#: Flowglad's own host; the API lives under ``/api/v1`` there.
DEFAULT_BASE_URL = "https://app.flowglad.com"
API_SUFFIX = "/api/v1"

#: The most events one bulk request carries (the sandbox's limit; Flowglad states none).
MAX_BATCH_SIZE = 1000

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def parse_bool(value: Any, key: str) -> bool:
    """``True``/``False`` or a conventional string; never Python's truthiness."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise ConfigurationError(
        f"{key} must be True or False (or one of 1/0, true/false, yes/no, on/off), not {value!r}."
    )


def parse_seconds(value: Any, key: str) -> float:
    """A positive number of seconds; a numeric string is accepted."""
    if not isinstance(value, bool):
        try:
            number = float(value)
        except (TypeError, ValueError):
            pass
        else:
            if 0 < number < float("inf"):
                return number
    raise ConfigurationError(f"{key} must be a number of seconds greater than 0, not {value!r}.")


def parse_seconds_or_off(value: Any, key: str) -> float:
    """A number of seconds >= 0; ``0``, ``False`` or ``"off"`` turn the feature off."""
    if value is False or (isinstance(value, str) and value.strip().lower() in _FALSE | {""}):
        return 0.0
    if type(value) in (int, float) and value == 0:
        return 0.0
    try:
        return parse_seconds(value, key)
    except ConfigurationError:
        raise ConfigurationError(
            f"{key} must be a number of seconds >= 0 (0 or 'off' turns it off), not {value!r}."
        ) from None


def parse_count(value: Any, key: str) -> int:
    """A whole number >= 0; a string of digits is accepted."""
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value.strip())
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise ConfigurationError(f"{key} must be a whole number >= 0, not {value!r}.")


def parse_base_url(value: Any, key: str) -> str:
    """An absolute http(s) URL of Flowglad's host; a trailing ``/api/v1`` is dropped."""
    text = str(value).strip().rstrip("/")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            f"{key} must be an absolute http(s) URL such as {DEFAULT_BASE_URL!r}, not {value!r}."
        )
    if parts.query or parts.fragment:
        raise ConfigurationError(f"{key} must not have a query or fragment: {value!r}.")
    if text.endswith(API_SUFFIX):
        text = text[: -len(API_SUFFIX)]
        warnings.warn(
            f"{key} ends in {API_SUFFIX!r}; flask-flowglad adds it itself, so it was dropped."
            f" Write {text!r}.",
            ConfigurationWarning,
            stacklevel=4,
        )
    return text


def parse_url_prefix(value: Any, key: str) -> str:
    """Where the React SDK's routes are mounted: ``/api/flowglad`` by default."""
    text = "/" + str(value).strip().strip("/")
    if text == "/" or any(ch.isspace() for ch in text):
        raise ConfigurationError(f"{key} must be a path such as '/api/flowglad', not {value!r}.")
    return text


def parse_path(value: Any, key: str) -> str:
    """A URL path of its own, such as ``/webhooks/flowglad``."""
    text = "/" + str(value).strip().strip("/")
    if text == "/" or any(ch.isspace() for ch in text) or "<" in text:
        raise ConfigurationError(
            f"{key} must be a path such as '/webhooks/flowglad', not {value!r}."
        )
    return text


def parse_webhook_secrets(value: Any, key: str) -> tuple[str, ...] | None:
    """One ``whsec_...`` secret, or several (a list, or one string separated by commas or
    spaces) while one is rotated out; a delivery signed with any of them verifies."""
    items = value.replace(",", " ").split() if isinstance(value, str) else value
    if isinstance(items, (list, tuple)) and all(isinstance(item, str) for item in items):
        secrets = tuple(item.strip() for item in items if item.strip())
        try:
            for secret in secrets:
                decode_secret(secret)
        except WebhookVerificationError as exc:
            reason = f" ({exc})"
        else:
            return secrets or None
    else:
        reason = ""
    raise ConfigurationError(
        f"{key} must be Flowglad's webhook signing secret (whsec_...), or a list of them{reason}."
    )


def parse_optional_path(value: Any, key: str) -> str | None:
    """A URL path such as ``/api/flowglad/openapi.json``; empty or ``False`` is off."""
    if value is False or (isinstance(value, str) and not value.strip()):
        return None
    text = str(value).strip()
    if not text.startswith("/") or any(ch.isspace() or ch in "<>?#" for ch in text):
        raise ConfigurationError(
            f"{key} must be an absolute path such as '/api/flowglad/openapi.json', not {value!r}."
        )
    return text


def parse_secret_key(value: Any, key: str) -> str | None:
    """A Flowglad *secret* key (``sk_test_...`` or ``sk_live_...``)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not value.startswith("sk_") or len(value) < 8:
        shown = value[:3] + "..." if isinstance(value, str) and value else repr(value)
        raise ConfigurationError(
            f"{key} must be a Flowglad secret key (sk_test_... or sk_live_...), not {shown}."
            " A publishable key (pk_...) must never be used on the server."
        )
    return value


#: What a sandbox state file's name ends with (a typo of ``True`` is not taken for a file).
SANDBOX_FILE_SUFFIXES = (".db", ".sqlite", ".sqlite3")


def parse_sandbox(value: Any, key: str) -> Any:
    """``False``, ``True`` (in memory), the path of a state file (a string ending in
    ``.db``, ``.sqlite`` or ``.sqlite3``, or a path object), or a
    :class:`~flask_flowglad.sandbox.Sandbox` to use."""
    if hasattr(value, "adapter") and hasattr(value, "secret_key"):
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, str) and value.strip().lower().endswith(SANDBOX_FILE_SUFFIXES):
        return value.strip()
    try:
        return parse_bool(value, key)
    except ConfigurationError:
        raise ConfigurationError(
            f"{key} must be True, False, a Sandbox, or the path of a state file ending in"
            f" .db, .sqlite or .sqlite3 (such as 'flowglad-sandbox.db'), not {value!r}."
        ) from None


def parse_file(value: Any, key: str) -> str | None:
    """The path of a file; empty is unset."""
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if isinstance(value, str):
        return value.strip() or None
    raise ConfigurationError(f"{key} must be the path of a file, not {value!r}.")


def _is_off(value: Any) -> bool:
    """``False``, ``None``, ``""`` or ``"off"`` (any case): a store that is not wanted."""
    if value is False or value is None:
        return True
    return isinstance(value, str) and value.strip().lower() in (_FALSE | {""})


def parse_store(value: Any, key: str) -> Any:
    """Off (``False``, ``None``, ``""``, ``"off"``), or what names a store: a ``redis://``
    URL, a ``sqlite:///`` URL or file path, or an object with ``get``, ``set`` and ``delete``
    (a Flask-Caching ``Cache``). Opened by :func:`flask_flowglad.storage.open_store`."""
    if _is_off(value):
        return None
    problem = store_setting_problem(value)
    if problem is None:
        return os.fspath(value) if isinstance(value, os.PathLike) else value
    raise ConfigurationError(
        f"{key} must be a redis:// URL, a SQLite file (sqlite:///path), or an object with"
        f" get, set and delete (such as a Flask-Caching Cache): {mask_url_password(problem)}."
    )


def parse_template_name(value: Any, key: str) -> str:
    """A Jinja template name such as ``"base.html"``."""
    if not isinstance(value, str) or not value.strip() or any(ch.isspace() for ch in value):
        raise ConfigurationError(
            f"{key} must be a template name such as 'base.html', not {value!r}."
        )
    return value.strip()


def parse_block_name(value: Any, key: str) -> str:
    """A Jinja block name such as ``"content"``."""
    if not isinstance(value, str) or not value.isidentifier():
        raise ConfigurationError(
            f"{key} must be a Jinja block name such as 'content', not {value!r}."
        )
    return value


def parse_optional_endpoint(value: Any, key: str) -> str | None:
    """An endpoint name such as ``"auth.signup"``; empty is none."""
    if value is None or value is False or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str) or any(ch.isspace() for ch in value):
        raise ConfigurationError(
            f"{key} must be an endpoint name such as 'auth.signup', not {value!r}."
        )
    return value


def parse_outbox(value: Any, key: str) -> Any:
    """Off (``False``, ``None``, ``""``, ``"off"``), or what names a usage outbox:
    Flask-SQLAlchemy's ``db``, a ``postgresql://`` or ``sqlite:///path`` URL, or a
    ``redis://`` URL. Opened by :func:`flask_flowglad.usage.open_outbox`."""
    if _is_off(value):
        return None
    problem = outbox_setting_problem(value)
    if problem is None:
        return os.fspath(value) if isinstance(value, os.PathLike) else value
    raise ConfigurationError(
        f"{key} must be Flask-SQLAlchemy's db, a SQLAlchemy URL (postgresql://...,"
        f" sqlite:///path) or a redis:// URL: {mask_url_password(problem)}."
    )


def parse_batch_size(value: Any, key: str) -> int:
    """Events per request to Flowglad's bulk endpoint: 1 to 1000."""
    count = parse_count(value, key)
    if not 1 <= count <= MAX_BATCH_SIZE:
        raise ConfigurationError(f"{key} must be from 1 to {MAX_BATCH_SIZE}, not {value!r}.")
    return count


def _as_is(value: Any, key: str) -> Any:
    return value


def key_mode(secret_key: str | None) -> str:
    """What may be said of a key in a log: ``"live"`` (``sk_live_...``), ``"test"``
    (``sk_test_...``), ``"unknown"`` (another ``sk_...``) or ``"none"`` (no key)."""
    if not secret_key:
        return "none"
    if secret_key.startswith("sk_live_"):
        return "live"
    if secret_key.startswith("sk_test_"):
        return "test"
    return "unknown"


def masked_key(secret_key: str | None) -> str:
    """A key as it may be shown: its mode and last four characters."""
    return mask_key(secret_key) if secret_key else "<not set>"


@dataclass(frozen=True)
class Option:
    """One ``FLOWGLAD_*`` key: the keyword of ``Flowglad(...)``, its parser and default."""

    name: str
    key: str
    parse: Callable[[Any, str], Any]
    default: Any
    #: One line for the configuration table of the docs.
    doc: str
    #: The type as the docs show it.
    type: str


#: Every option, in the order the docs list them.
OPTIONS: tuple[Option, ...] = (
    Option(
        "secret_key",
        "FLOWGLAD_SECRET_KEY",
        parse_secret_key,
        None,
        "Flowglad secret key (sk_test_... or sk_live_...); else the environment variable"
        " of the same name. Not needed with the sandbox.",
        "str",
    ),
    Option(
        "base_url",
        "FLOWGLAD_BASE_URL",
        parse_base_url,
        DEFAULT_BASE_URL,
        "Flowglad's host; a trailing /api/v1 is dropped with a warning.",
        "str",
    ),
    Option(
        "url_prefix",
        "FLOWGLAD_URL_PREFIX",
        parse_url_prefix,
        "/api/flowglad",
        "Where the React SDK's routes are served.",
        "str",
    ),
    Option(
        "connect_timeout",
        "FLOWGLAD_CONNECT_TIMEOUT",
        parse_seconds,
        3.05,
        "Seconds to wait for a connection to Flowglad.",
        "float",
    ),
    Option(
        "read_timeout",
        "FLOWGLAD_READ_TIMEOUT",
        parse_seconds,
        15.0,
        "Seconds to wait for each read of Flowglad's answer.",
        "float",
    ),
    Option(
        "request_deadline",
        "FLOWGLAD_REQUEST_DEADLINE",
        parse_seconds,
        10.0,
        "Total seconds all Flowglad calls of one request may take, retries and waits"
        " included; past it the request answers 502.",
        "float",
    ),
    Option(
        "max_retries",
        "FLOWGLAD_MAX_RETRIES",
        parse_count,
        2,
        "Extra attempts after a failed read (and a usage event, which is idempotent).",
        "int",
    ),
    Option(
        "max_retry_wait",
        "FLOWGLAD_MAX_RETRY_WAIT",
        parse_seconds,
        3.0,
        "Longest Retry-After wait honoured; a longer one, or one that does not fit the"
        " request deadline, answers 429 at once.",
        "float",
    ),
    Option(
        "fail_open",
        "FLOWGLAD_FAIL_OPEN",
        parse_bool,
        False,
        "Let @feature_required views run when Flowglad cannot be reached.",
        "bool",
    ),
    Option(
        "sandbox",
        "FLOWGLAD_SANDBOX",
        parse_sandbox,
        False,
        "Simulate Flowglad: True (in memory), a state file shared by every process and kept"
        " across restarts ('flowglad-sandbox.db', relative to the instance folder), or a"
        " Sandbox; refused with a live key.",
        "bool | str | Sandbox",
    ),
    Option(
        "sandbox_pricing",
        "FLOWGLAD_SANDBOX_PRICING",
        parse_file,
        None,
        "Pricing model JSON file of the sandbox FLOWGLAD_SANDBOX makes (relative to the"
        " app's root path); the demo model when unset.",
        "str | None",
    ),
    Option(
        "null_billing_when_logged_out",
        "FLOWGLAD_NULL_BILLING_WHEN_LOGGED_OUT",
        parse_bool,
        False,
        "Answer a logged-out customers/billing with {data: null} instead of 401.",
        "bool",
    ),
    Option(
        "max_body_bytes",
        "FLOWGLAD_MAX_BODY_BYTES",
        parse_count,
        64 * 1024,
        "Largest request body the React SDK's routes and the webhook endpoint read;"
        " larger ones answer 413.",
        "int",
    ),
    Option(
        "webhook_secret",
        "FLOWGLAD_WEBHOOK_SECRET",
        parse_webhook_secrets,
        None,
        "Flowglad's webhook signing secret (whsec_...), or a list while rotating; when set,"
        " the webhook endpoint is served.",
        "str | list[str]",
    ),
    Option(
        "webhook_path",
        "FLOWGLAD_WEBHOOK_PATH",
        parse_path,
        "/webhooks/flowglad",
        "Where the webhook endpoint is served (POST); outside FLOWGLAD_URL_PREFIX.",
        "str",
    ),
    Option(
        "webhook_store",
        "FLOWGLAD_WEBHOOK_STORE",
        parse_store,
        None,
        "Where handled webhook ids are kept: a store (redis:// URL, SQLite file, or a"
        " Flask-Caching Cache); by default the billing cache's store when there is one, else"
        " flowglad-webhooks.sqlite3 in the instance folder. Relative paths are the instance"
        " folder's.",
        "str | Cache",
    ),
    Option(
        "openapi_path",
        "FLOWGLAD_OPENAPI_PATH",
        parse_optional_path,
        None,
        "Serve the OpenAPI document of the React SDK's routes at this path (GET); off when unset.",
        "str | None",
    ),
    Option(
        "billing_cache",
        "FLOWGLAD_BILLING_CACHE",
        parse_store,
        None,
        "Share customers' billing between workers and machines: a store (a redis:// URL, a"
        " SQLite file for one machine, or a Flask-Caching Cache). Off by default.",
        "str | Cache",
    ),
    Option(
        "billing_cache_ttl",
        "FLOWGLAD_BILLING_CACHE_TTL",
        parse_seconds,
        60.0,
        "Seconds a shared billing entry lives: the longest a change made outside the app"
        " (dashboard, renewal) goes unseen without webhooks.",
        "float",
    ),
    Option(
        "billing_cache_timeout",
        "FLOWGLAD_BILLING_CACHE_TIMEOUT",
        parse_seconds,
        0.25,
        "Seconds each call to a redis:// store may take; past it the billing is read from"
        " Flowglad.",
        "float",
    ),
    Option(
        "stale_if_error",
        "FLOWGLAD_STALE_IF_ERROR",
        parse_seconds_or_off,
        900.0,
        "Seconds past its TTL a shared billing entry may still answer reads, feature checks"
        " and templates while Flowglad fails, times out or rate-limits (never writes, never"
        " after a change dropped it); 0 turns it off. Entries stay this much longer in the"
        " store.",
        "float",
    ),
    Option(
        "billing_cache_checkout_window",
        "FLOWGLAD_BILLING_CACHE_CHECKOUT_WINDOW",
        parse_seconds,
        600.0,
        "Seconds after a checkout session is created during which the customer's billing"
        " bypasses the shared cache, so the checkout's outcome shows at once.",
        "float",
    ),
    Option(
        "usage_outbox",
        "FLOWGLAD_USAGE_OUTBOX",
        parse_outbox,
        None,
        "Where record_usage keeps usage events until a worker sends them: Flask-SQLAlchemy's"
        " db (the event commits with the app's change), a postgresql:// URL, a redis:// URL,"
        " or a SQLite file (sqlite:///path). Off by default.",
        "str | SQLAlchemy",
    ),
    Option(
        "usage_batch_size",
        "FLOWGLAD_USAGE_BATCH_SIZE",
        parse_batch_size,
        500,
        "Usage events per request to Flowglad's bulk endpoint (1 to 1000).",
        "int",
    ),
    Option(
        "usage_linger",
        "FLOWGLAD_USAGE_LINGER",
        parse_seconds,
        1.0,
        "Seconds a usage worker waits after a batch that was not full, so events gather.",
        "float",
    ),
    Option(
        "usage_lease",
        "FLOWGLAD_USAGE_LEASE",
        parse_seconds,
        60.0,
        "Seconds a worker holds a claimed batch; a batch of a worker that died is sent"
        " again after it. Each batch's calls to Flowglad end within half of it.",
        "float",
    ),
)

#: The server-rendered billing pages (:mod:`flask_flowglad.ui`) and the React SDK's routes.
OPTIONS += (
    Option(
        "react_routes",
        "FLOWGLAD_REACT_ROUTES",
        parse_bool,
        True,
        "Serve the React SDK's routes at FLOWGLAD_URL_PREFIX; False for an app that renders"
        " its billing pages on the server only.",
        "bool",
    ),
    Option(
        "ui",
        "FLOWGLAD_UI",
        parse_bool,
        False,
        "Serve the server-rendered billing pages (pricing, billing, plan change, cancel,"
        " checkout) at FLOWGLAD_UI_PREFIX.",
        "bool",
    ),
    Option(
        "ui_prefix",
        "FLOWGLAD_UI_PREFIX",
        parse_url_prefix,
        "/billing",
        "Where the billing pages are served.",
        "str",
    ),
    Option(
        "ui_base_template",
        "FLOWGLAD_UI_BASE_TEMPLATE",
        parse_template_name,
        "base.html",
        "The app's layout template the billing pages extend.",
        "str",
    ),
    Option(
        "ui_content_block",
        "FLOWGLAD_UI_CONTENT_BLOCK",
        parse_block_name,
        "content",
        "The block of the layout template the billing pages fill.",
        "str",
    ),
    Option(
        "ui_signup_endpoint",
        "FLOWGLAD_UI_SIGNUP_ENDPOINT",
        parse_optional_endpoint,
        None,
        "Where a visitor who picks a plan signs up (an endpoint such as 'auth.signup'; it"
        " is sent ?next= back to the plan); else flask-login's login_view.",
        "str | None",
    ),
)

OPTIONS_BY_NAME: dict[str, Option] = {option.name: option for option in OPTIONS}
KNOWN_KEYS: frozenset[str] = frozenset(option.key for option in OPTIONS)


@dataclass(frozen=True)
class FlowgladSettings:
    """The resolved settings of one app (see :data:`OPTIONS` for each)."""

    secret_key: str | None
    base_url: str
    url_prefix: str
    connect_timeout: float
    read_timeout: float
    request_deadline: float
    max_retries: int
    max_retry_wait: float
    fail_open: bool
    sandbox: Any
    sandbox_pricing: str | None
    null_billing_when_logged_out: bool
    max_body_bytes: int
    webhook_secret: tuple[str, ...] | None
    webhook_path: str
    webhook_store: Any
    openapi_path: str | None
    billing_cache: Any
    billing_cache_ttl: float
    billing_cache_timeout: float
    stale_if_error: float
    billing_cache_checkout_window: float
    react_routes: bool
    ui: bool
    ui_prefix: str
    ui_base_template: str
    ui_content_block: str
    ui_signup_endpoint: str | None
    usage_outbox: Any
    usage_batch_size: int
    usage_linger: float
    usage_lease: float

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={_shown(name, value)}" for name, value in vars(self).items())
        return f"{type(self).__name__}({shown})"

    @property
    def key_mode(self) -> str:
        """The secret key's mode, as :func:`key_mode` names it: safe to log, unlike the key."""
        return key_mode(self.secret_key)

    @classmethod
    def resolve(cls, config: Mapping[str, Any], options: Mapping[str, Any]) -> FlowgladSettings:
        """Settings from explicit ``options``, then ``config``, then defaults."""
        warn_unknown_keys(config)
        values = {option.name: _resolve(option, config, options) for option in OPTIONS}
        settings = cls(**values)
        settings._check()
        return settings

    def _check(self) -> None:
        if self.sandbox is False and not self.secret_key:
            raise ConfigurationError(
                "FLOWGLAD_SECRET_KEY is not set. Did you forget to put your Flowglad secret"
                " key in app.config['FLOWGLAD_SECRET_KEY'] or the environment? For a local"
                " demo without a Flowglad account, set FLOWGLAD_SANDBOX = True."
            )
        if self.sandbox is not False and self.key_mode == "live":
            raise ConfigurationError(
                "FLOWGLAD_SANDBOX is on while FLOWGLAD_SECRET_KEY is a live key: the sandbox"
                " would grant paid features for free. Turn the sandbox off in production."
            )
        if self.sandbox_pricing and not isinstance(self.sandbox, (bool, str)):
            raise ConfigurationError(
                "FLOWGLAD_SANDBOX_PRICING applies to the sandbox FLOWGLAD_SANDBOX = True (or a"
                " file) makes; a Sandbox object has its own pricing model: give it there."
            )
        if self.ui and self.react_routes and _overlaps(self.ui_prefix, self.url_prefix):
            raise ConfigurationError(
                f"FLOWGLAD_UI_PREFIX ({self.ui_prefix}) and FLOWGLAD_URL_PREFIX"
                f" ({self.url_prefix}) overlap: the billing pages and the React SDK's routes"
                " need paths of their own."
            )
        if self.webhook_path.startswith(self.url_prefix.rstrip("/") + "/"):
            raise ConfigurationError(
                f"FLOWGLAD_WEBHOOK_PATH ({self.webhook_path}) must not be under"
                f" FLOWGLAD_URL_PREFIX ({self.url_prefix}), where the React SDK's routes are."
            )


def _overlaps(first: str, second: str) -> bool:
    return first == second or first.startswith(second + "/") or second.startswith(first + "/")


def _shown(name: str, value: Any) -> str:
    """A setting as a repr may show it: the key masked, the webhook secrets never, a cache
    URL's password masked."""
    if name == "secret_key":
        value = masked_key(value)
    elif name == "webhook_secret":
        value = "<set>" if value else "<not set>"
    elif name in ("billing_cache", "usage_outbox") and isinstance(value, str):
        value = mask_url_password(value)
    return repr(value)


def _resolve(option: Option, config: Mapping[str, Any], options: Mapping[str, Any]) -> Any:
    value = options.get(option.name)
    if value is None:
        value = config.get(option.key)
    if value is None and option.name == "secret_key":
        value = os.environ.get(option.key)
    if value is None:
        return option.default
    return option.parse(value, option.key)


def warn_unknown_keys(config: Mapping[str, Any]) -> None:
    """A ``FLOWGLAD_*`` key the extension does not know is probably misspelled."""
    for key in config:
        if not isinstance(key, str) or not key.startswith("FLOWGLAD_") or key in KNOWN_KEYS:
            continue
        close = difflib.get_close_matches(key, sorted(KNOWN_KEYS), n=1)
        hint = f" Did you mean {close[0]}?" if close else ""
        warnings.warn(
            f"Unknown Flowglad setting {key}: it is ignored.{hint}",
            ConfigurationWarning,
            stacklevel=4,
        )
