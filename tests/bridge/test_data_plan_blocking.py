"""A data plan's block settings applied before forwarding: what a plan blocks never reaches
CleverTap, what it allows arrives ("Blocked data is dropped from your data stream before it is
consumed by other mParticle features", and outbound integrations come after plan validation and
blocking: https://docs.mparticle.com/guides/data-master/data-planning/, "Where in mParticle's
data pipeline are plans enforced?").

Every test starts from the plugin's reset (connection `default` from workspace `1000` to account
`EMU-TEST-0001`), goes through the real bridge (send, settle) and reads CleverTap's own views.
"""

from __future__ import annotations

from typing import Any

from tests.drivers import BridgeDriver, CleverTapDriver, ControlViews, MParticleDriver
from tests.drivers.bridge import T0, T0_S, accepted, batch, named
from tests.drivers.mparticle import custom_event, data_point, plan_version

CLOSED = {
    "properties": {
        "data": {
            "properties": {
                "custom_attributes": {
                    "additionalProperties": False,
                    "properties": {"sku": {"type": "string"}},
                }
            }
        }
    }
}
PLANNED = data_point("custom_event", CLOSED, event_name="Purchased", custom_event_type="other")
PLAN_TAG = {"data_plan": {"plan_id": "shop_plan", "plan_version": 1}}


def make_plan(mp: MParticleDriver, **blok: bool) -> None:
    body = {"data_plan_id": "shop_plan", "data_plan_versions": [plan_version(PLANNED, **blok)]}
    mp.plans_ok("POST", "", body, access=mp.token())


def forward(bridge: BridgeDriver, *events: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return bridge.forward(batch(*events, context=PLAN_TAG, **extra))


def test_blocked_event_never_reaches_clevertap(
    mp: MParticleDriver, views: ControlViews, bridge: BridgeDriver, ct: CleverTapDriver
) -> None:
    make_plan(mp, ev=True)
    forward(
        bridge,
        custom_event("Purchased", T0, sku="A1"),
        custom_event("Unplanned Thing", T0 + 1000, x=1),
    )
    assert named(views.ct_events()) == [("Purchased", {"sku": "A1"})]
    profile = ct.find_profile(identity="cust-1")
    assert profile is not None and set(profile["events"]) == {"Purchased"}
    (violation,) = views.plan_violations()
    assert [b["name"] for b in violation["blocked"]] == ["Unplanned Thing"]


def test_without_blocking_the_unplanned_event_arrives(
    mp: MParticleDriver, views: ControlViews, bridge: BridgeDriver
) -> None:
    make_plan(mp)  # violations reported, nothing blocked
    forward(
        bridge,
        custom_event("Purchased", T0, sku="A1"),
        custom_event("Unplanned Thing", T0 + 1000, x=1),
    )
    assert [(e["evtName"], e["ts"]) for e in views.ct_events()] == [
        ("Purchased", T0_S),
        ("Unplanned Thing", T0_S + 1),
    ]
    assert len(views.plan_violations()[0]["results"]) == 1


def test_blocked_attributes_never_reach_clevertap(
    mp: MParticleDriver, views: ControlViews, bridge: BridgeDriver, ct: CleverTapDriver
) -> None:
    plan = plan_version(
        PLANNED,
        data_point("user_attributes", {"additionalProperties": False, "properties": {"tier": {}}}),
        ea=True,
        ua=True,
    )
    mp.plans_ok(
        "POST", "", {"data_plan_id": "shop_plan", "data_plan_versions": [plan]}, access=mp.token()
    )
    row = forward(
        bridge,
        custom_event("Purchased", T0, sku="A1", card="4111"),
        user_attributes={"tier": "gold", "ssn": "123"},
    )
    accepted(row)
    assert named(views.ct_events()) == [("Purchased", {"sku": "A1"})]
    profile = ct.find_profile(identity="cust-1")
    assert profile is not None
    assert "ssn" not in profile["profileData"] and profile["profileData"].get("tier") == "gold"
