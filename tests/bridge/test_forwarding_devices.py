"""Device identities in forwarding. mParticle's CleverTap Event integration lists Android ID, GAID,
IDFA and IDFV as forwarded (https://docs.mparticle.com/integrations/clevertap/event/, "Supported
Device Identity Types"). CleverTap's server API knows a device by its CleverTap ID (`objectId`),
which CleverTap's SDKs make from the ad id: Android `__g` + GAID, iOS `-g` + IDFA, `-v` + IDFV
(github.com/CleverTap/clevertap-android-sdk DeviceInfo, github.com/CleverTap/clevertap-ios-sdk
CTDeviceInfo); `__` + Android ID is the emulator's documented choice
(docs/integration-behaviour.md "Device identities").
"""

from __future__ import annotations

import pytest

from tests.drivers import BridgeDriver, ControlViews, MParticleDriver
from tests.drivers.bridge import batch, records
from tests.drivers.mparticle import custom_event

UUID = "7D3D1A52-6A7E-4C39-9C5E-0D1F6E2A9B11"
HEX = "7d3d1a526a7e4c399c5e0d1f6e2a9b11"
DEVICES = {
    "android_advertising_id": (UUID, f"__g{HEX}"),
    "ios_advertising_id": (UUID, f"-g{HEX}"),
    "ios_idfv": (UUID, f"-v{HEX}"),
    "android_uuid": ("a0504a8cfa15ce2c", "__a0504a8cfa15ce2c"),
}


@pytest.mark.parametrize("field", list(DEVICES))
def test_the_batch_device_joins_the_users_clevertap_profile(
    field: str, views: ControlViews, bridge: BridgeDriver
) -> None:
    value, object_id = DEVICES[field]
    row = bridge.forward(batch(custom_event("Opened"), device_info={field: value}))
    link, event = records(row)
    assert link == {
        "type": "profile",
        "objectId": object_id,
        "ts": link["ts"],
        "profileData": {"identity": "cust-1"},
    }
    assert event["identity"] == "cust-1" and event["evtName"] == "Opened"
    (profile,) = views.ct_profiles()
    assert profile["identities"] == ["cust-1"]
    assert object_id in profile["objectIds"]
    assert profile["events"]["Opened"]["count"] == 1


def test_the_first_device_id_wins_in_the_documented_order(bridge: BridgeDriver) -> None:
    info = {"ios_idfv": UUID, "android_uuid": "a0504a8cfa15ce2c", "ios_advertising_id": UUID}
    row = bridge.forward(batch(custom_event("Opened"), device_info=info))
    assert records(row)[0]["objectId"] == f"-g{HEX}"


def test_a_device_only_user_is_skipped_by_default(
    mp: MParticleDriver, views: ControlViews, bridge: BridgeDriver
) -> None:
    mp.send(batch(custom_event("Opened"), customer_id=None, device_info={"ios_idfv": UUID}))
    views.settle()
    row = bridge.only_delivery()
    assert row["status"] == "skipped", row
    assert row["skipped"][0]["reason"] == (
        "the batch has no customerId to use as the CleverTap identity"
    )
    assert views.ct_profiles() == []


def test_a_device_only_user_is_forwarded_under_its_clevertap_id_when_chosen(
    views: ControlViews, bridge: BridgeDriver
) -> None:
    views.configure(event_output={"device_only_user": "clevertap_id"})
    row = bridge.forward(
        batch(custom_event("Opened"), customer_id=None, device_info={"ios_idfv": UUID})
    )
    (event,) = records(row)
    assert event["objectId"] == f"-v{HEX}" and "identity" not in event
    (profile,) = views.ct_profiles()
    assert profile["identities"] == [] and profile["objectIds"] == [f"-v{HEX}"]


def test_under_user_id_mpid_a_device_only_user_is_its_mpid_with_the_device(
    views: ControlViews, bridge: BridgeDriver
) -> None:
    views.configure(event_output={"user_id": "mpid"})
    row = bridge.forward(
        batch(custom_event("Opened"), customer_id=None, device_info={"android_uuid": "abc123"})
    )
    mpid = row["source"]["mpid"]
    link, event = records(row)
    assert link["objectId"] == "__abc123" and link["profileData"] == {"identity": mpid}
    assert event["identity"] == mpid
    (profile,) = views.ct_profiles()
    assert profile["identities"] == [mpid] and profile["objectIds"] == ["__abc123"]
