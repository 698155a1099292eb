"""The inspector's pages of CleverTap's sends to user ids, journeys and live campaigns over HTTP:
the send a test made with each user reached or not and why, filters and paging; a journey's
definition, counts and entries with their outcome and export deliveries; a live campaign's
triggered and missed users; the links from the account and profile pages; 404 for unknown ids."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from emulator.testing.plugin import EmulatorHandle
from tests.drivers import CleverTapDriver, ControlViews
from tests.drivers.clevertap import event_record, profile_record, token_record
from tests.drivers.defaults import ACCOUNT
from tests.drivers.inspector import InspectorDriver

HOME = f"/clevertap/{ACCOUNT}"
NOW = 1_790_000_000
ANDROID = "__a1b2c3d4e5f6"
PUSH = {"title": "Welcome", "body": "Hello world!"}
EMAIL = {"subject": "Hi", "body": "<div>Hello</div>", "sender_name": "Shop"}


@pytest.fixture
def users(emulator: EmulatorHandle, ct: CleverTapDriver) -> None:
    """ann: an Android push token; bob: only an email."""
    emulator.client.freeze_clock(NOW)
    ct.upload_ok(
        {"type": "profile", "identity": "ann", "objectId": ANDROID, "profileData": {}},
        token_record(ANDROID, "fcm-token"),
        profile_record("bob", Email="bob@example.com"),
    )


def push(ct: CleverTapDriver, *identities: str, **extra: Any) -> None:
    ct.send_ok("push", {"to": {"Identity": list(identities)}, "content": PUSH, **extra})


def hrefs(page: Any, part: str) -> list[str]:
    return [r["data-href"] for r in page.rows if part in r["data-href"]]


# -- sends -------------------------------------------------------------------------------------


def test_a_send_shows_who_was_reached_and_why_not(
    users: None, ct: CleverTapDriver, inspector: InspectorDriver
) -> None:
    push(ct, "ann", "bob", "nobody", tag_group="welcome")
    listing = inspector.ok(f"{HOME}/sends")
    (row,) = [r for r in listing.rows if "/sends/" in r["data-href"]]
    assert row["data-href"] == f"/_emulator/ui{HOME}/sends/1"
    assert "push" in row["text"] and "welcome" in row["text"]
    assert "Identity nobody" in row["text"] and "Welcome · Hello world!" in row["text"]
    page = inspector.ok(f"{HOME}/sends/1")
    assert page.shows("Send #1", "Reached 1 of 2", "Ids naming nobody Identity nobody")
    assert page.shows("Identity ann", "reached", "Identity bob", "not reached")
    assert page.shows("no push token")  # why bob would not have been reached
    assert page.shows('"title": "Welcome"')
    assert page.links_to(f"{HOME}/profiles/{ct.object_id('ann')}")


def test_sends_are_filtered_and_linked_from_the_profile(
    users: None, ct: CleverTapDriver, inspector: InspectorDriver
) -> None:
    push(ct, "ann")
    ct.send_ok("email", {"to": {"Email": ["bob@example.com"]}, "content": EMAIL})
    assert hrefs(inspector.ok(f"{HOME}/sends"), "/sends/") == [
        f"/_emulator/ui{HOME}/sends/{n}" for n in (2, 1)
    ]
    assert hrefs(inspector.ok(f"{HOME}/sends", channel="email"), "/sends/") == [
        f"/_emulator/ui{HOME}/sends/2"
    ]
    assert hrefs(inspector.ok(f"{HOME}/sends", identity="ann"), "/sends/") == [
        f"/_emulator/ui{HOME}/sends/1"
    ]
    assert hrefs(inspector.ok(f"{HOME}/sends", reached="false"), "/sends/") == []
    assert inspector.ok(f"{HOME}/sends", reached="false").shows("No send matches these filters.")
    profile = inspector.ok(f"{HOME}/profiles/{ANDROID}")
    assert profile.shows("Sends to this user", "#1 push", "Identity ann", "reached")
    assert profile.links_to(f"{HOME}/sends/1") and profile.links_to(f"{HOME}/sends?identity=ann")
    account = inspector.ok(HOME)
    assert account.shows("Sends (2)", "Journeys (0)")
    assert account.links_to(f"{HOME}/sends") and account.links_to(f"{HOME}/journeys")


def test_a_deleted_users_sends_are_still_found(
    users: None, ct: CleverTapDriver, inspector: InspectorDriver
) -> None:
    push(ct, "ann", "bob")
    bob = ct.object_id("bob")
    ct.post_ok("/1/delete/profiles.json", {"identity": ["bob"]})
    found = inspector.ok(f"{HOME}/sends", identity="bob")
    assert hrefs(found, "/sends/") == [f"/_emulator/ui{HOME}/sends/1"]
    assert inspector.ok(f"{HOME}/sends/1").shows(f"{bob} (deleted)", "no push token")


def test_sends_are_paged(users: None, ct: CleverTapDriver, inspector: InspectorDriver) -> None:
    for _ in range(52):
        push(ct, "ann")
    page = inspector.ok(f"{HOME}/sends")
    assert len(hrefs(page, "/sends/")) == 50 and page.shows("1 to 50 of 52 sends")
    assert hrefs(inspector.ok(f"{HOME}/sends", offset=50), "/sends/") == [
        f"/_emulator/ui{HOME}/sends/{n}" for n in (2, 1)
    ]


def test_no_sends_and_unknown_ones(inspector: InspectorDriver) -> None:
    assert inspector.ok(f"{HOME}/sends").shows("No sends yet")
    for path in (f"{HOME}/sends/9", f"{HOME}/journeys/journey-9", "/clevertap/NOPE/sends"):
        page = inspector.ui(path)
        assert page.status == 404 and page.title.startswith("404"), (path, page.status)


# -- journeys ----------------------------------------------------------------------------------


def test_a_journey_shows_its_definition_counts_and_entries(
    users: None, ct: CleverTapDriver, views: ControlViews, inspector: InspectorDriver
) -> None:
    assert inspector.ok(f"{HOME}/journeys").shows("No journeys")
    big = [{"name": "Amount", "operator": "greater_than", "value": 100}]
    journey = views.ct_add_journey(
        name="Big checkouts",
        entry={"event_name": "Checkout Started", "event_properties": big},
        steps=[{"type": "mparticle_export"}],
    )
    ct.upload_ok(
        event_record("ann", "Checkout Started", NOW, Amount=150),
        event_record("bob", "Checkout Started", NOW - 3 * 3600, Amount=500),  # too old: missed
    )
    views.settle()
    listing = inspector.ok(f"{HOME}/journeys")
    path = f"{HOME}/journeys/{quote(journey['id'])}"
    (row,) = listing.rows
    assert row["data-href"] == f"/_emulator/ui{path}"
    assert "Big checkouts" in row["text"] and row["text"].endswith("1 1 1")
    page = inspector.ok(path)
    assert page.shows("Entered 1", "Exited 1", "Missed 1", "Amount greater_than 100")
    assert page.shows('"event_name": "Checkout Started"', '"type": "mparticle_export"')
    assert page.shows("exported", "outside the live window")
    (entry,) = views.ct_journey_entries(journey=journey["id"])
    (delivery,) = entry["deliveries"]
    assert page.links_to(f"/flows/default/deliveries/{delivery}")
    ann = f"{HOME}/profiles/{ct.object_id('ann')}"
    assert page.links_to(ann)
    assert inspector.ok(path, state="entered").shows("No entry matches these filters.")
    assert inspector.ok(path, state="exited").links_to(ann)
    profile = inspector.ok(f"{HOME}/profiles/{ANDROID}")
    assert profile.shows("Big checkouts", "exported") and profile.links_to(path)


# -- live campaigns ----------------------------------------------------------------------------


def test_a_live_campaign_shows_who_it_triggered_for_and_who_it_missed(
    users: None, ct: CleverTapDriver, inspector: InspectorDriver
) -> None:
    created = ct.create_campaign(
        {
            "name": "Checkout nudge",
            "target_mode": "push",
            "live": True,
            "where": {"event_name": "Checkout Started"},
            "content": PUSH,
            "when": "now",
        }
    )
    ct.upload_ok(
        event_record("ann", "Checkout Started", NOW),
        event_record("bob", "Checkout Started", NOW),  # no push token
    )
    page = inspector.ok(f"{HOME}/campaigns/{created['id']}")
    assert page.shows("Triggered", "ann Checkout Started", "Missed", "bob Checkout Started")
    assert page.shows("not reachable by push")
    assert not page.shows("Targets")
