"""mParticle → CleverTap event forwarding: the connection's User ID setting picks the identity
that becomes CleverTap's `identity`; a batch without it is skipped.

Every test starts from the plugin's reset (default tenants: connection `default` from workspace
`1000` to account `EMU-TEST-0001`). Expected records are written out by hand from
emulator/bridge/mapping.py's rules and docs/integration-behaviour.md, never
computed with the mapping itself, so a change on either side shows.
"""

from __future__ import annotations

import pytest

from tests.drivers import BridgeDriver, CleverTapDriver, ControlViews, MParticleDriver
from tests.drivers.bridge import (
    batch,
    records,
)
from tests.drivers.mparticle import custom_event

# ---- the User ID setting -------------------------------------------------------------------------

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
    option: str, ct: CleverTapDriver, views: ControlViews, bridge: BridgeDriver
) -> None:
    views.configure(event_output={"user_id": option})
    row = bridge.forward(batch(custom_event("Picked"), customer_id=None, identities=ALL_IDENTITIES))
    (accepted,) = views.mp_batches()
    mpid = accepted["resolved"]["mpid"]
    expected = mpid if option == "mpid" else ALL_IDENTITIES[USER_ID_OPTIONS[option]]
    assert row["source"]["mpid"] == mpid
    assert {r["identity"] for r in records(row)} == {expected}

    record = ct.find_profile(identity=expected)
    assert record is not None, f"no CleverTap profile with identity {expected!r}"
    assert record["identities"] == [expected]
    assert record["events"]["Picked"]["count"] == 1
    assert record["profileData"]["Email"] == "seven@example.com"
    # No other identity became a CleverTap identity.
    for value in {*ALL_IDENTITIES.values(), mpid} - {expected}:
        assert ct.find_profile(identity=value) is None, value
    (profile,) = views.ct_profiles()
    assert profile["identities"] == [expected]


@pytest.mark.parametrize("option", list(USER_ID_OPTIONS))
def test_batch_without_the_user_id_identity_is_skipped(
    option: str, mp: MParticleDriver, views: ControlViews, bridge: BridgeDriver
) -> None:
    views.configure(event_output={"user_id": option})
    others = {k: v for k, v in ALL_IDENTITIES.items() if k != USER_ID_OPTIONS[option]}
    mp.send(
        batch(custom_event("Lost"), customer_id=None, identities=others, user_attributes={"a": 1})
    )
    views.settle()
    row = bridge.only_delivery()
    assert row["status"] == "skipped", row
    (skip,) = row["skipped"]
    assert skip["event"] is None and skip["event_type"] is None
    assert option in skip["reason"] and "identity" in skip["reason"], skip
    assert "request" not in row
    assert bridge.uploads() == []
    assert views.ct_profiles() == []
    assert views.ct_events() == []
