"""The :class:`Flowglad` extension object."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar
from weakref import WeakKeyDictionary

from flask import Flask, current_app, g, has_request_context

from .billing import BillingSnapshot, JSONObject
from .client import FlowgladClient
from .config import OPTION_KEYS, FlowgladSettings
from .identity import CustomerIdentity, coerce_identity, identity_from_flask_login
from .service import CustomerBilling, CustomerCache

if TYPE_CHECKING:
    from .sandbox import Sandbox

#: The one attribute of ``flask.g`` the extension uses: ``{external_id: cache entry}``.
G_CACHE_ATTRIBUTE = "_flowglad_customers"
EXTENSION_NAME = "flowglad"

CustomerLoader = Callable[[], "CustomerIdentity | str | None"]
LoaderT = TypeVar("LoaderT", bound=CustomerLoader)


class SandboxWarning(UserWarning):
    """Billing is simulated: nothing is charged and nothing reaches Flowglad.

    .. versionadded:: 0.1
    """


class _AppState:
    """What the extension keeps for one app: its settings and its client."""

    def __init__(self, settings: FlowgladSettings, client: FlowgladClient, sandbox: Any) -> None:
        self.settings = settings
        self.client = client
        self.sandbox: Sandbox | None = sandbox


class Flowglad:
    """Flowglad billing for a Flask app.

    ::

        flowglad = Flowglad()

        def create_app():
            app = Flask(__name__)
            flowglad.init_app(app)
            return app

    Options given here (``secret_key``, ``base_url``, ``url_prefix``, ``connect_timeout``,
    ``read_timeout``, ``max_retries``, ``fail_open``, ``sandbox``) win over the app's
    ``FLOWGLAD_*`` config.

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        customer_loader: CustomerLoader | None = None,
        **options: Any,
    ) -> None:
        unknown = set(options) - set(OPTION_KEYS)
        if unknown:
            raise TypeError(f"Unknown Flowglad options: {', '.join(sorted(unknown))}.")
        self._options = options
        self._customer_loader: CustomerLoader = customer_loader or identity_from_flask_login
        # One extension object may serve several apps, each with its own config.
        self._states: WeakKeyDictionary[Flask, _AppState] = WeakKeyDictionary()
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Read the app's config, create its client and register the API blueprint."""
        if EXTENSION_NAME in app.extensions:
            raise RuntimeError(
                "Flowglad is already set up on this app. Did you call init_app twice, or"
                " create Flowglad(app) and call init_app(app) too?"
            )
        settings = FlowgladSettings.resolve(app.config, self._options)
        sandbox = None
        if settings.sandbox:
            sandbox, client = self._sandbox_client(settings)
            from .sandbox import PAGES_PREFIX

            app.register_blueprint(sandbox.pages_blueprint(), url_prefix=PAGES_PREFIX)
        else:
            client = FlowgladClient(
                str(settings.secret_key),
                base_url=settings.base_url,
                connect_timeout=settings.connect_timeout,
                read_timeout=settings.read_timeout,
                max_retries=settings.max_retries,
                max_retry_wait=settings.max_retry_wait,
            )
        self._states[app] = _AppState(settings, client, sandbox)
        app.extensions[EXTENSION_NAME] = self

        from .blueprint import create_blueprint

        app.register_blueprint(create_blueprint(), url_prefix=settings.url_prefix)
        app.teardown_request(_drop_request_cache)

    def customer_loader(self, loader: LoaderT) -> LoaderT:
        """Register the function that says who the customer of a request is.

        It returns a :class:`CustomerIdentity` (or a bare external id), or ``None`` when
        nobody is logged in. Use it when the billing entity is not the logged-in user,
        e.g. the user's organization in a B2B app. By default the flask-login
        ``current_user`` is the customer.
        """
        self._customer_loader = loader
        return loader

    # -- per app ---------------------------------------------------------------------

    @property
    def client(self) -> FlowgladClient:
        """The REST client of the current app."""
        return self._state().client

    @property
    def settings(self) -> FlowgladSettings:
        return self._state().settings

    @property
    def sandbox(self) -> Sandbox | None:
        """The current app's sandbox, when ``FLOWGLAD_SANDBOX`` is on."""
        return self._state().sandbox

    def _state(self) -> _AppState:
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        try:
            return self._states[app]
        except KeyError:
            raise RuntimeError(
                "Flowglad is not set up on the current app. Did you forget to call"
                " flowglad.init_app(app)?"
            ) from None

    # -- customers -------------------------------------------------------------------

    def current_identity(self) -> CustomerIdentity | None:
        """Who the customer of the current request is, by the customer loader."""
        return coerce_identity(self._customer_loader())

    def current_customer(self) -> CustomerBilling | None:
        """The billing service of the logged-in customer, or ``None`` when anonymous."""
        identity = self.current_identity()
        return None if identity is None else self.for_identity(identity)

    def for_customer(
        self, external_id: str, name: str | None = None, email: str | None = None
    ) -> CustomerBilling:
        """The billing service of any customer: for sign-up flows, jobs and admin tools."""
        return self.for_identity(CustomerIdentity(str(external_id), name, email))

    def default_pricing_model(self) -> JSONObject:
        """The organization's default pricing model, for pages shown to anonymous visitors."""
        response = self.client.get_default_pricing_model()
        # Flowglad wraps the model; a bare model is accepted too, as Flowglad's server does.
        model = response.get("pricingModel", response) if isinstance(response, dict) else {}
        return model if isinstance(model, dict) else {}

    def for_identity(self, identity: CustomerIdentity) -> CustomerBilling:
        """The billing service of the customer a loader described."""
        return CustomerBilling(self.client, identity, _request_cache())

    @staticmethod
    def _sandbox_client(settings: FlowgladSettings) -> tuple[Sandbox, FlowgladClient]:
        from .sandbox import Sandbox

        sandbox = settings.sandbox if isinstance(settings.sandbox, Sandbox) else Sandbox()
        warnings.warn(
            "FLOWGLAD_SANDBOX is on: billing is simulated in memory, nothing is charged"
            " and nothing reaches Flowglad.",
            SandboxWarning,
            stacklevel=3,
        )
        client = FlowgladClient(
            sandbox.secret_key,
            base_url=sandbox.base_url,
            adapter=sandbox.adapter(),
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
            max_retries=settings.max_retries,
            max_retry_wait=settings.max_retry_wait,
        )
        return sandbox, client


