"""mParticle → CleverTap event forwarding: what is never forwarded (historical batches, the
CleverTap feed's own batches, a disabled connection or output).

Every test starts from the plugin's reset (default tenants: connection `default` from workspace
`1000` to account `EMU-TEST-0001`). Expected records are written out by hand from
emulator/bridge/mapping.py's rules and docs/integration-behaviour.md, never
computed with the mapping itself, so a change on either side shows.
"""

from __future__ import annotations

from typing import Any

import pytest

from emulator.testing.plugin import EmulatorHandle
from tests.drivers import BridgeDriver, ControlViews, MParticleDriver
from tests.drivers.bridge import (
    T0,
    batch,
)
from tests.drivers.defaults import FEED
from tests.drivers.mparticle import custom_event

# ---- what is never forwarded ---------------------------------------------------------------------


def test_historical_batches_are_not_forwarded(
    emulator: EmulatorHandle, mp: MParticleDriver, views: ControlViews, bridge: BridgeDriver
) -> None:
    now_ms = int(emulator.client.clock()["now"] * 1000)
    old = batch(custom_event("Old", T0), user_attributes={"plan": "old"})
    recent = batch(
        custom_event("Recent", now_ms - 1000), customer_id="cust-2"
    )  # not processed at all
    mp.send([old, recent], path="/v2/bulkevents/historical")
    views.settle()
    stored = views.mp_batches()
    assert [b["historical"] for b in stored] == [True, True]
    assert "mpid" in stored[0]["resolved"] and "skipped" in stored[1]["resolved"]

    row = bridge.only_delivery()  # the processed one; the unprocessed one has none
    assert row["status"] == "skipped"
    assert row["source"]["mpid"] == stored[0]["resolved"]["mpid"]
    (skip,) = row["skipped"]
    assert "historical" in skip["reason"]
    assert bridge.uploads() == [] and views.ct_profiles() == []


def test_feed_input_batches_are_not_sent_back(
    mp: MParticleDriver, views: ControlViews, bridge: BridgeDriver
) -> None:
    mp.send(batch(custom_event("From CleverTap")), path="/s2s/v2/events", auth=FEED)
    views.settle()
    (stored,) = views.mp_batches()
    assert stored["input"] == FEED[0]
    row = bridge.only_delivery()
    assert row["status"] == "skipped"
    assert row["source"]["input"] == FEED[0]
    (skip,) = row["skipped"]
    assert "feed" in skip["reason"] and "not sent back" in skip["reason"], skip
    assert bridge.uploads() == [] and views.ct_profiles() == []


def test_feed_input_batches_are_not_sent_back_when_the_feed_names_no_input(
    emulator: EmulatorHandle, mp: MParticleDriver, views: ControlViews, bridge: BridgeDriver
) -> None:
    """A connection's feed without `input_key` delivers to the workspace's first feed input
    (surface.py `_feed_input`), so data arriving there is still this connection's feed and must
    not go back to CleverTap (it would loop: export → feed → upload → export)."""
    doc = views.connection()
    doc["feed"] = {"enabled": True}
    emulator.client.put_tenant(doc)
    mp.send(batch(custom_event("From CleverTap")), path="/s2s/v2/events", auth=FEED)
    views.settle()
    row = bridge.only_delivery()
    assert row["status"] == "skipped", row
    assert bridge.uploads() == [] and views.ct_profiles() == []


@pytest.mark.parametrize(
    "changes",
    [{"enabled": False}, {"event_output": {"enabled": False}}],
    ids=["connection-disabled", "event-output-disabled"],
)
def test_disabled_connection_or_output_makes_no_delivery(
    emulator: EmulatorHandle,
    changes: dict[str, Any],
    mp: MParticleDriver,
    views: ControlViews,
    bridge: BridgeDriver,
) -> None:
    views.configure(**changes)
    mp.send(batch(custom_event("Unsent"), user_attributes={"plan": "pro"}))
    views.settle()
    assert len(views.mp_batches()) == 1  # accepted by mParticle as usual
    assert emulator.client.deliveries("default") == []
    assert bridge.uploads() == [] and views.ct_profiles() == []


@pytest.mark.parametrize("platform", ["roku", "alexa", "fire_tv", "xbox"])
def test_unsupported_platform_batches_are_skipped_with_a_reason(
    platform: str, mp: MParticleDriver, views: ControlViews, bridge: BridgeDriver
) -> None:
    """Only the CleverTap Event integration's "Supported Platforms" (Android, Data Feeds, iOS,
    tvOS, SmartTV, Web: https://docs.mparticle.com/integrations/clevertap/event/) are
    forwarded; a Roku or Alexa batch is accepted by mParticle and skipped by the output."""
    mp.send(batch(custom_event("On TV"), device_info={"platform": platform}))
    views.settle()
    assert len(views.mp_batches()) == 1
    row = bridge.only_delivery()
    assert row["status"] == "skipped", row
    (skip,) = row["skipped"]
    assert platform in skip["reason"] and "not supported" in skip["reason"], skip
    assert bridge.uploads() == [] and views.ct_profiles() == []


@pytest.mark.parametrize("platform", ["tvOS", "smart_tv"])
def test_supported_tv_platforms_are_forwarded(
    platform: str, mp: MParticleDriver, views: ControlViews, bridge: BridgeDriver
) -> None:
    """tvOS and SmartTV are on the supported list
    (https://docs.mparticle.com/integrations/clevertap/event/)."""
    mp.send(batch(custom_event("On TV"), device_info={"platform": platform}))
    views.settle()
    row = bridge.only_delivery()
    assert row["status"] == "delivered", row
