"""mParticle → CleverTap forwarding of user data: user attributes become profile properties
(gender, names, deletions, attribute-change events), and identities become Email, Phone, FBID
and GPID.

Every test starts from the plugin's reset (default tenants: connection `default` from workspace
`1000` to account `EMU-TEST-0001`). Expected records are written out by hand from
emulator/bridge/mapping.py's rules and docs/integration-behaviour.md, never
computed with the mapping itself, so a change on either side shows.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.drivers import BridgeDriver, CleverTapDriver, ControlViews, MParticleDriver
from tests.drivers.bridge import (
    FAST,
    T0,
    accepted,
    attempt_statuses,
    batch,
    event,
    records,
)
from tests.drivers.mparticle import custom_event


def test_user_attributes_become_profile_properties(
    ct: CleverTapDriver, bridge: BridgeDriver
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
    row = bridge.forward(batch(user_attributes=attributes))
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
    record = ct.find_profile(identity="cust-1")
    assert record is not None
    assert record["profileData"] == expected
    assert (record["name"], record["phone"]) == ("Grace Hopper", "+15550100")
    assert record["events"] == {}


@pytest.mark.parametrize(
    ("given", "gender"),
    [("male", "M"), ("M", "M"), ("female", "F"), ("f", "F"), ("Other", "O"), ("u", "U")],
)
def test_gender_is_normalised(
    given: str, gender: str, ct: CleverTapDriver, bridge: BridgeDriver
) -> None:
    bridge.forward(batch(user_attributes={"$gender": given}))
    record = ct.find_profile(identity="cust-1")
    assert record is not None and record["profileData"] == {"Gender": gender}


def test_unknown_gender_is_left_out(ct: CleverTapDriver, bridge: BridgeDriver) -> None:
    bridge.forward(batch(user_attributes={"$gender": "NA", "plan": "pro"}))
    record = ct.find_profile(identity="cust-1")
    assert record is not None and record["profileData"] == {"plan": "pro"}


def test_first_name_alone_is_the_name(ct: CleverTapDriver, bridge: BridgeDriver) -> None:
    bridge.forward(batch(user_attributes={"$firstname": "Ada"}))
    record = ct.find_profile(identity="cust-1")
    assert record is not None and record["profileData"] == {"Name": "Ada"}


def test_deleted_user_attributes_remove_properties(
    ct: CleverTapDriver, mp: MParticleDriver, views: ControlViews, bridge: BridgeDriver
) -> None:
    mp.send(batch(user_attributes={"plan": "pro", "$city": "Paris", "k": 1}))
    mp.send(batch(deleted_user_attributes=["plan", "$city"]))
    views.settle()
    first, second = bridge.deliveries()
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
    record = ct.find_profile(identity="cust-1")
    assert record is not None
    assert record["profileData"] == {"k": 1}


@pytest.mark.parametrize(
    ("attribute", "value", "prop"),
    [("$mobile", "+33612345678", "Phone"), ("$gender", "female", "Gender"), ("$age", 30, "Age")],
    ids=["mobile", "gender", "age"],
)
def test_deleted_reserved_attribute_removes_its_clevertap_property(
    attribute: str,
    value: Any,
    prop: str,
    ct: CleverTapDriver,
    mp: MParticleDriver,
    views: ControlViews,
    bridge: BridgeDriver,
) -> None:
    """`$mobile`, `$gender`, `$age` map to CleverTap's Phone, Gender, Age, so deleting one sends
    `{"<prop>": {"$delete": true}}`: the upload must take it (and the other deletions in the same
    profile record)."""
    mp.send(batch(user_attributes={attribute: value, "plan": "pro", "k": 1}))
    mp.send(batch(deleted_user_attributes=[attribute, "plan"]))
    views.settle()
    first, second = bridge.deliveries()
    accepted(first)
    assert [r["profileData"] for r in records(second)] == [
        {prop: {"$delete": True}, "plan": {"$delete": True}}
    ]
    accepted(second)
    record = ct.find_profile(identity="cust-1")
    assert record is not None
    assert record["profileData"] == {"k": 1}


def test_user_attribute_change_deleted_removes_the_property(
    ct: CleverTapDriver, mp: MParticleDriver, views: ControlViews, bridge: BridgeDriver
) -> None:
    mp.send(batch(user_attributes={"plan": "pro", "$state": "CA", "k": 1}))
    removed = [
        event("user_attribute_change", user_attribute_name="plan", deleted=True, old="pro"),
        event("user_attribute_change", user_attribute_name="$state", deleted=True, old="CA"),
    ]
    mp.send(batch(*removed))
    views.settle()
    _, second = bridge.deliveries()
    accepted(second)
    assert [r["profileData"] for r in records(second)] == [
        {"plan": {"$delete": True}, "State": {"$delete": True}}
    ]
    assert second["skipped"] == []
    record = ct.find_profile(identity="cust-1")
    assert record is not None and record["profileData"] == {"k": 1}
    assert record["events"] == {}  # attribute changes are not CleverTap events


def test_user_attribute_change_sets_the_new_value(
    ct: CleverTapDriver, mp: MParticleDriver, views: ControlViews, bridge: BridgeDriver
) -> None:
    mp.send(batch(user_attributes={"plan": "pro"}))
    changes = [
        event("user_attribute_change", user_attribute_name="plan", new="enterprise", old="pro"),
        event("user_attribute_change", T0 + 1, user_attribute_name="$gender", new="male"),
        event("user_attribute_change", T0 + 2, user_attribute_name="$mobile", new="+4915112345678"),
        event("user_attribute_change", T0 + 3, user_attribute_name="seats", new=12),
    ]
    mp.send(batch(*changes))
    views.settle()
    _, second = bridge.deliveries()
    accepted(second)
    assert [r["profileData"] for r in records(second)] == [
        {"plan": "enterprise", "Gender": "M", "Phone": "+4915112345678", "seats": 12}
    ]
    record = ct.find_profile(identity="cust-1")
    assert record is not None
    assert record["profileData"] == {
        "plan": "enterprise",
        "Gender": "M",
        "Phone": "+4915112345678",
        "seats": 12,
    }


def test_a_name_part_change_keeps_the_full_name(ct: CleverTapDriver, bridge: BridgeDriver) -> None:
    """The Web SDK sends a `user_attribute_change` event together with all the user's attributes
    in the same batch (tests/clients/test_mparticle_web_sdk.py). Changing the last name must leave
    `Name` as first and last name, as `user_attributes` says, not the last name alone."""
    names = {"$firstname": "Ada", "$lastname": "King"}
    change = event("user_attribute_change", user_attribute_name="$lastname", new="King", old=None)
    row = bridge.forward(batch(change, user_attributes=names))
    assert [r["profileData"] for r in records(row)] == [{"Name": "Ada King"}]
    record = ct.find_profile(identity="cust-1")
    assert record is not None and record["name"] == "Ada King"


@pytest.mark.parametrize("key", ["Employed", "Married", "Education"])
def test_a_list_attribute_named_like_a_clevertap_field_is_no_server_error(
    key: str, mp: MParticleDriver, views: ControlViews, bridge: BridgeDriver
) -> None:
    """A user attribute list under a custom key that CleverTap reserves (`Employed`, `Married`,
    `Education`) cannot be that field's value: CleverTap must refuse the profile record (HTTP 200,
    `unprocessed`), not fail the whole upload with a 500, which the flow retries and then drops
    with the batch's events."""
    views.configure(delivery=FAST)
    mp.send(batch(custom_event("Kept"), user_attributes={key: ["Y", "N"]}))
    views.settle()
    row = bridge.only_delivery()
    assert attempt_statuses(row) == [200], row["attempts"]
    assert row["status"] == "delivered"
    assert [e["evtName"] for e in views.ct_events()] == ["Kept"]


