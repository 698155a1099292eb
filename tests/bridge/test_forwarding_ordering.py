"""mParticle → CleverTap event forwarding: batches for one user arrive in order, a request
shared by queued batches gives each its part of the answer, and the PyPI client's bulk upload
keeps its order.

Every test starts from the plugin's reset (default tenants: connection `default` from workspace
`1000` to account `EMU-TEST-0001`). Expected records are written out by hand from
emulator/bridge/mapping.py's rules and docs/integration-behaviour.md, never
computed with the mapping itself, so a change on either side shows.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emulator.bridge.forwarding import combine_upload_json, combine_uploads
from emulator.core.jsonresp import dumps
from emulator.testing.plugin import EmulatorHandle
from tests.drivers import BridgeDriver, CleverTapDriver, ControlViews, MParticleDriver
from tests.drivers.bridge import (
    FAST,
    T0,
    T0_S,
    batch,
    records,
)
from tests.drivers.mparticle import custom_event
from tests.drivers.pypi import events_api, mparticle

pytestmark = pytest.mark.usefixtures("no_retry_deadline")


# ---- ordering ------------------------------------------------------------------------------------


def test_batches_for_one_user_arrive_in_order(
    emulator: EmulatorHandle,
    ct: CleverTapDriver,
    mp: MParticleDriver,
    views: ControlViews,
    bridge: BridgeDriver,
) -> None:
    views.configure(delivery=FAST)
    # A retried first delivery must not let the later ones overtake it.
    emulator.client.add_fault(platform="clevertap", path="/1/upload", status=503, times=2)
    # One bulk request of five batches, then three single requests; all the same timestamp so
    # only the arrival order tells them apart.
    bulk = [
        batch(custom_event("Step", T0, n=i), user_attributes={"plan": f"v{i}"}) for i in range(5)
    ]
    mp.send(bulk, path="/v2/bulkevents")
    for i in range(5, 8):
        mp.send(batch(custom_event("Step", T0, n=i), user_attributes={"plan": f"v{i}"}))
    views.settle()

    rows = bridge.deliveries()
    assert [r["status"] for r in rows] == ["delivered"] * 8
    assert [r["id"] for r in rows] == [f"delivery-{i}" for i in range(1, 9)]
    assert [records(r)[1]["evtData"]["n"] for r in rows] == list(range(8))
    # Batches queued behind the retried request share /1/upload requests, in order.
    ok = [e for e in bridge.uploads() if e["status"] == 200]
    sent = [r["evtData"]["n"] for e in ok for r in e["body"]["d"] if r["type"] == "event"]
    assert sent == list(range(8))
    assert [e["evtData"]["n"] for e in views.ct_events(event_name="Step")] == list(range(8))
    record = ct.find_profile(identity="cust-1")
    assert record is not None
    assert record["profileData"] == {"plan": "v7"}  # last write wins
    assert record["events"]["Step"]["count"] == 8


def test_a_shared_request_gives_each_batch_its_own_part_of_the_answer(
    emulator: EmulatorHandle, mp: MParticleDriver, views: ControlViews, bridge: BridgeDriver
) -> None:
    # The first request is held up (a 503, then 300 ms before the retry), so the next three
    # queue behind it and leave together.
    views.configure(delivery={"backoff_ms": 300, "max_backoff_ms": 300})
    emulator.client.add_fault(platform="clevertap", path="/1/upload", status=503, times=1)
    mp.send(batch(custom_event("First", T0)))
    mp.send(batch(custom_event("Fine", T0), custom_event("Also fine", T0)))
    # "App Launched" is a CleverTap system event: /1/upload refuses it (513).
    mp.send(batch(custom_event("Fine", T0), custom_event("App Launched", T0), customer_id="cust-2"))
    mp.send(batch(custom_event("App Launched", T0), customer_id="cust-3"))
    views.settle()

    first, ok, partial, failed = bridge.deliveries()
    shared = {"first": ok["id"], "last": failed["id"], "deliveries": 3}
    assert [r["request"]["shared"] for r in (ok, partial, failed)] == [
        {**shared, "offset": 0},
        {**shared, "offset": 2},
        {**shared, "offset": 4},
    ]
    assert "shared" not in first["request"]
    assert ok["response"]["body"] == {"status": "success", "processed": 2, "unprocessed": []}
    body = partial["response"]["body"]
    assert (body["status"], body["processed"]) == ("partial", 1)
    [rejected] = body["unprocessed"]
    assert rejected["index"] == 1 and rejected["code"] == 513  # its own second record
    body = failed["response"]["body"]
    assert (body["status"], body["processed"]) == ("fail", 0)
    assert [(u["index"], u["code"]) for u in body["unprocessed"]] == [(0, 513)]
    # One shared request, as CleverTap answered it.
    shared = [e for e in bridge.uploads() if e["status"] == 200][-1]
    assert len(shared["body"]["d"]) == 5


def test_pypi_bulk_upload_keeps_the_order(
    emulator: EmulatorHandle, ct: CleverTapDriver, views: ControlViews, bridge: BridgeDriver
) -> None:
    def one(i: int) -> Any:
        body = mparticle.Batch()
        body.environment = "development"
        body.user_identities = mparticle.UserIdentities()
        body.user_identities.customerid = "cust-bulk"
        body.user_attributes = {"level": i}
        body.events = [mparticle.AppEvent("Level Up", "other", timestamp_unixtime_ms=T0 + i * 1000)]
        return body

    _, status, _ = events_api(emulator.url).bulk_upload_events([one(i) for i in range(4)])
    assert status == 202
    views.settle()
    assert [r["status"] for r in bridge.deliveries()] == ["delivered"] * 4
    assert [e["ts"] for e in views.ct_events()] == [T0_S + i for i in range(4)]
    record = ct.find_profile(identity="cust-bulk")
    assert record is not None and record["profileData"] == {"level": 3}
    assert record["events"]["Level Up"] == {
        "count": 4,
        "first_seen": T0_S,
        "last_seen": T0_S + 3,
    }


# ---- the shared body, joined from the batches' own serialised bodies ---------------------------
_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
_upload_records = st.lists(st.dictionaries(st.text(max_size=6), _json_values, max_size=4))


@given(st.lists(_upload_records, min_size=1, max_size=5))
def test_the_shared_body_joined_from_serialised_bodies_is_the_combined_body_serialised(
    records_per_batch: list[list[dict[str, Any]]],
) -> None:
    # A shared /1/upload is sent as the batches' own bodies joined (each is kept serialised on
    # its delivery row): byte for byte what serialising `combine_uploads`' body would give.
    bodies = [{"d": batch_records} for batch_records in records_per_batch]
    joined = combine_upload_json([dumps(body) for body in bodies])
    assert joined == dumps(combine_uploads(bodies))


def test_a_body_not_of_the_upload_shape_is_not_joined() -> None:
    assert combine_upload_json([dumps({"d": [{"a": 1}]}), dumps({"e": []})]) is None
