"""mParticle audiences → CleverTap segments, end to end (seed 001).

Users arrive through the Events API; an audience defined on the workspace is sent by the default
connection's audience output as Firehose messages; CleverTap turns it into a `Partner - mParticle`
segment, raises `Partner Sync`, and the segment drives a captured campaign. Both scenarios of the
seed are here, and every identity-priority branch as the bridge carries it.
"""

from __future__ import annotations

from typing import Any

import pytest

from emulator.testing.plugin import EmulatorHandle
from tests.drivers import CleverTapDriver, ControlViews, MParticleDriver
from tests.drivers.clevertap import profile_record
from tests.drivers.defaults import ACCOUNT, WORKSPACE

SEGMENT_TYPE = "Partner - mParticle"


def person(
    customer_id: str | None = None,
    email: str | None = None,
    city: str | None = None,
    events: list[str] = (),  # type: ignore[assignment]
    **device: str,
) -> dict[str, Any]:
    identities = {k: v for k, v in (("customer_id", customer_id), ("email", email)) if v}
    batch: dict[str, Any] = {
        "environment": "development",
        "user_identities": identities,
        "events": [
            {
                "event_type": "custom_event",
                "data": {"event_name": name, "custom_event_type": "transaction"},
            }
            for name in events
        ],
    }
    if city is not None:
        batch["user_attributes"] = {"$city": city}
    if device:
        batch["device_info"] = device
    return batch


def identities_of(views: ControlViews, segment_doc: dict[str, Any]) -> set[str | None]:
    """The first identity of each member's CleverTap profile (None: it has none)."""
    out = set()
    for guid in segment_doc["members"]:
        profile = views.ct_profile(guid)
        out.add(profile["identities"][0] if profile["identities"] else None)
    return out


def partner_syncs(views: ControlViews, identity: str | None = None) -> list[dict[str, Any]]:
    """The account's Partner Sync events (of one identity)."""
    params = {} if identity is None else {"identity": identity}
    return views.ct_events(event_name="Partner Sync", **params)


# -- scenario 1: a one-time audience of a city, used in an in-app campaign ------------------------


def test_one_time_city_audience_becomes_a_segment_used_by_an_in_app_campaign(
    ct: CleverTapDriver, mp: MParticleDriver, views: ControlViews
) -> None:
    for i in range(3):
        mp.send(person(f"blr-{i}", f"blr{i}@example.com", "Bangalore"))
    mp.send(person("del-1", "del1@example.com", "Delhi"))
    # Anonymous: a device id and nothing else, so only an MPID reaches CleverTap.
    mp.send(person(city="Bangalore", ios_advertising_id="A1B2C3D4-0000-0000-0000-00000000"))
    audience = views.define_audience(
        "Bangalore users",
        {"attribute": "$city", "value": "Bangalore"},
        export="one_time",
    )
    assert len(audience["members"]) == 4  # the anonymous user is a member in mParticle
    views.settle()

    found = views.ct_segment("Bangalore users", type=SEGMENT_TYPE)
    assert found["type"] == SEGMENT_TYPE
    assert found["partner_segment_id"] == audience["id"]
    assert found["count"] == 3
    assert identities_of(views, found) == {"blr-0", "blr-1", "blr-2"}
    syncs = partner_syncs(views)
    assert sorted(e["identity"] for e in syncs) == ["blr-0", "blr-1", "blr-2"]
    assert {e["evtData"]["Action"] for e in syncs} == {"Added"}
    # The anonymous user is reported, not lost.
    [delivery] = [d for d in views.deliveries(flow="audiences") if d["source"].get("users")]
    assert delivery["status"] == "delivered"
    assert [s["reason"] for s in delivery["response"]["body"]["skipped"]]
    assert any("anonymous" in s["reason"] for s in delivery["response"]["body"]["skipped"])

    # One-time: a Bangalore user arriving later is not sent.
    mp.send(person("blr-9", "blr9@example.com", "Bangalore"))
    views.settle()
    assert views.ct_segment("Bangalore users", type=SEGMENT_TYPE)["count"] == 3

    # The In-App campaign of the seed: App Launched, filtered on the segment.
    body = {
        "name": "Bangalore welcome",
        "target_mode": "inapp",
        "segment": "Bangalore users",
        "content": {"title": "Namaskara", "body": "Welcome back"},
        "when": "now",
    }
    created = ct.post_ok("/1/targets/create.json", body)
    assert created["status"] == "success", created
    campaigns = views.ct_page("campaigns")["campaigns"]
    [campaign] = [c for c in campaigns if c["id"] == created["id"]]
    assert campaign["target_mode"] == "inapp"
    assert sorted(m["identity"] for m in campaign["audience"]) == ["blr-0", "blr-1", "blr-2"]


# -- scenario 2: a recurring cart-abandon audience -----------------------------------------------

CART_ABANDON = {
    "all": [
        {"event": "Add to Cart", "within_seconds": 86400},
        {"not": {"event": "Purchase", "within_seconds": 86400}},
    ]
}


