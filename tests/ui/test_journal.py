"""The live journal and its detail page, as a developer reads them: newest first, filtered and
paged; each entry's headers (secrets masked), body with its validation errors marked at their
JSON path, answer, links to what it touched, and for a request no operation took, the nearest
ones; new entries on the event stream as they arrive."""

from __future__ import annotations

import json
import threading

from emulator.testing.plugin import EmulatorHandle
from tests.drivers import BridgeDriver, CleverTapDriver, ControlViews, MParticleDriver
from tests.drivers.bridge import T0, batch
from tests.drivers.inspector import UI, InspectorDriver, Page
from tests.drivers.mparticle import custom_event, mp_batch

EVENT = {"type": "event", "identity": "u1", "evtName": "Played", "evtData": {}}


def seqs(views: ControlViews) -> list[str]:
    """The sequence numbers of the requests the test sent (not its flows' deliveries), oldest
    first: they are never reused, reset or not."""
    return [str(entry["seq"]) for entry in views.client.requests(origin="client")]


def shown(page: Page) -> list[str]:
    return [row["data-seq"] for row in page.rows]


def test_entries_are_listed_newest_first_with_their_verdict(
    inspector: InspectorDriver, ct: CleverTapDriver, views: ControlViews
) -> None:
    ct.upload_ok(EVENT)
    ct.upload(EVENT, {"type": "event", "identity": "u1", "evtName": "X", "ts": "soon"})
    first, second = seqs(views)
    page = inspector.journal()
    assert shown(page) == [second, first]
    assert "invalid" in page.rows[0]["text"] and "POST /1/upload" in page.rows[0]["text"]
    assert "valid" in page.rows[1]["text"]
    assert page.rows[0]["data-href"] == f"{UI}/journal/{second}"
    assert page.shows("2 requests")


def test_filters_narrow_the_list(
    inspector: InspectorDriver, ct: CleverTapDriver, mp: MParticleDriver, views: ControlViews
) -> None:
    ct.upload_ok(EVENT)
    mp.send(mp_batch(custom_event("Played"), customer_id="c1"))
    ct.upload(EVENT, {"type": "bogus"})
    upload, batch_, refused = seqs(views)
    assert shown(inspector.journal(platform="mparticle")) == [batch_]
    assert shown(inspector.journal(valid="false")) == [refused]
    assert shown(inspector.journal(path="/1/*", valid="true", origin="client")) == [upload]
    assert inspector.journal(status=202, origin="client").shows("1 request")
    # An empty form field is no filter; a bad value is the page's 400, not a 500.
    assert len(inspector.journal(platform="", status="", origin="client").rows) == 3
    assert inspector.ui("/journal", status="often").status == 400
    assert inspector.ui("/journal", offset="-1").status == 400


def test_the_text_filter_finds_the_requests_that_mention_an_identity(
    inspector: InspectorDriver, ct: CleverTapDriver, views: ControlViews
) -> None:
    """`q` is what a CleverTap profile page links with: its identity in the body, or text in
    the path or query."""
    ct.upload_ok({**EVENT, "identity": "ann-77"})
    ct.upload_ok({**EVENT, "identity": "bob-88"})
    ann, bob = seqs(views)
    assert shown(inspector.journal(q="ann-77")) == [ann]
    assert shown(inspector.journal(q="bob-88", platform="clevertap")) == [bob]
    assert shown(inspector.journal(q="/1/upload", origin="client")) == [bob, ann]
    assert inspector.journal(q="nobody-here").shows("0 requests")


def test_the_list_is_paged(
    inspector: InspectorDriver, ct: CleverTapDriver, views: ControlViews
) -> None:
    for _ in range(55):
        ct.send(EVENT)
    every = seqs(views)
    first = inspector.journal()
    assert shown(first) == every[::-1][:50]
    assert f"{UI}/journal?offset=50" in first.links
    second = inspector.journal(offset=50)
    assert shown(second) == every[4::-1]
    assert second.shows("51\N{EN DASH}55 of 55")


def test_a_refused_upload_is_marked_at_the_json_path_of_its_error(
    inspector: InspectorDriver, mp: MParticleDriver, views: ControlViews
) -> None:
    bad = mp_batch(custom_event("Played"), customer_id="c1")
    bad["environment"] = "sometimes"
    assert mp.post(bad).status_code == 400
    (seq,) = seqs(views)
    page = inspector.journal_entry(int(seq))
    assert page.shows("POST /v2/events", "400", "invalid", "mparticle/batch")
    paths = [m["data-error-path"] for m in page.marks]
    assert paths == ["$.environment"]
    assert page.marks[0]["data-rule"] == "Enum"
    assert page.shows('"environment": "sometimes"')


