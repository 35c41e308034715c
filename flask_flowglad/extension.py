"""The :class:`Flowglad` extension object: reads the config, wires the pieces to an app."""

from __future__ import annotations

import hmac
import logging
import time
import uuid
import warnings
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from flask import Flask
from flask_login import user_logged_in, user_logged_out

from .authorization import BillingAuthorizer
from .billing import JSONObject
from .cache import SharedBillingCache, account_hash
from .client import FlowgladClient
from .config import FlowgladSettings, key_mode
from .csrf import exempt_from_csrf
from .delivery import usage_outbox, usage_worker
from .errors import SandboxWarning
from .identity import CustomerIdentity, coerce_identity
from .login import identity_from_flask_login
from .protocol.blueprint import create_blueprint
from .protocol.openapi import serve_openapi
from .service import CustomerBilling
from .state import (
    EXTENSION_NAME,
    FlowgladState,
    SandboxLike,
    drop_request_cache,
    forget_current_customer,
    get_state,
)
from .storage import Store, open_store
from .telemetry import watch_usage_outbox
from .templating import register_templating
from .usage import UsageOutbox, UsageStatus, UsageWorker, open_outbox
from .webhooks.endpoint import register_webhook_endpoint

if TYPE_CHECKING:
    from .sandbox import Sandbox

logger = logging.getLogger("flask_flowglad")

CustomerLoader = Callable[[], "CustomerIdentity | str | None"]
LoaderT = TypeVar("LoaderT", bound=CustomerLoader)
CustomerSource = Callable[[], "Iterable[CustomerIdentity | str]"]
SourceT = TypeVar("SourceT", bound=CustomerSource)
AuthorizerT = TypeVar("AuthorizerT", bound=BillingAuthorizer)


