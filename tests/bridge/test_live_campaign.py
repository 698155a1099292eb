"""Seed 001's live scenario end to end: an mParticle audience synced to CleverTap ("Partner -
mParticle" segment, `Partner Sync` with Action = Added;
https://docs.clevertap.com/docs/mparticle-import-audience), a live campaign targeted at that
segment with a profile filter ("Live Behavior": sent "as soon as they perform ... an
activity", https://docs.clevertap.com/docs/create-message_mparticle), and the trigger event
forwarded from mParticle by the event output. The live campaign's request fields are the
emulator's (docs/clevertap-behaviour.md, "Live campaigns").
"""

from __future__ import annotations

from emulator.testing.plugin import EmulatorHandle
from tests.drivers import CleverTapDriver, ControlViews, MParticleDriver
from tests.drivers.mparticle import custom_event, mp_batch

NOW = 1_790_000_000
SEGMENT_TYPE = "Partner - mParticle"


def shopper(customer_id: str, tier: str, city: str) -> dict[str, object]:
    return mp_batch(
        customer_id=customer_id,
        identities={"email": f"{customer_id}@example.com"},
        user_attributes={"$city": city, "Tier": tier},
    )


def test_a_forwarded_event_triggers_a_live_campaign_on_the_partner_segment(
    emulator: EmulatorHandle, ct: CleverTapDriver, mp: MParticleDriver, views: ControlViews
) -> None:
    emulator.client.freeze_clock(NOW)
    mp.send(shopper("vip-gold", "gold", "Pune"))
    mp.send(shopper("vip-silver", "silver", "Pune"))
    mp.send(shopper("outsider", "gold", "Delhi"))
    audience = views.define_audience("Pune shoppers", {"attribute": "$city", "value": "Pune"})
    views.settle()
    segment = views.ct_segment("Pune shoppers", type=SEGMENT_TYPE)
    assert segment["partner_segment_id"] == audience["id"] and segment["count"] == 2
    syncs = views.ct_events(event_name="Partner Sync")
    assert sorted((e["identity"], e["evtData"]["Action"]) for e in syncs) == [
        ("vip-gold", "Added"),
        ("vip-silver", "Added"),
    ]

    gold = [{"name": "Tier", "operator": "equals", "value": "gold"}]
    created = ct.create_campaign(
        {
            "name": "Pune checkout nudge",
            "target_mode": "email",
            "live": True,
            "segment": "Pune shoppers",
            "where": {
                "event_name": "Checkout Started",
                "common_profile_properties": {"profile_fields": gold},
            },
            "content": {"subject": "Almost there", "body": "Finish your order"},
            "when": "now",
        }
    )
    for customer in ("vip-gold", "vip-silver", "outsider"):
        mp.send(mp_batch(custom_event("Checkout Started", NOW * 1000), customer_id=customer))
    views.settle()

    # The three events reached CleverTap; only the gold member of the segment was targeted.
    assert len(views.ct_events(event_name="Checkout Started")) == 3
    (row,) = views.ct_triggered(id=created["id"])
    assert (row["identity"], row["email"]) == ("vip-gold", "vip-gold@example.com")
    assert (row["event"], row["ts"]) == ("Checkout Started", NOW)
    assert views.ct_triggered(missed="true") == []
    result = ct.campaign_result(created["id"])
    assert result["result"]["sent"] == 1