def get_extension() -> Flowglad:
    """The :class:`Flowglad` of the current app."""
    try:
        extension = current_app.extensions[EXTENSION_NAME]
    except KeyError:
        raise RuntimeError(
            "Flowglad is not set up on the current app. Did you forget to call init_app(app)?"
        ) from None
    assert isinstance(extension, Flowglad)
    return extension


def init_app(app: Flask, **options: Any) -> Flowglad:
    """Set Flowglad up on ``app`` with a new :class:`Flowglad` and return it.

    .. versionadded:: 0.1
    """
    extension = Flowglad(**options)
    extension.init_app(app)
    return extension


def load_current_billing() -> BillingSnapshot | None:
    """The logged-in customer's billing (read once per request), or ``None``."""
    customer = get_extension().current_customer()
    return None if customer is None else customer.get_billing()


def _request_cache() -> CustomerCache | None:
    """The request's cache in ``flask.g``; outside a request each service keeps its own."""
    if not has_request_context():
        return None
    cache: CustomerCache | None = g.get(G_CACHE_ATTRIBUTE)
    if cache is None:
        cache = {}
        setattr(g, G_CACHE_ATTRIBUTE, cache)
    return cache


def _drop_request_cache(exc: BaseException | None = None) -> None:
    # A pushed app context (and so ``g``) can outlive a request before Flask 3.2.
    g.pop(G_CACHE_ATTRIBUTE, None)
