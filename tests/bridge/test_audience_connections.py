"""Audience connections: each audience is connected to the audience output with its own User ID
(CleverTap's "Import Audience from mParticle", steps 2-4: Connect Output, select the
configuration, select the User ID, https://docs.clevertap.com/docs/mparticle-import-audience),
and connecting one that has members back-fills them. The audience side follows its User ID and
CleverTap's identity rules (User Identity Management, same page), so one person stays one
CleverTap profile when the event output and the audience output use the same User ID.
"""

from __future__ import annotations

from typing import Any

from tests.drivers import BridgeDriver, ControlViews, MParticleDriver
from tests.drivers.bridge import batch
from tests.drivers.mparticle import custom_event

SEGMENT_TYPE = "Partner - mParticle"
EMAIL = "pat@example.com"


def sent_profiles(row: dict[str, Any]) -> list[dict[str, Any]]:
    body = row["request"]["body"]
    assert body["type"] == "audience_membership_change_request", body
    profiles: list[dict[str, Any]] = body["user_profiles"]
    return profiles


def customer_of(profile: dict[str, Any]) -> list[str]:
    return [i["value"] for i in profile["user_identities"] if i["type"] == "customer"]


def test_one_person_stays_one_profile_when_both_outputs_use_email(
    views: ControlViews, bridge: BridgeDriver
) -> None:
    views.configure(event_output={"user_id": "email"}, audience_output={"user_id": "email"})
    bridge.forward(batch(custom_event("Viewed"), identities={"email": EMAIL}))
    views.define_audience("Emailable", {"identity": "email"})
    views.settle()
    (profile,) = views.ct_profiles()
    assert profile["identities"] == [EMAIL]
    assert set(profile["events"]) == {"Viewed", "Partner Sync"}
    assert views.ct_segment("Emailable", type=SEGMENT_TYPE)["count"] == 1


def test_different_user_ids_make_two_profiles(views: ControlViews, bridge: BridgeDriver) -> None:
    """Event output on email, audience output on the customer id (its default): CleverTap maps the
    audience's user by customer id, another Identity than the events'."""
    views.configure(event_output={"user_id": "email"})
    bridge.forward(batch(custom_event("Viewed"), identities={"email": EMAIL}))
    views.define_audience("Emailable", {"identity": "email"})
    views.settle()
    by_identity = {tuple(p["identities"]): set(p["events"]) for p in views.ct_profiles()}
    assert by_identity == {(EMAIL,): {"Viewed"}, ("cust-1",): {"Partner Sync"}}


def test_explicit_connect_backfills_members_with_its_user_id(
    mp: MParticleDriver, views: ControlViews
) -> None:
    views.configure(event_output={"enabled": False}, audience_output={"connect": "explicit"})
    mp.send(batch(custom_event("Bought"), identities={"email": EMAIL}))
    audience = views.define_audience("Buyers", {"event": "Bought"})
    views.settle()
    assert views.deliveries(flow="audiences") == []  # not connected yet
    assert views.ct_segments(type=SEGMENT_TYPE) == []

    response = views.connect_audience(audience["id"], user_id="email")
    assert response.status_code == 201, response.text
    assert response.json()["connections"] == {"default": "email"}
    views.settle()
    subscription, membership = views.deliveries(flow="audiences")
    assert subscription["request"]["body"]["action"] == "add"
    (sent,) = sent_profiles(membership)
    assert customer_of(sent) == [EMAIL]
    assert [a["action"] for a in sent["audiences"]] == ["add"]
    (profile,) = views.ct_profiles()
    assert profile["identities"] == [EMAIL]
    assert views.ct_segment("Buyers", type=SEGMENT_TYPE)["count"] == 1

    # Later changes follow the connection; an audience not connected sends nothing.
    views.define_audience("Never connected", {"event": "Bought"})
    mp.send(batch(custom_event("Bought"), customer_id="cust-2"))
    views.settle()
    rows = views.deliveries(flow="audiences")
    assert len(rows) == 3, rows
    (later,) = sent_profiles(rows[2])
    assert [a["audience_id"] for a in later["audiences"]] == [audience["id"]]
    assert customer_of(later) == []  # cust-2 has no email: CleverTap falls back to the MPID


def test_user_id_mpid_sends_no_customer(views: ControlViews, mp: MParticleDriver) -> None:
    views.configure(event_output={"enabled": False}, audience_output={"user_id": "mpid"})
    mp.send(batch(custom_event("Bought"), identities={"email": EMAIL}))
    views.define_audience("Buyers", {"event": "Bought"})
    views.settle()
    (sent,) = sent_profiles(views.deliveries(flow="audiences")[-1])
    assert customer_of(sent) == []
    (profile,) = views.ct_profiles()
    assert profile["identities"] == [sent["mpid"]]  # CleverTap: Identity = the MPID


def test_connecting_needs_an_audience_and_an_output_of_the_workspace(views: ControlViews) -> None:
    audience = views.define_audience("Any", {"identity": "email"})
    assert views.connect_audience(999).status_code == 404
    assert views.connect_audience(audience["id"], output="nowhere").status_code == 404
    assert views.connect_audience(audience["id"], user_id="phone").status_code == 400