def test_user_identity_change_email_sets_email(ct: CleverTapDriver, bridge: BridgeDriver) -> None:
    change = event(
        "user_identity_change",
        new={"identity_type": "email", "identity": "new@example.com", "created_this_batch": True},
        old={"identity_type": "email", "identity": "old@example.com"},
    )
    row = bridge.forward(batch(change))
    assert [r["profileData"] for r in records(row)] == [{"Email": "new@example.com"}]
    record = ct.find_profile(identity="cust-1")
    assert record is not None
    assert record["email"] == "new@example.com"
    assert record["profileData"] == {"Email": "new@example.com"}
    assert record["events"] == {}


def test_identities_become_email_phone_fbid_gpid(
    http: httpx.Client, ct: CleverTapDriver, bridge: BridgeDriver
) -> None:
    identities = {
        "email": "id@example.com",
        "mobile_number": "+15550199",
        "facebook": "fb-9",
        "google": "g-9",
        "other": "not-forwarded",
        "twitter": "not-forwarded-either",
    }
    row = bridge.forward(batch(custom_event("Hello"), identities=identities))
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
    record = ct.find_profile(identity="cust-1")
    assert record is not None
    assert (record["email"], record["phone"]) == ("id@example.com", "+15550199")
    assert record["profileData"] == profile["profileData"]
    # The profile is also found by its email.
    assert ct.profile(email="id@example.com")["identity"] == "cust-1"
