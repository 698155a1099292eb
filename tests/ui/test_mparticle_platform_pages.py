"""The inspector's pages of mParticle's platform APIs over HTTP: a workspace's data subject
requests (the row of the request made, its status moving on the clock, its callbacks, the
access result, filters), its data plans with their block settings and the batches that violated
them (the violation text, linked to the batch and the journal), its alias requests (a rejected
one with its reason); the links to them from the workspace, user and batch pages; a 404 page for
an unknown request."""

from __future__ import annotations

from typing import Any

import pytest

from tests.drivers import ControlViews, MParticleDriver
from tests.drivers.defaults import WORKSPACE
from tests.drivers.dsr import CallbackReceiver, DsrDriver, dsr_request, skip_waiting
from tests.drivers.inspector import InspectorDriver
from tests.drivers.inspector_mp import MParticlePagesDriver
from tests.drivers.mparticle import custom_event, data_point, mp_batch, plan_version

WS = f"/mparticle/{WORKSPACE}"
T0 = 1_800_000_000.0
QUEUE, PROCESSING = 60, 3600
JANE = {"email": "jane@example.com"}


@pytest.fixture
def pages(inspector: InspectorDriver) -> MParticlePagesDriver:
    return MParticlePagesDriver(inspector)


def jane(mp: MParticleDriver, views: ControlViews) -> str:
    mp.send(mp_batch(custom_event("bought"), customer_id="jane-1", identities=JANE))
    return views.mpid_of("jane@example.com")


# -- data subject requests ---------------------------------------------------------------------


def test_an_erasure_moves_on_the_clock_and_its_page_says_what_it_erased(
    pages: MParticlePagesDriver, dsr: DsrDriver, mp: MParticleDriver, views: ControlViews
) -> None:
    views.freeze(T0)
    mpid = jane(mp, views)
    with CallbackReceiver() as receiver:
        body = dsr_request(
            3, identities=JANE, status_callback_urls=[receiver.url], **skip_waiting()
        )
        request_id = body["subject_request_id"]
        dsr.submitted(3, body)
        views.settle()
        listing = pages.dsr_requests()
        (row,) = [r for r in listing.rows if request_id in r["data-href"]]
        assert row["data-href"] == pages.link(f"{WS}/dsr/{request_id}")
        assert "erasure" in row["text"] and "pending" in row["text"]
        assert "email=jane@example.com" in row["text"] and "1/1 delivered" in row["text"]
        # The user's page links the request that names its identity.
        assert pages.link(f"{WS}/dsr/{request_id}") in pages.user(mpid).links
        page = pages.dsr_request(request_id)
        assert page.shows("Status pending", "waiting period skipped", "email jane@example.com")
        assert pages.link(f"{WS}/users/{mpid}") in page.links  # who holds the identities now

        views.advance(QUEUE + PROCESSING)
        views.settle()
        page = pages.dsr_request(request_id)
        assert page.shows("Status completed", f"Erased {mpid}")
        assert page.shows("No user of the workspace holds them (the erasure removed them)")
        # One signed callback per status: pending, in_progress, completed, each delivered.
        assert page.shows("Status callbacks", receiver.url)
        assert page.text.count("delivered") >= 3, page.text
        assert "completed" in pages.dsr_requests().rows[0]["text"]


def test_an_access_request_shows_its_result_when_completed(
    pages: MParticlePagesDriver, dsr: DsrDriver, mp: MParticleDriver, views: ControlViews
) -> None:
    views.freeze(T0)
    mpid = jane(mp, views)
    body = dsr_request(2, kind="access", identities=JANE)
    dsr.submitted(2, body)
    page = pages.dsr_request(body["subject_request_id"])
    assert page.shows("Access result", "Not ready: the result is gathered when")
    assert page.shows("The request named no status_callback_urls.")
    views.advance(QUEUE + PROCESSING)
    page = pages.dsr_request(body["subject_request_id"])
    assert page.shows("Status completed", f'"mpid": "{mpid}"', '"customer_id": "jane-1"')
    assert not page.shows("Not ready")


def test_requests_are_filtered_by_status_type_and_identity(
    pages: MParticlePagesDriver, dsr: DsrDriver, views: ControlViews
) -> None:
    views.freeze(T0)
    erase = dsr_request(3, identities={"email": "a@example.com"})
    access = dsr_request(3, kind="access", identities={"email": "b@example.com"})
    dsr.submitted(3, erase)
    dsr.submitted(3, access)
    views.advance(QUEUE + PROCESSING)  # the access request completes; the erasure still waits

    def ids(page: Any) -> set[str]:
        return {r["data-href"].rsplit("/", 1)[1] for r in page.rows if "/dsr/" in r["data-href"]}

    both = {erase["subject_request_id"], access["subject_request_id"]}
    assert ids(pages.dsr_requests()) == both
    assert ids(pages.dsr_requests(status="pending")) == {erase["subject_request_id"]}
    assert ids(pages.dsr_requests(status="completed")) == {access["subject_request_id"]}
    assert ids(pages.dsr_requests(type="access")) == {access["subject_request_id"]}
    assert ids(pages.dsr_requests(identity="a@example.com")) == {erase["subject_request_id"]}
    empty = pages.dsr_requests(status="cancelled")
    assert ids(empty) == set() and empty.shows("No request matches these filters.")


def test_no_requests_yet_and_unknown_ones(pages: MParticlePagesDriver) -> None:
    assert pages.dsr_requests().shows("No data subject requests yet")
    pages.missing(f"{WS}/dsr/no-such-request")
    pages.missing("/mparticle/no-such-workspace/dsr")


