"""The real PyPI client `mparticle==0.16.1` against the emulator's Events API.

The client is pointed at the emulator as docs/mparticle-behaviour.md says: set
`Configuration.host` to `{url}/v2` *before* creating `EventsApi(config)` (the client copies the host
when it is built). What the emulator kept is read back through the control API: the accepted
batches (`/_emulator/mparticle/1000/batches`) and the journal (`/_emulator/requests`).

Expected values are written out by hand from docs/mparticle-behaviour.md (what 0.16.1 puts on
the wire), not derived from the client's own serialisation, so a change on either side shows.
"""

from __future__ import annotations

import json
import time
import warnings
from typing import Any

import pytest

from emulator.testing.plugin import EmulatorHandle
from tests.drivers import ControlViews
from tests.drivers.defaults import S2S
from tests.drivers.pypi import clear_retry_deadline, events_api, mparticle

# rest.py 0.16.1 compares with `is` against a str literal (a SyntaxWarning when Python compiles
# it, i.e. on the first import in a fresh venv): the client's code, not ours.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", SyntaxWarning)
    from mparticle.rest import ApiException

pytestmark = pytest.mark.usefixtures("no_retry_deadline")

WORKSPACE = "1000"
S2S_KEY, S2S_SECRET = S2S
USER_AGENT = "mParticle Python client/0.16.0"  # hard-coded in 0.16.1
IDFA = "b7d0fe34-1a8c-4d29-9a3c-3d8a1e2b5f60"
T0 = 1704103200000  # 2024-01-01 10:00:00 UTC, in ms


def small_batch(customer_id: str, event_name: str) -> Any:
    batch = mparticle.Batch()
    batch.environment = "development"
    batch.user_identities = mparticle.UserIdentities()
    batch.user_identities.customerid = customer_id
    batch.events = [mparticle.AppEvent(event_name, "navigation")]
    return batch


def small_expected(customer_id: str, event_name: str) -> dict[str, Any]:
    return {
        "events": [
            {
                "event_type": "custom_event",
                "data": {"event_name": event_name, "custom_event_type": "navigation"},
            }
        ],
        "environment": "development",
        "user_identities": {"customerid": customer_id},
    }


# ---- upload_events: one full batch ----------------------------------------------------------


def full_batch() -> Any:
    """A batch with every kind of data the task names, built with the client's models."""
    clicked = mparticle.AppEvent(
        event_name="Clicked",
        custom_event_type="navigation",
        timestamp_unixtime_ms=T0,
        custom_attributes={"button": "signup", "count": 3, "ratio": 0.5, "first": True},
    )
    screen = mparticle.ScreenViewEvent(timestamp_unixtime_ms=T0 + 1000, screen_name="Home")

    product = mparticle.Product(id="sku-1", name="Shoe", brand="Acme", price=10.5, quantity=2)
    other = mparticle.Product(id="sku-2", name="Sock", price=1.25, quantity=1)
    action = mparticle.ProductAction(
        action="purchase",
        transaction_id="t-1",
        total_amount=22.25,
        tax_amount=1.0,
        products=[product, other],
    )
    purchase = mparticle.CommerceEvent(product_action=action, timestamp_unixtime_ms=T0 + 2000)
    purchase.currency_code = "USD"

    crash = mparticle.CrashReportEvent(
        timestamp_unixtime_ms=T0 + 3000,
        class_name="NullPointerException",
        severity="fatal",
        message="boom",
        exception_handled=False,
    )

    batch = mparticle.Batch()
    batch.environment = "development"
    batch.source_request_id = "req-0001"
    batch.user_identities = mparticle.UserIdentities()
    batch.user_identities.customerid = "cust-1"
    batch.user_identities.email = "cust-1@example.com"
    batch.user_attributes = {"$firstname": "Ada", "plan": "pro", "foods": ["pizza", "sushi"]}
    batch.device_info = mparticle.DeviceInformation(
        platform="iOS", ios_advertising_id=IDFA, os_version="17.2", locale_country="GB"
    )
    batch.events = [clicked, screen, purchase, crash]
    return batch


