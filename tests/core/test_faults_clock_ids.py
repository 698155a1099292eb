"""The emulator clock, fault injection and seeded ids."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from emulator.config import Config
from emulator.core.clock import Clock
from emulator.core.faults import FaultRegistry
from emulator.core.ids import IdGenerator
from emulator.server import ThreadedServer
from emulator.testing.plugin import EmulatorHandle
from tests.drivers import CleverTapDriver, ControlViews, MParticleDriver
from tests.drivers.mparticle import tiny_batch

EVENT = {"type": "event", "identity": "user-1", "evtName": "Charged"}
T0 = 1_700_000_000  # 2023-11-14T22:13:20Z


def clock_call(emulator: EmulatorHandle, op: str, body: Any = None) -> httpx.Response:
    """`POST /_emulator/clock/{op}` as given; nothing checked."""
    return emulator.client.http.post(f"/clock/{op}", json=body)


# -- clock -----------------------------------------------------------------------------------


def test_clock_runs_on_wall_time_by_default(emulator: EmulatorHandle) -> None:
    clock = emulator.client.clock()
    assert clock["frozen"] is False
    assert clock["offset"] == 0.0
    assert abs(clock["now"] - time.time()) < 60
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", clock["iso"])


def test_freeze_now_stops_the_clock(emulator: EmulatorHandle) -> None:
    frozen = clock_call(emulator, "freeze").json()
    assert frozen["frozen"] is True
    time.sleep(0.05)
    assert emulator.client.clock()["now"] == frozen["now"]


def test_freeze_without_a_body_freezes_now(emulator: EmulatorHandle) -> None:
    response = emulator.client.http.post("/clock/freeze")
    assert response.status_code == 200
    assert response.json()["frozen"] is True


def test_freeze_at_epoch_seconds(emulator: EmulatorHandle) -> None:
    clock = clock_call(emulator, "freeze", {"at": T0}).json()
    assert clock == {"now": T0, "iso": "2023-11-14T22:13:20Z", "frozen": True, "offset": 0.0}


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        ("2024-01-02T03:04:05Z", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC).timestamp()),
        ("2024-01-02T05:04:05+02:00", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC).timestamp()),
        ("2024-01-02T03:04:05.250Z", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC).timestamp() + 0.25),
    ],
)
def test_freeze_at_an_iso_instant(emulator: EmulatorHandle, at: str, expected: float) -> None:
    clock = clock_call(emulator, "freeze", {"at": at}).json()
    assert clock["now"] == expected
    assert clock["frozen"] is True


def test_unfreeze_lets_time_run_from_the_frozen_instant(emulator: EmulatorHandle) -> None:
    clock_call(emulator, "freeze", {"at": T0})
    clock = clock_call(emulator, "unfreeze").json()
    assert clock["frozen"] is False
    # It runs on from 2023, not back at the wall clock.
    assert T0 <= clock["now"] < time.time() - 86_400
    assert emulator.client.clock()["now"] >= clock["now"]


def test_set_moves_a_frozen_clock(emulator: EmulatorHandle) -> None:
    clock_call(emulator, "freeze")
    clock = clock_call(emulator, "set", {"at": T0}).json()
    assert clock["now"] == T0
    assert clock["frozen"] is True
    clock = clock_call(emulator, "set", {"at": "2030-01-01T00:00:00Z"}).json()
    assert clock["iso"] == "2030-01-01T00:00:00Z"


def test_set_moves_a_running_clock_and_keeps_it_running(emulator: EmulatorHandle) -> None:
    clock = clock_call(emulator, "set", {"at": T0}).json()
    assert clock["frozen"] is False
    assert T0 <= clock["now"] < time.time() - 86_400
    assert clock["offset"] < 0


def test_advance(emulator: EmulatorHandle) -> None:
    clock_call(emulator, "freeze", {"at": T0})
    assert clock_call(emulator, "advance", {"seconds": 3600}).json()["now"] == T0 + 3600
    assert clock_call(emulator, "advance", {"seconds": 0.5}).json()["now"] == T0 + 3600.5
    clock_call(emulator, "unfreeze")
    running = clock_call(emulator, "advance", {"seconds": 86_400}).json()
    assert running["frozen"] is False
    assert running["now"] >= T0 + 3600.5 + 86_400


@pytest.mark.parametrize(
    ("op", "body"),
    [
        ("freeze", {"at": "2024-01-02T03:04:05"}),
        ("freeze", {"at": "2024-13-45T00:00:00Z"}),
        ("freeze", {"at": "yesterday"}),
        ("freeze", {"at": -1}),
        ("freeze", {"at": True}),
        ("freeze", {"when": T0}),
        ("set", {}),
        ("set", {"at": None}),
        ("advance", {}),
        ("advance", {"seconds": -1}),
        ("advance", {"seconds": "60"}),
    ],
)
def test_bad_clock_bodies_are_400(emulator: EmulatorHandle, op: str, body: Any) -> None:
    response = clock_call(emulator, op, body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_request"
    assert emulator.client.clock()["frozen"] is False


def test_malformed_clock_body_is_400(emulator: EmulatorHandle) -> None:
    response = emulator.client.http.post(
        "/clock/set", content=b"{", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_json"


def test_journal_and_stored_data_follow_the_frozen_clock(
    emulator: EmulatorHandle, ct: CleverTapDriver, mp: MParticleDriver, views: ControlViews
) -> None:
    clock_call(emulator, "freeze", {"at": T0})
    ct.send(EVENT)
    clock_call(emulator, "advance", {"seconds": 10})
    mp.post(tiny_batch())
    first, second = emulator.client.requests()
    assert first["time"] == T0
    assert second["time"] == T0 + 10
    # The event had no `ts` of its own: it is stamped with the emulator's (frozen) time.
    events = views.ct_page("events")["events"]
    assert events[0]["ts"] == T0
    batches = views.mp_page("batches")["batches"]
    assert batches[0]["received"] == T0 + 10


def test_full_reset_unfreezes_and_drops_the_offset(emulator: EmulatorHandle) -> None:
    clock_call(emulator, "freeze", {"at": T0})
    emulator.client.reset()
    clock = emulator.client.clock()
    assert clock["frozen"] is False and clock["offset"] == 0.0
    assert abs(clock["now"] - time.time()) < 60


def test_clock_unit_notifies_listeners_on_jumps() -> None:
    clock = Clock()
    seen: list[float] = []
    clock.on_change(seen.append)
    clock.freeze(100.0)
    clock.advance(5)
    clock.set(50.0)
    assert seen == [100.0, 105.0, 50.0]
    assert clock.now_ms() == 50_000
    snap = clock.snapshot()
    other = Clock()
    other.restore(snap)
    assert other.now() == 50.0 and other.frozen


# -- faults ----------------------------------------------------------------------------------


def test_clevertap_error_fault_in_clevertap_envelope_with_retry_after(
    emulator: EmulatorHandle, ct: CleverTapDriver, views: ControlViews
) -> None:
    rule = views.add_fault(
        platform="clevertap", status=503, message="Down for a while", retry_after=30
    )
    assert rule["id"] and rule["status"] == 503
    response = ct.send(EVENT)
    assert response.status_code == 503
    assert response.json() == {"status": "fail", "error": "Down for a while", "code": 503}
    assert response.headers["retry-after"] == "30"
    [entry] = emulator.client.requests()
    assert entry["fault"] == rule["id"]
    assert entry["status"] == 503
    # The request never reached the handler: nothing stored.
    assert views.ct_page("events")["total"] == 0


def test_mparticle_error_fault_in_mparticle_envelope(
    mp: MParticleDriver, views: ControlViews
) -> None:
    views.add_fault(platform="mparticle", status=429, retry_after=5)
    response = mp.post(tiny_batch())
    assert response.status_code == 429
    [error] = response.json()["errors"]
    assert error["code"] == "TOO_MANY_REQUESTS"
    assert error["message"]
    assert response.headers["retry-after"] == "5"


def test_error_fault_without_retry_after_sends_no_header(
    mp: MParticleDriver, views: ControlViews
) -> None:
    views.add_fault(platform="mparticle", status=500, message="boom")
    response = mp.post(tiny_batch())
    assert response.status_code == 500
    assert response.json() == {"errors": [{"code": "SERVER_ERROR", "message": "boom"}]}
    assert "retry-after" not in response.headers


def test_times_limits_how_often_a_fault_fires(
    emulator: EmulatorHandle, ct: CleverTapDriver, views: ControlViews
) -> None:
    rule = views.add_fault(platform="clevertap", status=500, times=2)
    assert [ct.send(EVENT).status_code for _ in range(4)] == [500, 500, 200, 200]
    [listed] = views.faults()
    assert listed["id"] == rule["id"]
    assert listed["fired"] == 2
    assert listed["remaining"] == 0
    assert [e.get("fault") for e in emulator.client.requests()] == [rule["id"]] * 2 + [None] * 2


def test_probability_zero_never_fires(ct: CleverTapDriver, views: ControlViews) -> None:
    views.add_fault(platform="clevertap", status=500, probability=0)
    assert {ct.send(EVENT).status_code for _ in range(20)} == {200}
    assert views.faults()[0]["fired"] == 0


def test_probability_one_always_fires(ct: CleverTapDriver, views: ControlViews) -> None:
    views.add_fault(platform="clevertap", status=500, probability=1)
    assert {ct.send(EVENT).status_code for _ in range(20)} == {500}
    assert views.faults()[0]["fired"] == 20


def test_latency_fault_delays_and_then_answers_normally(
    emulator: EmulatorHandle, ct: CleverTapDriver, views: ControlViews
) -> None:
    rule = views.add_fault(platform="clevertap", latency_ms=300)
    assert ct.send(EVENT).status_code == 200
    [entry] = emulator.client.requests()
    assert entry["fault"] == rule["id"]
    assert entry["duration_ms"] >= 300
    assert views.ct_page("events")["total"] == 1


def test_latency_and_status_together(
    emulator: EmulatorHandle, mp: MParticleDriver, views: ControlViews
) -> None:
    views.add_fault(platform="mparticle", latency_ms=200, status=502)
    assert mp.post(tiny_batch()).status_code == 502
    [entry] = emulator.client.requests()
    assert entry["duration_ms"] >= 200
    assert entry["status"] == 502


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        # expected: which of (CleverTap upload, mParticle events, mParticle bulk,
        # mParticle historical, s2s events) fail
        ({"platform": "clevertap"}, [True, False, False, False, False]),
        ({"platform": "mparticle"}, [False, True, True, True, True]),
        ({"tenant": "1000"}, [False, True, True, True, True]),
        ({"tenant": "EMU-TEST-0001"}, [True, False, False, False, False]),
        ({"method": "GET"}, [False, False, False, False, False]),
        ({"method": "POST"}, [True, True, True, True, True]),
        ({"path": "/v2/events"}, [False, True, False, False, False]),
        ({"path": "/v2/bulk*"}, [False, False, True, True, False]),
        ({"path": "*/events"}, [False, True, False, False, True]),
        ({"path": "/1/*"}, [True, False, False, False, False]),
        ({"platform": "mparticle", "path": "/1/*"}, [False, False, False, False, False]),
    ],
)
def test_fault_matching(
    rule: dict[str, Any],
    expected: list[bool],
    ct: CleverTapDriver,
    mp: MParticleDriver,
    views: ControlViews,
) -> None:
    views.add_fault(status=418, **rule)
    batch = tiny_batch()
    statuses = [
        ct.send(EVENT).status_code,
        mp.post(tiny_batch()).status_code,
        mp.post([batch], path="/v2/bulkevents").status_code,
        mp.post([batch], path="/v2/bulkevents/historical").status_code,
        mp.post(tiny_batch(), path="/s2s/v2/events").status_code,
    ]
    assert [status == 418 for status in statuses] == expected


def test_first_matching_rule_wins(
    emulator: EmulatorHandle, ct: CleverTapDriver, views: ControlViews
) -> None:
    first = views.add_fault(platform="clevertap", status=503, times=1)
    second = views.add_fault(platform="clevertap", status=500)
    assert ct.send(EVENT).status_code == 503
    assert ct.send(EVENT).status_code == 500
    assert [e["fault"] for e in emulator.client.requests()] == [first["id"], second["id"]]


def test_list_delete_and_clear_faults(
    emulator: EmulatorHandle, ct: CleverTapDriver, views: ControlViews
) -> None:
    one = views.add_fault(platform="clevertap", status=500)
    two = views.add_fault(platform="mparticle", latency_ms=10, path="/v2/*")
    assert one["id"] != two["id"]
    assert [f["id"] for f in views.faults()] == [one["id"], two["id"]]
    assert views.faults()[1] == {**two, "fired": 0}

    response = emulator.client.http.delete(f"/faults/{one['id']}")
    assert response.status_code == 200
    assert response.json() == {"deleted": one["id"]}
    assert [f["id"] for f in views.faults()] == [two["id"]]
    assert ct.send(EVENT).status_code == 200

    missing = emulator.client.http.delete(f"/faults/{one['id']}")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"

    cleared = emulator.client.http.delete("/faults")
    assert cleared.status_code == 200
    assert cleared.json() == {"faults": [], "cleared": 1}
    assert views.faults() == []


@pytest.mark.parametrize(
    "rule",
    [
        {"platform": "clevertap"},
        {"status": 200},
        {"status": 600},
        {"status": 500, "platform": "elsewhere"},
        {"status": 500, "method": "FETCH"},
        {"status": 500, "probability": 1.5},
        {"status": 500, "times": 0},
        {"latency_ms": -1},
        {"status": 500, "unknown": True},
    ],
)
def test_invalid_fault_rules_are_400(
    emulator: EmulatorHandle, rule: dict[str, Any], views: ControlViews
) -> None:
    response = emulator.client.http.post("/faults", json=rule)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_request"
    assert response.json()["error"]["details"]
    assert views.faults() == []


def test_fault_on_an_unserved_clevertap_path_uses_the_clevertap_envelope(
    views: ControlViews, ct: CleverTapDriver
) -> None:
    views.add_fault(path="/1/profile.json", status=503)
    response = ct.get("/1/profile.json")
    assert response.status_code == 503
    assert response.json()["status"] == "fail"


def test_probability_faults_repeat_after_a_reset(
    emulator: EmulatorHandle, ct: CleverTapDriver, views: ControlViews
) -> None:
    """A seeded emulator reset to a clean slate fires a probabilistic fault the same way every
    time, so a test's outcome does not depend on the tests that ran before it."""

    def pattern() -> list[int]:
        emulator.client.reset()
        views.add_fault(platform="clevertap", status=500, probability=0.5)
        return [ct.send(EVENT).status_code for _ in range(16)]

    first = pattern()
    assert set(first) == {200, 500}
    assert pattern() == first


