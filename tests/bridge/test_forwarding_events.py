"""mParticle → CleverTap event forwarding: custom events, timestamps and screen views, the
event types the bridge skips (kit-only ones and the others, with their reasons), and a batch
of more than 1000 records split into several uploads.

Every test starts from the plugin's reset (default tenants: connection `default` from workspace
`1000` to account `EMU-TEST-0001`). Expected records are written out by hand from
emulator/bridge/mapping.py's rules and docs/integration-behaviour.md, never
computed with the mapping itself, so a change on either side shows.
"""

from __future__ import annotations

from typing import Any

import pytest

from emulator.testing.plugin import EmulatorHandle
from tests.drivers import BridgeDriver, CleverTapDriver, ControlViews, MParticleDriver
from tests.drivers.bridge import (
    T0,
    T0_S,
    accepted,
    batch,
    event,
    named,
    records,
)
from tests.drivers.mparticle import custom_event

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


# ---- one test per mapping rule -------------------------------------------------------------------


def test_custom_event_by_name_with_attributes(
    ct: CleverTapDriver, views: ControlViews, bridge: BridgeDriver
) -> None:
    attrs = {"q": "shoes", "n": 2, "price": 9.99, "on": False}
    row = bridge.forward(
        batch(custom_event("Searched", T0 + 999, **attrs), custom_event("Bare", T0 + 1000))
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
    assert [(e["evtName"], e["ts"], e["evtData"]) for e in views.ct_events()] == [
        ("Searched", T0_S, attrs),
        ("Bare", T0_S + 1, {}),
    ]
    record = ct.find_profile(identity="cust-1")
    assert record is not None and set(record["events"]) == {"Searched", "Bare"}
    # Nothing but the customer id: no profile record, no profile properties.
    assert record["profileData"] == {}


def test_event_without_timestamp_gets_the_receive_time(
    views: ControlViews, bridge: BridgeDriver
) -> None:
    row = bridge.forward(batch(custom_event("Untimed")))
    (accepted,) = views.mp_batches()
    stamped = accepted["resolved"]["batch"]["events"][0]["data"]["timestamp_unixtime_ms"]
    assert int(accepted["received"] * 1000) == stamped
    ((name, ts),) = [(r["evtName"], r["ts"]) for r in records(row)]
    assert (name, ts) == ("Untimed", stamped // 1000)
    assert [e["ts"] for e in views.ct_events()] == [stamped // 1000]


def test_screen_view_by_screen_name(views: ControlViews, bridge: BridgeDriver) -> None:
    row = bridge.forward(
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
    assert named(views.ct_events()) == [("Checkout", {"step": 2})]


def test_screen_view_fixed_name_setting(
    ct: CleverTapDriver, views: ControlViews, bridge: BridgeDriver
) -> None:
    views.configure(event_output={"screen_view": "fixed"})
    bridge.forward(
        batch(
            event("screen_view", T0, screen_name="Checkout", custom_attributes={"step": 2}),
            event("screen_view", T0 + 1000, screen_name="Home"),
        ),
    )
    assert named(views.ct_events()) == [
        ("Screen View", {"Screen Name": "Checkout", "step": 2}),
        ("Screen View", {"Screen Name": "Home"}),
    ]
    record = ct.find_profile(identity="cust-1")
    assert record is not None
    assert record["events"]["Screen View"]["count"] == 2
    assert "Checkout" not in record["events"] and "Home" not in record["events"]


@pytest.mark.parametrize("kind", sorted(KIT_ONLY_EVENTS))
def test_kit_only_event_is_skipped(
    emulator: EmulatorHandle,
    kind: str,
    mp: MParticleDriver,
    views: ControlViews,
    bridge: BridgeDriver,
) -> None:
    # Alone in a batch: nothing to send, the delivery is `skipped` and nothing is uploaded.
    mp.send(batch(event(kind, **KIT_ONLY_EVENTS[kind])))
    views.settle()
    row = bridge.only_delivery()
    assert row["status"] == "skipped", row
    (skip,) = row["skipped"]
    assert (skip["event"], skip["event_type"]) == (0, kind)
    assert "kit-only" in skip["reason"]
    assert "request" not in row and "attempts" not in row
    assert bridge.uploads() == []
    assert views.ct_profiles() == []

    # Beside a custom event: the custom event goes, the kit-only one is listed as skipped.
    emulator.client.reset()
    mp.send(batch(custom_event("Kept", T0), event(kind, T0 + 1, **KIT_ONLY_EVENTS[kind])))
    views.settle()
    row = bridge.only_delivery()
    assert row["status"] == "delivered", row
    assert [s["event_type"] for s in row["skipped"]] == [kind]
    assert row["skipped"][0]["event"] == 1 and "kit-only" in row["skipped"][0]["reason"]
    assert [r["evtName"] for r in records(row)] == ["Kept"]
    assert [e["evtName"] for e in views.ct_events()] == ["Kept"]


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
    kind: str, data: dict[str, Any], views: ControlViews, bridge: BridgeDriver
) -> None:
    row = bridge.forward(batch(custom_event("Kept"), event(kind, **data)))
    assert row["skipped"] == [
        {"event": 1, "event_type": kind, "reason": "event type not forwarded to CleverTap"}
    ]
    assert [e["evtName"] for e in views.ct_events()] == ["Kept"]


def test_more_than_1000_records_are_split_into_several_uploads(
    ct: CleverTapDriver, mp: MParticleDriver, views: ControlViews, bridge: BridgeDriver
) -> None:
    events = [custom_event("E", T0 + i) for i in range(1001)] + [event("session_end")]
    mp.send(batch(*events, user_attributes={"plan": "pro"}))
    views.settle()
    first, second = bridge.deliveries()
    accepted(first)
    accepted(second)
    assert len(records(first)) == 1000 and len(records(second)) == 2
    assert records(first)[0]["type"] == "profile"
    assert [s["event_type"] for s in first["skipped"]] == ["session_end"]
    assert second["skipped"] == []
    assert first["source"] == second["source"]
    assert [e["status"] for e in bridge.uploads()] == [200, 200]
    record = ct.find_profile(identity="cust-1")
    assert record is not None and record["events"]["E"]["count"] == 1001
    assert record["profileData"] == {"plan": "pro"}
