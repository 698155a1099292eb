"""The inspector's flows pages over HTTP: connections; a connection's deliveries as a timeline
(each attempt's status, the wait before the retry); a delivery with its attempts (each linked to
its journal entry, a retried one with its own answer), the request it sent and links to the
mParticle user, the batch and the CleverTap profile; a batch beside the CleverTap records it
became (which event made which record, what was skipped and why, what CleverTap refused)."""

from __future__ import annotations

import pytest

from emulator.testing.plugin import EmulatorHandle
from tests.drivers import BridgeDriver, ControlViews, MParticleDriver
from tests.drivers.bridge import FAST, T0, batch, event
from tests.drivers.defaults import ACCOUNT, WORKSPACE
from tests.drivers.inspector import InspectorDriver
from tests.drivers.inspector_mp import MParticlePagesDriver
from tests.drivers.mparticle import custom_event

FLOWS = "/flows/default"


@pytest.fixture
def pages(inspector: InspectorDriver) -> MParticlePagesDriver:
    return MParticlePagesDriver(inspector)


def test_connections_list_each_connection_with_its_ends_and_deliveries(
    pages: MParticlePagesDriver, bridge: BridgeDriver
) -> None:
    bridge.forward(batch(custom_event("Opened")))
    page = pages.connections()
    assert page.shows("default", WORKSPACE, ACCOUNT, "events audiences feed", "1 · delivered 1")
    assert pages.link(FLOWS) in page.links
    assert pages.link(f"/mparticle/{WORKSPACE}") in page.links
    assert pages.link(f"/clevertap/{ACCOUNT}") in page.links


def test_a_retried_delivery_shows_each_attempt_its_wait_and_its_journal_entry(
    emulator: EmulatorHandle,
    pages: MParticlePagesDriver,
    mp: MParticleDriver,
    views: ControlViews,
    bridge: BridgeDriver,
) -> None:
    views.configure(delivery=FAST)
    emulator.client.add_fault(platform="clevertap", path="/1/upload", status=503, times=1)
    mp.send(batch(custom_event("Retried")))
    views.settle()
    row = bridge.only_delivery()
    timeline = pages.deliveries()
    assert timeline.shows(row["id"], "delivered", "events", "503 ↻ 1 ms 200", "POST /1/upload")
    assert pages.link(f"{FLOWS}/deliveries/{row['id']}") in timeline.links

    page = pages.delivery(row["id"])
    assert page.shows("Attempt 1", "503", "retried after 1 ms", "Attempt 2", "200")
    # Each attempt links to the journal entry of the request it made.
    uploads = views.client.requests(platform="clevertap", path="/1/upload")
    assert [entry["status"] for entry in uploads] == [503, 200]
    for entry in uploads:
        assert pages.link(f"/journal/{entry['seq']}") in page.links
    # The retried attempt keeps its own answer (the fault's), the final one is the upload's.
    assert page.shows(
        "503", "the answer", '"error": "Service Unavailable", "code": 503', "Attempt 2"
    )
    assert page.shows("Final answer 200", '"status": "success"')


def test_a_delivery_links_the_user_the_batch_and_the_clevertap_profile(
    pages: MParticlePagesDriver, views: ControlViews, bridge: BridgeDriver
) -> None:
    row = bridge.forward(batch(custom_event("Linked"), user_attributes={"plan": "pro"}))
    mpid = views.mpid_of("cust-1")
    (profile,) = views.ct_profiles(identity="cust-1")
    guid = profile["objectId"]
    page = pages.delivery(row["id"])
    assert page.shows("Request body", '"evtName": "Linked"', "CleverTap records")
    assert pages.link(f"/mparticle/{WORKSPACE}/users/{mpid}") in page.links
    assert pages.link(f"/mparticle/{WORKSPACE}/batches/1") in page.links
    assert pages.link(f"{FLOWS}/batches/1") in page.links
    assert pages.link(f"/clevertap/{ACCOUNT}/profiles/{guid}") in page.links