def test_the_workspace_links_its_platform_pages(pages: MParticlePagesDriver) -> None:
    page = pages.workspace()
    for tail in ("/dsr", "/plans", "/aliases"):
        assert pages.link(WS + tail) in page.links


# -- data plans --------------------------------------------------------------------------------


def make_plan(mp: MParticleDriver, *versions: dict[str, Any]) -> None:
    body = {"data_plan_id": "shop_plan", "data_plan_name": "Shop plan"}
    mp.plans_ok("POST", "", {**body, "data_plan_versions": list(versions)}, access=mp.token())


def tagged(*events: dict[str, Any], customer: str = "c1") -> dict[str, Any]:
    tag = {"plan_id": "shop_plan", "plan_version": 1}
    return mp_batch(*events, customer_id=customer, context={"data_plan": tag})


def test_plans_show_versions_with_their_block_settings(
    pages: MParticlePagesDriver, mp: MParticleDriver
) -> None:
    assert pages.plans().shows("No data plans", "No batch has violated a plan.")
    planned = data_point("custom_event", event_name="Bought", custom_event_type="other")
    make_plan(mp, plan_version(planned, ev=True), plan_version(planned, version=2, ua=True))
    page = pages.plans()
    assert page.shows("shop_plan", "Shop plan", "v1 development", "unplanned events")
    assert page.shows("v2 development", "unplanned user attributes", "custom_event Bought")


def test_violations_name_the_batch_the_user_and_what_was_wrong(
    pages: MParticlePagesDriver, mp: MParticleDriver, views: ControlViews
) -> None:
    planned = data_point(
        "custom_event",
        {"properties": {"data": {"properties": {"custom_attributes": {"required": ["sku"]}}}}},
        event_name="Bought",
        custom_event_type="other",
    )
    make_plan(mp, plan_version(planned, ev=True))
    mp.send(tagged(custom_event("Bought", size="L"), custom_event("Surprise")))
    mp.send(tagged(custom_event("Bought", sku="s-1"), customer="c2"))  # no violation
    mpid = views.mpid_of("c1")
    page = pages.plans()
    (row,) = [r for r in page.rows if "/batches/" in r["data-href"]]
    assert row["data-href"] == pages.link(f"{WS}/batches/1")
    assert "shop_plan v1" in row["text"] and mpid in row["text"]
    assert "missing_required custom_attributes at #/data/custom_attributes" in row["text"]
    assert "in Bought expected sku" in row["text"]
    assert "unplanned Surprise at #" in row["text"]
    assert "blocked unplanned event 'Surprise'" in row["text"]
    assert any(link.startswith(pages.link("/journal/")) for link in page.links)
    # Filters: by plan and by MPID (the user page links there).
    assert len([r for r in pages.plans(plan_id="other").rows if "/batches/" in r["data-href"]]) == 0
    assert pages.plans(plan_id="other").shows("No violations match these filters.")
    assert len([r for r in pages.plans(mpid=mpid).rows if "/batches/" in r["data-href"]]) == 1
    user = pages.user(mpid)
    assert pages.link(f"{WS}/plans?mpid={mpid}#violations") in user.links
    # The batch's own page lists its violations.
    assert pages.batch(1).shows("Data plan violations", "missing_required", "blocked unplanned")
    assert not pages.batch(2).shows("Data plan violations")


def test_violations_are_paged(
    pages: MParticlePagesDriver, mp: MParticleDriver, views: ControlViews
) -> None:
    make_plan(mp, plan_version(data_point("custom_event", event_name="Bought")))
    for n in range(55):
        mp.send(tagged(custom_event(f"Surprise {n}")))
    first = pages.plans()
    assert len([r for r in first.rows if "/batches/" in r["data-href"]]) == 50
    assert first.shows("1 to 50 of 55")
    second = pages.plans(violations=50)
    assert [r["data-href"] for r in second.rows if "/batches/" in r["data-href"]] == [
        pages.link(f"{WS}/batches/{n}") for n in (5, 4, 3, 2, 1)
    ]


# -- aliases -----------------------------------------------------------------------------------


def test_aliases_show_a_rejected_one_with_its_reason(
    pages: MParticlePagesDriver, mp: MParticleDriver, views: ControlViews
) -> None:
    assert pages.aliases().shows("No alias requests yet.")
    now_ms = int(views.freeze(T0) * 1000)
    for customer in ("a", "b", "c"):
        mp.send(mp_batch(custom_event("Viewed"), customer_id=customer))
    a, b, c = (views.mpid_of(x) for x in "abc")
    span: dict[str, Any] = {"start_unixtime_ms": now_ms - 3600_000, "end_unixtime_ms": now_ms}
    assert mp.alias(source_mpid=a, destination_mpid=b, **span).status_code == 202
    assert mp.alias(source_mpid=b, destination_mpid=c, **span).status_code == 202
    page = pages.aliases()
    assert page.shows("rejected", "the source MPID was already an alias destination")
    assert page.shows("applied", "events copied")
    rejected = pages.aliases(status="rejected")
    assert rejected.shows(f"{b} → {c}") and not rejected.shows(f"{a} → {b}")
    assert pages.aliases(mpid=a).shows(f"{a} → {b}")
    assert not pages.aliases(mpid=a).shows(f"{b} → {c}")
    assert pages.aliases(status="recorded").shows("No alias request matches these filters.")
    user = pages.user(c)
    assert user.shows("already an alias destination") and user.links_to(f"{WS}/aliases?mpid={c}")
