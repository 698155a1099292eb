"""An mParticle erasure request (OpenDSR) across the bridge: the user's audience exits reach
CleverTap as Partner Sync `Removed`, and with the connection's `dsr_forward_erasure` on the
CleverTap profile is deleted as CleverTap's delete-profile API does
(https://developer.clevertap.com/docs/delete-user-profile-api); off (the default), it stays
(docs/mparticle-behaviour.md, "OpenDSR")."""

from __future__ import annotations

import pytest

from tests.drivers import CleverTapDriver, ControlViews, MParticleDriver
from tests.drivers.dsr import DsrDriver, dsr_request, skip_waiting
from tests.drivers.mparticle import custom_event, mp_batch

T0 = 1_800_000_000.0


@pytest.mark.parametrize("forward", [True, False])
def test_erasure_forwarded_to_clevertap_when_switched_on(
    dsr: DsrDriver, mp: MParticleDriver, ct: CleverTapDriver, views: ControlViews, forward: bool
) -> None:
    views.freeze(T0)
    if forward:
        views.configure(dsr_forward_erasure=True)
    views.define_audience("Parisians", {"attribute": "$city", "op": "exists"})
    mp.send(
        mp_batch(
            custom_event("bought"),
            customer_id="jane-1",
            identities={"email": "jane@example.com"},
            user_attributes={"$city": "Paris"},
        )
    )
    views.settle()
    assert ct.find_profile(identity="jane-1") is not None
    body = dsr_request(3, identities={"controller_customer_id": "jane-1"}, **skip_waiting())
    dsr.submitted(3, body)
    views.advance(60 + 3600)
    assert dsr.request_status(3, body["subject_request_id"]) == "completed"
    views.settle()
    syncs = views.ct_events(event_name="Partner Sync", identity="jane-1")
    if forward:
        ct.no_profile(identity="jane-1")
        (row,) = views.deliveries(flow="dsr_erasure")
        assert row["status"] == "delivered", row
        assert row["request"]["path"] == "/1/delete/profiles.json"
    else:
        assert ct.find_profile(identity="jane-1") is not None
        assert [e["evtData"]["Action"] for e in syncs] == ["Added", "Removed"]
        assert views.deliveries(flow="dsr_erasure") == []
    assert views.mp_users(identity="jane-1") == []