def test_a_batch_beside_its_records_shows_the_mapping_and_what_was_skipped(
    pages: MParticlePagesDriver, mp: MParticleDriver, views: ControlViews
) -> None:
    mp.send(
        batch(
            custom_event("Viewed", T0),
            event("session_start"),
            custom_event("App Launched", T0),  # a name CleverTap refuses
            event("user_attribute_change", user_attribute_name="plan", new="pro"),
            user_attributes={"tier": "gold"},
        )
    )
    views.settle()
    page = pages.beside(1)
    assert page.shows("Batch 1 → CleverTap", "The batch", "CleverTap records")
    # Event 0 became a record; event 1 was skipped and why; event 3 went into the profile.
    assert page.shows("0 Viewed custom_event", "record 1")
    assert page.shows("1 session_start session_start", "skipped kit-only event type")
    assert page.shows("3 plan user_attribute_change", "part of the profile record")
    assert page.shows("User attributes and identities", "record 0")
    # The record CleverTap refused says so, with CleverTap's own message.
    assert page.shows("2 App Launched custom_event", "record 2")
    assert page.shows("event 2 refused Raised a restricted system event : App Launched")
    assert pages.link(f"/mparticle/{WORKSPACE}/batches/1") in page.links


def test_a_batch_skipped_whole_says_why(
    emulator: EmulatorHandle, pages: MParticlePagesDriver, mp: MParticleDriver, views: ControlViews
) -> None:
    mp.send([batch(custom_event("Old", T0))], path="/v2/bulkevents/historical")
    views.settle()
    page = pages.beside(1)
    assert page.shows("The whole batch was skipped: historical data is not forwarded")
    assert page.shows("No record was sent.")
    timeline = pages.deliveries(status="skipped")
    assert timeline.shows("skipped", "historical data is not forwarded to event outputs")


def test_audience_deliveries_link_the_audience_and_its_users(
    pages: MParticlePagesDriver, mp: MParticleDriver, views: ControlViews
) -> None:
    audience = views.define_audience("Openers", {"event": "Opened"})
    mp.send(batch(custom_event("Opened")))
    views.settle()
    mpid = views.mpid_of("cust-1")
    timeline = pages.deliveries(flow="audiences")
    assert timeline.shows("audiences", f"audience #{audience['id']} add", "membership changes")
    assert "/1/upload" not in timeline.text  # the events flow is filtered out
    subscription, membership = views.deliveries(flow="audiences")
    page = pages.delivery(membership["id"])
    assert pages.link(f"/mparticle/{WORKSPACE}/users/{mpid}") in page.links
    first = pages.delivery(subscription["id"])
    assert pages.link(f"/mparticle/{WORKSPACE}/audiences/{audience['id']}") in first.links


def test_deliveries_are_paged_newest_first(
    pages: MParticlePagesDriver, mp: MParticleDriver, views: ControlViews
) -> None:
    views.configure(audience_output={"enabled": False})
    mp.send(
        [batch(custom_event("x"), customer_id=f"c-{n}") for n in range(55)], path="/v2/bulkevents"
    )
    views.settle()
    rows = views.deliveries()
    first = pages.deliveries()
    assert first.shows("1 to 50 of 55")
    newest, oldest = rows[-1]["id"], rows[0]["id"]
    assert pages.link(f"{FLOWS}/deliveries/{newest}") in first.links
    assert pages.link(f"{FLOWS}/deliveries/{oldest}") not in first.links
    second = pages.deliveries(offset=50)
    assert pages.link(f"{FLOWS}/deliveries/{oldest}") in second.links


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("/flows/no-such-connection", "No connection 'no-such-connection'."),
        (f"{FLOWS}/deliveries/delivery-999", "has no delivery 'delivery-999'"),
        (f"{FLOWS}/batches/7", "has no batch '7'"),
        ("/flows/no-such-connection/batches/1", "No connection"),
    ],
)
def test_unknown_things_are_a_404_page(pages: MParticlePagesDriver, path: str, says: str) -> None:
    assert pages.missing(path).shows(says)
