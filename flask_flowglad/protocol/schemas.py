"""Input schemas for the actions of the ``@flowglad/react`` protocol: wire JSON in,
typed snake_case Python out, once.

There is one schema per action (each :class:`~flask_flowglad.protocol.actions.Action`
names its own). ``schema.load(body)`` checks a request body and returns a dict whose keys
are the keyword arguments of the matching :class:`~flask_flowglad.service.CustomerBilling`
method, holding only the fields that were sent plus the documented defaults. Wire names
are camelCase (``data_key``, derived from the attribute name by :class:`WireSchema`).

Known members are validated strictly. Unknown members (a field a newer React SDK sends,
or one the server must not take from a browser, such as ``customerExternalId``,
``trialEnd`` or ``defaultPaymentMethodId``) are dropped unread and logged at debug level:
they never reach Flowglad, and upgrading ``@flowglad/react`` never breaks the app.

The customer is never taken from a body: it comes from the server session.

Where this is stricter than the reference server (which mostly does not validate):

* URLs must be absolute ``http``/``https`` URLs; surrounding whitespace is trimmed.
* ``quantity`` and ``amount`` are integers from 1 to 2**31 - 1 (Flowglad stores them as
  32-bit integers). The reference keeps a usage ``amount`` of ``0``, but upstream rejects
  it, so it is a 400 here.
* Integers are JSON integers: ``true``/``false``, strings, fractions, NaN and Infinity are
  rejected (an integral float such as ``2.0`` is accepted, as in JavaScript).
* Identifiers and slugs are 1 to 255 characters, as they end up in upstream URL paths.
* Metadata is at most 50 keys of at most 100 characters; values are strings of at most
  500 characters, numbers or booleans, as upstream requires; ``properties`` may hold any
  JSON except NaN and Infinity (its depth and size are bounded by the blueprint).
* ``customer.phone`` and ``customer.billingAddress`` of ``customers/update`` are validated
  and dropped: upstream keeps them read-only.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any, ClassVar, TypedDict, get_args
from urllib.parse import urlsplit

from marshmallow import (
    EXCLUDE,
    Schema,
    ValidationError,
    fields,
    post_load,
    pre_load,
    validate,
    validates_schema,
)
from marshmallow.exceptions import SCHEMA

from ..service import AdjustmentTiming, CancellationTiming, PriceQuantity

logger = logging.getLogger("flask_flowglad")

#: Largest integer JavaScript represents exactly; timestamps stay below it.
MAX_SAFE_INTEGER = 2**53 - 1
#: Flowglad stores quantities and amounts as 32-bit integers.
MAX_INT32 = 2**31 - 1
#: Longest id, slug or short name accepted.
MAX_ID_LENGTH = 255
MAX_URL_LENGTH = 2048
MAX_METADATA_KEYS = 50
MAX_METADATA_KEY_LENGTH = 100

CANCELLATION_TIMINGS: tuple[str, ...] = get_args(CancellationTiming)
ADJUSTMENT_TIMINGS: tuple[str, ...] = get_args(AdjustmentTiming)


# --- fields ---------------------------------------------------------------------------


class JSONInteger(fields.Field[int]):
    """An integer as JSON (and JavaScript) means it: no booleans, no strings."""

    default_error_messages = {"invalid": "Not a valid integer."}

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> int:
        if isinstance(value, bool):
            raise self.make_error("invalid")
        if isinstance(value, int):
            return value
        # ``is_integer`` is false for NaN and infinities.
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise self.make_error("invalid")


class JSONBoolean(fields.Field[bool]):
    """Only ``true`` and ``false``; marshmallow's Boolean also takes ``1`` and ``"yes"``."""

    default_error_messages = {"invalid": "Not a valid boolean."}

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> bool:
        if value is True or value is False:
            return value
        raise self.make_error("invalid")


