"""mParticle → CleverTap event forwarding end to end, with the PyPI `mparticle` 0.16.1 client:
one full batch goes in through the client; after `settle` the test reads CleverTap as a client
would (`/1/profile.json` with the account's headers) and through the control API (the account's
events view, the connection's deliveries, the journal). (The Web SDK in Chromium:
tests/clients/test_bridge_web_sdk.py.)

Every test starts from the plugin's reset (default tenants: connection `default` from workspace
`1000` to account `EMU-TEST-0001`). Expected records are written out by hand from
emulator/bridge/mapping.py's rules and docs/integration-behaviour.md, never
computed with the mapping itself, so a change on either side shows.
"""

from __future__ import annotations

import pytest

from emulator.testing.plugin import EmulatorHandle
from tests.drivers import BridgeDriver, CleverTapDriver, ControlViews
from tests.drivers.bridge import (
    BRIDGE_AGENT,
    T0,
    T0_S,
    attempt_statuses,
    records,
)
from tests.drivers.defaults import ACCOUNT, S2S, WORKSPACE
from tests.drivers.pypi import events_api, mparticle

pytestmark = pytest.mark.usefixtures("no_retry_deadline")


# ---- the PyPI client, one full batch -------------------------------------------------------------


def test_pypi_client_batch_lands_in_clevertap(
    emulator: EmulatorHandle, ct: CleverTapDriver, views: ControlViews, bridge: BridgeDriver
) -> None:
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

    _, status, _ = events_api(emulator.url).upload_events(body)
    assert status == 202
    views.settle()

    (accepted,) = views.mp_batches()
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
    record = ct.find_profile(identity="cust-ada")
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
    seen = views.ct_events()
    assert [(e["identity"], e["evtName"], e["ts"], e["evtData"]) for e in seen] == [
        ("cust-ada", name, ts, data) for name, ts, data in expected_events
    ]
    assert len({e["objectId"] for e in seen}) == 1

    # The delivery: one /1/upload with the profile record first, then the events.
    row = bridge.only_delivery()
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
    (upload,) = bridge.uploads()
    assert (upload["method"], upload["status"], upload["tenant"]) == ("POST", 200, ACCOUNT)
    assert upload["headers"]["user-agent"] == BRIDGE_AGENT
    assert upload["body"] == row["request"]["body"]
    assert upload["valid"] is True
