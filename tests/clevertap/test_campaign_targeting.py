"""Campaign audiences that combine a segment with a query, the `Segments` profile filter, and
live (triggered) campaigns (docs/clevertap-behaviour.md, "Campaigns" and "Live campaigns").

Sources: the Create Campaign API (https://developer.clevertap.com/docs/create-campaign-api:
`where` with `event_name`, `event_properties`, `common_profile_properties.profile_fields`); the
mParticle audience import, whose segments ("Partner - mParticle") and `Partner Sync` events
(`Action` Added/Removed) campaigns target (https://docs.clevertap.com/docs/mparticle-import-audience);
"Live Behavior" qualification (https://docs.clevertap.com/docs/create-message_mparticle); the
window for events used by live campaigns, 2 hours past / 2 minutes future
(https://developer.clevertap.com/docs/events-object). Where the API is silent (a live campaign's
request fields, `where` with `segment`) the behaviour is the emulator's documented choice.
"""

from __future__ import annotations

from typing import Any

import pytest

from emulator.testing.plugin import EmulatorHandle
from tests.drivers import CleverTapDriver, ControlViews
from tests.drivers.clevertap import bad_request, event_record, profile_record

NOW = 1_714_592_744  # 2024-05-01 19:45:44 UTC
VIP = (789, "VIP")
CART = (456, "Cart Drop off")
ADDED = [{"name": "Action", "operator": "equals", "value": "Added"}]
GOLD = {"profile_fields": [{"name": "Tier", "operator": "equals", "value": "gold"}]}


def campaign(**target: Any) -> dict[str, Any]:
    return {
        "name": "Welcome VIP",
        "target_mode": "email",
        "content": {"subject": "Hi", "body": "Welcome"},
        "when": "now",
        **target,
    }


def people(ct: CleverTapDriver) -> None:
    """a and b are gold, c silver; each has an email (reachable by email)."""
    ct.upload_ok(
        profile_record("a", Email="a@example.com", Tier="gold"),
        profile_record("b", Email="b@example.com", Tier="gold"),
        profile_record("c", Email="c@example.com", Tier="silver"),
    )


def audience_of(views: ControlViews, campaign_id: int) -> list[str]:
    (found,) = [c for c in views.ct_campaigns() if c["id"] == campaign_id]
    return sorted(m["identity"] for m in found["audience"])


@pytest.fixture
def frozen(emulator: EmulatorHandle) -> EmulatorHandle:
    emulator.client.freeze_clock(NOW)
    return emulator


# -- segment and where together ------------------------------------------------------------


def test_segment_and_where_together_target_the_members_where_matches(
    ct: CleverTapDriver, views: ControlViews
) -> None:
    people(ct)
    ct.partner_sync(VIP, "a", "c")
    where = {"common_profile_properties": GOLD}
    created = ct.create_campaign(campaign(segment="VIP", where=where))
    assert created["estimates"]["android"] == 1
    assert audience_of(views, created["id"]) == ["a"]


def test_without_where_or_segment_a_campaign_targets_everyone(
    ct: CleverTapDriver, views: ControlViews
) -> None:
    """The Create Campaign API: omitting `where` targets the entire user base."""
    people(ct)
    created = ct.create_campaign(campaign())
    assert audience_of(views, created["id"]) == ["a", "b", "c"]


def test_a_segments_profile_filter_matches_the_segment_members(
    ct: CleverTapDriver, views: ControlViews
) -> None:
    people(ct)
    ct.partner_sync(VIP, "a", "c")
    ct.partner_sync(CART, "b")
    vip = views.ct_segment("VIP")
    for value in ("VIP", vip["id"]):
        fields = [{"name": "Segments", "operator": "equals", "value": value}]
        where = {"common_profile_properties": {"profile_fields": fields}}
        created = ct.create_campaign(campaign(where=where))
        assert audience_of(views, created["id"]) == ["a", "c"], value
    # With a profile property filter too, and by event: both apply.
    fields = [{"name": "Segments", "operator": "equals", "value": "VIP"}, *GOLD["profile_fields"]]
    where = {"event_name": "Partner Sync", "common_profile_properties": {"profile_fields": fields}}
    assert audience_of(views, ct.create_campaign(campaign(where=where))["id"]) == ["a"]


def test_partner_sync_added_with_a_profile_filter_is_a_campaign_audience(
    ct: CleverTapDriver, views: ControlViews
) -> None:
    """Seed 001, past behaviour: users Partner Sync added to the audience, filtered by a
    profile property; a user removed since still did the Added event (CleverTap's events stay)."""
    people(ct)
    ct.partner_sync(VIP, "a", "b", "c")
    ct.partner_sync(CART, "b")
    where = {
        "event_name": "Partner Sync",
        "event_properties": [
            *ADDED,
            {"name": "Partner Segment Name", "operator": "equals", "value": "VIP"},
        ],
        "common_profile_properties": GOLD,
    }
    assert audience_of(views, ct.create_campaign(campaign(where=where))["id"]) == ["a", "b"]
    where["event_properties"][1]["value"] = "Cart Drop off"
    assert audience_of(views, ct.create_campaign(campaign(where=where))["id"]) == ["b"]


# -- live campaigns --------------------------------------------------------------------------


def live(**target: Any) -> dict[str, Any]:
    return campaign(live=True, **target)


