"""Journeys with an mParticle export node (docs/integration-behaviour.md, "Journeys export node"):
users who enter a journey reach its export step and are exported to the connected workspace's
CleverTap feed as the export flow does, visible in the deliveries and the mParticle users.

Source: CleverTap's mParticle integration, "These Exports are also available as a node in
Journeys for more live use cases where only selective data needs to be passed based on Users
actions" (https://docs.clevertap.com/docs/mparticle). Journeys have no public API: the
definition (control API) and the entry rules are the emulator's documented choices; the live
window (2 hours past, 2 minutes future) is the one for events used by live campaigns
(https://developer.clevertap.com/docs/events-object).
"""

from __future__ import annotations

from typing import Any

import pytest

from emulator.testing.plugin import EmulatorHandle
from tests.drivers import CleverTapDriver, ControlViews, MParticleDriver
from tests.drivers.clevertap import event_record, profile_record
from tests.drivers.mparticle import custom_event, mp_batch

NOW = 1_790_000_000
PARTNER = "CleverTap_User_ID"
BIG = [{"name": "Amount", "operator": "greater_than", "value": 100}]
EXPORT = {"type": "mparticle_export"}


@pytest.fixture
def people(emulator: EmulatorHandle, ct: CleverTapDriver) -> None:
    emulator.client.freeze_clock(NOW)
    ct.upload_ok(
        profile_record("u1", Name="Ann", Email="ann@example.com"),
        profile_record("u2", Name="Bob", Email="bob@example.com"),
    )


def checkout(identity: str, amount: int, ts: int = NOW) -> dict[str, Any]:
    return event_record(identity, "Checkout Started", ts, Amount=amount)


def exported_users(views: ControlViews, guid: str) -> list[dict[str, Any]]:
    return [u for u in views.mp_users() if u["partner_identities"].get(PARTNER) == guid]


def test_a_user_who_raises_the_entry_event_is_exported_to_the_feed(
    people: None, ct: CleverTapDriver, views: ControlViews
) -> None:
    """The export node passes "selective data ... based on Users actions": the user whose event
    matches the entry (name and property filter) reaches the step; the batch is the export
    flow's (customer id, email, partner identity, `ct_*` attributes) with that event."""
    journey = views.ct_add_journey(
        name="Big checkouts",
        entry={"event_name": "Checkout Started", "event_properties": BIG},
        steps=[EXPORT],
    )
    ct.upload_ok(checkout("u1", 150), checkout("u2", 50))
    views.settle()

    (entry,) = views.ct_journey_entries(journey=journey["id"])
    assert (entry["identity"], entry["event"], entry["ts"]) == ("u1", "Checkout Started", NOW)
    assert (entry["outcome"], entry["exited"]) == ("exported", NOW)
    feed = views.deliveries(flow="feed")
    assert [d["id"] for d in feed] == entry["deliveries"]
    assert feed[0]["status"] == "delivered"
    assert feed[0]["source"]["export"] == journey["id"]
    (user,) = exported_users(views, ct.object_id("u1"))
    assert user["user_identities"] == {"customer_id": "u1", "email": "ann@example.com"}
    assert user["user_attributes"]["ct_name"] == "Ann"
    (stored,) = views.mp_batches()
    (event,) = stored["batch"]["events"]
    assert event["data"]["event_name"] == "Checkout Started"
    assert event["data"]["custom_attributes"] == {"Amount": 150}
    assert exported_users(views, ct.object_id("u2")) == []
    (listed,) = views.ct_journeys()
    assert (listed["entered"], listed["exited"], listed["missed"]) == (1, 1, 0)


def test_a_user_enters_a_journey_once(
    people: None, ct: CleverTapDriver, views: ControlViews
) -> None:
    """Emulator's choice: no re-entry; a second matching event exports nothing more."""
    views.ct_add_journey(entry={"event_name": "Checkout Started"}, steps=[EXPORT])
    ct.upload_ok(checkout("u1", 150))
    ct.upload_ok(checkout("u1", 170))
    views.settle()
    assert [e["identity"] for e in views.ct_journey_entries()] == ["u1"]
    assert len(views.deliveries(flow="feed")) == 1


def test_a_segment_alone_enters_its_members_and_profiles_sends_no_events(
    people: None, ct: CleverTapDriver, views: ControlViews
) -> None:
    """A journey on a segment ("Past Behavior Campaigns/Journeys" select a segment,
    https://docs.clevertap.com/docs/mparticle-import-audience): its members enter when it is
    made; a `profiles` step sends the profile without events."""
    views.ct_add_segment("VIP", identities=["u2"])
    views.ct_add_journey(entry={"segment": "VIP"}, steps=[{**EXPORT, "data": "profiles"}])
    views.settle()
    (entry,) = views.ct_journey_entries(state="exited")
    assert (entry["identity"], entry["event"], entry["outcome"]) == ("u2", None, "exported")
    (user,) = exported_users(views, ct.object_id("u2"))
    assert user["user_identities"]["customer_id"] == "u2"
    assert [b["batch"].get("events") for b in views.mp_batches()] == [None]


