"""mParticle → CleverTap event forwarding, end to end (the "event output" of a connection).

Batches go in through mParticle's Events API (hand-written HTTP, and the PyPI `mparticle` 0.16.1
client); after `settle` the test reads CleverTap as a client would (`/1/profile.json` with the
account's headers) and through the control API (the account's events view, the connection's
deliveries, the journal). Expected records are written out by hand from
emulator/bridge/mapping.py's rules and shared/reference/integration-mapping.md §2-§3, never
computed with the mapping itself, so a change on either side shows.

Every test starts from the plugin's reset (default tenants: connection `default` from workspace
`1000` to account `EMU-TEST-0001`).
"""

from __future__ import annotations

import calendar
import copy
import itertools
import socket
import time
import warnings
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from emulator.config import Config
from emulator.server import ThreadedServer
from emulator.testing.client import NotSettled
from emulator.testing.plugin import EmulatorHandle

with warnings.catch_warnings():
    warnings.simplefilter("ignore", SyntaxWarning)  # the client's own code (see the client test)
    import mparticle
    from mparticle.rest import RESTClientObject

ACCOUNT = "EMU-TEST-0001"
WORKSPACE = "1000"
S2S = ("emu-s2s-key", "emu-s2s-secret")
FEED = ("emu-feed-key", "emu-feed-secret")
CT_HEADERS = {"X-CleverTap-Account-Id": ACCOUNT, "X-CleverTap-Passcode": "emu-passcode"}
BRIDGE_AGENT = "ctmp-emulator-bridge"
T0 = 1704103200000  # 2024-01-01 10:00:00 UTC, in ms (older than 72 h: historical-eligible)
T0_S = 1704103200
# Small backoffs: a retried delivery costs milliseconds, not seconds.
FAST = {"max_attempts": 10, "backoff_ms": 1, "max_backoff_ms": 50}
KIT_ONLY_EVENTS: dict[str, dict[str, Any]] = {
    "application_state_transition": {"application_transition_type": "application_initialized"},
    "opt_out": {"is_opted_out": True},
    "push_message": {
        "push_message_token": "tok-1",
        "push_message_type": "received",
        "push_notification_payload": "{}",
    },
    "push_registration": {"register": True, "registration_token": "tok-1"},
    "session_start": {},
    "session_end": {},
}


# ---- helpers -------------------------------------------------------------------------------------


def custom(name: str, ts: int | None = None, **attrs: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"event_name": name, "custom_event_type": "other"}
    if ts is not None:
        data["timestamp_unixtime_ms"] = ts
    if attrs:
        data["custom_attributes"] = attrs
    return {"event_type": "custom_event", "data": data}


def event(kind: str, ts: int | None = T0, **data: Any) -> dict[str, Any]:
    if ts is not None:
        data["timestamp_unixtime_ms"] = ts
    return {"event_type": kind, "data": data}


def commerce(ts: int = T0, **data: Any) -> dict[str, Any]:
    return event("commerce_event", ts, **data)