def test_secrets_are_masked_in_the_headers(
    inspector: InspectorDriver, ct: CleverTapDriver, mp: MParticleDriver, views: ControlViews
) -> None:
    ct.upload_ok(EVENT)
    mp.send(mp_batch(custom_event("Played"), customer_id="c1"))
    first, second = seqs(views)
    clevertap = inspector.journal_entry(int(first))
    assert clevertap.shows("x-clevertap-passcode ***")
    assert ct.passcode not in clevertap.html
    mparticle = inspector.journal_entry(int(second))
    key, secret = mp.auth
    assert mparticle.shows(f"Basic {key}:***")
    assert secret not in mparticle.html


def test_a_request_no_operation_took_shows_the_nearest_operations(
    inspector: InspectorDriver, ct: CleverTapDriver, views: ControlViews
) -> None:
    assert ct.send(EVENT, path="/1/uplaod").status_code == 404
    (seq,) = seqs(views)
    page = inspector.journal_entry(int(seq))
    assert page.shows("Nearest operations", "POST /1/upload", "Upload events")
    nearest = page.text.split("The closest declared ones:")[1]
    assert nearest.split("Match")[1].strip().startswith("POST /1/upload")


def test_an_entry_links_to_the_user_and_the_delivery_it_caused(
    inspector: InspectorDriver, bridge: BridgeDriver, views: ControlViews
) -> None:
    delivery = bridge.forward(batch(custom_event("Played", ts=T0)))
    client = views.client.requests(origin="client")[0]
    entry = inspector.journal_entry(client["seq"])
    users = [link for link in entry.links if "/mparticle/" in link and "/users/" in link]
    assert len(users) == 1 and "/users/" in users[0]
    assert f"{UI}/flows/default/deliveries/{delivery['id']}" in entry.links
    # The delivery's own request (origin flow) links back to it and to the profile it reached.
    flow = views.client.requests(origin="flow")[0]
    forwarded = inspector.journal_entry(flow["seq"])
    assert forwarded.shows("flow (a delivery of the emulator's flows)")
    assert f"{UI}/flows/default/deliveries/{delivery['id']}" in forwarded.links
    assert any("/clevertap/" in link and "/profiles/" in link for link in forwarded.links)


def test_an_unknown_entry_is_a_404_page(inspector: InspectorDriver) -> None:
    page = inspector.ui("/journal/999999999")
    assert page.status == 404
    assert page.shows("no journal entry 999999999")


def test_the_stream_sends_new_entries_that_match_its_filters(
    inspector: InspectorDriver, ct: CleverTapDriver, mp: MParticleDriver, views: ControlViews
) -> None:
    def traffic() -> None:
        mp.send(mp_batch(custom_event("Played"), customer_id="c1"))
        ct.upload_ok(EVENT)

    sender = threading.Timer(0.3, traffic)
    sender.start()
    events = inspector.stream(1.5, platform="clevertap", origin="client")
    sender.join()
    _, upload = seqs(views)
    rows = [e for e in events if e.get("event") == "rows"]
    assert len(rows) == 1, events
    assert f'data-seq="{upload}"' in rows[0]["data"]
    # Neither the batch (mParticle) nor its forwarded upload (a flow's) matches the filters.
    assert rows[0]["data"].count("data-seq=") == 1
    assert rows[0]["id"] == upload


def test_an_injected_fault_is_marked(
    inspector: InspectorDriver, ct: CleverTapDriver, views: ControlViews, emulator: EmulatorHandle
) -> None:
    rule = emulator.client.add_fault(path="/1/upload", status=503, times=1)
    assert ct.send(EVENT).status_code == 503
    (seq,) = seqs(views)
    assert "fault" in inspector.journal().rows[0]["text"]
    assert inspector.journal_entry(int(seq)).shows(f"injected: {rule['id']}")


def test_a_burst_is_coalesced_and_nothing_is_lost_silently(
    inspector: InspectorDriver, ct: CleverTapDriver
) -> None:
    sender = threading.Timer(0.3, lambda: ct.send_together([[EVENT]] * 30))
    sender.start()
    events = inspector.stream(2.0)
    sender.join()
    metas = [json.loads(e["data"]) for e in events if e.get("event") == "meta"]
    rows = [e["data"].count("data-seq=") for e in events if e.get("event") == "rows"]
    # Each message carries at most 20 rows and counts the rest: every request is accounted for.
    assert sum(m["rows"] for m in metas) == 30
    assert all(n <= 20 for n in rows)
    assert sum(rows) + sum(m["skipped"] for m in metas) == 30
    assert len(rows) < 30  # coalesced, not one message per request