def test_a_live_campaign_records_each_user_its_trigger_event_targets(
    frozen: EmulatorHandle, ct: CleverTapDriver, views: ControlViews
) -> None:
    people(ct)
    ct.partner_sync(VIP, "a", "c")
    where = {
        "event_name": "Added To Cart",
        "event_properties": [{"name": "Price", "operator": "greater_than", "value": 10}],
        "common_profile_properties": GOLD,
    }
    created = ct.create_campaign(live(segment="VIP", where=where))
    assert created["estimates"]["android"] == 1  # a qualifies now
    (captured,) = views.ct_campaigns()
    assert captured["status"] == "running" and captured["live"] is True
    assert captured["trigger"]["event_name"] == "Added To Cart"
    ct.upload_ok(
        event_record("a", "Added To Cart", NOW - 60, Price=20),  # recorded
        event_record("a", "Added To Cart", NOW, Price=5),  # the event filter fails
        event_record("b", "Added To Cart", NOW, Price=20),  # not in the segment
        event_record("c", "Added To Cart", NOW, Price=20),  # silver: the profile filter fails
        event_record("a", "Viewed", NOW, Price=20),  # another event
    )
    (row,) = views.ct_triggered(id=created["id"])
    assert row["identity"] == "a" and row["email"] == "a@example.com"
    assert (row["event"], row["ts"], row["at"]) == ("Added To Cart", NOW - 60, NOW)
    assert row["campaign"] == created["id"] and row["name"] == "Welcome VIP"
    result = ct.campaign_result(created["id"])
    assert result == {"status": "success", "result": {"sent": 1, "viewed": 0, "clicked": 0}}
    # A user who joins the segment later qualifies from then on.
    ct.partner_sync(VIP, "b")
    ct.upload_ok(event_record("b", "Added To Cart", NOW, Price=30))
    assert [r["identity"] for r in views.ct_triggered()] == ["a", "b"]


def test_partner_sync_added_triggers_a_live_campaign(
    frozen: EmulatorHandle, ct: CleverTapDriver, views: ControlViews
) -> None:
    """Seed 001: "Partner Sync" with Action = Added for the audience, and a profile filter."""
    people(ct)
    where = {
        "event_name": "Partner Sync",
        "event_properties": [
            *ADDED,
            {"name": "Partner Segment Name", "operator": "equals", "value": "VIP"},
        ],
        "common_profile_properties": GOLD,
    }
    created = ct.create_campaign(live(where=where))
    ct.partner_sync(VIP, "a", "b", "c")  # c is silver
    ct.partner_sync(CART, "a")  # another audience
    ct.partner_sync(VIP, "b", action="delete")  # Removed, not Added
    rows = views.ct_triggered(id=created["id"])
    assert [(r["identity"], r["event"]) for r in rows] == [
        ("a", "Partner Sync"),
        ("b", "Partner Sync"),
    ]


@pytest.mark.parametrize(
    ("offset", "recorded"),
    [(-2 * 3600, True), (-2 * 3600 - 1, False), (120, True), (121, False)],
)
def test_only_events_inside_the_live_window_trigger(
    offset: int,
    recorded: bool,
    frozen: EmulatorHandle,
    ct: CleverTapDriver,
    views: ControlViews,
) -> None:
    people(ct)
    created = ct.create_campaign(live(where={"event_name": "Added To Cart"}))
    ct.upload_ok(event_record("a", "Added To Cart", NOW + offset))
    assert len(views.ct_triggered(id=created["id"])) == int(recorded)
    missed = views.ct_triggered(id=created["id"], missed="true")
    assert len(missed) == int(not recorded)
    if missed:
        assert missed[0]["reason"].startswith("outside the live window")


def test_a_trigger_for_a_user_the_channel_cannot_reach_is_missed(
    frozen: EmulatorHandle, ct: CleverTapDriver, views: ControlViews
) -> None:
    created = ct.create_campaign(live(where={"event_name": "Added To Cart"}))
    ct.upload_ok(event_record("no-email", "Added To Cart", NOW))
    assert views.ct_triggered() == []
    (missed,) = views.ct_triggered(missed="true")
    assert missed["identity"] == "no-email" and missed["reason"] == "not reachable by email"
    assert ct.campaign_result(created["id"])["result"]["sent"] == 0


def test_a_stopped_live_campaign_records_nothing_more(
    frozen: EmulatorHandle, ct: CleverTapDriver, views: ControlViews
) -> None:
    people(ct)
    created = ct.create_campaign(live(where={"event_name": "Added To Cart"}))
    ct.upload_ok(event_record("a", "Added To Cart", NOW))
    assert ct.post_ok("/1/targets/stop.json", {"id": created["id"]}) == {"status": "success"}
    ct.upload_ok(event_record("b", "Added To Cart", NOW))
    assert [r["identity"] for r in views.ct_triggered()] == ["a"]
    (listed,) = ct.post_ok("/1/targets/list.json", {"from": 20240501, "to": 20240501})["targets"]
    assert listed["status"] == "stopped"


def test_a_live_campaign_keeps_running_across_a_state_export_and_load(
    frozen: EmulatorHandle, ct: CleverTapDriver, views: ControlViews
) -> None:
    people(ct)
    ct.create_campaign(live(where={"event_name": "Added To Cart"}))
    document = frozen.client.state()
    frozen.client.reset()
    frozen.client.load_state(document)
    ct.upload_ok(event_record("a", "Added To Cart", NOW))
    assert [r["identity"] for r in views.ct_triggered()] == ["a"]


@pytest.mark.parametrize(
    "where",
    [None, {"common_profile_properties": GOLD}, {"event_name": "E", "from": 20240101}],
)
def test_a_live_campaign_needs_a_trigger_event_and_no_days(
    where: Any, ct: CleverTapDriver, views: ControlViews
) -> None:
    body = live() if where is None else live(where=where)
    bad_request(ct.post("/1/targets/create.json", body))
    assert views.ct_campaigns() == []