def test_fault_ids_restart_after_a_reset(emulator: EmulatorHandle, views: ControlViews) -> None:
    """Every test starts from the same ids: the first rule after a reset has the same id."""
    emulator.client.reset()
    first = views.add_fault(platform="clevertap", status=500)["id"]
    views.add_fault(platform="clevertap", status=501)
    emulator.client.reset()
    assert views.add_fault(platform="clevertap", status=500)["id"] == first


def test_fault_registry_unit() -> None:
    registry = FaultRegistry(seed=1)
    limited = registry.add({"platform": "clevertap", "status": 500, "times": 1})
    catch_all = registry.add({"path": "/v2/*", "latency_ms": 5})
    assert registry.pick("clevertap", "t", "POST", "/1/upload") is limited
    assert registry.pick("clevertap", "t", "POST", "/1/upload") is None
    assert registry.pick("mparticle", "w", "POST", "/v2/events") is catch_all
    assert registry.pick("mparticle", "w", "POST", "/s2s/v2/events") is None

    restored = FaultRegistry(seed=1)
    restored.restore(registry.snapshot())
    assert restored.snapshot() == registry.snapshot()
    assert restored.pick("clevertap", "t", "POST", "/1/upload") is None  # still used up
    new = restored.add({"status": 500})
    assert new.id not in {limited.id, catch_all.id}

    registry.clear({"t"})
    assert len(registry.rules()) == 2
    registry.clear()
    assert registry.rules() == []


