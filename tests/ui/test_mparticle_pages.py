"""The inspector's mParticle pages over HTTP: workspaces and their inputs; users found by MPID or
any identity, paged; a user's identities, attributes, batches (each openable as JSON, linked to
the deliveries it caused) and audience memberships with their reason; an audience with its
members; the IDSync history with each request and answer; a 404 page for anything unknown."""

from __future__ import annotations

import pytest

from emulator.testing.plugin import EmulatorHandle
from tests.drivers import ControlViews, MParticleDriver
from tests.drivers.bridge import batch, event
from tests.drivers.defaults import FEED, S2S, WEB_KEY, WORKSPACE
from tests.drivers.inspector import InspectorDriver
from tests.drivers.inspector_mp import MParticlePagesDriver
from tests.drivers.mparticle import custom_event

WS = f"/mparticle/{WORKSPACE}"


@pytest.fixture
def pages(inspector: InspectorDriver) -> MParticlePagesDriver:
    return MParticlePagesDriver(inspector)


def test_workspaces_list_each_workspace_with_its_inputs_and_connections(
    pages: MParticlePagesDriver, mp: MParticleDriver
) -> None:
    mp.send(batch(custom_event("Opened")))
    page = pages.workspaces()
    assert page.shows(f"Workspace {WORKSPACE}", "Users 1", "Batches 1")
    # Every input, by kind and key.
    assert page.shows("Server to server", S2S[0], "Web SDK", WEB_KEY, "Partner feed", FEED[0])
    assert pages.link(WS) in page.links
    assert pages.link("/flows/default") in page.links


def test_users_are_found_by_mpid_or_any_identity(
    pages: MParticlePagesDriver, mp: MParticleDriver, views: ControlViews
) -> None:
    mp.send(
        batch(
            custom_event("Opened"),
            identities={"email": "ada@example.com"},
            device_info={"ios_advertising_id": "AAAA-1111"},
        )
    )
    mp.send(batch(custom_event("Opened"), customer_id="cust-2"))
    ada = views.mpid_of("cust-1")
    other = views.mpid_of("cust-2")
    user_link = pages.link(f"{WS}/users/{ada}")
    for query in (ada, "cust-1", "ada@example.com", "AAAA-1111", "ADA@EXAMPLE"):
        page = pages.workspace(q=query)
        found = [row["data-href"] for row in page.rows if "/users/" in row["data-href"]]
        assert found == [user_link], (query, page.rows)
    # The CleverTap pages link a profile's identity here as `?identity=`.
    linked = pages.workspace(identity="cust-1")
    assert [r["data-href"] for r in linked.rows if "/users/" in r["data-href"]] == [user_link]
    everyone = pages.workspace()
    assert {ada, other} <= {r["text"].split()[0] for r in everyone.rows}
    nobody = pages.workspace(q="no-such-person")
    assert nobody.shows("No user has the MPID or an identity no-such-person")


def test_users_are_paged(pages: MParticlePagesDriver, mp: MParticleDriver) -> None:
    mp.send(
        [batch(custom_event("x"), customer_id=f"c-{n}") for n in range(55)], path="/v2/bulkevents"
    )
    first = pages.workspace()
    users = [r for r in first.rows if "/users/" in r["data-href"]]
    assert len(users) == 50
    assert first.shows("1 to 50 of 55")
    second = pages.workspace(offset=50)
    assert len([r for r in second.rows if "/users/" in r["data-href"]]) == 5
    assert second.shows("51 to 55 of 55")


def test_a_user_page_shows_identities_attributes_and_memberships_with_their_reason(
    pages: MParticlePagesDriver, mp: MParticleDriver, views: ControlViews
) -> None:
    buyers = views.define_audience("Buyers", {"event": "Purchase", "at_least": 2})
    gold = views.define_audience("Gold", {"attribute": "tier", "op": "equals", "value": "gold"})
    views.define_audience("Nobody", {"identity": "other_id_5"})
    mp.send(batch(custom_event("Purchase", ts=None), user_attributes={"tier": "gold"}))
    mp.send(batch(custom_event("Purchase", ts=None), identities={"email": "ada@example.com"}))
    mpid = views.mpid_of("cust-1")
    page = pages.user(mpid)
    assert page.shows(f"User {mpid}", "customer_id cust-1", "email ada@example.com", "tier gold")
    # Each membership: the audience, when, and why: the trigger, the criterion and the data.
    assert page.shows(
        "Buyers #1",
        "batch: now did 'Purchase' at least 2 times ['Purchase' done 2 times",
    )
    assert page.shows(
        "Gold #2", "batch: now attribute 'tier' equals 'gold' [attribute 'tier' is 'gold']"
    )
    assert "Nobody" not in page.text
    assert pages.link(f"{WS}/audiences/{buyers['id']}") in page.links
    assert pages.link(f"{WS}/audiences/{gold['id']}") in page.links


