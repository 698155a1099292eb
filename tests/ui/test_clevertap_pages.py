"""The inspector's CleverTap pages over HTTP: traffic sent with the platform drivers (and the
bridge for a Partner - mParticle segment), then what the pages show and where they link."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.drivers import BridgeDriver, CleverTapDriver, ControlViews
from tests.drivers.bridge import batch
from tests.drivers.clevertap import bulk_entry, event_record, profile_record
from tests.drivers.defaults import ACCOUNT, WORKSPACE, epoch
from tests.drivers.inspector import InspectorDriver
from tests.drivers.mparticle import custom_event

HOME = f"/clevertap/{ACCOUNT}"
T1 = epoch(2024, 3, 1, 9)
T2 = epoch(2024, 3, 2, 9)


def profile_path(ct: CleverTapDriver, identity: str) -> str:
    return f"{HOME}/profiles/{quote(ct.object_id(identity))}"


def test_accounts_list_each_account_with_its_counts(
    ct: CleverTapDriver, inspector: InspectorDriver
) -> None:
    ct.upload_ok(event_record("ann", "Viewed", T1), profile_record("bob", Name="Bob"))
    page = inspector.ok("/clevertap")
    assert page.shows(ACCOUNT, "Profiles", "Events")
    assert page.links_to(HOME)
    # Region, then profiles, events, segments, campaigns, exports.
    assert page.shows("eu1 2 1 0 0 0")


def test_account_search_by_identity_email_and_clevertap_id(
    ct: CleverTapDriver, inspector: InspectorDriver
) -> None:
    ct.upload_ok(
        profile_record("ann", Email="Ann@Example.com"), profile_record("bob", Email="bob@x.com")
    )
    ann, bob = ct.object_id("ann"), ct.object_id("bob")
    everyone = inspector.ok(HOME)
    assert everyone.shows("1 to 2 of 2 profiles", "ann", "bob")

    for text, by in [("ann", "identity"), ("ann@example.com", "email"), (ann, "objectId")]:
        for key in (by, "any"):
            found = inspector.ok(HOME, q=text, by=key)
            assert found.links_to(f"{HOME}/profiles/{ann}"), (text, key)
            assert not found.links_to(f"{HOME}/profiles/{bob}"), (text, key)

    assert inspector.ok(HOME, q="ann@example.com", by="identity").shows(
        "No profile has the identity “ann@example.com”"
    )
    assert inspector.ok(HOME, q="nobody").shows("No profile has")


def test_profiles_are_paged(ct: CleverTapDriver, inspector: InspectorDriver) -> None:
    ct.upload_ok(*(profile_record(f"user-{n:03}", Rank=n) for n in range(120)))
    first = inspector.ok(HOME)
    assert first.shows("1 to 50 of 120 profiles", "user-000", "user-049")
    assert not first.shows("user-050")
    second = inspector.follow(first.link_starting(f"{HOME}?offset=50"))
    assert second.shows("51 to 100 of 120 profiles", "user-050")
    assert not second.shows("user-049 ")


def test_profile_page_shows_the_identity_graph_properties_and_events(
    ct: CleverTapDriver, inspector: InspectorDriver
) -> None:
    ct.upload_ok(
        profile_record("a1", Name="Ann", Color="red"),
        profile_record("b1", Name="Bea"),
        event_record("a1", "Viewed", T1, item="hat"),
        event_record("b1", "Bought", T2, price=9),
    )
    guid_a, guid_b = ct.object_id("a1"), ct.object_id("b1")
    # profileData.identity adds b1 to a1's profile; b1 has its own: they merge into b1's.
    ct.upload_ok({"type": "profile", "identity": "a1", "profileData": {"identity": "b1"}})

    page = inspector.ok(profile_path(ct, "b1"))
    assert page.shows("Identities", "a1", "b1", guid_a, guid_b, "primary")
    assert page.shows("merge", "identity b1", f"{guid_a} → {guid_b}")
    assert page.shows("Name", "Bea", "Color", "red")
    # The summary and the list hold the events of both profiles, newest first.
    assert page.shows("Viewed 1", "Bought 1", "1 to 2 of 2 events")
    assert page.text.index('{"price":9}') < page.text.index('{"item":"hat"}')
    # The absorbed CleverTap ID opens the same profile.
    assert inspector.ok(f"{HOME}/profiles/{guid_a}").shows(f"Profile {guid_b}")
    only = inspector.follow(page.link_starting(f"{HOME}/profiles/{guid_b}?event=Viewed"))
    assert only.shows("1 to 1 of 1 events", '{"item":"hat"}') and not only.shows('{"price":9}')
    journal = page.link_starting("/journal?")
    assert journal == f"/_emulator/ui/journal?platform=clevertap&tenant={ACCOUNT}&q=b1"


def test_profile_events_are_paged_newest_first(
    ct: CleverTapDriver, inspector: InspectorDriver
) -> None:
    ct.upload_ok(*(event_record("ann", "Tick", T1 + n, n=n) for n in range(60)))
    page = inspector.ok(profile_path(ct, "ann"))
    assert page.shows("Tick 60", "1 to 50 of 60 events", '{"n":59}')
    assert not page.shows('{"n":9}')
    older = inspector.follow(page.link_starting(f"{profile_path(ct, 'ann')}?offset=50"))
    assert older.shows("51 to 60 of 60 events", '{"n":9}', '{"n":0}')


def test_profile_events_reach_back_through_the_whole_store(
    ct: CleverTapDriver, inspector: InspectorDriver
) -> None:
    """5,000 events of two profiles, interleaved: the store keeps older ones in sealed chunks
    (emulator/clevertap/eventlog.py), which the profile page reads back too."""
    for start in range(0, 5000, 1000):
        ct.upload_ok(
            *(
                event_record("ann" if n % 2 == 0 else "bob", "Tick", T1 + n, n=n)
                for n in range(start, start + 1000)
            )
        )
    path = profile_path(ct, "ann")
    newest = inspector.ok(path)
    assert newest.shows("Tick 2500", "1 to 50 of 2500 events", '{"n":4998}')
    oldest = inspector.ok(path, offset=2450)
    assert oldest.shows("2451 to 2500 of 2500 events", '{"n":0}', '{"n":98}')
    assert not oldest.shows('{"n":1}')


def test_partner_segment_shows_members_with_their_partner_sync(
    views: ControlViews, bridge: BridgeDriver, inspector: InspectorDriver, ct: CleverTapDriver
) -> None:
    bridge.forward(batch(custom_event("Viewed")))  # customer cust-1
    views.define_audience("Viewers", {"event": "Viewed"})
    views.settle()
    segment = views.ct_segment("Viewers", type="Partner - mParticle")
    account = inspector.ok(HOME)
    assert account.shows("Viewers", "Partner - mParticle")
    seg_path = f"{HOME}/segments/{segment['id']}"
    assert account.links_to(seg_path)

    page = inspector.ok(seg_path)
    profile = profile_path(ct, "cust-1")
    assert page.links_to(profile)
    assert page.shows("Members", "cust-1", "Added", "(mParticle)", "Partner Sync history")

    person = inspector.ok(profile)
    assert person.links_to(seg_path)
    assert person.shows("Viewed 1", "Partner Sync 1")
    # The bridge's event output sends the customer id as the identity: the user is found by it.
    assert person.links_to(f"/mparticle/{WORKSPACE}?identity=cust-1")


def test_campaign_page_lists_its_targets_and_links_its_segment(
    ct: CleverTapDriver, views: ControlViews, inspector: InspectorDriver
) -> None:
    ct.upload_ok(
        profile_record("ann", Email="ann@x.com"),
        profile_record("bob", Email="bob@x.com"),
        profile_record("cy"),  # no email: not reachable by email
    )
    segment = views.ct_add_segment("Newsletter", identities=["ann", "cy"])
    answer = ct.post_ok(
        "/1/targets/create.json",
        {
            "name": "Spring mail",
            "target_mode": "email",
            "segment": "Newsletter",
            "content": {"subject": "Hi", "body": "Spring"},
            "when": "now",
        },
    )
    campaign_path = f"{HOME}/campaigns/{answer['id']}"
    assert inspector.ok(HOME).links_to(campaign_path)

    page = inspector.ok(campaign_path)
    assert page.shows("Spring mail", "email", "ann@x.com", "1 to 1 of 1 targets")
    assert page.links_to(profile_path(ct, "ann"))
    assert not page.links_to(profile_path(ct, "cy")) and not page.shows("bob@x.com")
    assert page.links_to(f"{HOME}/segments/{segment['id']}")
    assert inspector.ok(f"{HOME}/segments/{segment['id']}").links_to(campaign_path)
    assert inspector.ok(profile_path(ct, "ann")).links_to(campaign_path)


def test_export_page_shows_its_runs(
    ct: CleverTapDriver, views: ControlViews, inspector: InspectorDriver
) -> None:
    ct.upload_ok(profile_record("ann", Name="Ann"))
    made = views.ct_add_export(data="profiles", name="Nightly")
    views.settle()
    assert inspector.ok(HOME).links_to(f"{HOME}/exports/{made['id']}")
    page = inspector.ok(f"{HOME}/exports/{made['id']}")
    assert page.shows("Export Nightly", "profiles", f"{made['id']}-run-1", "1 delivered, 0 failed")


@pytest.mark.parametrize(
    "path",
    [
        "/clevertap/NOPE",
        f"{HOME}/profiles/__nope",
        f"{HOME}/segments/99",
        f"{HOME}/campaigns/99",
        f"{HOME}/exports/export-9",
        "/clevertap/NOPE/profiles/__nope",
    ],
)
def test_unknown_things_are_a_404_page(path: str, inspector: InspectorDriver) -> None:
    page = inspector.ui(path)
    assert page.status == 404
    assert page.shows("404")


def test_api_segment_shows_its_customer_segment_id_and_members(
    inspector: InspectorDriver, ct: CleverTapDriver
) -> None:
    """An API segment (https://docs.clevertap.com/docs/api-segments) is listed on the account
    page and its page shows the type, the customer's id and the members Update Segment added."""
    ct.upload_ok(profile_record("api-1"))
    segment_id = ct.create_segment("From the API", "CUST-7")
    ct.update_segments_answer(
        bulk_entry([{"identity": "api-1"}], {"ct_segment_id": segment_id, "action": "add"})
    )
    seg_path = f"{HOME}/segments/{segment_id}"
    assert inspector.ok(HOME).links_to(seg_path)
    page = inspector.ok(seg_path)
    assert page.shows("API Segment", "Customer segment ID", "CUST-7")
    assert page.links_to(profile_path(ct, "api-1"))