# What 0.16.1 sends for full_batch(): None-valued keys dropped, `customerid` (not `customer_id`),
# and the crash report wrapped as a commerce_event (the client's class -> type map).
FULL_EXPECTED: dict[str, Any] = {
    "events": [
        {
            "event_type": "custom_event",
            "data": {
                "timestamp_unixtime_ms": T0,
                "custom_attributes": {"button": "signup", "count": 3, "ratio": 0.5, "first": True},
                "custom_event_type": "navigation",
                "event_name": "Clicked",
            },
        },
        {
            "event_type": "screen_view",
            "data": {"timestamp_unixtime_ms": T0 + 1000, "screen_name": "Home"},
        },
        {
            "event_type": "commerce_event",
            "data": {
                "timestamp_unixtime_ms": T0 + 2000,
                "product_action": {
                    "action": "purchase",
                    "transaction_id": "t-1",
                    "total_amount": 22.25,
                    "tax_amount": 1.0,
                    "products": [
                        {
                            "id": "sku-1",
                            "name": "Shoe",
                            "brand": "Acme",
                            "price": 10.5,
                            "quantity": 2,
                        },
                        {"id": "sku-2", "name": "Sock", "price": 1.25, "quantity": 1},
                    ],
                },
                "currency_code": "USD",
            },
        },
        {
            "event_type": "commerce_event",
            "data": {
                "timestamp_unixtime_ms": T0 + 3000,
                "class_name": "NullPointerException",
                "severity": "fatal",
                "message": "boom",
                "exception_handled": False,
            },
        },
    ],
    "source_request_id": "req-0001",
    "environment": "development",
    "device_info": {
        "platform": "iOS",
        "os_version": "17.2",
        "locale_country": "GB",
        "ios_advertising_id": IDFA,
    },
    "user_attributes": {"$firstname": "Ada", "plan": "pro", "foods": ["pizza", "sushi"]},
    "user_identities": {"customerid": "cust-1", "email": "cust-1@example.com"},
}


def test_upload_events_stores_the_batch_as_sent(
    emulator: EmulatorHandle, views: ControlViews
) -> None:
    before = emulator.client.clock()["now"]
    result = events_api(emulator.url).upload_events(full_batch())
    after = emulator.client.clock()["now"]

    data, status, _headers = result
    assert (data, status) == (None, 202)

    [row] = views.mp_batches()
    assert row["input"] == S2S_KEY
    assert row["historical"] is False
    assert before <= row["received"] <= after
    stored = row["batch"]
    # Field by field first (a readable failure), then the whole document.
    assert stored.keys() == FULL_EXPECTED.keys()
    for field, value in FULL_EXPECTED.items():
        assert stored[field] == value, field
    for index, (got, want) in enumerate(
        zip(stored["events"], FULL_EXPECTED["events"], strict=True)
    ):
        assert got == want, f"events[{index}]"
    assert stored == FULL_EXPECTED

    [entry] = emulator.client.requests(platform="mparticle")
    assert (entry["method"], entry["path"], entry["status"]) == ("POST", "/v2/events", 202)
    assert entry["tenant"] == WORKSPACE
    assert entry["body"] == FULL_EXPECTED  # the journal keeps the same body as received
    assert entry["valid"] is True
    assert entry["validation"]["contract"] == "mparticle/batch"
    assert entry["validation"]["errors"] == []
    assert entry["headers"]["user-agent"] == USER_AGENT
    assert entry["headers"]["content-type"] == "application/json"
    # The Basic secret is masked in the journal; the key stays readable.
    assert entry["headers"]["authorization"] == f"Basic {S2S_KEY}:***"
    assert S2S_SECRET not in str(entry["headers"])


def test_the_crash_report_arrives_as_a_commerce_event_and_is_accepted(
    emulator: EmulatorHandle, views: ControlViews
) -> None:
    """The client's bug: CrashReportEvent is typed commerce_event. The emulator accepts
    it and keeps it as sent, without a product action."""
    batch = mparticle.Batch()
    batch.environment = "production"
    batch.events = [mparticle.CrashReportEvent(message="only a crash")]
    _, status, _ = events_api(emulator.url).upload_events(batch)
    assert status == 202

    [row] = views.mp_batches()
    assert row["batch"] == {
        "events": [{"event_type": "commerce_event", "data": {"message": "only a crash"}}],
        "environment": "production",
    }


# ---- bulk_upload_events -----------------------------------------------------------------------


def test_bulk_upload_events_stores_one_row_per_batch(
    emulator: EmulatorHandle, views: ControlViews
) -> None:
    users = [("bulk-1", "Opened"), ("bulk-2", "Searched"), ("bulk-3", "Closed")]
    _, status, _ = events_api(emulator.url).bulk_upload_events([small_batch(*u) for u in users])
    assert status == 202

    rows = views.mp_batches()
    assert [row["batch"] for row in rows] == [small_expected(*u) for u in users]
    assert all(row["input"] == S2S_KEY and row["historical"] is False for row in rows)

    [entry] = emulator.client.requests(platform="mparticle")
    assert (entry["method"], entry["path"], entry["status"]) == ("POST", "/v2/bulkevents", 202)
    assert entry["body"] == [small_expected(*u) for u in users]
    assert entry["valid"] is True


