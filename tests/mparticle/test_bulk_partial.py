"""`/v2/bulkevents` with some invalid batches: "If some event batches succeed and some event
batches fail, you will still get an Accepted response"
(https://docs.mparticle.com/developers/apis/http/). The valid batches are taken, each refused one
changes nothing, and the journal entry names every batch's outcome (`parts`); the 202 keeps its
documented empty body."""

from __future__ import annotations

from typing import Any

from emulator.testing.plugin import EmulatorHandle
from tests.drivers import ControlViews, MParticleDriver
from tests.drivers.mparticle import custom_event, mp_batch, mp_errors

BULK = "/v2/bulkevents"


def broken(customer: str) -> dict[str, Any]:
    """A batch whose custom event has no `event_name`, for a user with attributes."""
    event = {"event_type": "custom_event", "data": {"custom_event_type": "other"}}
    return mp_batch(event, customer_id=customer, user_attributes={"plan": "gold"})


def test_the_valid_batches_of_a_bulk_are_accepted_and_the_others_named(
    emulator: EmulatorHandle, mp: MParticleDriver, views: ControlViews
) -> None:
    good = [mp_batch(custom_event("Opened"), customer_id=c) for c in ("c1", "c3")]
    mp.send([good[0], broken("c2"), good[1]], path=BULK)  # 202, empty body

    rows = views.mp_batches()
    assert [r["batch"]["user_identities"]["customer_id"] for r in rows] == ["c1", "c3"]
    # The refused batch changed nothing: no user, no attribute.
    users = views.mp_users()
    assert sorted(u["user_identities"]["customer_id"] for u in users) == ["c1", "c3"]

    (entry,) = emulator.client.requests(path=BULK)
    assert entry["status"] == 202 and entry["valid"] is False
    assert [e["path"] for e in entry["validation"]["errors"]] == ["$[1].events[0]"]
    parts = entry["parts"]
    assert [(p["index"], p["outcome"]) for p in parts] == [
        (0, "accepted"),
        (1, "rejected"),
        (2, "accepted"),
    ]
    assert [e["path"] for e in parts[1]["errors"]] == ["$[1].events[0]"]


def test_a_bulk_whose_batches_are_all_invalid_is_a_400(
    emulator: EmulatorHandle, mp: MParticleDriver, views: ControlViews
) -> None:
    errors = mp_errors(mp.post([broken("c1"), broken("c2")], path=BULK), 400, "BAD_REQUEST")
    assert [e["message"].split(":")[0] for e in errors] == ["$[0].events[0]", "$[1].events[0]"]
    assert views.mp_batches() == [] and views.mp_users() == []
    (entry,) = emulator.client.requests(path=BULK)
    assert "parts" not in entry


def test_a_refused_batch_is_not_forwarded(mp: MParticleDriver, views: ControlViews) -> None:
    mp.send(
        [mp_batch(custom_event("Kept"), customer_id="c1"), broken("c2")],
        path=BULK,
    )
    views.settle()
    assert {e["evtName"] for e in views.ct_events()} == {"Kept"}