# -- ids -------------------------------------------------------------------------------------


def mint(ids: IdGenerator) -> list[Any]:
    return [ids.clevertap_id(), ids.mpid(), ids.cursor(), ids.hex(8), ids.token(5)]


def test_same_seed_same_ids() -> None:
    assert mint(IdGenerator(42)) == mint(IdGenerator(42))
    assert mint(IdGenerator(42)) != mint(IdGenerator(43))


def test_id_formats() -> None:
    ids = IdGenerator(7)
    for _ in range(200):
        assert re.fullmatch(r"__[0-9a-f]{32}", ids.clevertap_id())
        mpid = ids.mpid()
        assert mpid != 0 and -(1 << 63) <= mpid < (1 << 63)
        assert re.fullmatch(r"[a-z0-9]{24}", ids.cursor())


def test_reseed_restarts_and_state_continues_the_sequence() -> None:
    ids = IdGenerator(5)
    first = mint(ids)
    saved = ids.state()
    after = mint(ids)
    ids.reseed()
    assert mint(ids) == first
    other = IdGenerator(999)
    other.restore(saved)
    assert other.seed == 5
    assert mint(other) == after


def test_without_a_seed_one_is_chosen_and_reported() -> None:
    one, two = IdGenerator(), IdGenerator()
    assert isinstance(one.seed, int)
    assert mint(IdGenerator(one.seed)) == mint(IdGenerator(one.seed))
    assert one.seed != two.seed


