"""`source_request_id` "is used to deduplicate inbound requests"
(https://docs.mparticle.com/developers/apis/json-reference/): a batch an input resends with the
same id within the workspace's `source_request_id_window` (default 30 days, the emulator's
choice: mParticle documents no window) is acknowledged (202) and applied once: its events, the
audiences they feed and the forwarding to CleverTap all see it once."""

from __future__ import annotations

from typing import Any

from emulator.testing.plugin import EmulatorHandle
from tests.drivers import ControlViews, MParticleDriver
from tests.drivers.defaults import FEED, WORKSPACE
from tests.drivers.mparticle import custom_event, mp_batch

NOW = 1_800_000_000
WINDOW = 30 * 24 * 3600
RESEND = "7fa67be4-f83a-429f-9d73-38b660c50825"


def opened(request_id: str | None = RESEND, customer: str = "c1") -> dict[str, Any]:
    extra: dict[str, Any] = {} if request_id is None else {"source_request_id": request_id}
    return mp_batch(custom_event("Opened"), customer_id=customer, **extra)


def opened_count(views: ControlViews) -> int:
    (user,) = views.mp_users()
    count: int = user["events"]["Opened"]["count"]
    return count


def test_a_resend_is_acknowledged_and_applied_once(
    emulator: EmulatorHandle, mp: MParticleDriver, views: ControlViews
) -> None:
    views.define_audience("Thrice", {"event": "Opened", "at_least": 3})
    mp.send(opened())
    mp.send(opened())  # 202 again, empty body
    mp.send([opened(), opened("another")], path="/v2/bulkevents")

    assert opened_count(views) == 2  # the first send and "another"
    rows = views.mp_batches()
    assert [r["resolved"].get("duplicate_of") for r in rows] == [None, RESEND, RESEND, None]
    single, bulk = emulator.client.requests(path="/v2/*")[1:]
    assert single["status"] == 202 and single["valid"] is True
    assert single["parts"] == [{"index": 0, "outcome": "duplicate", "source_request_id": RESEND}]
    assert [p["outcome"] for p in bulk["parts"]] == ["duplicate", "accepted"]

    # The audience counted two events, not four; CleverTap got each event once.
    assert views.memberships() == []
    views.settle()
    assert len(views.ct_events(event_name="Opened")) == 2


def test_the_same_id_twice_in_one_bulk_is_applied_once(
    mp: MParticleDriver, views: ControlViews
) -> None:
    mp.send([opened(), opened()], path="/v2/bulkevents")
    assert opened_count(views) == 1


def test_the_window_ends_and_other_inputs_or_ids_are_new(
    emulator: EmulatorHandle, mp: MParticleDriver, views: ControlViews
) -> None:
    views.freeze(NOW)
    mp.send(opened())
    views.advance(WINDOW - 1)
    mp.send(opened())
    assert opened_count(views) == 1
    views.advance(1)  # 30 days after the first: a new request
    mp.send(opened())
    assert opened_count(views) == 2
    # Scoped per input key: the feed's batch with the same id is its own.
    mp.send(opened(), auth=FEED)
    mp.send(opened(None))  # no id: never a duplicate
    mp.send(opened(None))
    assert opened_count(views) == 5


def test_the_window_survives_a_state_save_and_load(
    emulator: EmulatorHandle, mp: MParticleDriver, views: ControlViews
) -> None:
    mp.send(opened())
    document = emulator.client.state()
    emulator.client.reset()
    emulator.client.load_state(document)
    mp.send(opened())
    assert opened_count(views) == 1


def test_a_workspace_window_of_0_turns_it_off(
    emulator: EmulatorHandle, mp: MParticleDriver, views: ControlViews
) -> None:
    (workspace,) = [t for t in emulator.client.tenants() if t["id"] == WORKSPACE]
    emulator.client.put_tenant({**workspace, "source_request_id_window": 0})
    mp.send(opened())
    mp.send(opened())
    assert opened_count(views) == 2