class HttpUrl(fields.String):
    """An absolute ``http``/``https`` URL; the user's browser is sent there later."""

    default_error_messages = {"url": "Not a valid absolute http or https URL."}

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> str:
        url = super()._deserialize(value, attr, data, **kwargs).strip()
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 -- raises ValueError on a malformed port
        except ValueError as error:
            raise self.make_error("url") from error
        if (
            parts.scheme.lower() not in ("http", "https")
            or not parts.hostname
            or any(ch.isspace() or not ch.isprintable() for ch in url)
        ):
            raise self.make_error("url")
        return url


class OpaqueObject(fields.Field[dict[str, Any]]):
    """Any JSON object, returned unchanged (it is the user's data, not ours to rename)."""

    default_error_messages = {
        "invalid": "Not a valid object.",
        "special": "NaN and Infinity are not valid JSON.",
    }

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.make_error("invalid")
        if not _is_finite_json(value):
            raise self.make_error("special")
        return value


def _is_finite_json(value: Any) -> bool:
    # Python's json module accepts NaN/Infinity; they could not be sent upstream.
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_is_finite_json(item) for item in value.values())
    if isinstance(value, list):
        return all(_is_finite_json(item) for item in value)
    return True


class Metadata(fields.Field[dict[str, Any]]):
    """Flowglad metadata: values are strings (at most 500 characters), numbers or booleans."""

    default_error_messages = {
        "invalid": "Not a valid object.",
        "value": "Must be a string of at most 500 characters, a number or a boolean.",
        "keys": f"At most {MAX_METADATA_KEYS} keys.",
    }

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.make_error("invalid")
        if len(value) > MAX_METADATA_KEYS:
            raise self.make_error("keys")
        message = self.error_messages["value"]
        errors = {
            key: [message]
            for key, item in value.items()
            if len(key) > MAX_METADATA_KEY_LENGTH or not _is_metadata_value(item)
        }
        if errors:
            raise ValidationError(errors)
        return value


def _is_metadata_value(value: Any) -> bool:
    if isinstance(value, str):
        return len(value) <= 500
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, int)  # bool is an int


#: Flowglad's ids (``sub_...``) and slugs: ASCII letters, digits, ``_ - . :``, starting
#: with a letter or digit. They travel in URL paths and queries, so nothing that could
#: change a URL (``/``, ``?``, ``#``, ``%``, ``..``, spaces, controls, bidi marks) is valid.
#: (Empty matches here so that an empty id gets the one length message.)
_ID = validate.Regexp(
    r"(?:[A-Za-z0-9][A-Za-z0-9_.:\-]*)?\Z",
    error="Must be an id or slug: letters, digits, '_', '-', '.' or ':'.",
)
_ID_LENGTH = validate.Length(
    min=1, max=MAX_ID_LENGTH, error=f"Must be 1 to {MAX_ID_LENGTH} characters."
)


def identifier(**kwargs: Any) -> fields.String:
    """An id or slug of a Flowglad object; upstream puts these in URL paths."""
    return fields.String(validate=[_ID_LENGTH, _ID], **kwargs)


def short_text(**kwargs: Any) -> fields.String:
    """A name or label: at most 255 characters."""
    return fields.String(validate=validate.Length(max=MAX_ID_LENGTH), **kwargs)


def claim_external_id(**kwargs: Any) -> fields.String:
    """A claim's external identifier (not the customer's), as upstream bounds it."""
    return fields.String(validate=validate.Length(max=255), **kwargs)


def count(**kwargs: Any) -> JSONInteger:
    """A quantity or amount: an integer from 1 to what Flowglad stores."""
    return JSONInteger(validate=validate.Range(min=1, max=MAX_INT32), **kwargs)


def epoch_ms(**kwargs: Any) -> JSONInteger:
    """A timestamp in epoch milliseconds, as Flowglad stores them."""
    return JSONInteger(validate=validate.Range(min=0, max=MAX_SAFE_INTEGER), **kwargs)