@contextmanager
def running(seed: int) -> Iterator[tuple[httpx.Client, Any]]:
    """An emulator of its own (in a thread): a control client and the Emulator object."""
    server = ThreadedServer(Config.defaults(port=0, seed=seed, log_requests=False)).start()
    try:
        with httpx.Client(base_url=server.url + "/_emulator") as client:
            yield client, server.server.app.state.emulator
    finally:
        server.stop()


@pytest.fixture
def seeded() -> Iterator[tuple[httpx.Client, Any]]:
    with running(99) as pair:
        yield pair


def test_emulator_ids_restart_from_the_seed_after_reset(seeded: tuple[httpx.Client, Any]) -> None:
    client, emulator = seeded
    assert client.get("/health").json()["seed"] == 99
    first = mint(emulator.ids)
    assert mint(emulator.ids) != first
    assert client.post("/reset").status_code == 200
    assert mint(emulator.ids) == first
    # A tenant reset leaves the sequence alone.
    assert client.post("/reset", params={"tenant": "1000"}).status_code == 200
    assert mint(emulator.ids) != first


def test_emulator_ids_continue_after_a_state_round_trip(seeded: tuple[httpx.Client, Any]) -> None:
    client, emulator = seeded
    mint(emulator.ids)
    document = client.get("/state").json()
    expected = mint(emulator.ids)

    with running(1) as (other, other_emulator):
        assert other.put("/state", json=document).status_code == 200
        assert mint(other_emulator.ids) == expected
        assert other.get("/health").json()["seed"] == 99


def test_a_reset_after_loading_a_state_restarts_from_the_start_up_seed(
    seeded: tuple[httpx.Client, Any],
) -> None:
    """A loaded state brings its own seed (the ids go on from it), but a full reset goes back
    to the emulator's own: one test loading a state must not change the next test's ids."""
    client, emulator = seeded
    with running(1) as (other, _):
        document = other.get("/state").json()
    assert client.put("/state", json=document).status_code == 200
    assert client.get("/health").json()["seed"] == 1

    assert client.post("/reset").status_code == 200
    assert client.get("/health").json()["seed"] == 99
    assert mint(emulator.ids) == mint(IdGenerator(99))
