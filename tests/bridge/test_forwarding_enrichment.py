"""Profile enrichment before forwarding: a batch that names its user only by MPID (a server batch
with `mpid`, a Web SDK batch without a customer id) is forwarded under the identity the user
profile holds for the User ID setting. mParticle "compares [a batch] to the matching user profile
and adds additional information" before forwarding it
(https://docs.mparticle.com/guides/platform-guide/profiles/, Profile Enrichment).
"""

from __future__ import annotations

from tests.drivers import BridgeDriver, CleverTapDriver, ControlViews, MParticleDriver
from tests.drivers.bridge import accepted, batch, records
from tests.drivers.mparticle import custom_event


def test_mpid_only_and_web_batches_land_on_the_customers_profile(
    mp: MParticleDriver, ct: CleverTapDriver, views: ControlViews, bridge: BridgeDriver
) -> None:
    bridge.forward(batch(custom_event("Signed Up"), identities={"email": "ann@example.com"}))
    mpid = views.mpid_of("cust-1")

    mp.send(batch(custom_event("Server Side"), customer_id=None, mpid=int(mpid)))
    mp.send_web(batch(custom_event("Web Side"), customer_id=None, mpid=mpid))
    views.settle()

    _, server, web = bridge.deliveries()
    for row in (server, web):
        accepted(row)
        assert {r["identity"] for r in records(row)} == {"cust-1"}, row
        assert row["source"]["mpid"] == mpid
    assert web["source"]["input"] == "emu-web-key"
    (profile,) = views.ct_profiles()
    assert profile["identities"] == ["cust-1"]
    record = ct.profile(identity="cust-1")
    assert {"Signed Up", "Server Side", "Web Side"} <= set(record["events"]), record


def test_enrichment_does_not_invent_an_identity_the_profile_lacks(
    mp: MParticleDriver, views: ControlViews, bridge: BridgeDriver
) -> None:
    """An anonymous user's MPID-only batch is still skipped under User ID = customer id."""
    mp.send(batch(custom_event("Browse"), customer_id=None, identities={"email": "a@example.com"}))
    views.settle()
    mpid = views.mpid_of("a@example.com")
    mp.send(batch(custom_event("Again"), customer_id=None, mpid=int(mpid)))
    views.settle()
    rows = bridge.deliveries()
    assert [r["status"] for r in rows] == ["skipped", "skipped"], rows
    assert "no customerId" in rows[1]["skipped"][0]["reason"]


def test_enrichment_follows_the_user_id_setting(
    mp: MParticleDriver, views: ControlViews, bridge: BridgeDriver
) -> None:
    views.configure(event_output={"user_id": "email"})
    mp.send(batch(custom_event("One"), identities={"email": "b@example.com"}))
    views.settle()
    mpid = views.mpid_of("cust-1")
    mp.send(batch(custom_event("Two"), customer_id=None, mpid=int(mpid)))
    views.settle()
    row = accepted(bridge.deliveries()[-1])
    assert [r["evtName"] for r in records(row)] == ["Two"]
    assert {r["identity"] for r in records(row)} == {"b@example.com"}