def choice(choices: tuple[str, ...], **kwargs: Any) -> fields.String:
    """A string enum."""
    return fields.String(validate=validate.OneOf(choices), **kwargs)


def non_empty_list(inner: fields.Field[Any], **kwargs: Any) -> fields.List[Any]:
    """An array of 1 to 100 items."""
    kwargs.setdefault("validate", validate.Length(min=1, max=100))
    return fields.List(inner, **kwargs)


# --- bases ----------------------------------------------------------------------------


def _camel_case(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


class WireSchema(Schema):
    """Base: camelCase on the wire; known members strict, unknown ones dropped and logged.

    ``one_of`` lists groups of attribute names of which exactly one must be present.
    """

    one_of: ClassVar[tuple[tuple[str, ...], ...]] = ()

    class Meta(Schema.Meta):
        unknown = EXCLUDE

    @pre_load
    def _log_unknown(self, data: Any, **kwargs: Any) -> Any:
        if isinstance(data, Mapping):
            known = {field.data_key or name for name, field in self.load_fields.items()}
            unknown = [key for key in data if key not in known]
            if unknown:
                logger.debug("%s: ignored unknown members %s", type(self).__name__, unknown[:20])
        return data

    def on_bind_field(self, field_name: str, field_obj: fields.Field[Any]) -> None:
        if field_obj.data_key is None:
            field_obj.data_key = _camel_case(field_name)

    def wire_name(self, attr: str) -> str:
        """The JSON key of the field stored under ``attr``."""
        return self.fields[attr].data_key or attr

    @validates_schema
    def _check_one_of(self, data: dict[str, Any], **kwargs: Any) -> None:
        messages = []
        for group in self.one_of:
            if sum(name in data for name in group) != 1:
                names = ", ".join(self.wire_name(name) for name in group)
                messages.append(f"Provide exactly one of {names}.")
        if messages:
            raise ValidationError(messages)


class IdSchema(WireSchema):
    """A body naming one object by ``id``; whose object it is, the server checks."""

    id = identifier(required=True)


class SubscriptionScopedSchema(WireSchema):
    """Actions on one of the customer's subscriptions, the current one by default."""

    subscription_id = identifier()


class ListPageSchema(WireSchema):
    """Cursor and page size over a list from the billing payload."""

    limit = JSONInteger(validate=validate.Range(min=0, max=MAX_SAFE_INTEGER))
    starting_after = short_text()


class CheckoutSessionBaseSchema(WireSchema):
    """What every checkout session needs; ``customerExternalId`` comes from the server."""

    success_url = HttpUrl(required=True, validate=validate.Length(max=MAX_URL_LENGTH))
    cancel_url = HttpUrl(required=True, validate=validate.Length(max=MAX_URL_LENGTH))
    output_metadata = Metadata()
    output_name = short_text()


class PriceChoiceSchema(WireSchema):
    """A price given by id or by slug, with a quantity."""

    one_of = (("price_id", "price_slug"),)

    price_id = identifier()
    price_slug = identifier()
    quantity = count(load_default=1)


# --- customers ------------------------------------------------------------------------


class CustomerBillingSchema(WireSchema):
    """``customers/billing``: no input; the customer comes from the server session."""


class CustomerFindOrCreateSchema(WireSchema):
    """``customers/find-or-create``: no input; the customer comes from the server session."""


class PostalAddressSchema(WireSchema):
    """The ``address`` of a billing address (Stripe's shape, hence ``postal_code``)."""

    name = fields.String()
    line1 = fields.String(required=True, allow_none=True)
    line2 = fields.String(required=True, allow_none=True)
    city = fields.String(required=True, allow_none=True)
    state = fields.String(required=True, allow_none=True)
    postal_code = fields.String(required=True, allow_none=True, data_key="postal_code")
    country = fields.String(required=True)


class BillingAddressSchema(WireSchema):
    """``customer.billingAddress`` of ``customers/update``."""

    name = fields.String()
    first_name = fields.String()
    last_name = fields.String()
    email = fields.Email()
    phone = fields.String()
    address = fields.Nested(PostalAddressSchema, required=True)


class CustomerChangesSchema(WireSchema):
    """``customer`` of ``customers/update``; its ``id`` is never used."""

    name = short_text()
    email = fields.Email(validate=validate.Length(max=320))
    phone = short_text()
    billing_address = fields.Nested(BillingAddressSchema)


class CustomerUpdateSchema(WireSchema):
    """``customers/update``: loads the ``name`` and ``email`` to change; the phone and
    billing address are validated, then dropped, since Flowglad keeps them read-only."""

    customer = fields.Nested(CustomerChangesSchema, required=True)

    @post_load
    def _changes(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        changes = data["customer"]
        return {key: changes[key] for key in ("name", "email") if key in changes}


class CustomerDetailsSchema(WireSchema):
    """``customerDetails``: no input."""


# --- checkout sessions ----------------------------------------------------------------


class CheckoutSessionCreateSchema(CheckoutSessionBaseSchema, PriceChoiceSchema):
    """``checkout-sessions/create``: a product checkout for one price."""


class AddPaymentMethodCheckoutSchema(CheckoutSessionBaseSchema):
    """``checkout-sessions/create-add-payment-method``."""

    target_subscription_id = identifier()


class ActivateSubscriptionCheckoutSchema(CheckoutSessionBaseSchema):
    """``checkout-sessions/create-activate-subscription``; the price comes from upstream."""

    target_subscription_id = identifier(required=True)


class CheckoutSessionRetrieveSchema(IdSchema):
    """``checkout-sessions/retrieve``."""


# --- subscriptions --------------------------------------------------------------------


class SubscriptionUncancelSchema(IdSchema):
    """``subscriptions/uncancel``."""


class CancellationSchema(WireSchema):
    """``cancellation`` of ``subscriptions/cancel``."""

    timing = choice(CANCELLATION_TIMINGS, required=True)


class SubscriptionCancelSchema(IdSchema):
    """``subscriptions/cancel``."""

    cancellation = fields.Nested(CancellationSchema, required=True)


class SubscriptionItemSchema(PriceChoiceSchema):
    """One item of ``subscriptionItems`` in ``subscriptions/adjust``."""

    @post_load
    def _item(self, data: dict[str, Any], **kwargs: Any) -> PriceQuantity:
        return PriceQuantity(**data)


class SubscriptionAdjustSchema(SubscriptionScopedSchema):
    """``subscriptions/adjust``: a price by slug (A), by id (B), or a list of items (C)."""

    one_of = (("price_slug", "price_id", "items"),)

    price_slug = identifier()
    price_id = identifier()
    quantity = count()
    items = non_empty_list(
        fields.Nested(SubscriptionItemSchema),
        data_key="subscriptionItems",
        validate=validate.Length(min=1, max=20),
    )
    timing = choice(ADJUSTMENT_TIMINGS, load_default="auto")
    prorate = JSONBoolean()

    @validates_schema
    def _check_quantity_form(self, data: dict[str, Any], **kwargs: Any) -> None:
        if "items" in data and "quantity" in data:
            raise ValidationError(
                "Not allowed with subscriptionItems; give each item its own quantity.",
                "quantity",
            )


class SubscriptionPreviewAdjustSchema(SubscriptionAdjustSchema):
    """``subscriptions/preview-adjust`` (beyond the reference): the body of
    ``subscriptions/adjust``, answered with what that change would charge."""


class SubscriptionCancelScheduledAdjustmentSchema(SubscriptionScopedSchema):
    """``subscriptions/cancel-scheduled-adjustment`` (beyond the reference): undo a plan
    change scheduled for the end of the period."""


class SubscriptionCreateSchema(PriceChoiceSchema):
    """``subscriptions/create``: the price and quantity only.

    The terms of a subscription (trial end, interval, start date, ``doNotCharge``, payment
    methods, name, metadata) change what is charged, so a browser never sets them: sent
    anyway, they are dropped like any unknown member.
    """


class SubscriptionListSchema(WireSchema):
    """``subscriptions/list``."""

    include_historical = JSONBoolean()


# --- usage ----------------------------------------------------------------------------


class UsageEventCreateSchema(SubscriptionScopedSchema):
    """``usage-events/create``; the server fills ``transactionId`` when absent."""

    one_of = (("price_id", "price_slug", "usage_meter_id", "usage_meter_slug"),)

    price_id = identifier()
    price_slug = identifier()
    usage_meter_id = identifier()
    usage_meter_slug = identifier()
    amount = count(load_default=1)
    transaction_id = identifier()
    properties = OpaqueObject()
    usage_date = epoch_ms()


class UsageMeterBalancesSchema(SubscriptionScopedSchema):
    """``usage-meters/balances``."""


class FeatureAccessSchema(SubscriptionScopedSchema):
    """``features/access``."""


# --- resources ------------------------------------------------------------------------


class ResourceUsagesSchema(SubscriptionScopedSchema):
    """``resources/usages`` (React sends no body at all)."""


class ResourceUsageRetrieveSchema(SubscriptionScopedSchema):
    """``resources/usages/retrieve``."""

    one_of = (("resource_slug", "resource_id"),)

    resource_slug = identifier()
    resource_id = identifier()


class ResourceClaimsSchema(SubscriptionScopedSchema):
    """``resources/claims``; ``resourceSlug`` filters."""

    resource_slug = identifier()


class ResourceClaimTargetSchema(SubscriptionScopedSchema):
    """What to claim or release: anonymous claims by count, or named claims.

    ``externalId``/``externalIds`` name claims (e.g. an invited user), never the customer.
    """

    resource_slug = identifier(required=True)
    quantity = count()
    external_id = claim_external_id()
    external_ids = non_empty_list(claim_external_id())


class ResourceClaimSchema(ResourceClaimTargetSchema):
    """``resources/claim``."""

    one_of = (("quantity", "external_id", "external_ids"),)

    metadata = Metadata()


class ResourceReleaseSchema(ResourceClaimTargetSchema):
    """``resources/release``."""

    one_of = (("quantity", "external_id", "external_ids", "claim_ids"),)

    claim_ids = non_empty_list(identifier())


# --- catalog and lists ----------------------------------------------------------------


class PricingModelRetrieveSchema(WireSchema):
    """``pricing-models/retrieve``: no input."""


class PaymentMethodListSchema(WireSchema):
    """``payment-methods/list``: no input."""


class InvoiceListSchema(ListPageSchema):
    """``invoices/list``."""


class PurchaseListSchema(ListPageSchema):
    """``purchases/list``."""


class ValidationIssue(TypedDict):
    """One problem with a request body; ``path`` uses wire names and list indexes."""

    path: list[str | int]
    message: str


def validation_issues(err: ValidationError) -> list[ValidationIssue]:
    """Flatten marshmallow's nested messages into a list, for the 400 envelope.

    ``{"cancellation": {"timing": ["Must be one of: ..."]}}`` becomes
    ``[{"path": ["cancellation", "timing"], "message": "Must be one of: ..."}]``.
    Body-level problems (exclusivity, wrong JSON type) have the path of their object.
    """
    issues: list[ValidationIssue] = []
    _collect(err.messages, [], issues)
    return issues


def _collect(messages: Any, path: list[str | int], issues: list[ValidationIssue]) -> None:
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            _collect(value, path if key == SCHEMA else [*path, key], issues)
    elif isinstance(messages, (list, tuple)):
        for item in messages:
            _collect(item, path, issues)
    else:
        issues.append({"path": path, "message": str(messages)})
