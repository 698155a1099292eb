"""mParticle → CleverTap event forwarding: the delivery itself. Faults on CleverTap's side
(retries, Retry-After, backoff, 4xx, connection errors, one connection not holding up
another), an external base URL, and settle, the deliveries view and reset.

Every test starts from the plugin's reset (default tenants: connection `default` from workspace
`1000` to account `EMU-TEST-0001`). Expected records are written out by hand from
emulator/bridge/mapping.py's rules and docs/integration-behaviour.md, never
computed with the mapping itself, so a change on either side shows.
"""

from __future__ import annotations

import itertools
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from emulator.config import Config
from emulator.server import ThreadedServer
from emulator.testing.client import NotSettled
from emulator.testing.plugin import EmulatorHandle
from tests.drivers import BridgeDriver, CleverTapDriver, ControlViews, MParticleDriver
from tests.drivers.bridge import (
    BRIDGE_AGENT,
    FAST,
    T0,
    accepted,
    attempt_statuses,
    batch,
    event,
)
from tests.drivers.clevertap import ct_fail, event_record
from tests.drivers.defaults import ACCOUNT, WORKSPACE
from tests.drivers.mparticle import custom_event


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---- faults on CleverTap's side ------------------------------------------------------------------


def test_429_and_500_are_retried_and_every_event_arrives_once(
    emulator: EmulatorHandle,
    ct: CleverTapDriver,
    mp: MParticleDriver,
    views: ControlViews,
    bridge: BridgeDriver,
) -> None:
    views.configure(delivery=FAST)
    client = emulator.client
    # Checked in order, the first that fires wins: three 429s (Retry-After 5 s, capped by the
    # connection's max_backoff_ms), then two 500s, then CleverTap answers again.
    client.add_fault(platform="clevertap", path="/1/upload", status=429, retry_after=5, times=3)
    client.add_fault(platform="clevertap", path="/1/upload", status=500, times=2)

    started = time.monotonic()
    count = 20
    for i in range(count):
        mp.send(batch(custom_event("Tick", T0 + i, n=i), custom_event(f"Evt-{i:02d}", T0 + i)))
    views.settle()
    elapsed = time.monotonic() - started
    # Retry-After 5 s was capped at 50 ms: three honoured in full would take 15 s.
    assert elapsed < 5, elapsed

    rows = bridge.deliveries()
    assert len(rows) == count
    assert all(r["status"] == "delivered" for r in rows), [r["status"] for r in rows]
    # The queue is one request at a time: the first request met every fault and the ones after
    # it none. Batches that queued up behind a request share the next one (`shared`).
    assert attempt_statuses(rows[0]) == [429, 429, 429, 500, 500, 200]
    together = rows[0]["request"].get("shared", {"deliveries": 1})["deliveries"]
    for index, row in enumerate(rows):
        expected = [429, 429, 429, 500, 500, 200] if index < together else [200]
        assert attempt_statuses(row) == expected, row["id"]
    assert all("time" in a for r in rows for a in r["attempts"])
    times = [a["time"] for a in rows[0]["attempts"]]
    assert times == sorted(times)
    assert all(r["response"]["status"] == 200 for r in rows)
    assert all(r["response"]["body"]["processed"] == 2 for r in rows)

    # The journal: the 429s and 500s, then 200s; the records sent are every delivery's records
    # once, in order, and a retried request was sent again unchanged.
    journal = bridge.uploads()
    statuses = [e["status"] for e in journal]
    assert statuses[:5] == [429, 429, 429, 500, 500] and set(statuses[5:]) == {200}
    assert all(e["headers"]["user-agent"] == BRIDGE_AGENT for e in journal)
    assert len({str(e["body"]) for e in journal[:6]}) == 1
    sent = [record for e in journal[5:] for record in e["body"]["d"]]
    assert sent == [record for r in rows for record in r["request"]["body"]["d"]]

    # CleverTap has every event exactly once, in order.
    record = ct.find_profile(identity="cust-1")
    assert record is not None
    assert {name: v["count"] for name, v in record["events"].items()} == {
        "Tick": count,
        **{f"Evt-{i:02d}": 1 for i in range(count)},
    }
    seen = views.ct_events()
    assert len(seen) == 2 * count
    assert [e["evtData"]["n"] for e in seen if e["evtName"] == "Tick"] == list(range(count))


def test_retry_after_is_honoured_up_to_the_cap(
    emulator: EmulatorHandle, views: ControlViews, bridge: BridgeDriver
) -> None:
    views.configure(delivery={"max_attempts": 5, "backoff_ms": 1, "max_backoff_ms": 5000})
    emulator.client.add_fault(
        platform="clevertap", path="/1/upload", status=429, retry_after=1, times=1
    )
    row = bridge.forward(batch(custom_event("Later")))
    assert attempt_statuses(row) == [429, 200]
    first, second = (a["time"] for a in row["attempts"])
    assert second - first >= 0.95, "the retry came before the answer's Retry-After"
    assert [e["evtName"] for e in views.ct_events()] == ["Later"]


