"""The webhook endpoint: verification, signals, de-duplication and failure answers."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from flask_flowglad import Flowglad
from flask_flowglad.errors import ConfigurationError
from flask_flowglad.signals import (
    customer_webhook,
    payment_webhook,
    purchase_webhook,
    subscription_webhook,
    webhook_received,
)

from ..support.apps import make_app
from ..support.webhook_helpers import (
    OTHER_SECRET,
    PATH,
    SECRET,
    body_of,
    post,
    recording,
    signed,
    webhook_app,
)

#: The test vector of ``docs/protocol.md`` §8.1.
VECTOR_BODY = (
    b'{"id":"sub_123","object":"subscription","customer":{"id":"cust_1","externalId":"user_42"},'
    b'"pricingModelId":"pricing_model_abc"}'
)
VECTOR_SIGNATURE = "v1,Y0mC+Lok3MsC0/1elrSftwFPpLVrWFaERcClZBeR+KU="
VECTOR_TIME = 1_700_000_000


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    return webhook_app(tmp_path)


def test_protocol_test_vector_is_accepted_and_dispatched(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(time, "time", lambda: VECTOR_TIME + 5.0)
    headers = {
        "svix-id": "msg_2Lz8yJ3kQ1wXyZ",
        "svix-timestamp": str(VECTOR_TIME),
        "svix-signature": f"v0,xxx {VECTOR_SIGNATURE}",
    }
    with recording(subscription_webhook) as seen:
        response = post(app, VECTOR_BODY, headers)
    assert response.status_code == 200
    assert response.json == {"data": {"received": True, "duplicate": False}}
    [(sender, event)] = seen
    assert sender is app
    assert (event.id, event.object, event.object_id) == (
        "msg_2Lz8yJ3kQ1wXyZ",
        "subscription",
        "sub_123",
    )
    assert (event.customer_external_id, event.customer_id) == ("user_42", "cust_1")
    assert event.pricing_model_id == "pricing_model_abc"
    assert event.type is None
    assert event.timestamp == VECTOR_TIME
    assert event.payload["customer"] == {"id": "cust_1", "externalId": "user_42"}


def test_sandbox_signer_reproduces_the_protocol_vector() -> None:
    from flask_flowglad.webhooks import sign

    assert sign(SECRET, "msg_2Lz8yJ3kQ1wXyZ", VECTOR_TIME, VECTOR_BODY) == VECTOR_SIGNATURE


def _refused(app: Flask, body: bytes, headers: dict[str, str]) -> None:
    with recording(webhook_received) as seen:
        response = post(app, body, headers)
    assert response.status_code == 400
    assert response.json["data"] is None
    assert response.json["error"]["code"] == "invalid_webhook"
    assert seen == []


@pytest.mark.parametrize("missing", ["svix-id", "svix-timestamp", "svix-signature"])
def test_missing_header_is_400_and_dispatches_nothing(app: Flask, missing: str) -> None:
    body = body_of()
    headers = {k: v for k, v in signed(body).items() if k != missing}
    _refused(app, body, headers)


def test_empty_header_counts_as_missing(app: Flask) -> None:
    body = body_of()
    _refused(app, body, {**signed(body), "svix-id": ""})


def test_tampered_body_is_400(app: Flask) -> None:
    body = body_of()
    _refused(app, body.replace(b"user_42", b"user_43"), signed(body))


def test_signature_by_another_secret_is_400(app: Flask) -> None:
    body = body_of()
    _refused(app, body, signed(body, secret=OTHER_SECRET))


def test_signature_of_another_id_is_400(app: Flask) -> None:
    body = body_of()
    headers = signed(body, "msg_1")
    _refused(app, body, {**headers, "svix-id": "msg_2"})


def test_non_v1_signatures_are_ignored(app: Flask) -> None:
    body = body_of()
    good = signed(body)["svix-signature"]
    _refused(app, body, signed(body, signature=good.replace("v1,", "v2,")))


def test_delivery_older_than_300_seconds_is_400_and_a_fresh_one_passes(app: Flask) -> None:
    body = body_of()
    now = int(time.time())
    _refused(app, body, signed(body, "msg_old", timestamp=now - 310))
    assert post(app, body, signed(body, "msg_edge", timestamp=now - 295)).status_code == 200


def test_delivery_dated_over_60_seconds_ahead_is_400_and_less_passes(app: Flask) -> None:
    body = body_of()
    now = int(time.time())
    _refused(app, body, signed(body, "msg_future", timestamp=now + 70))
    assert post(app, body, signed(body, "msg_soon", timestamp=now + 50)).status_code == 200


def test_non_numeric_timestamp_is_400(app: Flask) -> None:
    body = body_of()
    headers = signed(body)
    _refused(app, body, {**headers, "svix-timestamp": "17e8"})


def test_non_utf8_body_is_400(app: Flask) -> None:
    import base64
    import hashlib
    import hmac

    body = b'{"id":"sub_1","object":"subscription","x":"\xff\xfe"}'
    sent = int(time.time())
    key = base64.b64decode(SECRET[6:])
    digest = hmac.new(key, f"msg_1.{sent}.".encode() + body, hashlib.sha256).digest()
    signature = "v1," + base64.b64encode(digest).decode()
    _refused(app, body, signed(body, timestamp=sent, signature=signature))


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[1, 2]", b'{"object": "subscription"}', b'{"id": "sub_1", "object": 7}'],
)
def test_signed_body_that_is_no_event_is_400(app: Flask, body: bytes) -> None:
    _refused(app, body, signed(body))


def test_get_is_405_json(app: Flask) -> None:
    response = app.test_client().get(PATH)
    assert response.status_code == 405
    assert response.json["error"]["code"] == "method_not_allowed"
    assert response.headers["Allow"] == "POST"


def test_body_over_the_limit_is_413_and_dispatches_nothing(tmp_path: Path) -> None:
    app = webhook_app(tmp_path, FLOWGLAD_MAX_BODY_BYTES=200)
    body = body_of(padding="x" * 300)
    with recording(webhook_received) as seen:
        response = post(app, body, signed(body))
    assert response.status_code == 413
    assert response.json["error"]["code"] == "payload_too_large"
    assert seen == []


# -- signals -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "signal"),
    [
        ("customer", customer_webhook),
        ("subscription", subscription_webhook),
        ("payment", payment_webhook),
        ("purchase", purchase_webhook),
    ],
)
def test_each_object_kind_sends_its_own_signal_after_webhook_received(
    app: Flask, kind: str, signal: Any
) -> None:
    order: list[str] = []

    def on_any(sender: Any, **kw: Any) -> None:
        order.append("any")

    def on_kind(sender: Any, **kw: Any) -> None:
        order.append(kw["event"].object)

    body = body_of(kind, f"{kind}_1")
    kinds = (customer_webhook, subscription_webhook, payment_webhook, purchase_webhook)
    sent: list[Any] = []

    def on_each(sender: Any, **kw: Any) -> None:
        sent.append(sender)

    for each in kinds:
        each.connect(on_each)
    webhook_received.connect(on_any)
    signal.connect(on_kind)
    try:
        assert post(app, body, signed(body)).status_code == 200
    finally:
        webhook_received.disconnect(on_any)
        signal.disconnect(on_kind)
        for each in kinds:
            each.disconnect(on_each)
    assert order == ["any", kind]
    assert sent == [app]


def test_unknown_object_kind_sends_only_webhook_received(app: Flask) -> None:
    body = b'{"id":"scope_1","object":"sync_stream","scopeId":"scope_1","latestSequence":"9"}'
    with recording(webhook_received) as seen, recording(customer_webhook) as customers:
        assert post(app, body, signed(body)).status_code == 200
    [(_, event)] = seen
    assert (event.object, event.customer_external_id) == ("sync_stream", None)
    assert customers == []


def test_event_type_is_read_only_when_the_body_names_one(app: Flask) -> None:
    typed = body_of("payment", "pym_1", type="payment.failed")
    not_an_event = body_of("payment", "pym_2", type="card")
    with recording(payment_webhook) as seen:
        post(app, typed, signed(typed, "msg_a"))
        post(app, not_an_event, signed(not_an_event, "msg_b"))
    assert [event.type for _, event in seen] == ["payment.failed", None]


# -- rotation, replay, de-duplication --------------------------------------------------


def test_either_of_two_secrets_verifies_during_rotation(tmp_path: Path) -> None:
    app = webhook_app(tmp_path, FLOWGLAD_WEBHOOK_SECRET=f"{SECRET}, {OTHER_SECRET}")
    body = body_of()
    assert post(app, body, signed(body, "msg_old", secret=SECRET)).status_code == 200
    assert post(app, body, signed(body, "msg_new", secret=OTHER_SECRET)).status_code == 200
    third = "whsec_" + "A" * 32
    _refused(app, body, signed(body, "msg_third", secret=third))


def test_header_with_old_and_new_signatures_verifies(app: Flask) -> None:
    body = body_of()
    sent = int(time.time())
    old = signed(body, timestamp=sent, secret=OTHER_SECRET)["svix-signature"]
    new = signed(body, timestamp=sent)["svix-signature"]
    response = post(app, body, signed(body, timestamp=sent, signature=f"{old} {new}"))
    assert response.status_code == 200


def test_redelivery_of_a_handled_id_is_acknowledged_and_not_dispatched(app: Flask) -> None:
    body = body_of()
    with recording(webhook_received) as seen:
        first = post(app, body, signed(body, "msg_dup"))
        # Svix signs each attempt anew: same id, new timestamp.
        again = post(app, body, signed(body, "msg_dup", timestamp=int(time.time()) + 1))
        replay = post(app, body, signed(body, "msg_dup"))
    assert first.json["data"] == {"received": True, "duplicate": False}
    assert again.status_code == replay.status_code == 200
    assert again.json["data"] == {"received": True, "duplicate": True}
    assert len(seen) == 1


def test_handled_ids_are_shared_by_apps_on_the_same_store(tmp_path: Path) -> None:
    # Two workers of one machine: two apps (as in two processes) on one SQLite file.
    one, two = webhook_app(tmp_path), webhook_app(tmp_path)
    body = body_of()
    with recording(webhook_received) as seen:
        assert post(one, body, signed(body, "msg_shared")).json["data"]["duplicate"] is False
        assert post(two, body, signed(body, "msg_shared")).json["data"]["duplicate"] is True
    assert len(seen) == 1


def test_concurrent_delivery_of_the_same_id_runs_receivers_once(app: Flask) -> None:
    inside, release = threading.Event(), threading.Event()
    runs: list[str] = []

    def slow(sender: Any, **kw: Any) -> None:
        runs.append(kw["event"].id)
        inside.set()
        assert release.wait(5)

    body = body_of()
    results: dict[str, Any] = {}

    def deliver() -> None:
        results["first"] = post(app, body, signed(body, "msg_race"))

    webhook_received.connect(slow)
    try:
        worker = threading.Thread(target=deliver)
        worker.start()
        assert inside.wait(5)
        second = post(app, body, signed(body, "msg_race"))
        release.set()
        worker.join(5)
        third = post(app, body, signed(body, "msg_race"))
    finally:
        webhook_received.disconnect(slow)
    assert second.status_code == 409
    assert second.json["error"]["code"] == "webhook_in_progress"
    assert results["first"].status_code == 200
    assert third.json["data"]["duplicate"] is True
    assert runs == ["msg_race"]


def test_raising_receiver_is_500_and_the_redelivery_runs_again(app: Flask) -> None:
    attempts: list[str] = []

    def flaky(sender: Any, **kw: Any) -> None:
        attempts.append(kw["event"].id)
        if len(attempts) == 1:
            raise RuntimeError("the database is down")

    body = body_of()
    subscription_webhook.connect(flaky)
    try:
        failed = post(app, body, signed(body, "msg_retry"))
        retried = post(app, body, signed(body, "msg_retry"))
        after = post(app, body, signed(body, "msg_retry"))
    finally:
        subscription_webhook.disconnect(flaky)
    assert failed.status_code == 500
    assert failed.json["error"]["code"] == "webhook_receiver_failed"
    assert "database" not in failed.get_data(as_text=True)
    assert retried.json["data"] == {"received": True, "duplicate": False}
    assert after.json["data"]["duplicate"] is True
    assert attempts == ["msg_retry", "msg_retry"]


class BrokenStore:
    def get(self, key: str) -> Any:
        raise ConnectionError("redis is unreachable")

    def set(self, key: str, value: Any, timeout: int | None = None) -> Any:
        raise ConnectionError("redis is unreachable")

    def delete(self, key: str) -> Any:
        raise ConnectionError("redis is unreachable")


def test_unreachable_store_is_503_and_dispatches_nothing(tmp_path: Path) -> None:
    app = webhook_app(tmp_path, FLOWGLAD_WEBHOOK_STORE=BrokenStore())
    body = body_of()
    with recording(webhook_received) as seen:
        response = post(app, body, signed(body))
    assert response.status_code == 503
    assert response.json["error"]["code"] == "webhook_store_unavailable"
    assert seen == []


class DictStore:
    """A cache backend without ``add``: get, set (with a timeout) and delete."""

    def __init__(self) -> None:
        self.data: dict[str, tuple[Any, float]] = {}

    def get(self, key: str) -> Any:
        value, expires = self.data.get(key, (None, 0.0))
        return value if expires > time.time() else None

    def set(self, key: str, value: Any, timeout: int | None = None) -> bool:
        self.data[key] = (value, time.time() + (timeout or 1e9))
        return True

    def delete(self, key: str) -> bool:
        return self.data.pop(key, None) is not None


def test_any_cache_backend_can_keep_the_handled_ids(tmp_path: Path) -> None:
    store = DictStore()
    app = webhook_app(tmp_path, FLOWGLAD_WEBHOOK_STORE=store)
    body = body_of()
    post(app, body, signed(body, "msg_cache"))
    assert post(app, body, signed(body, "msg_cache")).json["data"]["duplicate"] is True
    assert store.get("flowglad-webhook:msg_cache") == b"handled"


# -- logging and configuration ---------------------------------------------------------


def test_logs_carry_the_delivery_id_and_never_the_secret(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    body = body_of()
    post(app, body, signed(body, "msg_logged"))
    post(app, body, signed(body, "msg_forged", secret=OTHER_SECRET))
    text = caplog.text
    assert "msg_logged" in text and "msg_forged" in text
    assert SECRET not in text and SECRET[6:20] not in text


def test_no_secret_no_endpoint(tmp_path: Path) -> None:
    app = make_app()
    Flowglad(app)
    body = body_of()
    assert app.test_client().post(PATH, data=body, headers=signed(body)).status_code == 404


def test_path_is_configurable(tmp_path: Path) -> None:
    app = webhook_app(tmp_path, FLOWGLAD_WEBHOOK_PATH="hooks/billing/")
    body = body_of()
    response = app.test_client().post("/hooks/billing", data=body, headers=signed(body))
    assert response.status_code == 200


def test_path_under_the_react_prefix_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="FLOWGLAD_URL_PREFIX"):
        webhook_app(tmp_path, FLOWGLAD_WEBHOOK_PATH="/api/flowglad/webhooks")


@pytest.mark.parametrize("secret", ["sk_test_abc", ["whsec_abc", 3], "whsec_", 42])
def test_a_value_that_is_no_webhook_secret_is_refused(tmp_path: Path, secret: Any) -> None:
    with pytest.raises(ConfigurationError, match="FLOWGLAD_WEBHOOK_SECRET"):
        webhook_app(tmp_path, FLOWGLAD_WEBHOOK_SECRET=secret)


def test_settings_repr_hides_the_webhook_secret(app: Flask) -> None:
    assert SECRET not in repr(app.extensions["flowglad"].settings)


def test_default_store_is_a_file_in_the_instance_folder(tmp_path: Path) -> None:
    app = make_app(FLOWGLAD_WEBHOOK_SECRET=SECRET)
    app.instance_path = str(tmp_path / "instance")
    Flowglad(app)
    body = body_of()
    assert post(app, body, signed(body)).status_code == 200
    assert (tmp_path / "instance" / "flowglad-webhooks.sqlite3").is_file()


def test_the_endpoint_loads_nothing_of_the_sandbox() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from flask import Flask\n"
        "from flask_flowglad import Flowglad\n"
        "app = Flask(__name__)\n"
        "app.config.update(FLOWGLAD_SECRET_KEY='sk_live_x', FLOWGLAD_WEBHOOK_SECRET="
        f"{SECRET!r}, FLOWGLAD_WEBHOOK_STORE='unused.sqlite3')\n"
        "Flowglad(app)\n"
        "print(sorted(m for m in sys.modules if m.startswith('flask_flowglad.sandbox')),"
        " sorted(r.rule for r in app.url_map.iter_rules() if 'webhooks' in r.rule))\n"
    )
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[] ['/webhooks/flowglad']"


def test_a_failure_of_the_endpoint_itself_is_a_json_500_and_dispatches_nothing(
    app: Flask, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr("flask_flowglad.webhooks.endpoint.parse_event", broken)
    body = body_of()
    with recording(webhook_received) as seen:
        response = post(app, body, signed(body))
    assert response.status_code == 500
    assert response.json["error"]["code"] == "internal_error"
    assert "a bug" not in response.get_data(as_text=True)
    assert "a bug" in caplog.text
    assert seen == []


def test_of_a_repeated_header_the_first_value_counts(app: Flask) -> None:
    body = body_of()
    headers = list(signed(body, "msg_first").items())
    with recording(webhook_received) as seen:
        first_counts = post(app, body, headers + [("svix-id", "msg_second")])  # type: ignore[arg-type]
        second_counts = post(app, body, [("svix-id", "msg_other")] + headers)  # type: ignore[arg-type]
    assert first_counts.status_code == 200
    # Signed for msg_first, but msg_other came first: not verified.
    assert second_counts.status_code == 400
    assert [event.id for _, event in seen] == ["msg_first"]