class Flowglad:
    """Flowglad billing for a Flask app.

    ::

        flowglad = Flowglad()

        def create_app():
            app = Flask(__name__)
            flowglad.init_app(app)
            return app

    Each keyword wins over the app's ``FLOWGLAD_*`` key of the same name (the table is
    :data:`flask_flowglad.config.OPTIONS`). One object may serve several apps, each with
    its own config: per-app state lives in ``app.extensions["flowglad"]``.
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        customer_loader: CustomerLoader | None = None,
        secret_key: str | None = None,
        base_url: str | None = None,
        url_prefix: str | None = None,
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
        request_deadline: float | None = None,
        max_retries: int | None = None,
        max_retry_wait: float | None = None,
        fail_open: bool | None = None,
        sandbox: bool | str | Sandbox | None = None,
        sandbox_pricing: str | None = None,
        null_billing_when_logged_out: bool | None = None,
        max_body_bytes: int | None = None,
        webhook_secret: str | list[str] | None = None,
        webhook_path: str | None = None,
        webhook_store: Any = None,
        openapi_path: str | None = None,
        billing_cache: str | Store | Any = None,
        billing_cache_ttl: float | None = None,
        billing_cache_timeout: float | None = None,
        stale_if_error: float | None = None,
        billing_cache_checkout_window: float | None = None,
        react_routes: bool | None = None,
        ui: bool | None = None,
        ui_prefix: str | None = None,
        ui_base_template: str | None = None,
        ui_content_block: str | None = None,
        ui_signup_endpoint: str | None = None,
        usage_outbox: Any = None,
        usage_batch_size: int | None = None,
        usage_linger: float | None = None,
        usage_lease: float | None = None,
    ) -> None:
        self._options: dict[str, Any] = {
            "secret_key": secret_key,
            "base_url": base_url,
            "url_prefix": url_prefix,
            "connect_timeout": connect_timeout,
            "read_timeout": read_timeout,
            "request_deadline": request_deadline,
            "max_retries": max_retries,
            "max_retry_wait": max_retry_wait,
            "fail_open": fail_open,
            "sandbox": sandbox,
            "sandbox_pricing": sandbox_pricing,
            "null_billing_when_logged_out": null_billing_when_logged_out,
            "max_body_bytes": max_body_bytes,
            "webhook_secret": webhook_secret,
            "webhook_path": webhook_path,
            "webhook_store": webhook_store,
            "openapi_path": openapi_path,
            "billing_cache": billing_cache,
            "billing_cache_ttl": billing_cache_ttl,
            "billing_cache_timeout": billing_cache_timeout,
            "stale_if_error": stale_if_error,
            "billing_cache_checkout_window": billing_cache_checkout_window,
            "react_routes": react_routes,
            "ui": ui,
            "ui_prefix": ui_prefix,
            "ui_base_template": ui_base_template,
            "ui_content_block": ui_content_block,
            "ui_signup_endpoint": ui_signup_endpoint,
            "usage_outbox": usage_outbox,
            "usage_batch_size": usage_batch_size,
            "usage_linger": usage_linger,
            "usage_lease": usage_lease,
        }
        self._customer_loader: CustomerLoader = customer_loader or identity_from_flask_login
        self._customer_source: CustomerSource | None = None
        self._billing_authorizer: BillingAuthorizer | None = None
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Read the app's config, create its client and register the API blueprint.

        Also gives every template ``current_billing``, ``has_feature`` and
        ``usage_balance``, and exempts the blueprints it registers (and only those) from
        Flask-WTF's ``CSRFProtect`` (see :mod:`flask_flowglad.csrf` for why that is safe).
        """
        if EXTENSION_NAME in app.extensions:
            raise RuntimeError(
                "Flowglad is already set up on this app. Did you call init_app twice, or"
                " create Flowglad(app) and call init_app(app) too?"
            )
        settings = FlowgladSettings.resolve(app.config, self._options)
        sandbox: SandboxLike | None = None
        exempt: list[str] = []
        if settings.sandbox is not False:
            sandbox, client = _sandbox_client(settings, app)
            from .sandbox import PAGES_PREFIX

            pages = sandbox.pages_blueprint()
            app.register_blueprint(pages, url_prefix=PAGES_PREFIX)
            exempt.append(pages.name)
            # A sandbox in a file is one Flowglad for every process: its entries are shared.
            where = sandbox.base_url + (f"#{sandbox.path}" if sandbox.path else "")
            billing_cache = _billing_cache(
                app, settings, sandbox.secret_key, where, private=sandbox.path is None
            )
            account = (sandbox.secret_key, where)
        else:
            client = _client(settings, str(settings.secret_key), settings.base_url)
            billing_cache = _billing_cache(
                app, settings, str(settings.secret_key), settings.base_url
            )
            account = (str(settings.secret_key), settings.base_url)
        app.extensions[EXTENSION_NAME] = FlowgladState(
            settings,
            client,
            sandbox,
            self.current_identity,
            self.all_customers,
            billing_cache,
            authorizer=lambda: self._billing_authorizer,
            usage_outbox=_usage_outbox(app, settings, *account),
        )
        if settings.react_routes:
            blueprint = create_blueprint()
            app.register_blueprint(blueprint, url_prefix=settings.url_prefix)
            exempt.append(blueprint.name)
        if settings.ui:
            from .ui import register_ui

            # Not exempt from CSRFProtect: its forms carry the token.
            register_ui(app, settings)
        if settings.openapi_path is not None:
            app.add_url_rule(
                settings.openapi_path, "flowglad_openapi", serve_openapi, methods=["GET"]
            )
        if settings.webhook_secret:
            shared = billing_cache.store if billing_cache is not None else None
            exempt.append(register_webhook_endpoint(app, settings, sandbox, shared))
        app.teardown_request(drop_request_cache)
        # A view that logs someone in or out after a billing read gets the new customer's.
        user_logged_in.connect(forget_current_customer, app, weak=False)
        user_logged_out.connect(forget_current_customer, app, weak=False)
        register_templating(app)
        exempt_from_csrf(app, exempt)

    def customer_loader(self, loader: LoaderT) -> LoaderT:
        """Register the function that says who the customer of a request is.

        It returns a :class:`CustomerIdentity` (or a bare external id), or ``None`` when
        nobody is logged in. Use it when the billing entity is not the logged-in user,
        e.g. the user's organization in a B2B app. By default the flask-login
        ``current_user`` is the customer.
        """
        self._customer_loader = loader
        return loader

    def customer_source(self, source: SourceT) -> SourceT:
        """Register the function that lists every account, for ``flask flowglad backfill``.

        It returns an iterable of :class:`CustomerIdentity` (or bare external ids); a
        generator over a database cursor streams without loading every account. Give it a
        ``__len__`` (a list, or a small class) and the progress bar shows an ETA.
        """
        self._customer_source = source
        return source

    def billing_authorizer(self, authorizer: AuthorizerT) -> AuthorizerT:
        """Register the function that says which billing actions the request's user may
        take for the customer: ``authorizer(customer)`` gets the
        :class:`CustomerIdentity` the customer loader returned and returns a collection of
        :data:`~flask_flowglad.authorization.BILLING_ACTIONS` (``{"read"}`` for a member,
        ``ALL_BILLING_ACTIONS`` for an admin).

        Enforced on the billing pages and the React SDK's routes (403 before any call to
        Flowglad). Without one, every logged-in customer may take every action.
        """
        self._billing_authorizer = authorizer
        return authorizer

    def all_customers(self) -> Iterable[CustomerIdentity | str]:
        """The accounts of the registered customer source."""
        if self._customer_source is None:
            raise LookupError(
                "No customer source is registered. Decorate a function that yields every"
                " account with @flowglad.customer_source."
            )
        return self._customer_source()

    # -- per app ---------------------------------------------------------------------

    @property
    def client(self) -> FlowgladClient:
        """The REST client of the current app, for calls the service does not wrap."""
        return get_state().client

    @property
    def settings(self) -> FlowgladSettings:
        """The current app's resolved settings (the secret key is left out of its repr)."""
        return get_state().settings

    @property
    def sandbox(self) -> Sandbox | None:
        """The current app's sandbox, when ``FLOWGLAD_SANDBOX`` is on, to drive in tests."""
        return cast("Sandbox | None", get_state().sandbox)

    # -- customers -------------------------------------------------------------------

    def current_identity(self) -> CustomerIdentity | None:
        """Who the customer of the current request is, by the customer loader."""
        return coerce_identity(self._customer_loader())

    def current_customer(self) -> CustomerBilling | None:
        """The billing service of the logged-in customer, or ``None`` when anonymous."""
        return get_state().current_customer()

    def forget_current_customer(self) -> None:
        """Ask the customer loader again at the request's next billing read: after a view
        switched the request's organization (flask-login's log in and log out do it
        themselves). The loader is otherwise asked once per request."""
        forget_current_customer()

    def for_customer(
        self, external_id: str, name: str | None = None, email: str | None = None
    ) -> CustomerBilling:
        """The billing service of any customer: for sign-up flows, jobs and admin tools."""
        return self.for_identity(CustomerIdentity(str(external_id), name, email))

    def for_identity(self, identity: CustomerIdentity) -> CustomerBilling:
        """The billing service of the customer a loader described."""
        return get_state().for_identity(identity)

    def default_pricing_model(self) -> JSONObject:
        """The organization's default pricing model, for pages shown to anonymous visitors."""
        return get_state().default_pricing_model()

    # -- usage -----------------------------------------------------------------------

    def usage_status(self) -> UsageStatus:
        """The current app's usage outbox at a glance: pending events, the oldest one's
        age, events sent in the last minute, dead letters. For health checks and metrics.

        .. versionadded:: 0.1
        """
        return usage_outbox().status()

    def usage_worker(self, **settings: Any) -> UsageWorker:
        """A worker sending the current app's usage outbox to Flowglad; ``settings``
        (``batch_size``, ``linger``, ``lease``, ...) win over the app's config. Run it with
        :meth:`~flask_flowglad.usage.UsageWorker.run` or ``drain``.

        .. versionadded:: 0.1
        """
        return usage_worker(**settings)