def test_recurring_cart_abandon_audience_raises_added_and_removed(
    emulator: EmulatorHandle, mp: MParticleDriver, views: ControlViews
) -> None:
    emulator.client.freeze_clock(1_790_000_000)
    audience = views.define_audience("Cart Drop off", CART_ABANDON)
    mp.send(person("cart-1", "c1@example.com", events=["Add to Cart"]))
    mp.send(person("cart-2", "c2@example.com", events=["Add to Cart"]))
    views.settle()
    assert identities_of(views, views.ct_segment("Cart Drop off", type=SEGMENT_TYPE)) == {
        "cart-1",
        "cart-2",
    }

    # cart-1 buys: out of the audience, Removed.
    mp.send(person("cart-1", events=["Purchase"]))
    views.settle()
    assert identities_of(views, views.ct_segment("Cart Drop off", type=SEGMENT_TYPE)) == {"cart-2"}
    # cart-2's cart ages out of the window as the clock moves: Removed too.
    emulator.client.advance_clock(86400 + 1)
    views.settle()
    assert views.ct_segment("Cart Drop off", type=SEGMENT_TYPE)["count"] == 0

    expected_props = {
        "Partner Segment Name": "Cart Drop off",
        "Partner Segment ID": audience["id"],
        "CT Source": "mParticle",
        "Partner Name": "mParticle",
    }
    for customer, actions in (("cart-1", ["Added", "Removed"]), ("cart-2", ["Added", "Removed"])):
        syncs = partner_syncs(views, customer)
        assert [e["evtData"]["Action"] for e in syncs] == actions
        for event in syncs:
            assert {k: event["evtData"][k] for k in expected_props} == expected_props
    # The segment membership history matches mParticle's own record of changes.
    changes = views.memberships(audience_id=str(audience["id"]))
    assert [c["action"] for c in changes] == ["add", "add", "delete", "delete"]


def test_removing_the_audience_removes_the_segment(views: ControlViews) -> None:
    audience = views.define_audience("Gone soon", {"attribute": "plan", "value": "pro"})
    views.settle()
    assert views.ct_segment("Gone soon", type=SEGMENT_TYPE)["partner_segment_id"] == audience["id"]
    response = views.http.delete(f"/mparticle/{WORKSPACE}/audiences/{audience['id']}")
    assert response.status_code == 200, response.text
    views.settle()
    segments = views.ct_segments(type=SEGMENT_TYPE)
    assert "Gone soon" not in [s["name"] for s in segments if not s.get("removed")]


# -- identity priority, as the bridge carries each user ------------------------------------------


@pytest.mark.parametrize(
    ("batch", "expected"),
    [
        (person("prio-c", "c@example.com", "X"), "prio-c"),  # customer id → Identity
        (person(email="only@example.com", city="X"), "mpid"),  # MPID + email → Identity = MPID
        (person(city="X", android_uuid="dev-1"), None),  # MPID alone → anonymous, skipped
    ],
    ids=["customer-id", "mpid-with-email", "anonymous"],
)
def test_identity_priority_without_partner_id(
    batch: dict[str, Any],
    expected: str | None,
    ct: CleverTapDriver,
    mp: MParticleDriver,
    views: ControlViews,
) -> None:
    mp.send(batch)
    views.define_audience("City X", {"attribute": "$city", "value": "X"})
    views.settle()
    found = views.ct_segment("City X", type=SEGMENT_TYPE)
    if expected is None:
        assert found["count"] == 0
        assert partner_syncs(views) == []
        return
    [user] = views.mp_users()
    identity = user["mpid"] if expected == "mpid" else expected
    assert identities_of(views, found) == {identity}
    [sync] = partner_syncs(views, identity)
    assert sync["evtData"]["Action"] == "Added"
    if expected == "mpid":  # Email merged into the matched profile
        assert ct.profile(identity=identity)["profileData"]["Email"] == "only@example.com"


# -- the round trip: CleverTap export → mParticle partner identity → audience → same profile ----


def test_round_trip_through_the_feed_maps_back_by_partner_id(
    ct: CleverTapDriver, views: ControlViews
) -> None:
    # A CleverTap-only profile (no customer id anywhere in mParticle yet).
    ct.upload_ok(profile_record("ct-user-7", Name="Asha", Email="asha@example.com"))
    guid = ct.object_id("ct-user-7")

    export = views.http.post(
        f"/clevertap/{ACCOUNT}/exports", json={"data": "profiles", "frequency": "once"}
    )
    assert export.status_code == 201, export.text
    views.settle()
    # The feed gave the mParticle user the CleverTap ID as its partner identity.
    users = views.mp_users()
    [user] = [u for u in users if u["partner_identities"].get("CleverTap_User_ID") == guid]
    assert user["user_identities"]["customer_id"] == "ct-user-7"
    assert user["user_attributes"]["ct_name"] == "Asha"
    done = views.ct_page("exports")["exports"]
    assert [e["status"] for e in done] == ["DONE"]

    # The audience's partner id leads back to the very same profile.
    audience = views.define_audience("Launchers", {"attribute": "ct_name", "value": "Asha"})
    views.settle()
    found = views.ct_segment("Launchers", type=SEGMENT_TYPE)
    assert found["partner_segment_id"] == audience["id"]
    assert found["members"] == [guid]
    [sync] = partner_syncs(views, "ct-user-7")
    assert sync["evtData"]["Partner Segment Name"] == "Launchers"
    # The message carried the partner identity, the first in CleverTap's priority.
    [delivery] = [
        d
        for d in views.deliveries(flow="audiences")
        if d["request"]["body"]["type"] == "audience_membership_change_request"
    ]
    [applied] = delivery["response"]["body"]["applied"]
    assert applied["matched_by"] == "CleverTap_User_ID"
    [profile] = delivery["request"]["body"]["user_profiles"]
    assert {"type": "CleverTap_User_ID", "encoding": "raw", "value": guid} in profile[
        "partner_identities"
    ]
