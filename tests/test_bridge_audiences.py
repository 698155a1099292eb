"""mParticle audiences → CleverTap segments, end to end (seed 001).

Users arrive through the Events API; an audience defined on the workspace is sent by the default
connection's audience output as Firehose messages; CleverTap turns it into a `Partner - mParticle`
segment, raises `Partner Sync`, and the segment drives a captured campaign. Both scenarios of the
seed are here, and every identity-priority branch as the bridge carries it.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

ACCOUNT = "EMU-TEST-0001"
WORKSPACE = "1000"
HTTP = httpx.Client(timeout=30)
SEGMENT_TYPE = "Partner - mParticle"


def send(emulator: Any, batch: dict[str, Any]) -> None:
    response = HTTP.post(
        f"{emulator.url}/v2/events", json=batch, headers=emulator.mparticle_headers
    )
    assert response.status_code == 202, response.text


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


def define(emulator: Any, name: str, criteria: dict[str, Any], **extra: Any) -> dict[str, Any]:
    response = emulator.client.http.post(
        f"/mparticle/{WORKSPACE}/audiences", json={"name": name, "criteria": criteria, **extra}
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def segment(emulator: Any, name: str) -> dict[str, Any]:
    page = emulator.client.http.get(
        f"/clevertap/{ACCOUNT}/segments", params={"type": SEGMENT_TYPE}
    ).json()
    (found,) = [s for s in page["segments"] if s["name"] == name]
    return found  # type: ignore[no-any-return]


def identities_of(emulator: Any, segment_doc: dict[str, Any]) -> set[str | None]:
    out = set()
    for guid in segment_doc["members"]:
        profile = emulator.client.http.get(f"/clevertap/{ACCOUNT}/profiles/{guid}").json()
        out.add(profile["identities"][0] if profile["identities"] else None)
    return out


def partner_syncs(emulator: Any, identity: str | None = None) -> list[dict[str, Any]]:
    params = {"event_name": "Partner Sync", "limit": 10000}
    if identity is not None:
        params["identity"] = identity
    page = emulator.client.http.get(f"/clevertap/{ACCOUNT}/events", params=params).json()
    return page["events"]  # type: ignore[no-any-return]


def mpid_of(emulator: Any, customer_id: str) -> str:
    page = emulator.client.http.get(f"/mparticle/{WORKSPACE}/users", params={"limit": 10000})
    for user in page.json()["users"]:
        if user["user_identities"].get("customer_id") == customer_id:
            return user["mpid"]  # type: ignore[no-any-return]
    raise AssertionError(f"no user with customer id {customer_id}")


# -- scenario 1: a one-time audience of a city, used in an in-app campaign ------------------------


def test_one_time_city_audience_becomes_a_segment_used_by_an_in_app_campaign(
    emulator: Any,
) -> None:
    for i in range(3):
        send(emulator, person(f"blr-{i}", f"blr{i}@example.com", "Bangalore"))
    send(emulator, person("del-1", "del1@example.com", "Delhi"))
    # Anonymous: a device id and nothing else, so only an MPID reaches CleverTap.
    send(emulator, person(city="Bangalore", ios_advertising_id="A1B2C3D4-0000-0000-0000-00000000"))
    audience = define(
        emulator,
        "Bangalore users",
        {"attribute": "$city", "value": "Bangalore"},
        export="one_time",
    )
    assert len(audience["members"]) == 4  # the anonymous user is a member in mParticle
    emulator.client.settle()

    found = segment(emulator, "Bangalore users")
    assert found["type"] == SEGMENT_TYPE
    assert found["partner_segment_id"] == audience["id"]
    assert found["count"] == 3
    assert identities_of(emulator, found) == {"blr-0", "blr-1", "blr-2"}
    syncs = partner_syncs(emulator)
    assert sorted(e["identity"] for e in syncs) == ["blr-0", "blr-1", "blr-2"]
    assert {e["evtData"]["Action"] for e in syncs} == {"Added"}
    # The anonymous user is reported, not lost.
    [delivery] = [
        d for d in emulator.client.deliveries(flow="audiences") if d["source"].get("users")
    ]
    assert delivery["status"] == "delivered"
    assert [s["reason"] for s in delivery["response"]["body"]["skipped"]]
    assert any("anonymous" in s["reason"] for s in delivery["response"]["body"]["skipped"])

    # One-time: a Bangalore user arriving later is not sent.
    send(emulator, person("blr-9", "blr9@example.com", "Bangalore"))
    emulator.client.settle()
    assert segment(emulator, "Bangalore users")["count"] == 3

    # The In-App campaign of the seed: App Launched, filtered on the segment.
    body = {
        "name": "Bangalore welcome",
        "target_mode": "inapp",
        "segment": "Bangalore users",
        "content": {"title": "Namaskara", "body": "Welcome back"},
        "when": "now",
    }
    created = HTTP.post(
        f"{emulator.url}/1/targets/create.json", json=body, headers=emulator.clevertap_headers
    ).json()
    assert created["status"] == "success", created
    campaigns = emulator.client.http.get(f"/clevertap/{ACCOUNT}/campaigns").json()["campaigns"]
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


def test_recurring_cart_abandon_audience_raises_added_and_removed(emulator: Any) -> None:
    emulator.client.freeze_clock(1_790_000_000)
    audience = define(emulator, "Cart Drop off", CART_ABANDON)
    send(emulator, person("cart-1", "c1@example.com", events=["Add to Cart"]))
    send(emulator, person("cart-2", "c2@example.com", events=["Add to Cart"]))
    emulator.client.settle()
    assert identities_of(emulator, segment(emulator, "Cart Drop off")) == {"cart-1", "cart-2"}

    # cart-1 buys: out of the audience, Removed.
    send(emulator, person("cart-1", events=["Purchase"]))
    emulator.client.settle()
    assert identities_of(emulator, segment(emulator, "Cart Drop off")) == {"cart-2"}
    # cart-2's cart ages out of the window as the clock moves: Removed too.
    emulator.client.advance_clock(86400 + 1)
    emulator.client.settle()
    assert segment(emulator, "Cart Drop off")["count"] == 0

    expected_props = {
        "Partner Segment Name": "Cart Drop off",
        "Partner Segment ID": audience["id"],
        "CT Source": "mParticle",
        "Partner Name": "mParticle",
    }
    for customer, actions in (("cart-1", ["Added", "Removed"]), ("cart-2", ["Added", "Removed"])):
        syncs = partner_syncs(emulator, customer)
        assert [e["evtData"]["Action"] for e in syncs] == actions
        for event in syncs:
            assert {k: event["evtData"][k] for k in expected_props} == expected_props
    # The segment membership history matches mParticle's own record of changes.
    changes = emulator.client.http.get(
        f"/mparticle/{WORKSPACE}/memberships", params={"audience_id": str(audience["id"])}
    ).json()["memberships"]
    assert [c["action"] for c in changes] == ["add", "add", "delete", "delete"]


def test_removing_the_audience_removes_the_segment(emulator: Any) -> None:
    audience = define(emulator, "Gone soon", {"attribute": "plan", "value": "pro"})
    emulator.client.settle()
    assert segment(emulator, "Gone soon")["partner_segment_id"] == audience["id"]
    response = emulator.client.http.delete(f"/mparticle/{WORKSPACE}/audiences/{audience['id']}")
    assert response.status_code == 200, response.text
    emulator.client.settle()
    page = emulator.client.http.get(
        f"/clevertap/{ACCOUNT}/segments", params={"type": SEGMENT_TYPE}
    ).json()
    assert "Gone soon" not in [s["name"] for s in page["segments"] if not s.get("removed")]


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
    emulator: Any, batch: dict[str, Any], expected: str | None
) -> None:
    send(emulator, batch)
    define(emulator, "City X", {"attribute": "$city", "value": "X"})
    emulator.client.settle()
    found = segment(emulator, "City X")
    if expected is None:
        assert found["count"] == 0
        assert partner_syncs(emulator) == []
        return
    [user] = emulator.client.http.get(f"/mparticle/{WORKSPACE}/users").json()["users"]
    identity = user["mpid"] if expected == "mpid" else expected
    assert identities_of(emulator, found) == {identity}
    [sync] = partner_syncs(emulator, identity)
    assert sync["evtData"]["Action"] == "Added"
    if expected == "mpid":  # Email merged into the matched profile
        profile = HTTP.get(
            f"{emulator.url}/1/profile.json",
            params={"identity": identity},
            headers=emulator.clevertap_headers,
        ).json()
        assert profile["record"]["profileData"]["Email"] == "only@example.com"


# -- the round trip: CleverTap export → mParticle partner identity → audience → same profile ----


def test_round_trip_through_the_feed_maps_back_by_partner_id(emulator: Any) -> None:
    # A CleverTap-only profile (no customer id anywhere in mParticle yet).
    upload = HTTP.post(
        f"{emulator.url}/1/upload",
        headers=emulator.clevertap_headers,
        json={
            "d": [
                {
                    "type": "profile",
                    "identity": "ct-user-7",
                    "profileData": {"Name": "Asha", "Email": "asha@example.com"},
                }
            ]
        },
    ).json()
    assert upload["status"] == "success", upload
    guid = HTTP.get(
        f"{emulator.url}/1/profile.json",
        params={"identity": "ct-user-7"},
        headers=emulator.clevertap_headers,
    ).json()["record"]["platformInfo"][0]["objectId"]

    export = emulator.client.http.post(
        f"/clevertap/{ACCOUNT}/exports", json={"data": "profiles", "frequency": "once"}
    )
    assert export.status_code == 201, export.text
    emulator.client.settle()
    # The feed gave the mParticle user the CleverTap ID as its partner identity.
    users = emulator.client.http.get(f"/mparticle/{WORKSPACE}/users").json()["users"]
    [user] = [u for u in users if u["partner_identities"].get("CleverTap_User_ID") == guid]
    assert user["user_identities"]["customer_id"] == "ct-user-7"
    assert user["user_attributes"]["ct_name"] == "Asha"
    done = emulator.client.http.get(f"/clevertap/{ACCOUNT}/exports").json()["exports"]
    assert [e["status"] for e in done] == ["DONE"]

    # The audience's partner id leads back to the very same profile.
    audience = define(emulator, "Launchers", {"attribute": "ct_name", "value": "Asha"})
    emulator.client.settle()
    found = segment(emulator, "Launchers")
    assert found["partner_segment_id"] == audience["id"]
    assert found["members"] == [guid]
    [sync] = partner_syncs(emulator, "ct-user-7")
    assert sync["evtData"]["Partner Segment Name"] == "Launchers"
    # The message carried the partner identity, the first in CleverTap's priority.
    [delivery] = [
        d
        for d in emulator.client.deliveries(flow="audiences")
        if d["request"]["body"]["type"] == "audience_membership_change_request"
    ]
    [applied] = delivery["response"]["body"]["applied"]
    assert applied["matched_by"] == "CleverTap_User_ID"
    [profile] = delivery["request"]["body"]["user_profiles"]
    assert {"type": "CleverTap_User_ID", "encoding": "raw", "value": guid} in profile[
        "partner_identities"
    ]