def batch(
    *events: dict[str, Any],
    customer_id: str | None = "cust-1",
    identities: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    ids = {} if customer_id is None else {"customer_id": customer_id}
    ids.update(identities or {})
    body: dict[str, Any] = {"environment": "development", "events": list(events), **extra}
    if ids:
        body["user_identities"] = ids
    return body


def post(
    http: httpx.Client,
    body: Any,
    path: str = "/v2/events",
    auth: tuple[str, str] = S2S,
) -> None:
    response = http.post(path, json=body, auth=auth)
    assert response.status_code == 202, (path, response.status_code, response.text)


def settle(emulator: EmulatorHandle) -> None:
    result = emulator.client.settle(timeout=15)
    assert result == {"settled": True, "pending": 0}, result


def deliveries(emulator: EmulatorHandle, **filters: Any) -> list[dict[str, Any]]:
    return emulator.client.deliveries("default", flow="events", **filters)


def only_delivery(emulator: EmulatorHandle) -> dict[str, Any]:
    rows = deliveries(emulator)
    assert len(rows) == 1, rows
    return rows[0]


def records(row: dict[str, Any]) -> list[dict[str, Any]]:
    """The `/1/upload` records a delivery sent."""
    assert row["request"]["method"] == "POST" and row["request"]["path"] == "/1/upload", row
    return row["request"]["body"]["d"]  # type: ignore[no-any-return]


def accepted(row: dict[str, Any]) -> dict[str, Any]:
    """`row` was delivered and CleverTap took every record."""
    assert row["status"] == "delivered", row
    assert row["response"]["status"] == 200, row
    assert row["response"]["body"]["status"] == "success", row["response"]
    assert row["response"]["body"]["unprocessed"] == [], row["response"]
    return row


def forward(emulator: EmulatorHandle, http: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    """Send one batch, settle, and answer its delivery, which CleverTap must have taken whole."""
    post(http, body)
    settle(emulator)
    return accepted(only_delivery(emulator))


def ct_profile(http: httpx.Client, identity: str, base: str | None = None) -> dict[str, Any] | None:
    """CleverTap's profile.json record for `identity` (None: CleverTap has no such profile)."""
    url = "/1/profile.json" if base is None else f"{base}/1/profile.json"
    response = http.get(url, params={"identity": identity}, headers=CT_HEADERS)
    assert response.status_code == 200, response.text
    body = response.json()
    if body["status"] == "fail":
        assert body["code"] == 404, body
        return None
    assert body["status"] == "success", body
    return body["record"]  # type: ignore[no-any-return]


def ct_events(emulator: EmulatorHandle, **query: Any) -> list[dict[str, Any]]:
    """The account's events, oldest first: {objectId, identity, evtName, ts, evtData}."""
    response = emulator.client.http.get(
        f"/clevertap/{ACCOUNT}/events", params={"limit": 10000, **query}
    )
    assert response.status_code == 200, response.text
    return response.json()["events"]  # type: ignore[no-any-return]


def ct_profiles(emulator: EmulatorHandle) -> list[dict[str, Any]]:
    response = emulator.client.http.get(f"/clevertap/{ACCOUNT}/profiles", params={"limit": 10000})
    assert response.status_code == 200, response.text
    return response.json()["profiles"]  # type: ignore[no-any-return]


def uploads(emulator: EmulatorHandle) -> list[dict[str, Any]]:
    """Journal entries of `/1/upload` (the bridge's requests among them), oldest first."""
    return emulator.client.requests(platform="clevertap", path="/1/upload")


def named(events: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    return [(e["evtName"], e["evtData"]) for e in events]


def mp_batches(emulator: EmulatorHandle) -> list[dict[str, Any]]:
    response = emulator.client.http.get(f"/mparticle/{WORKSPACE}/batches", params={"limit": 10000})
    assert response.status_code == 200, response.text
    return response.json()["batches"]  # type: ignore[no-any-return]


def connection_doc(emulator: EmulatorHandle) -> dict[str, Any]:
    found = [t for t in emulator.client.tenants() if t["id"] == "default"]
    assert len(found) == 1, found
    return copy.deepcopy(found[0])


def configure(emulator: EmulatorHandle, **changes: Any) -> dict[str, Any]:
    """PUT the default connection with `changes`: a dict merges into that section (or adds it),
    anything else replaces the field."""
    doc = connection_doc(emulator)
    for key, value in changes.items():
        if isinstance(value, dict):
            doc[key] = {**doc.get(key, {}), **value}
        else:
            doc[key] = value
    emulator.client.put_tenant(doc)
    assert connection_doc(emulator) == doc
    return doc


def attempt_statuses(row: dict[str, Any]) -> list[int | None]:
    return [a.get("status") for a in row["attempts"]]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(autouse=True)
def _no_client_retry_deadline() -> Iterator[None]:
    """The PyPI client keeps a process-wide retry-after deadline; start and end without one."""
    RESTClientObject.retry_after_timestamp = calendar.timegm(time.gmtime())
    RESTClientObject.latest_response = None
    yield
    RESTClientObject.retry_after_timestamp = calendar.timegm(time.gmtime())
    RESTClientObject.latest_response = None


def events_api(emulator: EmulatorHandle) -> Any:
    config = mparticle.Configuration()
    config.api_key, config.api_secret = S2S
    config.host = emulator.url + "/v2"  # before EventsApi(config): it copies the host
    return mparticle.EventsApi(config)


# ---- 1. the PyPI client, one full batch ----------------------------------------------------------


def test_pypi_client_batch_lands_in_clevertap(emulator: EmulatorHandle, http: httpx.Client) -> None:
    clicked = mparticle.AppEvent(
        event_name="Clicked",
        custom_event_type="navigation",
        timestamp_unixtime_ms=T0 + 1500,
        custom_attributes={"button": "signup", "count": 3, "ratio": 0.5, "first": True},
    )
    screen = mparticle.ScreenViewEvent(
        timestamp_unixtime_ms=T0 + 2999, screen_name="Home", custom_attributes={"tab": "top"}
    )
    shoe = mparticle.Product(
        id="sku-1",
        name="Shoe",
        brand="Acme",
        category="Footwear",
        variant="red",
        position=1,
        price=10.5,
        quantity=2,
    )
    sock = mparticle.Product(id="sku-2", name="Sock", price=1.25, quantity=1)
    action = mparticle.ProductAction(
        action="purchase",
        transaction_id="T-1",
        affiliation="web-store",
        total_amount=22.25,
        tax_amount=1.0,
        shipping_amount=2.0,
        products=[shoe, sock],
    )
    purchase = mparticle.CommerceEvent(
        product_action=action, timestamp_unixtime_ms=T0 + 4000, currency_code="USD"
    )
    body = mparticle.Batch()
    body.environment = "development"
    body.user_identities = mparticle.UserIdentities()
    body.user_identities.customerid = "cust-ada"  # the client's key: `customerid`
    body.user_identities.email = "ada@example.com"
    body.user_identities.facebook = "fb-ada"
    body.user_identities.google = "g-ada"
    body.user_attributes = {
        "$firstname": "Ada",
        "$lastname": "Lovelace",
        "$gender": "female",
        "$mobile": "+447700900123",
        "$city": "London",
        "$country": "GB",
        "plan": "pro",
    }
    body.events = [clicked, screen, purchase]

    _, status, _ = events_api(emulator).upload_events(body)
    assert status == 202
    settle(emulator)

    (accepted,) = mp_batches(emulator)
    mpid = accepted["resolved"]["mpid"]
    profile_data = {
        "Name": "Ada Lovelace",
        "Gender": "F",
        "Phone": "+447700900123",
        "City": "London",
        "Country": "GB",
        "plan": "pro",
        "Email": "ada@example.com",
        "FBID": "fb-ada",
        "GPID": "g-ada",
    }
    charged = {
        "Transaction Id": "T-1",
        "Affiliation": "web-store",
        "Total Amount": 22.25,
        "Shipping Amount": 2.0,
        "Tax Amount": 1.0,
        "Currency Code": "USD",
        "Amount": 22.25,
        "Charged ID": "T-1",
        "Items": [
            {
                "Id": "sku-1",
                "Name": "Shoe",
                "Brand": "Acme",
                "Category": "Footwear",
                "Variant": "red",
                "Position": 1,
                "Item Price": 10.5,
                "Quantity": 2,
            },
            {"Id": "sku-2", "Name": "Sock", "Item Price": 1.25, "Quantity": 1},
        ],
    }
    # The event timestamps, in seconds (floored): T0+1500 ms -> T0_S+1, T0+2999 ms -> T0_S+2.
    expected_events = [
        ("Clicked", T0_S + 1, {"button": "signup", "count": 3, "ratio": 0.5, "first": True}),
        ("Home", T0_S + 2, {"tab": "top"}),
        ("Charged", T0_S + 4, charged),
    ]

    # CleverTap, as a client reads it.
    record = ct_profile(http, "cust-ada")
    assert record is not None, "no CleverTap profile for the customer id"
    assert record["identity"] == "cust-ada"
    assert record["identities"] == ["cust-ada"]
    assert record["email"] == "ada@example.com"
    assert record["phone"] == "+447700900123"
    assert record["name"] == "Ada Lovelace"
    assert record["profileData"] == profile_data
    assert record["events"] == {
        name: {"count": 1, "first_seen": ts, "last_seen": ts} for name, ts, _ in expected_events
    }
    # The events view: names, properties and the event times in seconds, in batch order.
    seen = ct_events(emulator)
    assert [(e["identity"], e["evtName"], e["ts"], e["evtData"]) for e in seen] == [
        ("cust-ada", name, ts, data) for name, ts, data in expected_events
    ]
    assert len({e["objectId"] for e in seen}) == 1

    # The delivery: one /1/upload with the profile record first, then the events.
    row = only_delivery(emulator)
    assert row["connection"] == "default" and row["flow"] == "events"
    assert row["status"] == "delivered"
    assert row["source"] == {"workspace": WORKSPACE, "input": S2S[0], "mpid": mpid}
    assert row["skipped"] == []
    sent = records(row)
    assert sent[0]["type"] == "profile" and sent[0]["identity"] == "cust-ada"
    assert sent[0]["profileData"] == profile_data
    assert [(r["type"], r["identity"], r["evtName"], r["ts"], r["evtData"]) for r in sent[1:]] == [
        ("event", "cust-ada", name, ts, data) for name, ts, data in expected_events
    ]
    assert attempt_statuses(row) == [200]
    assert row["response"] == {
        "status": 200,
        "body": {"status": "success", "processed": 4, "unprocessed": []},
    }
    # The journal has the bridge's request like any client's.
    (upload,) = uploads(emulator)
    assert (upload["method"], upload["status"], upload["tenant"]) == ("POST", 200, ACCOUNT)
    assert upload["headers"]["user-agent"] == BRIDGE_AGENT
    assert upload["body"] == row["request"]["body"]
    assert upload["valid"] is True


# ---- 2. one test per mapping rule ----------------------------------------------------------------


def test_custom_event_by_name_with_attributes(emulator: EmulatorHandle, http: httpx.Client) -> None:
    attrs = {"q": "shoes", "n": 2, "price": 9.99, "on": False}
    row = forward(
        emulator, http, batch(custom("Searched", T0 + 999, **attrs), custom("Bare", T0 + 1000))
    )
    assert records(row) == [
        {
            "type": "event",
            "identity": "cust-1",
            "ts": T0_S,
            "evtName": "Searched",
            "evtData": attrs,
        },
        {"type": "event", "identity": "cust-1", "ts": T0_S + 1, "evtName": "Bare", "evtData": {}},
    ]
    assert [(e["evtName"], e["ts"], e["evtData"]) for e in ct_events(emulator)] == [
        ("Searched", T0_S, attrs),
        ("Bare", T0_S + 1, {}),
    ]
    record = ct_profile(http, "cust-1")
    assert record is not None and set(record["events"]) == {"Searched", "Bare"}
    # Nothing but the customer id: no profile record, no profile properties.
    assert record["profileData"] == {}


def test_event_without_timestamp_gets_the_receive_time(
    emulator: EmulatorHandle, http: httpx.Client
) -> None:
    row = forward(emulator, http, batch(custom("Untimed")))
    (accepted,) = mp_batches(emulator)
    stamped = accepted["resolved"]["batch"]["events"][0]["data"]["timestamp_unixtime_ms"]
    assert int(accepted["received"] * 1000) == stamped
    ((name, ts),) = [(r["evtName"], r["ts"]) for r in records(row)]
    assert (name, ts) == ("Untimed", stamped // 1000)
    assert [e["ts"] for e in ct_events(emulator)] == [stamped // 1000]


def test_screen_view_by_screen_name(emulator: EmulatorHandle, http: httpx.Client) -> None:
    row = forward(
        emulator,
        http,
        batch(event("screen_view", T0, screen_name="Checkout", custom_attributes={"step": 2})),
    )
    assert records(row) == [
        {
            "type": "event",
            "identity": "cust-1",
            "ts": T0_S,
            "evtName": "Checkout",
            "evtData": {"step": 2},
        }
    ]
    assert named(ct_events(emulator)) == [("Checkout", {"step": 2})]


def test_screen_view_fixed_name_setting(emulator: EmulatorHandle, http: httpx.Client) -> None:
    configure(emulator, event_output={"screen_view": "fixed"})
    forward(
        emulator,
        http,
        batch(
            event("screen_view", T0, screen_name="Checkout", custom_attributes={"step": 2}),
            event("screen_view", T0 + 1000, screen_name="Home"),
        ),
    )
    assert named(ct_events(emulator)) == [
        ("Screen View", {"Screen Name": "Checkout", "step": 2}),
        ("Screen View", {"Screen Name": "Home"}),
    ]
    record = ct_profile(http, "cust-1")
    assert record is not None
    assert record["events"]["Screen View"]["count"] == 2
    assert "Checkout" not in record["events"] and "Home" not in record["events"]


FULL_PRODUCT = {
    "id": "sku-1",
    "name": "Shoe",
    "brand": "Acme",
    "category": "Footwear",
    "variant": "red",
    "position": 3,
    "price": 10.5,
    "quantity": 2,
    "coupon_code": "P10",
    "total_product_amount": 21.0,
    "custom_attributes": {"size": "42"},  # not forwarded: not one of the item keys
}
FULL_ITEM = {
    "Id": "sku-1",
    "Name": "Shoe",
    "Brand": "Acme",
    "Category": "Footwear",
    "Variant": "red",
    "Position": 3,
    "Item Price": 10.5,
    "Quantity": 2,
    "Coupon Code": "P10",
    "Total Product Amount": 21.0,
}
SMALL_PRODUCT = {"id": "sku-2", "name": "Sock", "price": 1.25, "quantity": 1}
SMALL_ITEM = {"Id": "sku-2", "Name": "Sock", "Item Price": 1.25, "Quantity": 1}


def test_purchase_becomes_charged_with_items(emulator: EmulatorHandle, http: httpx.Client) -> None:
    action = {
        "action": "purchase",
        "transaction_id": "T-100",
        "affiliation": "web-store",
        "coupon_code": "SAVE5",
        "total_amount": 24.25,
        "shipping_amount": 3.0,
        "tax_amount": 1.5,
        "products": [FULL_PRODUCT, SMALL_PRODUCT],
    }
    purchase = commerce(
        currency_code="EUR", product_action=action, custom_attributes={"channel": "web"}
    )
    row = forward(emulator, http, batch(purchase))
    charged = {
        "Transaction Id": "T-100",
        "Affiliation": "web-store",
        "Coupon Code": "SAVE5",
        "Total Amount": 24.25,
        "Shipping Amount": 3.0,
        "Tax Amount": 1.5,
        "Currency Code": "EUR",
        "Amount": 24.25,
        "Charged ID": "T-100",
        "Items": [FULL_ITEM, SMALL_ITEM],
    }
    assert records(row) == [
        {
            "type": "event",
            "identity": "cust-1",
            "ts": T0_S,
            "evtName": "Charged",
            "evtData": charged,
        }
    ]
    assert named(ct_events(emulator)) == [("Charged", charged)]
    record = ct_profile(http, "cust-1")
    assert record is not None and record["events"]["Charged"]["count"] == 1


def test_purchase_without_products_is_a_total_event(
    emulator: EmulatorHandle, http: httpx.Client
) -> None:
    action = {"action": "purchase", "transaction_id": "T-0", "total_amount": 5.0, "products": []}
    forward(emulator, http, batch(commerce(product_action=action)))
    assert named(ct_events(emulator)) == [
        (
            "eCommerce - purchase - Total",
            {"Transaction Id": "T-0", "Total Amount": 5.0, "Product Count": 0},
        )
    ]


@pytest.mark.parametrize(
    "action",
    [
        "add_to_cart",
        "remove_from_cart",
        "checkout",
        "checkout_option",
        "click",
        "view_detail",
        "add_to_wishlist",
        "remove_from_wish_list",
    ],
)
def test_product_action_expands_into_item_events(
    emulator: EmulatorHandle, http: httpx.Client, action: str
) -> None:
    product_action = {
        "action": action,
        "checkout_step": 2,
        "checkout_options": "express",
        "product_list_source": "search",
        "products": [FULL_PRODUCT, SMALL_PRODUCT],
    }
    forward(emulator, http, batch(commerce(currency_code="USD", product_action=product_action)))
    totals = {
        "Checkout Step": 2,
        "Checkout Options": "express",
        "Product List Source": "search",
        "Currency Code": "USD",
    }
    assert named(ct_events(emulator)) == [
        (f"eCommerce - {action} - Item", {**FULL_ITEM, **totals}),
        (f"eCommerce - {action} - Item", {**SMALL_ITEM, **totals}),
    ]  # no Total event: only purchase and refund have one


def test_refund_expands_into_items_and_a_total(
    emulator: EmulatorHandle, http: httpx.Client
) -> None:
    product_action = {
        "action": "refund",
        "transaction_id": "T-100",
        "total_amount": 24.25,
        "products": [FULL_PRODUCT, SMALL_PRODUCT],
    }
    forward(emulator, http, batch(commerce(currency_code="EUR", product_action=product_action)))
    totals = {"Transaction Id": "T-100", "Total Amount": 24.25, "Currency Code": "EUR"}
    assert named(ct_events(emulator)) == [
        ("eCommerce - refund - Item", {**FULL_ITEM, **totals}),
        ("eCommerce - refund - Item", {**SMALL_ITEM, **totals}),
        ("eCommerce - refund - Total", {**totals, "Product Count": 2}),
    ]
    assert "Charged" not in {e["evtName"] for e in ct_events(emulator)}


@pytest.mark.parametrize("action", ["view", "click"])
def test_promotion_action_expands_per_promotion(
    emulator: EmulatorHandle, http: httpx.Client, action: str
) -> None:
    promotions = [
        {"id": "promo-1", "name": "Summer", "creative": "banner-a", "position": "top"},
        {"id": "promo-2", "name": "Winter"},
    ]
    promotion_action = {"action": action, "promotions": promotions}
    forward(emulator, http, batch(commerce(promotion_action=promotion_action)))
    assert named(ct_events(emulator)) == [
        (
            f"eCommerce - {action} - Item",
            {"Id": "promo-1", "Name": "Summer", "Creative": "banner-a", "Position": "top"},
        ),
        (f"eCommerce - {action} - Item", {"Id": "promo-2", "Name": "Winter"}),
    ]


def test_impressions_expand_per_product(emulator: EmulatorHandle, http: httpx.Client) -> None:
    impressions = [
        {"product_impression_list": "Search results", "products": [FULL_PRODUCT, SMALL_PRODUCT]},
        {"products": [SMALL_PRODUCT]},
    ]
    forward(emulator, http, batch(commerce(product_impressions=impressions)))
    assert named(ct_events(emulator)) == [
        (
            "eCommerce - Impression - Item",
            {**FULL_ITEM, "Product Impression List": "Search results"},
        ),
        (
            "eCommerce - Impression - Item",
            {**SMALL_ITEM, "Product Impression List": "Search results"},
        ),
        ("eCommerce - Impression - Item", SMALL_ITEM),
    ]


def test_user_attributes_become_profile_properties(
    emulator: EmulatorHandle, http: httpx.Client
) -> None:
    attributes = {
        "$firstname": "Grace",
        "$lastname": "Hopper",
        "$gender": "Female",
        "$mobile": "+15550100",
        "$age": 85,
        "$city": "Arlington",
        "$state": "VA",
        "$zip": "22201",
        "$country": "US",
        "$address": "1 Navy Way",
        "plan": "pro",
        "score": 7.5,
        "tags": ["a", "b"],
    }
    row = forward(emulator, http, batch(user_attributes=attributes))
    expected = {
        "Name": "Grace Hopper",
        "Gender": "F",
        "Phone": "+15550100",
        "Age": 85,
        "City": "Arlington",
        "State": "VA",
        "Zip": "22201",
        "Country": "US",
        "Address": "1 Navy Way",
        "plan": "pro",
        "score": 7.5,
        "tags": ["a", "b"],
    }
    ((profile,),) = [[r for r in records(row) if r["type"] == "profile"]]
    assert profile["identity"] == "cust-1" and profile["profileData"] == expected
    assert len(records(row)) == 1  # no events
    record = ct_profile(http, "cust-1")
    assert record is not None
    assert record["profileData"] == expected
    assert (record["name"], record["phone"]) == ("Grace Hopper", "+15550100")
    assert record["events"] == {}


@pytest.mark.parametrize(
    ("given", "gender"),
    [("male", "M"), ("M", "M"), ("female", "F"), ("f", "F"), ("Other", "O"), ("u", "U")],
)
def test_gender_is_normalised(
    emulator: EmulatorHandle, http: httpx.Client, given: str, gender: str
) -> None:
    forward(emulator, http, batch(user_attributes={"$gender": given}))
    record = ct_profile(http, "cust-1")
    assert record is not None and record["profileData"] == {"Gender": gender}


def test_unknown_gender_is_left_out(emulator: EmulatorHandle, http: httpx.Client) -> None:
    forward(emulator, http, batch(user_attributes={"$gender": "NA", "plan": "pro"}))
    record = ct_profile(http, "cust-1")
    assert record is not None and record["profileData"] == {"plan": "pro"}


def test_first_name_alone_is_the_name(emulator: EmulatorHandle, http: httpx.Client) -> None:
    forward(emulator, http, batch(user_attributes={"$firstname": "Ada"}))
    record = ct_profile(http, "cust-1")
    assert record is not None and record["profileData"] == {"Name": "Ada"}


def test_deleted_user_attributes_remove_properties(
    emulator: EmulatorHandle, http: httpx.Client
) -> None:
    post(http, batch(user_attributes={"plan": "pro", "$city": "Paris", "k": 1}))
    post(http, batch(deleted_user_attributes=["plan", "$city"]))
    settle(emulator)
    first, second = deliveries(emulator)
    accepted(first)
    accepted(second)
    assert records(second) == [
        {
            "type": "profile",
            "identity": "cust-1",
            "ts": records(second)[0]["ts"],
            "profileData": {"plan": {"$delete": True}, "City": {"$delete": True}},
        }
    ]
    record = ct_profile(http, "cust-1")
    assert record is not None
    assert record["profileData"] == {"k": 1}


@pytest.mark.parametrize(
    ("attribute", "value", "prop"),
    [("$mobile", "+33612345678", "Phone"), ("$gender", "female", "Gender"), ("$age", 30, "Age")],
    ids=["mobile", "gender", "age"],
)
def test_deleted_reserved_attribute_removes_its_clevertap_property(
    emulator: EmulatorHandle, http: httpx.Client, attribute: str, value: Any, prop: str
) -> None:
    """`$mobile`, `$gender`, `$age` map to CleverTap's Phone, Gender, Age, so deleting one sends
    `{"<prop>": {"$delete": true}}`: the upload must take it (and the other deletions in the same
    profile record)."""
    post(http, batch(user_attributes={attribute: value, "plan": "pro", "k": 1}))
    post(http, batch(deleted_user_attributes=[attribute, "plan"]))
    settle(emulator)
    first, second = deliveries(emulator)
    accepted(first)
    assert [r["profileData"] for r in records(second)] == [
        {prop: {"$delete": True}, "plan": {"$delete": True}}
    ]
    accepted(second)
    record = ct_profile(http, "cust-1")
    assert record is not None
    assert record["profileData"] == {"k": 1}


def test_user_attribute_change_deleted_removes_the_property(
    emulator: EmulatorHandle, http: httpx.Client
) -> None:
    post(http, batch(user_attributes={"plan": "pro", "$state": "CA", "k": 1}))
    removed = [
        event("user_attribute_change", user_attribute_name="plan", deleted=True, old="pro"),
        event("user_attribute_change", user_attribute_name="$state", deleted=True, old="CA"),
    ]
    post(http, batch(*removed))
    settle(emulator)
    _, second = deliveries(emulator)
    accepted(second)
    assert [r["profileData"] for r in records(second)] == [
        {"plan": {"$delete": True}, "State": {"$delete": True}}
    ]
    assert second["skipped"] == []
    record = ct_profile(http, "cust-1")
    assert record is not None and record["profileData"] == {"k": 1}
    assert record["events"] == {}  # attribute changes are not CleverTap events


def test_user_attribute_change_sets_the_new_value(
    emulator: EmulatorHandle, http: httpx.Client
) -> None:
    post(http, batch(user_attributes={"plan": "pro"}))
    changes = [
        event("user_attribute_change", user_attribute_name="plan", new="enterprise", old="pro"),
        event("user_attribute_change", T0 + 1, user_attribute_name="$gender", new="male"),
        event("user_attribute_change", T0 + 2, user_attribute_name="$mobile", new="+4915112345678"),
        event("user_attribute_change", T0 + 3, user_attribute_name="seats", new=12),
    ]
    post(http, batch(*changes))
    settle(emulator)
    _, second = deliveries(emulator)
    accepted(second)
    assert [r["profileData"] for r in records(second)] == [
        {"plan": "enterprise", "Gender": "M", "Phone": "+4915112345678", "seats": 12}
    ]
    record = ct_profile(http, "cust-1")
    assert record is not None
    assert record["profileData"] == {
        "plan": "enterprise",
        "Gender": "M",
        "Phone": "+4915112345678",
        "seats": 12,
    }


def test_a_name_part_change_keeps_the_full_name(
    emulator: EmulatorHandle, http: httpx.Client
) -> None:
    """The Web SDK sends a `user_attribute_change` event together with all the user's attributes
    in the same batch (tests/test_mparticle_web_sdk.py). Changing the last name must leave
    `Name` as first and last name, as `user_attributes` says, not the last name alone."""
    names = {"$firstname": "Ada", "$lastname": "King"}
    change = event("user_attribute_change", user_attribute_name="$lastname", new="King", old=None)
    row = forward(emulator, http, batch(change, user_attributes=names))
    assert [r["profileData"] for r in records(row)] == [{"Name": "Ada King"}]
    record = ct_profile(http, "cust-1")
    assert record is not None and record["name"] == "Ada King"


@pytest.mark.parametrize("key", ["Employed", "Married", "Education"])
def test_a_list_attribute_named_like_a_clevertap_field_is_no_server_error(
    emulator: EmulatorHandle, http: httpx.Client, key: str
) -> None:
    """A user attribute list under a custom key that CleverTap reserves (`Employed`, `Married`,
    `Education`) cannot be that field's value: CleverTap must refuse the profile record (HTTP 200,
    `unprocessed`), not fail the whole upload with a 500, which the flow retries and then drops
    with the batch's events."""
    configure(emulator, delivery=FAST)
    post(http, batch(custom("Kept"), user_attributes={key: ["Y", "N"]}))
    settle(emulator)
    row = only_delivery(emulator)
    assert attempt_statuses(row) == [200], row["attempts"]
    assert row["status"] == "delivered"
    assert [e["evtName"] for e in ct_events(emulator)] == ["Kept"]


def test_user_identity_change_email_sets_email(
    emulator: EmulatorHandle, http: httpx.Client
) -> None:
    change = event(
        "user_identity_change",
        new={"identity_type": "email", "identity": "new@example.com", "created_this_batch": True},
        old={"identity_type": "email", "identity": "old@example.com"},
    )
    row = forward(emulator, http, batch(change))
    assert [r["profileData"] for r in records(row)] == [{"Email": "new@example.com"}]
    record = ct_profile(http, "cust-1")
    assert record is not None
    assert record["email"] == "new@example.com"
    assert record["profileData"] == {"Email": "new@example.com"}
    assert record["events"] == {}


def test_identities_become_email_phone_fbid_gpid(
    emulator: EmulatorHandle, http: httpx.Client
) -> None:
    identities = {
        "email": "id@example.com",
        "mobile_number": "+15550199",
        "facebook": "fb-9",
        "google": "g-9",
        "other": "not-forwarded",
        "twitter": "not-forwarded-either",
    }
    row = forward(emulator, http, batch(custom("Hello"), identities=identities))
    profile, hello = records(row)
    assert profile == {
        "type": "profile",
        "identity": "cust-1",
        "ts": profile["ts"],
        "profileData": {
            "Email": "id@example.com",
            "Phone": "+15550199",
            "FBID": "fb-9",
            "GPID": "g-9",
        },
    }
    assert hello["evtName"] == "Hello"
    record = ct_profile(http, "cust-1")
    assert record is not None
    assert (record["email"], record["phone"]) == ("id@example.com", "+15550199")
    assert record["profileData"] == profile["profileData"]
    # The profile is also found by its email.
    by_email = http.get("/1/profile.json", params={"email": "id@example.com"}, headers=CT_HEADERS)
    assert by_email.json()["record"]["identity"] == "cust-1"


@pytest.mark.parametrize("kind", sorted(KIT_ONLY_EVENTS))
def test_kit_only_event_is_skipped(emulator: EmulatorHandle, http: httpx.Client, kind: str) -> None:
    # Alone in a batch: nothing to send, the delivery is `skipped` and nothing is uploaded.
    post(http, batch(event(kind, **KIT_ONLY_EVENTS[kind])))
    settle(emulator)
    row = only_delivery(emulator)
    assert row["status"] == "skipped", row
    (skip,) = row["skipped"]
    assert (skip["event"], skip["event_type"]) == (0, kind)
    assert "kit-only" in skip["reason"]
    assert "request" not in row and "attempts" not in row
    assert uploads(emulator) == []
    assert ct_profiles(emulator) == []

    # Beside a custom event: the custom event goes, the kit-only one is listed as skipped.
    emulator.client.reset()
    post(http, batch(custom("Kept", T0), event(kind, T0 + 1, **KIT_ONLY_EVENTS[kind])))
    settle(emulator)
    row = only_delivery(emulator)
    assert row["status"] == "delivered", row
    assert [s["event_type"] for s in row["skipped"]] == [kind]
    assert row["skipped"][0]["event"] == 1 and "kit-only" in row["skipped"][0]["reason"]
    assert [r["evtName"] for r in records(row)] == ["Kept"]
    assert [e["evtName"] for e in ct_events(emulator)] == ["Kept"]


@pytest.mark.parametrize(
    ("kind", "data"),
    [
        ("crash_report", {"message": "boom"}),
        ("breadcrumb", {"label": "here"}),
        ("network_performance", {"url": "https://x.example", "response_code": 200}),
        ("first_run", {}),
    ],
)
def test_other_event_types_are_skipped_with_a_reason(
    emulator: EmulatorHandle, http: httpx.Client, kind: str, data: dict[str, Any]
) -> None:
    row = forward(emulator, http, batch(custom("Kept"), event(kind, **data)))
    assert row["skipped"] == [
        {"event": 1, "event_type": kind, "reason": "event type not forwarded to CleverTap"}
    ]
    assert [e["evtName"] for e in ct_events(emulator)] == ["Kept"]


def test_more_than_1000_records_are_split_into_several_uploads(
    emulator: EmulatorHandle, http: httpx.Client
) -> None:
    events = [custom("E", T0 + i) for i in range(1001)] + [event("session_end")]
    post(http, batch(*events, user_attributes={"plan": "pro"}))
    settle(emulator)
    first, second = deliveries(emulator)
    accepted(first)
    accepted(second)
    assert len(records(first)) == 1000 and len(records(second)) == 2
    assert records(first)[0]["type"] == "profile"
    assert [s["event_type"] for s in first["skipped"]] == ["session_end"]
    assert second["skipped"] == []
    assert first["source"] == second["source"]
    assert [e["status"] for e in uploads(emulator)] == [200, 200]
    record = ct_profile(http, "cust-1")
    assert record is not None and record["events"]["E"]["count"] == 1001
    assert record["profileData"] == {"plan": "pro"}


# ---- 3. the User ID setting ----------------------------------------------------------------------

ALL_IDENTITIES = {
    "customer_id": "cid-7",
    "email": "seven@example.com",
    "other": "o-7",
    "other_id_2": "o2-7",
    "other_id_3": "o3-7",
    "other_id_4": "o4-7",
}
USER_ID_OPTIONS = {
    "customerId": "customer_id",
    "email": "email",
    "other": "other",
    "other2": "other_id_2",
    "other3": "other_id_3",
    "other4": "other_id_4",
}


@pytest.mark.parametrize("option", [*USER_ID_OPTIONS, "mpid"])
def test_user_id_setting_picks_the_identity(
    emulator: EmulatorHandle, http: httpx.Client, option: str
) -> None:
    configure(emulator, event_output={"user_id": option})
    row = forward(
        emulator, http, batch(custom("Picked"), customer_id=None, identities=ALL_IDENTITIES)
    )
    (accepted,) = mp_batches(emulator)
    mpid = accepted["resolved"]["mpid"]
    expected = mpid if option == "mpid" else ALL_IDENTITIES[USER_ID_OPTIONS[option]]
    assert row["source"]["mpid"] == mpid
    assert {r["identity"] for r in records(row)} == {expected}

    record = ct_profile(http, expected)
    assert record is not None, f"no CleverTap profile with identity {expected!r}"
    assert record["identities"] == [expected]
    assert record["events"]["Picked"]["count"] == 1
    assert record["profileData"]["Email"] == "seven@example.com"
    # No other identity became a CleverTap identity.
    for value in {*ALL_IDENTITIES.values(), mpid} - {expected}:
        assert ct_profile(http, value) is None, value
    (profile,) = ct_profiles(emulator)
    assert profile["identities"] == [expected]


@pytest.mark.parametrize("option", list(USER_ID_OPTIONS))
def test_batch_without_the_user_id_identity_is_skipped(
    emulator: EmulatorHandle, http: httpx.Client, option: str
) -> None:
    configure(emulator, event_output={"user_id": option})
    others = {k: v for k, v in ALL_IDENTITIES.items() if k != USER_ID_OPTIONS[option]}
    post(http, batch(custom("Lost"), customer_id=None, identities=others, user_attributes={"a": 1}))
    settle(emulator)
    row = only_delivery(emulator)
    assert row["status"] == "skipped", row
    (skip,) = row["skipped"]
    assert skip["event"] is None and skip["event_type"] is None
    assert option in skip["reason"] and "identity" in skip["reason"], skip
    assert "request" not in row
    assert uploads(emulator) == []
    assert ct_profiles(emulator) == []
    assert ct_events(emulator) == []


# (4. the Web SDK in Chromium: tests/test_bridge_web_sdk.py)


# ---- 5. faults on CleverTap's side ---------------------------------------------------------------


def test_429_and_500_are_retried_and_every_event_arrives_once(
    emulator: EmulatorHandle, http: httpx.Client
) -> None:
    configure(emulator, delivery=FAST)
    client = emulator.client
    # Checked in order, the first that fires wins: three 429s (Retry-After 5 s, capped by the
    # connection's max_backoff_ms), then two 500s, then CleverTap answers again.
    client.add_fault(platform="clevertap", path="/1/upload", status=429, retry_after=5, times=3)
    client.add_fault(platform="clevertap", path="/1/upload", status=500, times=2)

    started = time.monotonic()
    count = 20
    for i in range(count):
        post(http, batch(custom("Tick", T0 + i, n=i), custom(f"Evt-{i:02d}", T0 + i)))
    settle(emulator)
    elapsed = time.monotonic() - started
    # Retry-After 5 s was capped at 50 ms: three honoured in full would take 15 s.
    assert elapsed < 5, elapsed

    rows = deliveries(emulator)
    assert len(rows) == count
    assert all(r["status"] == "delivered" for r in rows), [r["status"] for r in rows]
    # The queue is one request at a time: the first request met every fault and the ones after
    # it none. Batches that queued up behind a request share the next one (`shared`).
    assert attempt_statuses(rows[0]) == [429, 429, 429, 500, 500, 200]
    together = rows[0]["request"].get("shared", {"deliveries": 1})["deliveries"]
    for index, row in enumerate(rows):
        expected = [429, 429, 429, 500, 500, 200] if index < together else [200]
        assert attempt_statuses(row) == expected, row["id"]
    assert all("time" in a for r in rows for a in r["attempts"])
    times = [a["time"] for a in rows[0]["attempts"]]
    assert times == sorted(times)
    assert all(r["response"]["status"] == 200 for r in rows)
    assert all(r["response"]["body"]["processed"] == 2 for r in rows)

    # The journal: the 429s and 500s, then 200s; the records sent are every delivery's records
    # once, in order, and a retried request was sent again unchanged.
    journal = uploads(emulator)
    statuses = [e["status"] for e in journal]
    assert statuses[:5] == [429, 429, 429, 500, 500] and set(statuses[5:]) == {200}
    assert all(e["headers"]["user-agent"] == BRIDGE_AGENT for e in journal)
    assert len({str(e["body"]) for e in journal[:6]}) == 1
    sent = [record for e in journal[5:] for record in e["body"]["d"]]
    assert sent == [record for r in rows for record in r["request"]["body"]["d"]]

    # CleverTap has every event exactly once, in order.
    record = ct_profile(http, "cust-1")
    assert record is not None
    assert {name: v["count"] for name, v in record["events"].items()} == {
        "Tick": count,
        **{f"Evt-{i:02d}": 1 for i in range(count)},
    }
    seen = ct_events(emulator)
    assert len(seen) == 2 * count
    assert [e["evtData"]["n"] for e in seen if e["evtName"] == "Tick"] == list(range(count))


def test_retry_after_is_honoured_up_to_the_cap(
    emulator: EmulatorHandle, http: httpx.Client
) -> None:
    configure(emulator, delivery={"max_attempts": 5, "backoff_ms": 1, "max_backoff_ms": 5000})
    emulator.client.add_fault(
        platform="clevertap", path="/1/upload", status=429, retry_after=1, times=1
    )
    row = forward(emulator, http, batch(custom("Later")))
    assert attempt_statuses(row) == [429, 200]
    first, second = (a["time"] for a in row["attempts"])
    assert second - first >= 0.95, "the retry came before the answer's Retry-After"
    assert [e["evtName"] for e in ct_events(emulator)] == ["Later"]


def test_backoff_doubles_and_exhausted_attempts_fail(
    emulator: EmulatorHandle, http: httpx.Client
) -> None:
    configure(emulator, delivery={"max_attempts": 4, "backoff_ms": 40, "max_backoff_ms": 10000})
    emulator.client.add_fault(platform="clevertap", path="/1/upload", status=500, times=4)
    post(http, batch(custom("Doomed"), user_attributes={"plan": "lost"}))
    settle(emulator)
    row = only_delivery(emulator)
    assert row["status"] == "failed", row
    assert attempt_statuses(row) == [500, 500, 500, 500]
    assert row["response"]["status"] == 500
    times = [a["time"] for a in row["attempts"]]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    for gap, wanted in zip(gaps, (0.04, 0.08, 0.16), strict=True):
        assert gap >= wanted * 0.9, gaps
    assert [e["status"] for e in uploads(emulator)] == [500] * 4
    assert ct_profiles(emulator) == [] and ct_events(emulator) == []

    # The worker carries on with the next batch; the failed one is never sent again.
    post(http, batch(custom("Fine")))
    settle(emulator)
    failed, fine = deliveries(emulator)
    assert failed["status"] == "failed" and attempt_statuses(failed) == [500] * 4
    assert fine["status"] == "delivered" and attempt_statuses(fine) == [200]
    assert [e["evtName"] for e in ct_events(emulator)] == ["Fine"]
    assert [e["status"] for e in uploads(emulator)] == [500] * 4 + [200]


def test_a_4xx_answer_fails_at_once(emulator: EmulatorHandle, http: httpx.Client) -> None:
    configure(emulator, delivery=FAST)
    emulator.client.add_fault(platform="clevertap", path="/1/upload", status=401, times=1)
    post(http, batch(custom("Refused")))
    settle(emulator)
    row = only_delivery(emulator)
    assert row["status"] == "failed" and attempt_statuses(row) == [401]
    assert ct_events(emulator) == []


def test_connection_errors_are_retried_then_fail(
    emulator: EmulatorHandle, http: httpx.Client
) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    configure(
        emulator,
        event_output={"base_url": closed},
        delivery={"max_attempts": 3, "backoff_ms": 1, "max_backoff_ms": 10},
    )
    post(http, batch(custom("Nowhere")))
    settle(emulator)
    row = only_delivery(emulator)
    assert row["status"] == "failed", row
    assert len(row["attempts"]) == 3
    assert all("error" in a and "status" not in a for a in row["attempts"]), row["attempts"]
    assert "response" not in row
    assert uploads(emulator) == [] and ct_events(emulator) == []


def test_a_fault_on_one_connection_does_not_hold_up_another(
    emulator: EmulatorHandle, http: httpx.Client
) -> None:
    """Two connections from workspace 1000: each has its own queue, so the default connection
    retrying 500s does not delay the other one's delivery."""
    client = emulator.client
    client.add_tenant(
        {"kind": "clevertap_account", "id": "EMU-TEST-0002", "passcode": "pc-2", "region": "eu1"}
    )
    client.add_tenant(
        {
            "kind": "connection",
            "id": "second",
            "workspace": WORKSPACE,
            "account": "EMU-TEST-0002",
            "feed": {"enabled": False},
        }
    )
    configure(emulator, delivery={"max_attempts": 5, "backoff_ms": 100, "max_backoff_ms": 100})
    client.add_fault(platform="clevertap", tenant=ACCOUNT, path="/1/upload", status=500, times=3)
    post(http, batch(custom("Both")))
    settle(emulator)

    slow = only_delivery(emulator)
    assert attempt_statuses(slow) == [500, 500, 500, 200]
    (fast,) = client.deliveries("second", flow="events")
    accepted(fast)
    assert attempt_statuses(fast) == [200]
    assert fast["attempts"][0]["time"] < slow["attempts"][1]["time"]
    # Each account has the event once.
    assert [e["evtName"] for e in ct_events(emulator)] == ["Both"]
    other = client.http.get("/clevertap/EMU-TEST-0002/events").json()["events"]
    assert [(e["identity"], e["evtName"]) for e in other] == [("cust-1", "Both")]
    second_journal = client.requests(platform="clevertap", tenant="EMU-TEST-0002")
    assert [e["status"] for e in second_journal] == [200]


# ---- 6. what is never forwarded ------------------------------------------------------------------


def test_historical_batches_are_not_forwarded(emulator: EmulatorHandle, http: httpx.Client) -> None:
    now_ms = int(emulator.client.clock()["now"] * 1000)
    old = batch(custom("Old", T0), user_attributes={"plan": "old"})
    recent = batch(custom("Recent", now_ms - 1000), customer_id="cust-2")  # not processed at all
    post(http, [old, recent], path="/v2/bulkevents/historical")
    settle(emulator)
    stored = mp_batches(emulator)
    assert [b["historical"] for b in stored] == [True, True]
    assert "mpid" in stored[0]["resolved"] and "skipped" in stored[1]["resolved"]

    row = only_delivery(emulator)  # the processed one; the unprocessed one has none
    assert row["status"] == "skipped"
    assert row["source"]["mpid"] == stored[0]["resolved"]["mpid"]
    (skip,) = row["skipped"]
    assert "historical" in skip["reason"]
    assert uploads(emulator) == [] and ct_profiles(emulator) == []


def test_feed_input_batches_are_not_sent_back(emulator: EmulatorHandle, http: httpx.Client) -> None:
    post(http, batch(custom("From CleverTap")), path="/s2s/v2/events", auth=FEED)
    settle(emulator)
    (stored,) = mp_batches(emulator)
    assert stored["input"] == FEED[0]
    row = only_delivery(emulator)
    assert row["status"] == "skipped"
    assert row["source"]["input"] == FEED[0]
    (skip,) = row["skipped"]
    assert "feed" in skip["reason"] and "not sent back" in skip["reason"], skip
    assert uploads(emulator) == [] and ct_profiles(emulator) == []


def test_feed_input_batches_are_not_sent_back_when_the_feed_names_no_input(
    emulator: EmulatorHandle, http: httpx.Client
) -> None:
    """A connection's feed without `input_key` delivers to the workspace's first feed input
    (surface.py `_feed_input`), so data arriving there is still this connection's feed and must
    not go back to CleverTap (it would loop: export → feed → upload → export)."""
    doc = connection_doc(emulator)
    doc["feed"] = {"enabled": True}
    emulator.client.put_tenant(doc)
    post(http, batch(custom("From CleverTap")), path="/s2s/v2/events", auth=FEED)
    settle(emulator)
    row = only_delivery(emulator)
    assert row["status"] == "skipped", row
    assert uploads(emulator) == [] and ct_profiles(emulator) == []


@pytest.mark.parametrize(
    "changes",
    [{"enabled": False}, {"event_output": {"enabled": False}}],
    ids=["connection-disabled", "event-output-disabled"],
)
def test_disabled_connection_or_output_makes_no_delivery(
    emulator: EmulatorHandle, http: httpx.Client, changes: dict[str, Any]
) -> None:
    configure(emulator, **changes)
    post(http, batch(custom("Unsent"), user_attributes={"plan": "pro"}))
    settle(emulator)
    assert len(mp_batches(emulator)) == 1  # accepted by mParticle as usual
    assert emulator.client.deliveries("default") == []
    assert uploads(emulator) == [] and ct_profiles(emulator) == []


# ---- 7. an external base URL ---------------------------------------------------------------------


def test_external_base_url_delivers_to_another_emulator(
    emulator: EmulatorHandle, http: httpx.Client
) -> None:
    other = ThreadedServer(Config.defaults(port=0, seed=1, log_requests=False)).start()
    try:
        configure(emulator, event_output={"base_url": other.url})
        row = forward(emulator, http, batch(custom("Elsewhere"), user_attributes={"plan": "x"}))
        assert attempt_statuses(row) == [200]

        record = ct_profile(http, "cust-1", base=other.url)
        assert record is not None, "the record did not reach the other emulator"
        assert record["profileData"] == {"plan": "x"}
        assert record["events"]["Elsewhere"]["count"] == 1
        # Not on this emulator: its CleverTap saw no upload at all.
        assert ct_profile(http, "cust-1") is None
        assert uploads(emulator) == [] and ct_profiles(emulator) == []
        with httpx.Client(base_url=other.url + "/_emulator", timeout=10) as control:
            journal = control.get(
                "/requests", params={"platform": "clevertap", "path": "/1/upload"}
            ).json()["requests"]
        assert [(e["status"], e["tenant"]) for e in journal] == [(200, ACCOUNT)]
        assert journal[0]["headers"]["user-agent"] == BRIDGE_AGENT
        assert journal[0]["body"] == row["request"]["body"]
    finally:
        other.stop()


# ---- 8. ordering ---------------------------------------------------------------------------------


def test_batches_for_one_user_arrive_in_order(emulator: EmulatorHandle, http: httpx.Client) -> None:
    configure(emulator, delivery=FAST)
    # A retried first delivery must not let the later ones overtake it.
    emulator.client.add_fault(platform="clevertap", path="/1/upload", status=503, times=2)
    # One bulk request of five batches, then three single requests; all the same timestamp so
    # only the arrival order tells them apart.
    bulk = [batch(custom("Step", T0, n=i), user_attributes={"plan": f"v{i}"}) for i in range(5)]
    post(http, bulk, path="/v2/bulkevents")
    for i in range(5, 8):
        post(http, batch(custom("Step", T0, n=i), user_attributes={"plan": f"v{i}"}))
    settle(emulator)

    rows = deliveries(emulator)
    assert [r["status"] for r in rows] == ["delivered"] * 8
    assert [r["id"] for r in rows] == [f"delivery-{i}" for i in range(1, 9)]
    assert [records(r)[1]["evtData"]["n"] for r in rows] == list(range(8))
    # Batches queued behind the retried request share /1/upload requests, in order.
    ok = [e for e in uploads(emulator) if e["status"] == 200]
    sent = [r["evtData"]["n"] for e in ok for r in e["body"]["d"] if r["type"] == "event"]
    assert sent == list(range(8))
    assert [e["evtData"]["n"] for e in ct_events(emulator, event_name="Step")] == list(range(8))
    record = ct_profile(http, "cust-1")
    assert record is not None
    assert record["profileData"] == {"plan": "v7"}  # last write wins
    assert record["events"]["Step"]["count"] == 8


def test_a_shared_request_gives_each_batch_its_own_part_of_the_answer(
    emulator: EmulatorHandle, http: httpx.Client
) -> None:
    # The first request is held up (a 503, then 300 ms before the retry), so the next three
    # queue behind it and leave together.
    configure(emulator, delivery={"backoff_ms": 300, "max_backoff_ms": 300})
    emulator.client.add_fault(platform="clevertap", path="/1/upload", status=503, times=1)
    post(http, batch(custom("First", T0)))
    post(http, batch(custom("Fine", T0), custom("Also fine", T0)))
    # "App Launched" is a CleverTap system event: /1/upload refuses it (513).
    post(http, batch(custom("Fine", T0), custom("App Launched", T0), customer_id="cust-2"))
    post(http, batch(custom("App Launched", T0), customer_id="cust-3"))
    settle(emulator)

    first, ok, partial, failed = deliveries(emulator)
    shared = {"first": ok["id"], "last": failed["id"], "deliveries": 3}
    assert [r["request"]["shared"] for r in (ok, partial, failed)] == [
        {**shared, "offset": 0},
        {**shared, "offset": 2},
        {**shared, "offset": 4},
    ]
    assert "shared" not in first["request"]
    assert ok["response"]["body"] == {"status": "success", "processed": 2, "unprocessed": []}
    body = partial["response"]["body"]
    assert (body["status"], body["processed"]) == ("partial", 1)
    [rejected] = body["unprocessed"]
    assert rejected["index"] == 1 and rejected["code"] == 513  # its own second record
    body = failed["response"]["body"]
    assert (body["status"], body["processed"]) == ("fail", 0)
    assert [(u["index"], u["code"]) for u in body["unprocessed"]] == [(0, 513)]
    # One shared request, as CleverTap answered it.
    shared = [e for e in uploads(emulator) if e["status"] == 200][-1]
    assert len(shared["body"]["d"]) == 5


def test_pypi_bulk_upload_keeps_the_order(emulator: EmulatorHandle, http: httpx.Client) -> None:
    def one(i: int) -> Any:
        body = mparticle.Batch()
        body.environment = "development"
        body.user_identities = mparticle.UserIdentities()
        body.user_identities.customerid = "cust-bulk"
        body.user_attributes = {"level": i}
        body.events = [mparticle.AppEvent("Level Up", "other", timestamp_unixtime_ms=T0 + i * 1000)]
        return body

    _, status, _ = events_api(emulator).bulk_upload_events([one(i) for i in range(4)])
    assert status == 202
    settle(emulator)
    assert [r["status"] for r in deliveries(emulator)] == ["delivered"] * 4
    assert [e["ts"] for e in ct_events(emulator)] == [T0_S + i for i in range(4)]
    record = ct_profile(http, "cust-bulk")
    assert record is not None and record["profileData"] == {"level": 3}
    assert record["events"]["Level Up"] == {
        "count": 4,
        "first_seen": T0_S,
        "last_seen": T0_S + 3,
    }


# ---- 9. settle, the deliveries view, reset -------------------------------------------------------


def test_settle_with_nothing_pending_answers_at_once(emulator: EmulatorHandle) -> None:
    started = time.monotonic()
    response = emulator.client.http.post("/bridge/settle", params={"timeout": 5})
    assert response.status_code == 200
    assert response.json() == {"settled": True, "pending": 0}
    assert time.monotonic() - started < 1.0
    assert emulator.client.settle(timeout=5) == {"settled": True, "pending": 0}


def test_settle_times_out_while_a_delivery_is_in_flight(
    emulator: EmulatorHandle, http: httpx.Client
) -> None:
    emulator.client.add_fault(platform="clevertap", path="/1/upload", latency_ms=1500, times=1)
    post(http, batch(custom("Slow")))
    response = emulator.client.http.post("/bridge/settle", params={"timeout": 0.2})
    assert response.json() == {"settled": False, "pending": 1}
    with pytest.raises(NotSettled):
        emulator.client.settle(timeout=0.1)
    assert only_delivery(emulator)["status"] == "pending"
    assert ct_events(emulator) == []
    settle(emulator)
    assert only_delivery(emulator)["status"] == "delivered"
    assert [e["evtName"] for e in ct_events(emulator)] == ["Slow"]


def test_deliveries_view_filters_by_flow_and_status(
    emulator: EmulatorHandle, http: httpx.Client
) -> None:
    post(http, batch(custom("Sent")))  # delivered
    post(http, batch(event("session_start")))  # skipped (kit-only alone)
    audience = emulator.client.http.post(
        f"/mparticle/{WORKSPACE}/audiences",
        json={"name": "Pros", "criteria": {"attribute": "plan", "value": "pro"}},
    )
    assert audience.status_code == 201, audience.text
    settle(emulator)

    client = emulator.client
    everything = client.deliveries("default")
    assert len(everything) >= 3
    ids = [r["id"] for r in everything]
    assert ids == sorted(ids, key=lambda i: int(i.rsplit("-", 1)[1]))  # oldest first
    events = client.deliveries("default", flow="events")
    assert [r["status"] for r in events] == ["delivered", "skipped"]
    audiences = client.deliveries("default", flow="audiences")
    assert audiences and all(r["flow"] == "audiences" for r in audiences)
    assert client.deliveries("default", flow="feed") == []
    assert [r["id"] for r in client.deliveries("default", flow="events", status="skipped")] == [
        events[1]["id"]
    ]
    assert client.deliveries("default", flow="events", status="failed") == []
    delivered = client.deliveries("default", status="delivered")
    assert events[0]["id"] in [r["id"] for r in delivered]
    assert all(r["status"] == "delivered" for r in delivered)

    # Paging.
    page = client.http.get("/bridge/default/deliveries", params={"limit": 1, "offset": 1}).json()
    assert (page["total"], page["limit"], page["offset"]) == (len(everything), 1, 1)
    assert [r["id"] for r in page["deliveries"]] == [everything[1]["id"]]
    # A flow that does not exist, and a connection that does not exist.
    assert client.http.get("/bridge/default/deliveries", params={"flow": "x"}).status_code == 400
    assert client.http.get("/bridge/nope/deliveries").status_code == 404


def test_reset_drops_deliveries(emulator: EmulatorHandle, http: httpx.Client) -> None:
    client = emulator.client
    post(http, batch(custom("One")))
    post(http, batch(custom("Two")))
    settle(emulator)
    assert [r["id"] for r in deliveries(emulator)] == ["delivery-1", "delivery-2"]

    client.reset()
    assert client.deliveries("default") == []
    post(http, batch(custom("Three")))
    settle(emulator)
    assert [r["id"] for r in deliveries(emulator)] == ["delivery-1"]  # the sequence restarts

    # A tenant reset of the connection, or of the account it names, drops them too.
    client.reset(tenant="default")
    assert client.deliveries("default") == []
    post(http, batch(custom("Four")))
    settle(emulator)
    assert len(deliveries(emulator)) == 1
    client.reset(tenant=ACCOUNT)
    assert client.deliveries("default") == []
    post(http, batch(custom("Five")))
    settle(emulator)
    assert len(deliveries(emulator)) == 1
    client.reset(tenant=WORKSPACE)
    assert client.deliveries("default") == []


def test_reset_drops_queued_deliveries(emulator: EmulatorHandle, http: httpx.Client) -> None:
    emulator.client.add_fault(platform="clevertap", path="/1/upload", latency_ms=500, times=1)
    for i in range(3):
        post(http, batch(custom(f"Queued-{i}")))
    emulator.client.reset()
    assert emulator.client.settle(timeout=5) == {"settled": True, "pending": 0}
    time.sleep(0.7)  # past the latency of the request that was in flight
    assert emulator.client.deliveries("default") == []
    assert ct_events(emulator) == [] and ct_profiles(emulator) == []
    # And the flow works afterwards.
    row = forward(emulator, http, batch(custom("After")))
    assert row["id"] == "delivery-1"
    assert [e["evtName"] for e in ct_events(emulator)] == ["After"]