def test_each_attempt_names_its_journal_entry_its_wait_and_a_retried_answer(
    emulator: EmulatorHandle, views: ControlViews, bridge: BridgeDriver
) -> None:
    views.configure(delivery={"max_attempts": 5, "backoff_ms": 1, "max_backoff_ms": 5000})
    emulator.client.add_fault(
        platform="clevertap", path="/1/upload", status=429, retry_after=1, times=1
    )
    row = bridge.forward(batch(custom_event("Later")))
    first, second = row["attempts"]
    uploads = bridge.uploads()
    assert [first["seq"], second["seq"]] == [e["seq"] for e in uploads]
    assert [e["status"] for e in uploads] == [429, 200]
    assert first["retry_in"] == 1.0  # the answer's Retry-After, under the cap
    assert first["answer"] == uploads[0]["response"]  # the fault's own answer, kept
    assert "retry_in" not in second and "answer" not in second  # its answer is `response`
    # Which workspace batch it came from, and where each record came from in it.
    assert row["batch"] == 1
    assert row["mapped_from"] == [0]


def test_backoff_doubles_and_exhausted_attempts_fail(
    emulator: EmulatorHandle, mp: MParticleDriver, views: ControlViews, bridge: BridgeDriver
) -> None:
    views.configure(delivery={"max_attempts": 4, "backoff_ms": 40, "max_backoff_ms": 10000})
    emulator.client.add_fault(platform="clevertap", path="/1/upload", status=500, times=4)
    mp.send(batch(custom_event("Doomed"), user_attributes={"plan": "lost"}))
    views.settle()
    row = bridge.only_delivery()
    assert row["status"] == "failed", row
    assert attempt_statuses(row) == [500, 500, 500, 500]
    assert row["response"]["status"] == 500
    times = [a["time"] for a in row["attempts"]]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    for gap, wanted in zip(gaps, (0.04, 0.08, 0.16), strict=True):
        assert gap >= wanted * 0.9, gaps
    assert [e["status"] for e in bridge.uploads()] == [500] * 4
    assert views.ct_profiles() == [] and views.ct_events() == []

    # The worker carries on with the next batch; the failed one is never sent again.
    mp.send(batch(custom_event("Fine")))
    views.settle()
    failed, fine = bridge.deliveries()
    assert failed["status"] == "failed" and attempt_statuses(failed) == [500] * 4
    assert fine["status"] == "delivered" and attempt_statuses(fine) == [200]
    assert [e["evtName"] for e in views.ct_events()] == ["Fine"]
    assert [e["status"] for e in bridge.uploads()] == [500] * 4 + [200]


def test_a_4xx_answer_fails_at_once(
    emulator: EmulatorHandle, mp: MParticleDriver, views: ControlViews, bridge: BridgeDriver
) -> None:
    views.configure(delivery=FAST)
    emulator.client.add_fault(platform="clevertap", path="/1/upload", status=401, times=1)
    mp.send(batch(custom_event("Refused")))
    views.settle()
    row = bridge.only_delivery()
    assert row["status"] == "failed" and attempt_statuses(row) == [401]
    assert views.ct_events() == []


def test_connection_errors_are_retried_then_fail(
    mp: MParticleDriver, views: ControlViews, bridge: BridgeDriver
) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    views.configure(
        event_output={"base_url": closed},
        delivery={"max_attempts": 3, "backoff_ms": 1, "max_backoff_ms": 10},
    )
    mp.send(batch(custom_event("Nowhere")))
    views.settle()
    row = bridge.only_delivery()
    assert row["status"] == "failed", row
    assert len(row["attempts"]) == 3
    assert all("error" in a and "status" not in a for a in row["attempts"]), row["attempts"]
    assert "response" not in row
    assert bridge.uploads() == [] and views.ct_events() == []