def test_a_membership_that_ends_says_why(
    pages: MParticlePagesDriver, mp: MParticleDriver, views: ControlViews
) -> None:
    views.freeze(1_800_000_000)
    views.define_audience("Recent", {"event": "Opened", "within_seconds": 60})
    mp.send(batch(custom_event("Opened", ts=None)))
    mpid = views.mpid_of("cust-1")
    views.advance(120)
    page = pages.user(mpid)
    assert page.shows("In no audience.")
    assert page.shows("left", "clock moved: no longer did 'Opened' at least 1 times within 60 s")
    assert page.shows("0 within the last 60 s")


def test_a_users_batches_open_as_json_and_link_their_deliveries(
    pages: MParticlePagesDriver, mp: MParticleDriver, views: ControlViews
) -> None:
    mp.send(batch(event("custom_event", event_name="Viewed", custom_event_type="other")))
    views.settle()
    mpid = views.mpid_of("cust-1")
    (delivery,) = views.deliveries(flow="events")
    page = pages.user(mpid)
    assert pages.link(f"{WS}/batches/1") in page.links
    assert pages.link(f"/flows/default/deliveries/{delivery['id']}") in page.links
    assert pages.link("/flows/default/batches/1") in page.links
    opened = pages.batch(1)
    assert opened.shows("Batch 1", "As received", "As resolved", '"event_name": "Viewed"')
    # The request that carried it, in the journal.
    (sent,) = views.client.requests(platform="mparticle", path="/v2/events")
    assert pages.link(f"/journal/{sent['seq']}") in opened.links
    assert pages.link(f"/journal/{sent['seq']}") in page.links
    assert pages.link(f"{WS}/users/{mpid}") in opened.links
    assert pages.link(f"/flows/default/deliveries/{delivery['id']}") in opened.links


def test_an_audience_page_lists_its_members_and_changes(
    pages: MParticlePagesDriver, mp: MParticleDriver, views: ControlViews
) -> None:
    audience = views.define_audience("Gold", {"attribute": "tier", "value": "gold"})
    mp.send(batch(custom_event("x"), user_attributes={"tier": "gold"}))
    mp.send(batch(custom_event("x"), customer_id="cust-2", user_attributes={"tier": "tin"}))
    member = views.mpid_of("cust-1")
    page = pages.audience(audience["id"])
    assert page.shows("Audience Gold", "attribute 'tier' equals 'gold'", "1 members", "joined")
    assert pages.link(f"{WS}/users/{member}") in page.links
    assert views.mpid_of("cust-2") not in page.text


def test_the_idsync_history_shows_each_request_and_answer(
    pages: MParticlePagesDriver, mp: MParticleDriver, views: ControlViews
) -> None:
    anonymous = mp.identify(email="ada@example.com")["mpid"]
    known = mp.login(previous=anonymous, customerid="cust-9", email="ada@example.com")["mpid"]
    assert mp.modify(known, ("email", "ada@example.com", "ada@new.example")).status_code == 200
    missing = mp.idsync("search", {"customerid": "nobody"})
    assert missing.status_code == 404
    page = pages.workspace()
    assert page.shows("IDSync history", "search", "customerid=nobody", "404")
    assert page.shows("No user matches the known identities.")
    assert page.shows("modify", "email: ada@example.com → ada@new.example")
    assert page.shows("login", "customerid=cust-9, email=ada@example.com", f"previous {anonymous}")
    assert pages.link(f"{WS}/users/{known}") in page.links
    # Newest first: the failed search heads the list.
    assert page.text.index("customerid=nobody") < page.text.index("customerid=cust-9")
    # Each request links to its journal entry.
    searched = views.client.requests(platform="mparticle", path="/v1/search")
    assert [e["status"] for e in searched] == [404]
    assert pages.link(f"/journal/{searched[0]['seq']}") in page.links
    # The user's page keeps the requests about them.
    user = pages.user(known)
    assert user.shows("IDSync requests about this user", "login", "modify")


def test_the_idsync_history_survives_a_state_save_and_load(
    emulator: EmulatorHandle, pages: MParticlePagesDriver, mp: MParticleDriver
) -> None:
    mp.identify(email="kept@example.com")
    document = emulator.client.state()
    emulator.client.reset()
    assert pages.workspace().shows("No IDSync request yet.")
    emulator.client.load_state(document)
    assert pages.workspace().shows("identify", "email=kept@example.com")


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("/mparticle/no-such-workspace", "No mParticle workspace 'no-such-workspace'."),
        (f"{WS}/users/123456789", "has no user with MPID '123456789'"),
        (f"{WS}/users/not-a-number", "has no user with MPID 'not-a-number'"),
        (f"{WS}/audiences/99", "has no audience '99'"),
        (f"{WS}/batches/1", "has no batch '1'"),
        ("/mparticle/no-such-workspace/users/1", "No mParticle workspace"),
    ],
)
def test_unknown_things_are_a_404_page(pages: MParticlePagesDriver, path: str, says: str) -> None:
    assert pages.missing(path).shows(says)
