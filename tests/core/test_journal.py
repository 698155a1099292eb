"""The request journal (GET/DELETE /_emulator/requests...) and the long-poll wait."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from emulator.config import Config
from emulator.core.contracts import ContractRegistry
from emulator.server import ThreadedServer
from emulator.testing import WaitTimeout
from emulator.testing.plugin import EmulatorHandle
from tests.drivers import BridgeDriver, CleverTapDriver, ControlViews, MParticleDriver
from tests.drivers.bridge import batch, event
from tests.drivers.mparticle import tiny_batch

EVENT = {"type": "event", "identity": "user-1", "evtName": "Charged", "evtData": {"amount": 5}}


# -- what an entry records -------------------------------------------------------------------


def test_clevertap_request_is_recorded_with_every_field(
    emulator: EmulatorHandle, http: httpx.Client
) -> None:
    emulator.client.freeze_clock(1_700_000_000)
    payload = {"d": [EVENT]}
    raw = json.dumps(payload).encode()
    response = http.post(
        "/1/upload",
        headers=emulator.clevertap_headers,
        content=raw,
        params={"dryRun": "0"},
    )
    assert response.status_code == 200

    [entry] = emulator.client.requests()
    assert isinstance(entry["seq"], int) and entry["seq"] > 0
    assert entry["time"] == 1_700_000_000
    assert entry["platform"] == "clevertap"
    assert entry["tenant"] == emulator.clevertap["id"]
    assert entry["origin"] == "client"
    assert entry["method"] == "POST"
    assert entry["path"] == "/1/upload"
    assert entry["query"] == {"dryRun": "0"}
    assert entry["headers"]["x-clevertap-account-id"] == emulator.clevertap["id"]
    assert entry["headers"]["x-clevertap-passcode"] == "***"
    assert entry["body"] == payload
    assert entry["body_size"] == len(raw)
    assert entry["body_truncated"] is False
    assert entry["valid"] is True
    assert entry["validation"] == {
        "contract": "clevertap/upload",
        "valid": True,
        "errors": [],
        "warnings": [],
    }
    assert entry["status"] == 200
    assert entry["response"] == response.json()
    assert isinstance(entry["duration_ms"], int | float) and entry["duration_ms"] >= 0
    # The passcode appears nowhere in the entry.
    assert emulator.clevertap["passcode"] not in json.dumps(entry)


def test_basic_authorization_keeps_the_key_and_masks_the_secret(
    emulator: EmulatorHandle, mp: MParticleDriver
) -> None:
    assert mp.post(tiny_batch()).status_code == 202
    [entry] = emulator.client.requests(platform="mparticle")
    key, secret = emulator.mparticle_auth
    assert entry["headers"]["authorization"] == f"Basic {key}:***"
    assert secret not in json.dumps(entry)
    assert entry["tenant"] == emulator.mparticle["workspace"]
    assert entry["status"] == 202
    assert entry["response"] is None


def test_non_basic_authorization_is_masked_entirely(
    emulator: EmulatorHandle, http: httpx.Client
) -> None:
    http.post(
        "/v2/events",
        headers={"Authorization": "Bearer very-secret-token"},
        json={"events": []},
    )
    [entry] = emulator.client.requests(platform="mparticle")
    assert entry["status"] == 401
    assert entry["headers"]["authorization"] == "Bearer ***"
    assert "very-secret-token" not in json.dumps(entry)


def test_rejected_records_are_recorded_with_errors_at_json_paths(
    emulator: EmulatorHandle, ct: CleverTapDriver
) -> None:
    records = [EVENT, {"type": "bogus"}, {"type": "event", "evtData": "not an object"}]
    response = ct.send(*records)
    assert response.status_code == 200
    assert response.json()["status"] == "partial"
    assert [r["code"] for r in response.json()["unprocessed"]] == [524, 523]

    [entry] = emulator.client.requests()
    assert entry["valid"] is False
    assert entry["status"] == 200
    assert entry["response"] == response.json()
    validation = entry["validation"]
    assert validation["contract"] == "clevertap/upload"
    assert validation["valid"] is False
    errors = {error["path"]: error for error in validation["errors"]}
    assert set(errors) == {"$.d[1]", "$.d[2]"}
    assert errors["$.d[1]"]["kind"] == "clevertap-524"
    assert errors["$.d[2]"]["message"] == "Identity is missing.Skipped record number : 3"
    assert emulator.client.count(valid=False) == 1


def test_envelope_errors_are_recorded_at_json_paths(
    emulator: EmulatorHandle, http: httpx.Client
) -> None:
    response = http.post("/1/upload", headers=emulator.clevertap_headers, json={"d": "nope"})
    assert response.status_code == 400
    [entry] = emulator.client.requests()
    assert entry["valid"] is False
    assert [e["path"] for e in entry["validation"]["errors"]] == ["$.d"]


def test_unparseable_body_is_kept_as_text(emulator: EmulatorHandle, http: httpx.Client) -> None:
    response = http.post("/1/upload", headers=emulator.clevertap_headers, content=b"{not json")
    assert response.status_code == 400
    [entry] = emulator.client.requests()
    assert entry["body"] == "{not json"
    assert entry["body_truncated"] is False


def test_unknown_paths_are_journaled_as_platform_unknown(
    emulator: EmulatorHandle, http: httpx.Client
) -> None:
    response = http.get("/definitely/not/served", params={"a": "1"})
    assert response.status_code == 404
    [entry] = emulator.client.requests()
    assert entry["platform"] == "unknown"
    assert entry["tenant"] is None
    assert entry["path"] == "/definitely/not/served"
    assert entry["query"] == {"a": "1"}
    assert entry["status"] == 404
    assert entry["valid"] is None
    assert entry["response"] == response.json()


def test_control_requests_are_not_journaled(emulator: EmulatorHandle, views: ControlViews) -> None:
    control = emulator.client.http
    before = emulator.client.health()["journal"]["last_seq"]
    control.get("/health")
    control.get("/requests")
    control.get("/requests/count")
    control.get("/requests/wait", params={"timeout": 0})
    control.get("/tenants")
    control.get("/clock")
    control.get("/faults")
    control.get("/state")
    control.get("/openapi.json")
    control.get("/no/such/control/operation")
    control.post("/clock/freeze", json={})
    assert views.journal_count() == 0
    assert emulator.client.health()["journal"]["last_seq"] == before


# -- queries ---------------------------------------------------------------------------------


@pytest.fixture
def mixed_traffic(
    emulator: EmulatorHandle, ct: CleverTapDriver, mp: MParticleDriver, http: httpx.Client
) -> list[int]:
    """Five requests of different kinds; answers their seqs, oldest first."""
    assert ct.send(EVENT).status_code == 200
    assert ct.send(EVENT, EVENT).status_code == 200
    bad_envelope = {"d": [{"type": "event"}] * 1001}  # over the 1000-record limit
    assert (
        http.post("/1/upload", headers=emulator.clevertap_headers, json=bad_envelope).status_code
        == 400
    )
    assert mp.post(tiny_batch()).status_code == 202
    assert http.get("/nowhere").status_code == 404
    return [entry["seq"] for entry in emulator.client.requests()]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, [0, 1, 2, 3, 4]),
        ({"platform": "clevertap"}, [0, 1, 2]),
        ({"platform": "mparticle"}, [3]),
        ({"platform": "unknown"}, [4]),
        ({"tenant": "EMU-TEST-0001"}, [0, 1, 2]),
        ({"tenant": "1000"}, [3]),
        ({"path": "/1/upload"}, [0, 1, 2]),
        ({"path": "/1/up"}, []),
        ({"path": "/1/*"}, [0, 1, 2]),
        ({"path": "/v?/event[s]"}, [3]),
        ({"method": "POST"}, [0, 1, 2, 3]),
        ({"method": "get"}, [4]),
        ({"status": 200}, [0, 1]),
        ({"status": 400}, [2]),
        ({"status": 202}, [3]),
        ({"valid": "true"}, [0, 1, 3]),
        ({"valid": "false"}, [2]),
        ({"platform": "clevertap", "valid": "true"}, [0, 1]),
    ],
)
def test_filters(
    mixed_traffic: list[int], params: dict[str, Any], expected: list[int], views: ControlViews
) -> None:
    page = views.journal(**params)
    assert [entry["seq"] for entry in page["requests"]] == [mixed_traffic[i] for i in expected]
    assert page["total"] == len(expected)
    assert views.journal_count(**params) == len(expected)


def test_pages_and_entries_satisfy_their_contracts(
    mixed_traffic: list[int], views: ControlViews
) -> None:
    contracts = ContractRegistry()
    page = views.journal()
    assert contracts.validate("emulator/requests-page", page).errors == []
    for entry in page["requests"]:
        assert contracts.validate("emulator/journal-entry", entry).errors == [], entry


def test_since_keeps_only_newer_entries(mixed_traffic: list[int], views: ControlViews) -> None:
    page = views.journal(since=mixed_traffic[2])
    assert [entry["seq"] for entry in page["requests"]] == mixed_traffic[3:]
    assert views.journal_count(since=mixed_traffic[-1]) == 0


def test_paging(mixed_traffic: list[int], views: ControlViews) -> None:
    first = views.journal(limit=2)
    assert [e["seq"] for e in first["requests"]] == mixed_traffic[:2]
    assert (first["total"], first["limit"], first["offset"]) == (5, 2, 0)
    middle = views.journal(limit=2, offset=2)
    assert [e["seq"] for e in middle["requests"]] == mixed_traffic[2:4]
    last = views.journal(limit=2, offset=4)
    assert [e["seq"] for e in last["requests"]] == mixed_traffic[4:]
    beyond = views.journal(offset=50)
    assert beyond["requests"] == [] and beyond["total"] == 5
    filtered = views.journal(platform="clevertap", limit=1, offset=1)
    assert [e["seq"] for e in filtered["requests"]] == [mixed_traffic[1]]
    assert filtered["total"] == 3


@pytest.mark.parametrize(
    "params",
    [
        {"status": "abc"},
        {"valid": "maybe"},
        {"limit": "0"},
        {"offset": "-1"},
        {"since": "x"},
        {"method": "P O S T"},
    ],
)
def test_bad_query_parameters_are_400(emulator: EmulatorHandle, params: dict[str, str]) -> None:
    response = emulator.client.http.get("/requests", params=params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_parameter"
    assert next(iter(params)) in error["message"]


def test_get_one_entry_by_seq(emulator: EmulatorHandle, mixed_traffic: list[int]) -> None:
    listed = emulator.client.requests()
    for entry in listed:
        response = emulator.client.http.get(f"/requests/{entry['seq']}")
        assert response.status_code == 200
        assert response.json() == entry
    for missing in (str(mixed_traffic[-1] + 1000), "abc"):
        response = emulator.client.http.get(f"/requests/{missing}")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


def test_delete_requests_forgets_everything(
    emulator: EmulatorHandle, mixed_traffic: list[int], ct: CleverTapDriver, views: ControlViews
) -> None:
    response = emulator.client.http.delete("/requests")
    assert response.status_code == 200
    assert response.json() == {"scope": "all", "journal_entries_removed": 5}
    assert views.journal()["total"] == 0
    assert emulator.client.http.get(f"/requests/{mixed_traffic[0]}").status_code == 404
    # Sequence numbers keep growing: a `since` cursor taken before stays meaningful.
    ct.send(EVENT)
    [entry] = emulator.client.requests()
    assert entry["seq"] > mixed_traffic[-1]


def test_delete_requests_of_one_tenant(emulator: EmulatorHandle, mixed_traffic: list[int]) -> None:
    response = emulator.client.http.delete("/requests", params={"tenant": "1000"})
    assert response.status_code == 200
    assert response.json() == {"scope": "tenant", "tenant": "1000", "journal_entries_removed": 1}
    remaining = [e["seq"] for e in emulator.client.requests()]
    assert remaining == [mixed_traffic[i] for i in (0, 1, 2, 4)]
    # Lookup by seq still finds entries after the gap.
    assert emulator.client.http.get(f"/requests/{mixed_traffic[4]}").status_code == 200


# -- a journal with a small capacity and body cap ---------------------------------------------


@pytest.fixture(scope="module")
def small_server() -> Iterator[str]:
    config = Config.defaults(
        port=0, journal_size=5, journal_body_cap=256, seed=3, log_requests=False
    )
    with ThreadedServer(config) as server:
        yield server.url


@pytest.fixture
def small(small_server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=small_server) as client:
        assert client.post("/_emulator/reset").status_code == 200
        yield client


CT_HEADERS = {"X-CleverTap-Account-Id": "EMU-TEST-0001", "X-CleverTap-Passcode": "emu-passcode"}


def test_body_over_the_cap_is_cut_and_flagged(small: httpx.Client) -> None:
    records = [{**EVENT, "evtData": {"note": "x" * 400}}]
    raw = json.dumps({"d": records}).encode()
    assert len(raw) > 256
    assert small.post("/1/upload", headers=CT_HEADERS, content=raw).status_code == 200
    [entry] = small.get("/_emulator/requests").json()["requests"]
    assert entry["body_truncated"] is True
    assert entry["body"] == raw[:256].decode()
    assert entry["body_size"] == len(raw)
    # The verdict is still about the whole body.
    assert entry["valid"] is True


def test_body_at_the_cap_is_kept_whole(small: httpx.Client) -> None:
    prefix = b'{"d":[{"type":"event","evtName":"'
    suffix = b'"}]}'
    raw = prefix + b"y" * (256 - len(prefix) - len(suffix)) + suffix
    assert len(raw) == 256
    assert small.post("/1/upload", headers=CT_HEADERS, content=raw).status_code == 200
    [entry] = small.get("/_emulator/requests").json()["requests"]
    assert entry["body_truncated"] is False
    assert entry["body"] == json.loads(raw)


def test_full_journal_drops_the_oldest_and_counts_them(small: httpx.Client) -> None:
    for i in range(8):
        small.get(f"/unknown/{i}")
    page = small.get("/_emulator/requests").json()
    assert [e["path"] for e in page["requests"]] == [f"/unknown/{i}" for i in range(3, 8)]
    assert page["total"] == 5
    assert page["journal"]["size"] == 5
    assert page["journal"]["capacity"] == 5
    assert page["journal"]["dropped"] == 3
    seqs = [e["seq"] for e in page["requests"]]
    assert seqs == list(range(seqs[0], seqs[0] + 5))
    assert page["journal"]["last_seq"] == seqs[-1]
    assert small.get(f"/_emulator/requests/{seqs[0] - 1}").status_code == 404
    assert small.get(f"/_emulator/requests/{seqs[0]}").json()["path"] == "/unknown/3"
    assert small.get("/_emulator/health").json()["journal"]["dropped"] == 3
    # A full reset clears the drop count too.
    small.post("/_emulator/reset")
    assert small.get("/_emulator/health").json()["journal"]["dropped"] == 0


def test_response_over_the_cap_is_cut_and_flagged(small: httpx.Client) -> None:
    bulk = [{f"x{i}": 1} for i in range(10)]
    assert len(json.dumps(bulk)) < 256
    response = small.post("/v2/bulkevents", auth=("emu-s2s-key", "emu-s2s-secret"), json=bulk)
    assert response.status_code == 400
    assert len(response.content) > 256
    [entry] = small.get("/_emulator/requests").json()["requests"]
    assert entry["response_truncated"] is True
    assert entry["response"] == response.content[:256].decode()
    assert entry["body_truncated"] is False


def test_restoring_more_entries_than_fit_counts_the_dropped(
    emulator: EmulatorHandle, small: httpx.Client, http: httpx.Client
) -> None:
    for i in range(8):
        http.get(f"/unknown/{i}")
    document = emulator.client.state()
    assert len(document["journal"]) == 8
    assert small.put("/_emulator/state", json=document).status_code == 200
    page = small.get("/_emulator/requests").json()
    assert [e["path"] for e in page["requests"]] == [f"/unknown/{i}" for i in range(3, 8)]
    assert page["journal"]["dropped"] == 3


# -- requests/wait ---------------------------------------------------------------------------


def wait(views: ControlViews, **params: Any) -> dict[str, Any]:
    """`GET /requests/wait` (a long poll: the client waits up to 60 s)."""
    response = views.http.get("/requests/wait", params=params, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def send_later(action: Callable[[], object], delay: float = 0.5) -> threading.Thread:
    """Run `action` in a thread after `delay` seconds (to land while a wait is pending)."""

    def run() -> None:
        time.sleep(delay)
        action()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_wait_answers_at_once_when_enough_entries_already_match(
    emulator: EmulatorHandle, ct: CleverTapDriver, mp: MParticleDriver
) -> None:
    ct.send(EVENT)
    ct.send(EVENT)
    mp.post(tiny_batch())
    # A long timeout: if the wait did not answer from what is already there, the HTTP call
    # would run into the client's read timeout instead.
    response = emulator.client.http.get(
        "/requests/wait",
        params={"platform": "clevertap", "count": 2, "timeout": 300},
        timeout=30,
    )
    result = response.json()
    assert result["satisfied"] is True
    assert result["wanted"] == 2
    assert result["count"] == 2
    assert [e["platform"] for e in result["requests"]] == ["clevertap", "clevertap"]


def test_wait_is_satisfied_by_a_request_arriving_during_the_wait(
    ct: CleverTapDriver, mp: MParticleDriver, views: ControlViews
) -> None:
    mp.post(tiny_batch())  # does not match the filter
    thread = send_later(lambda: ct.send(EVENT))
    try:
        result = wait(views, platform="clevertap", path="/1/upload", timeout=30)
    finally:
        thread.join()
    assert result["satisfied"] is True
    assert result["count"] == 1
    [entry] = result["requests"]
    assert (entry["platform"], entry["path"], entry["status"]) == ("clevertap", "/1/upload", 200)


def test_wait_counts_entries_present_before_and_arriving_during(
    ct: CleverTapDriver, views: ControlViews
) -> None:
    ct.send(EVENT)
    thread = send_later(lambda: ct.send(EVENT))
    try:
        result = wait(views, platform="clevertap", count=2, timeout=30)
    finally:
        thread.join()
    assert result["satisfied"] is True
    assert result["count"] == 2


def test_wait_timeout_reports_what_matched(ct: CleverTapDriver, views: ControlViews) -> None:
    ct.send(EVENT)
    result = wait(views, platform="clevertap", count=3, timeout=0.3)
    assert result["satisfied"] is False
    assert result["wanted"] == 3
    assert result["count"] == 1
    assert [e["path"] for e in result["requests"]] == ["/1/upload"]


def test_wait_with_since_only_counts_newer_entries(
    emulator: EmulatorHandle, ct: CleverTapDriver, views: ControlViews
) -> None:
    ct.send(EVENT)
    [old] = emulator.client.requests()
    result = wait(views, platform="clevertap", since=old["seq"], timeout=0.2)
    assert result["satisfied"] is False and result["count"] == 0

    thread = send_later(lambda: ct.send(EVENT, EVENT))
    try:
        result = wait(views, platform="clevertap", since=old["seq"], timeout=30)
    finally:
        thread.join()
    assert result["satisfied"] is True
    [new] = result["requests"]
    assert new["seq"] > old["seq"]
    assert len(new["body"]["d"]) == 2


def test_client_wait_for_returns_the_matching_entries(
    emulator: EmulatorHandle, ct: CleverTapDriver
) -> None:
    ct.send(EVENT)
    entries = emulator.client.wait_for(platform="clevertap", valid=True, timeout=5)
    assert [e["status"] for e in entries] == [200]


def test_client_wait_for_raises_a_readable_wait_timeout(
    emulator: EmulatorHandle, ct: CleverTapDriver
) -> None:
    ct.send(EVENT)
    [entry] = emulator.client.requests()
    with pytest.raises(WaitTimeout) as caught:
        emulator.client.wait_for(count=2, timeout=0.2, platform="clevertap")
    assert isinstance(caught.value, AssertionError)
    message = str(caught.value)
    assert "2 request(s)" in message
    assert "'platform': 'clevertap'" in message
    assert "saw 1" in message
    assert f"#{entry['seq']} POST /1/upload -> 200" in message
    assert caught.value.result["satisfied"] is False


@pytest.mark.parametrize("params", [{"count": "0"}, {"timeout": "-1"}, {"timeout": "nan"}])
def test_wait_rejects_bad_parameters(emulator: EmulatorHandle, params: dict[str, str]) -> None:
    response = emulator.client.http.get("/requests/wait", params=params)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_parameter"


def test_origin_tells_a_clients_requests_from_the_flows_own(
    emulator: EmulatorHandle, bridge: BridgeDriver, ct: CleverTapDriver
) -> None:
    """`wait_for(origin="client")` waits for the code under test, not for the bridge's own
    uploads to CleverTap (which land on the same `/1/upload`)."""
    bridge.forward(batch(event("custom_event", event_name="flowed", custom_event_type="other")))
    ct.upload_ok({"type": "event", "identity": "u1", "evtName": "direct", "evtData": {}})

    [flowed] = emulator.client.requests(path="/1/upload", origin="flow")
    assert flowed["headers"]["user-agent"] == "ctmp-emulator-bridge"
    [direct] = emulator.client.wait_for(path="/1/upload", origin="client")
    assert direct["body"]["d"][0]["evtName"] == "direct"
    assert emulator.client.count(path="/1/upload") == 2
    assert {e["origin"] for e in emulator.client.requests(platform="mparticle")} == {"client"}


def test_a_request_with_the_flows_user_agent_counts_as_a_flows(
    emulator: EmulatorHandle, ct: CleverTapDriver
) -> None:
    """A connection whose `base_url` points at an emulator delivers over HTTP: its user agent
    is what marks it there."""
    record = {"type": "event", "identity": "u1", "evtName": "e", "evtData": {}}
    ct.upload_ok(record, headers={**ct.headers, "User-Agent": "ctmp-emulator-bridge"})
    assert emulator.client.count(origin="flow") == 1
    assert emulator.client.count(origin="client") == 0