def test_a_fault_on_one_connection_does_not_hold_up_another(
    emulator: EmulatorHandle, mp: MParticleDriver, views: ControlViews, bridge: BridgeDriver
) -> None:
    """Two connections from workspace 1000: each has its own queue, so the default connection
    retrying 500s does not delay the other one's delivery."""
    client = emulator.client
    client.add_tenant(
        {"kind": "clevertap_account", "id": "EMU-TEST-0002", "passcode": "pc-2", "region": "eu1"}
    )
    client.add_tenant(
        {
            "kind": "connection",
            "id": "second",
            "workspace": WORKSPACE,
            "account": "EMU-TEST-0002",
            "feed": {"enabled": False},
        }
    )
    views.configure(delivery={"max_attempts": 5, "backoff_ms": 100, "max_backoff_ms": 100})
    client.add_fault(platform="clevertap", tenant=ACCOUNT, path="/1/upload", status=500, times=3)
    mp.send(batch(custom_event("Both")))
    views.settle()

    slow = bridge.only_delivery()
    assert attempt_statuses(slow) == [500, 500, 500, 200]
    (fast,) = client.deliveries("second", flow="events")
    accepted(fast)
    assert attempt_statuses(fast) == [200]
    assert fast["attempts"][0]["time"] < slow["attempts"][1]["time"]
    # Each account has the event once.
    assert [e["evtName"] for e in views.ct_events()] == ["Both"]
    other = views.ct_page("events", "EMU-TEST-0002")["events"]
    assert [(e["identity"], e["evtName"]) for e in other] == [("cust-1", "Both")]
    second_journal = client.requests(platform="clevertap", tenant="EMU-TEST-0002")
    assert [e["status"] for e in second_journal] == [200]


# ---- an external base URL ------------------------------------------------------------------------


def test_external_base_url_delivers_to_another_emulator(
    ct: CleverTapDriver, views: ControlViews, bridge: BridgeDriver
) -> None:
    other = ThreadedServer(Config.defaults(port=0, seed=1, log_requests=False)).start()
    try:
        views.configure(event_output={"base_url": other.url})
        row = bridge.forward(batch(custom_event("Elsewhere"), user_attributes={"plan": "x"}))
        assert attempt_statuses(row) == [200]

        record = ct.find_profile(identity="cust-1", base=other.url)
        assert record is not None, "the record did not reach the other emulator"
        assert record["profileData"] == {"plan": "x"}
        assert record["events"]["Elsewhere"]["count"] == 1
        # Not on this emulator: its CleverTap saw no upload at all.
        assert ct.find_profile(identity="cust-1") is None
        assert bridge.uploads() == [] and views.ct_profiles() == []
        with httpx.Client(base_url=other.url + "/_emulator", timeout=10) as control:
            journal = control.get(
                "/requests", params={"platform": "clevertap", "path": "/1/upload"}
            ).json()["requests"]
        assert [(e["status"], e["tenant"]) for e in journal] == [(200, ACCOUNT)]
        assert journal[0]["headers"]["user-agent"] == BRIDGE_AGENT
        assert journal[0]["body"] == row["request"]["body"]
    finally:
        other.stop()


# ---- settle, the deliveries view, reset ----------------------------------------------------------


def test_settle_with_nothing_pending_answers_at_once(emulator: EmulatorHandle) -> None:
    started = time.monotonic()
    response = emulator.client.http.post("/bridge/settle", params={"timeout": 5})
    assert response.status_code == 200
    assert response.json() == {"settled": True, "pending": 0}
    assert time.monotonic() - started < 1.0
    assert emulator.client.settle(timeout=5) == {"settled": True, "pending": 0}


def test_settle_times_out_while_a_delivery_is_in_flight(
    emulator: EmulatorHandle, mp: MParticleDriver, views: ControlViews, bridge: BridgeDriver
) -> None:
    emulator.client.add_fault(platform="clevertap", path="/1/upload", latency_ms=1500, times=1)
    mp.send(batch(custom_event("Slow")))
    response = emulator.client.http.post("/bridge/settle", params={"timeout": 0.2})
    assert response.json() == {"settled": False, "pending": 1}
    with pytest.raises(NotSettled):
        emulator.client.settle(timeout=0.1)
    assert bridge.only_delivery()["status"] == "pending"
    assert views.ct_events() == []
    views.settle()
    assert bridge.only_delivery()["status"] == "delivered"
    assert [e["evtName"] for e in views.ct_events()] == ["Slow"]


def test_deliveries_view_filters_by_flow_and_status(
    emulator: EmulatorHandle, mp: MParticleDriver, views: ControlViews
) -> None:
    mp.send(batch(custom_event("Sent")))  # delivered
    mp.send(batch(event("session_start")))  # skipped (kit-only alone)
    audience = emulator.client.http.post(
        f"/mparticle/{WORKSPACE}/audiences",
        json={"name": "Pros", "criteria": {"attribute": "plan", "value": "pro"}},
    )
    assert audience.status_code == 201, audience.text
    views.settle()

    client = emulator.client
    everything = client.deliveries("default")
    assert len(everything) >= 3
    ids = [r["id"] for r in everything]
    assert ids == sorted(ids, key=lambda i: int(i.rsplit("-", 1)[1]))  # oldest first
    events = client.deliveries("default", flow="events")
    assert [r["status"] for r in events] == ["delivered", "skipped"]
    audiences = client.deliveries("default", flow="audiences")
    assert audiences and all(r["flow"] == "audiences" for r in audiences)
    assert client.deliveries("default", flow="feed") == []
    assert [r["id"] for r in client.deliveries("default", flow="events", status="skipped")] == [
        events[1]["id"]
    ]
    assert client.deliveries("default", flow="events", status="failed") == []
    delivered = client.deliveries("default", status="delivered")
    assert events[0]["id"] in [r["id"] for r in delivered]
    assert all(r["status"] == "delivered" for r in delivered)

    # Paging.
    page = client.http.get("/bridge/default/deliveries", params={"limit": 1, "offset": 1}).json()
    assert (page["total"], page["limit"], page["offset"]) == (len(everything), 1, 1)
    assert [r["id"] for r in page["deliveries"]] == [everything[1]["id"]]
    # A flow that does not exist, and a connection that does not exist.
    assert client.http.get("/bridge/default/deliveries", params={"flow": "x"}).status_code == 400
    assert client.http.get("/bridge/nope/deliveries").status_code == 404


