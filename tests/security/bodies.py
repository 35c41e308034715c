"""Request bodies for the attacks: a valid body per action, and mutations of them.

A mutated body carries what the answer must be: ``must_reject`` when the mutation makes it
invalid whatever the server's refactor (a wrong JSON type for a known member, an edge
number, a malformed id, a huge or deeply nested value), and the unknown member names it
added, which must never reach Flowglad.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from .world import OPAQUE_MEMBERS, SUCCESS, Customer

Path = tuple[Any, ...]

#: Members that name a Flowglad object: only the customer's own or the pricing model's.
OBJECT_ID_MEMBERS = frozenset(
    {
        "id",
        "subscriptionId",
        "targetSubscriptionId",
        "priceId",
        "priceSlug",
        "usageMeterId",
        "usageMeterSlug",
        "resourceId",
        "resourceSlug",
        "claimIds",
    }
)
#: Other ids the browser chooses (claims' and events' own keys), sent on to Flowglad.
OTHER_ID_MEMBERS = frozenset({"externalId", "externalIds", "transactionId"})
#: What only the server may decide about a subscription (the price decides the terms).
SUBSCRIPTION_TERMS: dict[str, Any] = {
    "trialEnd": 9_007_199_254_740_991,
    "interval": "year",
    "intervalCount": 99,
    "startDate": "2020-01-01T00:00:00.000Z",
    "doNotCharge": True,
    "name": "Free forever",
    "metadata": {"chosen": "by the browser"},
    "defaultPaymentMethodId": "pm_someone_elses",
    "backupPaymentMethodId": "pm_someone_elses",
}
NOW_MS = 1_767_225_600_000


def valid_bodies(customer: Customer) -> dict[str, list[dict[str, Any]]]:
    """Bodies each action accepts for ``customer`` (on a paid plan, with a claim and a
    checkout session): the seeds every mutation starts from."""
    sub = customer.subscription_id
    return {
        "customers/billing": [{}],
        "customers/find-or-create": [{}],
        "customers/update": [{"customer": {"name": "Ada"}}, {"customer": {"email": "a@x.test"}}],
        "customerDetails": [{}],
        "checkout-sessions/create": [
            {**SUCCESS, "priceSlug": "pro_yearly"},
            {
                **SUCCESS,
                "priceSlug": "report_pack",
                "quantity": 2,
                "outputMetadata": {"order": "o-1"},
                "outputName": "Reports",
            },
        ],
        "checkout-sessions/create-add-payment-method": [
            dict(SUCCESS),
            {**SUCCESS, "targetSubscriptionId": sub},
        ],
        "checkout-sessions/create-activate-subscription": [
            {**SUCCESS, "targetSubscriptionId": sub}
        ],
        "checkout-sessions/retrieve": [{"id": customer.checkout_session_ids[0]}],
        "subscriptions/cancel": [
            {"id": sub, "cancellation": {"timing": "at_end_of_current_billing_period"}}
        ],
        "subscriptions/uncancel": [{"id": sub}],
        "subscriptions/adjust": [
            # Another interval (pro_yearly) is a new plan through checkout, refused here.
            {"priceSlug": "pro_monthly", "quantity": 3},
            {
                "subscriptionId": sub,
                "priceSlug": "pro_monthly",
                "quantity": 2,
                "timing": "immediately",
                "prorate": True,
            },
            {"subscriptionItems": [{"priceSlug": "pro_monthly", "quantity": 1}]},
        ],
        "subscriptions/preview-adjust": [
            {"priceSlug": "pro_monthly", "quantity": 3},
            {"subscriptionId": sub, "priceSlug": "pro_monthly", "quantity": 2},
            {"subscriptionItems": [{"priceSlug": "pro_monthly", "quantity": 1}]},
        ],
        "subscriptions/cancel-scheduled-adjustment": [{}, {"subscriptionId": sub}],
        "subscriptions/create": [{"priceSlug": "free"}, {"priceSlug": "free", "quantity": 1}],
        "subscriptions/list": [{}, {"includeHistorical": True}],
        "usage-events/create": [
            {"usageMeterSlug": "api_calls", "amount": 2},
            {
                "subscriptionId": sub,
                "usageMeterSlug": "api_calls",
                "transactionId": "t-1",
                "properties": {"endpoint": "/v1/x"},
                "usageDate": NOW_MS,
            },
        ],
        "usage-meters/balances": [{}, {"subscriptionId": sub}],
        "features/access": [{}, {"subscriptionId": sub}],
        "payment-methods/list": [{}],
        "invoices/list": [{}, {"limit": 5}],
        "purchases/list": [{}, {"limit": 1}],
        "resources/usages": [{}, {"subscriptionId": sub}],
        "resources/usages/retrieve": [
            {"resourceSlug": "seats"},
            {"subscriptionId": sub, "resourceSlug": "seats"},
        ],
        "resources/claim": [
            {"resourceSlug": "seats", "quantity": 1},
            {"resourceSlug": "seats", "externalIds": ["b@x.test"], "metadata": {"role": "dev"}},
        ],
        "resources/release": [
            {"resourceSlug": "seats", "externalId": customer.claim_external_ids[0]},
            {"resourceSlug": "seats", "claimIds": [customer.claim_ids[0]]},
        ],
        "resources/claims": [{}, {"resourceSlug": "seats"}],
        "pricing-models/retrieve": [{}],
    }


# --- raw JSON -------------------------------------------------------------------------


@dataclass(frozen=True)
class Raw:
    """JSON text put into a body as is (nesting Python's encoder refuses, odd numbers)."""

    text: str
    label: str

    def __repr__(self) -> str:
        return f"<{self.label}>"

    def __deepcopy__(self, memo: dict[int, Any]) -> Raw:
        return self  # immutable: copies keep their identity, so checks can use ``is``


DEPTH = 50_000  # far beyond any recursion limit (hypothesis raises it while it runs)
DEEP_ARRAY = Raw("[" * DEPTH + "]" * DEPTH, f"array nested {DEPTH} deep")
DEEP_OBJECT = Raw('{"a":' * DEPTH + "1" + "}" * DEPTH, f"object nested {DEPTH} deep")
HUGE = "x" * (1 << 20)
LONG_DIGITS = Raw("9" * 1_000, "a 1,000-digit number")
#: Past the 4,300 digits Python converts to an int at all.
LONGER_DIGITS = Raw("9" * 10_000, "a 10,000-digit number")
MINUS_ZERO = Raw("-0", "-0")
MINUS_ZERO_FLOAT = Raw("-0.0", "-0.0")


def dumps(value: Any) -> str:
    """JSON text of ``value``, with :class:`Raw` pieces spliced in; lone surrogates are
    written as ``\\ud800`` escapes, as a browser's ``JSON.stringify`` writes them."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(dumps(v) for v in value) + "]"
    return json.dumps(value)


def short(value: Any) -> str:
    """A readable, bounded description of a body for failure messages."""
    text = repr(value)
    text = text.replace(HUGE, "<1 MB string>")
    return text if len(text) <= 400 else text[:400] + "..."


# --- values ---------------------------------------------------------------------------

#: Values of another JSON type than a member's, by the type of its valid value.
WRONG_TYPES: dict[type, list[Any]] = {
    str: [0, 1.5, True, None, [], {}, ["x"], {"x": "y"}],
    int: ["1", 1.5, True, None, [], {}, [1]],
    bool: ["true", 1, 0, None, [], {}],
    dict: ["x", 1, True, None, [], [{}]],
    list: ["x", 1, True, None, {}],
}
#: Numbers at the edges; none is a valid value for any known member.
EDGE_NUMBERS: list[Any] = [
    *(2**53, 2**64, -(2**63), 1e308, -1e308, 1.5, -1, 1e-300),
    *(LONG_DIGITS, LONGER_DIGITS),
]
#: Numbers at the edges that a member may accept (an integer 0 in disguise).
MAYBE_NUMBERS: list[Any] = [MINUS_ZERO, MINUS_ZERO_FLOAT, 0]
LONE_SURROGATES = ["\ud800", "a\udfffb", "\udbff", "price_\ud83d"]
#: Unusable as an id of a Flowglad object (they would travel in a URL path or a query).
MALFORMED_IDS = [
    "\u202esub_evil",
    "a\u0000b",
    "\U0001f4b3",
    "..",
    "a/b",
    "a%2Fb",
    "../customers/u2/billing",
    "sub_1?x=1",
    "sub_1#x",
    " ",
    "",
    "x" * 10_000,
]
SMALL_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


class Case:
    """One body to send and what its answer must be.

    Not a dataclass: hypothesis prints dataclasses field by field, 1 MB strings included.
    """

    def __init__(self, body: Any) -> None:
        self.body = body
        self.must_reject: list[str] = []
        self.unknown: set[str] = set()
        self.steps: list[str] = []

    def __repr__(self) -> str:
        return f"Case(steps={self.steps}, must_reject={self.must_reject}, body={short(self.body)})"


def members(value: Any, path: Path = (), opaque: bool = False) -> Iterator[tuple[Path, bool]]:
    """Every member path of a body, and whether it lies inside the user's own data."""
    items: Any = ()
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    for key, item in items:
        inside = opaque or (isinstance(key, str) and key in OPAQUE_MEMBERS)
        yield (*path, key), opaque
        yield from members(item, (*path, key), inside)


def get_at(body: Any, path: Path) -> Any:
    for key in path:
        body = body[key]
    return body


def set_at(body: Any, path: Path, value: Any) -> None:
    get_at(body, path[:-1])[path[-1]] = value


def member_name(path: Path) -> str:
    """The member a path ends in (list items are named by their list)."""
    for key in reversed(path):
        if isinstance(key, str):
            return key
    return ""


def _reject_value(value: Any, original: Any, name: str, opaque: bool) -> str | None:
    """Why ``value`` put where ``original`` was makes any body invalid, or ``None``."""
    if value is HUGE:
        return "a 1 MB string"
    if value in (DEEP_ARRAY, DEEP_OBJECT):
        return "JSON nested 1,000+ levels"
    if opaque:
        return None
    if isinstance(value, Raw):
        return "a number at the edge" if value in (LONG_DIGITS, LONGER_DIGITS) else None
    if type(value) is not type(original) and not (value is None and original is None):
        return f"{type(value).__name__} where {name} is a {type(original).__name__}"
    if isinstance(value, str) and any(0xD800 <= ord(c) <= 0xDFFF for c in value):
        if name in OBJECT_ID_MEMBERS or name in OTHER_ID_MEMBERS:
            return f"a lone surrogate in {name}"
    if isinstance(value, str) and value in MALFORMED_IDS and name in OBJECT_ID_MEMBERS:
        return f"a malformed id in {name}"
    if isinstance(value, (int, float)) and value in EDGE_NUMBERS and value not in (0,):
        return f"{value!r} in {name}"
    return None


def replacement(kind: str, original: Any, opaque: bool) -> st.SearchStrategy[Any]:
    """Values of one kind of mutation for a member whose valid value is ``original``."""
    if kind == "text":  # any unicode: whether it is valid there is the server's call
        return st.text(max_size=40)
    if kind == "wrong_type" and not opaque:
        choices = WRONG_TYPES.get(type(original), [None])
    elif kind == "edge":
        choices = EDGE_NUMBERS + MAYBE_NUMBERS
    elif kind == "surrogate":
        choices = LONE_SURROGATES
    elif kind == "malformed":
        choices = MALFORMED_IDS
    else:
        choices = [HUGE, DEEP_ARRAY, DEEP_OBJECT]
    # Copies: a drawn {} or [] may get unknown members added later in the same example.
    return st.sampled_from(choices).map(copy.deepcopy)


@st.composite
def fuzzed(
    draw: st.DrawFn, seeds: list[dict[str, Any]], extra_names: tuple[str, ...] = ()
) -> Case:
    """A valid body, then a deletion, a replacement and unknown members, each maybe."""
    case = Case(copy.deepcopy(draw(st.sampled_from(seeds))))
    body = case.body
    paths = [p for p, opaque in members(body) if not opaque]
    if paths and draw(st.integers(0, 4)) == 0:
        path = draw(st.sampled_from(paths))
        del get_at(body, path[:-1])[path[-1]]
        case.steps.append(f"deleted {path}")
    kind = draw(
        st.sampled_from(
            [
                *("none", "wrong_type", "wrong_type", "edge", "surrogate", "malformed"),
                *("text", "big", "body"),
            ]
        )
    )
    all_paths = list(members(body))
    if kind == "body":
        case.body = body = draw(st.sampled_from([[], [body], "x", 1, None, True, DEEP_ARRAY]))
        case.must_reject.append("the body is not a JSON object")
        case.steps.append(f"body replaced by {short(body)}")
        return case
    if kind != "none" and all_paths:
        path, opaque = draw(st.sampled_from(all_paths))
        original = get_at(body, path)
        name = member_name(path)
        value = draw(replacement(kind, original, opaque))
        set_at(body, path, value)
        case.steps.append(f"{path} = {short(value)}")
        reason = _reject_value(value, original, name, opaque)
        if reason:
            case.must_reject.append(reason)
    if isinstance(body, dict) and draw(st.booleans()):
        for _ in range(draw(st.integers(1, 3))):
            containers = [()] + [
                p
                for p, opaque in members(body)
                if not opaque and p[-1] not in OPAQUE_MEMBERS and isinstance(get_at(body, p), dict)
            ]
            where = draw(st.sampled_from(containers))
            names = st.text("abcXYZ_-.$0", max_size=8).map(lambda s: "unknown" + s)
            name = draw(st.sampled_from(extra_names) | names if extra_names else names)
            value = copy.deepcopy(
                draw(SMALL_JSON | st.sampled_from([HUGE, DEEP_OBJECT, 2**64, "\ud800"]))
            )
            target = get_at(body, where)
            if name in target:
                continue
            target[name] = value
            case.unknown.add(name)
            case.steps.append(f"added {(*where, name)} = {short(value)}")
            if value is HUGE or value is DEEP_OBJECT:
                case.must_reject.append("a huge or deep value in an unknown member")
    return case