def init_app(app: Flask, **options: Any) -> Flowglad:
    """Set Flowglad up on ``app`` with a new :class:`Flowglad` and return it."""
    extension = Flowglad(**options)
    extension.init_app(app)
    return extension


def _client(
    settings: FlowgladSettings, secret_key: str, base_url: str, **transport: Any
) -> FlowgladClient:
    return FlowgladClient(
        secret_key,
        base_url=base_url,
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        max_retries=settings.max_retries,
        max_retry_wait=settings.max_retry_wait,
        **transport,
    )


def _billing_cache(
    app: Flask,
    settings: FlowgladSettings,
    secret_key: str,
    base_url: str,
    *,
    private: bool = False,
) -> SharedBillingCache | None:
    """The shared billing cache, keyed to the account and mode of ``secret_key``.

    ``private`` for an in-memory sandbox: it is this app's own, and each forked worker has
    its own copy, so its entries are this app's and this process's only.
    """
    if settings.billing_cache is None:
        return None
    store = open_store(
        settings.billing_cache, timeout=settings.billing_cache_timeout, root=app.instance_path
    )
    return SharedBillingCache(
        store,
        mode=key_mode(secret_key),
        account=account_hash(secret_key, base_url, uuid.uuid4().hex if private else ""),
        ttl=settings.billing_cache_ttl,
        checkout_window=settings.billing_cache_checkout_window,
        stale_if_error=settings.stale_if_error,
        per_process=private,
        seal_key=hmac.new(secret_key.encode(), b"flask-flowglad billing seal", "sha256").digest(),
    )


def _usage_outbox(
    app: Flask, settings: FlowgladSettings, secret_key: str, base_url: str
) -> UsageOutbox | None:
    """The usage outbox; a Redis one keyed to the account and mode of ``secret_key``."""
    if settings.usage_outbox is None:
        return None
    namespace = f"{key_mode(secret_key)}:{account_hash(secret_key, base_url)}"
    outbox = open_outbox(settings.usage_outbox, root=app.instance_path, namespace=namespace)
    # Its pending count, oldest age and dead letters as gauges, read when the SDK collects
    # (in an app context: Flask-SQLAlchemy's engine exists only there).
    return watch_usage_outbox(outbox, app.app_context)


def _sandbox_client(settings: FlowgladSettings, app: Flask) -> tuple[Sandbox, FlowgladClient]:
    from .sandbox.core import SIMULATED_WARNING, configured_sandbox

    sandbox = configured_sandbox(
        settings.sandbox,
        settings.sandbox_pricing,
        instance_path=app.instance_path,
        root_path=app.root_path,
    )
    warnings.warn(SIMULATED_WARNING, SandboxWarning, stacklevel=4)
    # The sandbox is reached through its own base URL, whatever FLOWGLAD_BASE_URL says.
    client = _client(
        settings,
        sandbox.secret_key,
        sandbox.base_url,
        adapter=sandbox.adapter(),
        sleep=sandbox.retry_sleep or time.sleep,
    )
    return sandbox, client