def test_reset_drops_deliveries(
    emulator: EmulatorHandle, mp: MParticleDriver, views: ControlViews, bridge: BridgeDriver
) -> None:
    client = emulator.client
    mp.send(batch(custom_event("One")))
    mp.send(batch(custom_event("Two")))
    views.settle()
    assert [r["id"] for r in bridge.deliveries()] == ["delivery-1", "delivery-2"]

    client.reset()
    assert client.deliveries("default") == []
    mp.send(batch(custom_event("Three")))
    views.settle()
    assert [r["id"] for r in bridge.deliveries()] == ["delivery-1"]  # the sequence restarts

    # A tenant reset of the connection, or of the account it names, drops them too.
    client.reset(tenant="default")
    assert client.deliveries("default") == []
    mp.send(batch(custom_event("Four")))
    views.settle()
    assert len(bridge.deliveries()) == 1
    client.reset(tenant=ACCOUNT)
    assert client.deliveries("default") == []
    mp.send(batch(custom_event("Five")))
    views.settle()
    assert len(bridge.deliveries()) == 1
    client.reset(tenant=WORKSPACE)
    assert client.deliveries("default") == []


def test_reset_drops_queued_deliveries(
    emulator: EmulatorHandle, mp: MParticleDriver, views: ControlViews, bridge: BridgeDriver
) -> None:
    emulator.client.add_fault(platform="clevertap", path="/1/upload", latency_ms=500, times=1)
    for i in range(3):
        mp.send(batch(custom_event(f"Queued-{i}")))
    emulator.client.reset()
    assert emulator.client.settle(timeout=5) == {"settled": True, "pending": 0}
    time.sleep(0.7)  # past the latency of the request that was in flight
    assert emulator.client.deliveries("default") == []
    assert views.ct_events() == [] and views.ct_profiles() == []
    # And the flow works afterwards.
    row = bridge.forward(batch(custom_event("After")))
    assert row["id"] == "delivery-1"
    assert [e["evtName"] for e in views.ct_events()] == ["After"]


def test_deliveries_back_off_from_the_upload_concurrency_limit_and_lose_nothing(
    emulator: EmulatorHandle,
    ct: CleverTapDriver,
    mp: MParticleDriver,
    views: ControlViews,
    bridge: BridgeDriver,
) -> None:
    # CleverTap refuses an account's upload beyond its concurrent limit with 429
    # (https://developer.clevertap.com/docs/api-request-limit): here 1, held by a slow upload of
    # the account's own while the flow delivers.
    (account,) = [t for t in emulator.client.tenants() if t["id"] == emulator.clevertap["id"]]
    emulator.client.put_tenant({**account, "options": {"concurrent_uploads": 1}})
    views.configure(delivery={"max_attempts": 100, "backoff_ms": 10, "max_backoff_ms": 100})
    views.add_fault(platform="clevertap", path="/1/upload", latency_ms=700, times=1)
    with ThreadPoolExecutor(max_workers=1) as pool:
        holder = pool.submit(ct.upload_ok, event_record("holder", "Held", T0 // 1000))
        time.sleep(0.1)  # the holder's upload is in flight (for 700 ms)
        for i in range(5):
            mp.send(batch(custom_event("Tick", T0 + i, n=i)))
        holder.result()
    views.settle()

    rows = bridge.deliveries()
    assert all(r["status"] == "delivered" for r in rows), [r["status"] for r in rows]
    statuses = [s for r in rows for s in attempt_statuses(r)]
    assert 429 in statuses and statuses[-1] == 200
    refused = [e for e in bridge.uploads() if e["status"] == 429]
    assert refused[0]["response"] == ct_fail(429, "Too many concurrent requests")
    ticks = [e["evtData"]["n"] for e in views.ct_events() if e["evtName"] == "Tick"]
    assert ticks == list(range(5))