# ---- authentication ---------------------------------------------------------------------------


def _error_codes(exc: ApiException) -> list[str]:
    body = json.loads(exc.body)
    assert set(body) == {"errors"}, body
    return [error["code"] for error in body["errors"]]


def test_wrong_secret_raises_api_exception_403(
    emulator: EmulatorHandle, views: ControlViews
) -> None:
    with pytest.raises(ApiException) as caught:
        events_api(emulator.url, secret="not-the-secret").upload_events(small_batch("u", "E"))
    assert caught.value.status == 403
    assert _error_codes(caught.value) == ["FORBIDDEN"]
    assert views.mp_batches() == []
    [entry] = emulator.client.requests(platform="mparticle")
    assert (entry["path"], entry["status"]) == ("/v2/events", 403)


def test_empty_key_and_secret_send_basic_colon_and_get_403(
    emulator: EmulatorHandle, views: ControlViews
) -> None:
    """With an empty key and secret the client still sends a header: urllib3's
    make_headers(basic_auth=":") gives `Basic Og==` (base64 of ":"), which is truthy, so the
    client never drops it. The header is present but names no input, hence 403 (not 401, which
    is for a missing header)."""
    config = mparticle.Configuration()
    assert (config.api_key, config.api_secret) == ("", "")
    assert config.get_basic_auth_token() == "Basic Og=="

    with pytest.raises(ApiException) as caught:
        events_api(emulator.url, key="", secret="").bulk_upload_events([small_batch("u", "E")])
    assert caught.value.status == 403
    assert _error_codes(caught.value) == ["FORBIDDEN"]
    assert views.mp_batches() == []
    [entry] = emulator.client.requests(platform="mparticle")
    assert (entry["path"], entry["status"]) == ("/v2/bulkevents", 403)
    assert entry["headers"]["authorization"] == "Basic :***"


# ---- 429 and the client's retry-after deadline ------------------------------------------------


def _add_429(emulator: EmulatorHandle, retry_after: int) -> None:
    # The fault contract (emulator/fault in /_emulator/openapi.json) counts firings with `times`.
    rule = emulator.client.add_fault(
        platform="mparticle", status=429, retry_after=retry_after, times=1
    )
    assert (rule["status"], rule["retry_after"], rule["remaining"]) == (429, retry_after, 1)


def test_429_with_retry_after_raises_and_the_client_waits_it_out(
    emulator: EmulatorHandle, views: ControlViews
) -> None:
    _add_429(emulator, retry_after=1)
    api = events_api(emulator.url)

    with pytest.raises(ApiException) as caught:
        api.upload_events(small_batch("u-429", "E"))
    assert caught.value.status == 429
    assert caught.value.headers["Retry-After"] == "1"
    assert _error_codes(caught.value) == ["TOO_MANY_REQUESTS"]

    # Until the deadline passes the client fails locally; then the request goes through (the
    # fault fired once). Local failures never reach the emulator.
    deadline = time.monotonic() + 5
    while True:
        try:
            _, status, _ = api.upload_events(small_batch("u-429", "E"))
            break
        except ApiException as exc:
            assert exc.status == 429
            assert time.monotonic() < deadline, "the client's retry-after deadline never passed"
            time.sleep(0.05)
    assert status == 202
    assert [e["status"] for e in emulator.client.requests(platform="mparticle")] == [429, 202]
    assert [row["batch"] for row in views.mp_batches()] == [small_expected("u-429", "E")]


def test_429_deadline_is_process_wide_and_can_be_cleared(emulator: EmulatorHandle) -> None:
    _add_429(emulator, retry_after=120)
    with pytest.raises(ApiException) as caught:
        events_api(emulator.url).upload_events(small_batch("u", "E"))
    assert caught.value.status == 429
    assert caught.value.headers["Retry-After"] == "120"

    # Another client in the same process fails at once, without a request, with the remaining
    # seconds as Retry-After.
    with pytest.raises(ApiException) as local:
        events_api(emulator.url).bulk_upload_events([small_batch("u", "E")])
    assert local.value.status == 429
    assert 0 < int(local.value.headers["Retry-After"]) <= 120
    assert [e["status"] for e in emulator.client.requests(platform="mparticle")] == [429]

    clear_retry_deadline()
    _, status, _ = events_api(emulator.url).upload_events(small_batch("u", "E"))
    assert status == 202
    assert [e["status"] for e in emulator.client.requests(platform="mparticle")] == [429, 202]