def test_an_entry_event_with_a_segment_enters_only_its_members(
    people: None, ct: CleverTapDriver, views: ControlViews
) -> None:
    views.ct_add_segment("VIP", identities=["u2"])
    views.ct_add_journey(entry={"event_name": "Checkout Started", "segment": "VIP"}, steps=[EXPORT])
    ct.upload_ok(checkout("u1", 150), checkout("u2", 150))
    views.settle()
    assert [e["identity"] for e in views.ct_journey_entries()] == ["u2"]


def test_an_event_forwarded_from_mparticle_lets_the_user_enter(
    people: None, mp: MParticleDriver, ct: CleverTapDriver, views: ControlViews
) -> None:
    """Every stored event counts, whichever path stored it (here the event output); the
    feed's data is not forwarded back to CleverTap, so the export makes no loop."""
    views.ct_add_journey(entry={"event_name": "Checkout Started"}, steps=[EXPORT])
    mp.send(mp_batch(custom_event("Checkout Started", NOW * 1000), customer_id="u1"))
    views.settle()
    (entry,) = views.ct_journey_entries()
    assert (entry["identity"], entry["outcome"]) == ("u1", "exported")
    assert len(views.deliveries(flow="events", status="delivered")) == 1
    (back,) = views.deliveries(flow="events", status="skipped")
    assert "feed" in str(back["skipped"])
    assert len(views.ct_events(event_name="Checkout Started")) == 1


def test_an_event_outside_the_live_window_does_not_enter(
    people: None, ct: CleverTapDriver, views: ControlViews
) -> None:
    views.ct_add_journey(entry={"event_name": "Checkout Started"}, steps=[EXPORT])
    ct.upload_ok(checkout("u1", 150, ts=NOW - 3 * 3600))
    views.settle()
    assert views.ct_journey_entries() == []
    (listed,) = views.ct_journeys()
    assert listed["missed"] == 1
    assert views.deliveries(flow="feed") == []


def test_a_step_naming_a_connection_without_the_feed_is_skipped(
    people: None, ct: CleverTapDriver, views: ControlViews
) -> None:
    views.ct_add_journey(
        entry={"event_name": "Checkout Started"}, steps=[{**EXPORT, "connection": "other"}]
    )
    ct.upload_ok(checkout("u1", 150))
    views.settle()
    (entry,) = views.ct_journey_entries(state="exited")
    assert entry["outcome"] == "skipped"
    assert "'other'" in entry["reason"]
    assert views.deliveries(flow="feed") == []


@pytest.mark.parametrize(
    "body",
    [
        {"entry": {"event_name": "E"}, "steps": []},
        {"entry": {"event_name": "E"}, "steps": [EXPORT, EXPORT]},
        {"entry": {"event_name": "E"}, "steps": [{"type": "webhook"}]},
        {"entry": {}, "steps": [EXPORT]},
        {"entry": {"event_properties": BIG}, "steps": [EXPORT]},
        {"entry": {"segment": "no such segment"}, "steps": [EXPORT]},
        {
            "entry": {"event_name": "E", "event_properties": [{"name": "A", "operator": "near"}]},
            "steps": [EXPORT],
        },
    ],
)
def test_a_definition_without_entry_or_export_step_is_a_400(
    body: dict[str, Any], people: None, views: ControlViews
) -> None:
    response = views.http.post("/clevertap/EMU-TEST-0001/journeys", json=body)
    assert response.status_code == 400, response.text
    assert views.ct_journeys() == []


def test_journeys_survive_a_state_export_and_load_and_go_with_a_reset(
    emulator: EmulatorHandle, people: None, ct: CleverTapDriver, views: ControlViews
) -> None:
    views.ct_add_journey(entry={"event_name": "Checkout Started"}, steps=[EXPORT])
    ct.upload_ok(checkout("u1", 150))
    views.settle()
    before = (views.ct_journeys(), views.ct_journey_entries())
    document = emulator.client.state()
    emulator.client.reset()
    assert views.ct_journeys() == []
    emulator.client.load_state(document)
    assert (views.ct_journeys(), views.ct_journey_entries()) == before
    # The loaded journey still runs: a new user enters.
    emulator.client.freeze_clock(NOW)
    ct.upload_ok(checkout("u2", 150))
    views.settle()
    assert [e["identity"] for e in views.ct_journey_entries()] == ["u1", "u2"]
