"""A flow that fails never changes a platform's answer: the failure is logged, counted in health
and named on the journal entry of the request that caused it, and the request is applied once."""

from __future__ import annotations

import os
from typing import Any, NoReturn

import pytest

from emulator.testing.plugin import EmulatorHandle
from tests.drivers.control import ControlViews
from tests.drivers.mparticle import MParticleDriver, custom_event, mp_batch

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("CTMP_EMULATOR_URL")),
    reason="breaks the event flow by patching the in-process emulator; an external one has its own",
)


def _broken_mapper(*args: Any, **kwargs: Any) -> NoReturn:
    raise RuntimeError("mapper bug")


def test_a_failing_listener_leaves_the_202_and_is_visible(
    emulator: EmulatorHandle,
    mp: MParticleDriver,
    views: ControlViews,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("emulator.bridge.forwarding.map_batch", _broken_mapper)
    failures_before = emulator.client.health()["listeners"]["failures"]

    mp.send(mp_batch(custom_event("Played"), customer_id="cust-1"))  # 202, empty body

    # Stored and applied once: a client has no reason to retry, and nothing is doubled.
    assert len(views.mp_batches()) == 1
    assert views.mpid_of("cust-1")
    (entry,) = views.journal(platform="mparticle", path="/v2/events")["requests"]
    assert entry["status"] == 202
    assert entry["listener_errors"] == [
        "EventsFlow.on_batch failed on BatchAccepted: RuntimeError: mapper bug"
    ]
    listeners = emulator.client.health()["listeners"]
    assert listeners["failures"] == failures_before + 1
    assert listeners["recent"][-1] == {
        "event": "BatchAccepted",
        "listener": "EventsFlow.on_batch",
        "error": "RuntimeError: mapper bug",
    }


def test_without_a_failure_the_entry_names_none(
    emulator: EmulatorHandle, mp: MParticleDriver, views: ControlViews
) -> None:
    mp.send(mp_batch(custom_event("Played"), customer_id="cust-1"))
    views.settle()
    (entry,) = views.journal(platform="mparticle", path="/v2/events")["requests"]
    assert "listener_errors" not in entry
    assert [d["status"] for d in views.deliveries(flow="events")] == ["delivered"]
