"""Control API: reset, state export/import, tenants, and the control envelope itself."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tinydb import TinyDB

from emulator.config import default_tenants
from emulator.testing.plugin import EmulatorHandle
from tests.drivers import CleverTapDriver, ControlViews, MParticleDriver
from tests.drivers.clevertap import ct_headers
from tests.drivers.mparticle import tiny_batch

JSON = {"Content-Type": "application/json"}
EVENT = {"type": "event", "identity": "user-1", "evtName": "Charged"}
ACCOUNT_B = {"kind": "clevertap_account", "id": "ACCT-B", "passcode": "pass-b", "region": "eu1"}
WORKSPACE_B = {
    "kind": "mparticle_workspace",
    "id": "2000",
    "inputs": [{"kind": "s2s", "key": "key-b", "secret": "secret-b"}],
}
CONNECTION_B = {"kind": "connection", "id": "conn-b", "workspace": "2000", "account": "ACCT-B"}


@pytest.fixture
def add_tenant(emulator: EmulatorHandle) -> Iterator[Callable[[dict[str, Any]], dict[str, Any]]]:
    """Add tenants for one test; they are removed again afterwards (reset keeps tenants)."""
    added: list[str] = []

    def add(doc: dict[str, Any]) -> dict[str, Any]:
        response = emulator.client.http.post("/tenants", json=doc)
        assert response.status_code == 201, response.text
        added.append(doc["id"])
        return response.json()  # type: ignore[no-any-return]

    yield add
    for tenant_id in reversed(added):
        emulator.client.http.delete(f"/tenants/{tenant_id}")


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]  # type: ignore[no-any-return]


# -- reset -----------------------------------------------------------------------------------


def test_full_reset_forgets_journal_data_faults_and_clock(
    emulator: EmulatorHandle, ct: CleverTapDriver, mp: MParticleDriver, views: ControlViews
) -> None:
    assert ct.send(EVENT, EVENT).status_code == 200
    assert mp.post(tiny_batch()).status_code == 202
    emulator.client.add_fault(platform="clevertap", path="/1/nothing", status=500)
    emulator.client.freeze_clock(1_700_000_000)
    tenants_before = emulator.client.tenants()

    response = emulator.client.http.post("/reset")
    assert response.status_code == 200
    assert response.json() == {
        "scope": "all",
        "journal_entries_removed": 2,
        "tenants_restored": False,
    }

    assert emulator.client.count() == 0
    assert views.get("/clevertap/EMU-TEST-0001/events")["total"] == 0
    assert views.get("/mparticle/1000/batches")["total"] == 0
    assert emulator.client.http.get("/faults").json()["faults"] == []
    clock = emulator.client.clock()
    assert clock["frozen"] is False
    assert clock["offset"] == 0.0
    assert emulator.client.tenants() == tenants_before


def test_reset_of_one_tenant_forgets_only_its_journal_and_data(
    emulator: EmulatorHandle,
    add_tenant: Callable[[dict[str, Any]], dict[str, Any]],
    ct: CleverTapDriver,
    mp: MParticleDriver,
    views: ControlViews,
    http: httpx.Client,
) -> None:
    add_tenant(ACCOUNT_B)
    b_headers = ct_headers("ACCT-B", "pass-b")
    assert ct.send(EVENT).status_code == 200
    assert ct.send(EVENT, EVENT, headers=b_headers).status_code == 200
    assert ct.send(EVENT, headers=b_headers).status_code == 200
    assert mp.post(tiny_batch()).status_code == 202
    http.get("/elsewhere")  # a request of no tenant
    emulator.client.freeze_clock(1_700_000_000)

    response = emulator.client.http.post("/reset", params={"tenant": "ACCT-B"})
    assert response.status_code == 200
    assert response.json() == {"scope": "tenant", "tenant": "ACCT-B", "journal_entries_removed": 2}

    assert emulator.client.count(tenant="ACCT-B") == 0
    assert views.get("/clevertap/ACCT-B/events")["total"] == 0
    assert emulator.client.count(tenant="EMU-TEST-0001") == 1
    assert emulator.client.count(tenant="1000") == 1
    assert emulator.client.count(platform="unknown") == 1
    assert views.get("/clevertap/EMU-TEST-0001/events")["total"] == 1
    assert views.get("/mparticle/1000/batches")["total"] == 1
    # The tenant stays, and a tenant reset leaves the clock alone.
    assert "ACCT-B" in [t["id"] for t in emulator.client.tenants()]
    assert emulator.client.clock()["frozen"] is True
    assert ct.send(EVENT, headers=b_headers).status_code == 200


def test_reset_of_an_unknown_tenant_is_404(emulator: EmulatorHandle, ct: CleverTapDriver) -> None:
    ct.send(EVENT)
    response = emulator.client.http.post("/reset", params={"tenant": "no-such-tenant"})
    assert_error(response, 404, "not_found")
    assert emulator.client.count() == 1


# -- state -----------------------------------------------------------------------------------


def test_state_is_a_versioned_tinydb_document(
    emulator: EmulatorHandle, tmp_path: Path, ct: CleverTapDriver, mp: MParticleDriver
) -> None:
    ct.send(EVENT, EVENT)
    mp.post(tiny_batch())
    doc = emulator.client.state()

    meta = doc["_meta"]["1"]
    assert meta["format"] == "ctmp-emulator-state"
    assert meta["version"] == 1
    assert meta["scope"] is None
    assert {"tenants", "journal", "clevertap.accounts", "mparticle.batches"} <= set(doc)
    for name, table in doc.items():
        assert isinstance(table, dict)
        assert list(table) == [str(i) for i in range(1, len(table) + 1)], name

    path = tmp_path / "state.json"
    path.write_text(json.dumps(doc))
    db = TinyDB(path)
    try:
        assert db.table("tenants").all() == emulator.client.tenants()
        assert len(db.table("journal").all()) == 2
        [account] = db.table("clevertap.accounts").all()
        assert account["tenant"] == "EMU-TEST-0001"
        assert len(account["events"]) == 2
        assert len(db.table("mparticle.batches").all()) == 1
    finally:
        db.close()


def test_state_round_trip_restores_into_a_reset_emulator(
    emulator: EmulatorHandle,
    add_tenant: Callable[[dict[str, Any]], dict[str, Any]],
    ct: CleverTapDriver,
    mp: MParticleDriver,
    views: ControlViews,
) -> None:
    add_tenant(ACCOUNT_B)
    add_tenant(WORKSPACE_B)
    add_tenant(CONNECTION_B)
    emulator.client.freeze_clock(1_700_000_000)
    assert ct.send(EVENT, headers=ct_headers("ACCT-B", "pass-b")).status_code == 200
    assert ct.send(EVENT, EVENT).status_code == 200
    assert mp.post(tiny_batch(), auth=("key-b", "secret-b")).status_code == 202
    rule = emulator.client.add_fault(platform="mparticle", path="/v2/nothing", status=503)
    emulator.client.settle()  # conn-b forwards the batch to ACCT-B: part of the state too
    saved = emulator.client.state()
    journal_before = emulator.client.requests()
    last_seq = emulator.client.health()["journal"]["last_seq"]

    emulator.client.reset()
    for tenant_id in ("conn-b", "2000", "ACCT-B"):
        assert emulator.client.http.delete(f"/tenants/{tenant_id}").status_code == 200
    assert emulator.client.count() == 0

    response = emulator.client.http.put("/state", json=saved)
    assert response.status_code == 200, response.text
    assert response.json()["tables"] == {
        "tenants": len(saved["tenants"]),
        "journal": 3,
        "clevertap.accounts": 2,
        "mparticle.batches": 1,
        "mparticle.users": 1,  # the batch's user
        "bridge.deliveries": 1,  # conn-b skipped it: the batch has no customer id
    }

    assert emulator.client.requests() == journal_before
    restored = [t["id"] for t in emulator.client.tenants()]
    assert restored == [t["id"] for t in saved["tenants"].values()]
    assert {"ACCT-B", "2000", "conn-b"} <= set(restored)
    b_events = views.get("/clevertap/ACCT-B/events")
    assert b_events["total"] == 1
    assert b_events["events"][0]["ts"] == 1_700_000_000
    assert views.get("/clevertap/EMU-TEST-0001/events")["total"] == 2
    assert views.get("/mparticle/2000/batches")["total"] == 1
    assert emulator.client.clock()["now"] == 1_700_000_000
    assert emulator.client.clock()["frozen"] is True
    assert [f["id"] for f in emulator.client.http.get("/faults").json()["faults"]] == [rule["id"]]
    assert emulator.client.state()["_meta"]["1"]["ids"] == saved["_meta"]["1"]["ids"]
    # The restored tenants authenticate, and the journal continues after the saved sequence.
    assert mp.post(tiny_batch(), auth=("key-b", "secret-b")).status_code == 202
    assert emulator.client.requests()[-1]["seq"] == last_seq + 1


@pytest.mark.parametrize(
    "document",
    [
        [],
        {},
        {"tenants": {}},
        {"_meta": {"1": {"format": "something-else", "version": 1}}},
        {"_meta": {"1": {"format": "ctmp-emulator-state", "version": 2}}},
        {"_meta": {"1": {"format": "ctmp-emulator-state", "version": 1}}, "unknown.table": {}},
        {"_meta": {"1": {"format": "ctmp-emulator-state", "version": 1}}, "journal": {"1": 5}},
        {"_meta": {"1": {"format": "ctmp-emulator-state", "version": 1}}, "journal": {"1": {}}},
        {
            "_meta": {"1": {"format": "ctmp-emulator-state", "version": 1}},
            "tenants": {str(i): t for i, t in enumerate(default_tenants(), start=1)},
            "journal": {"1": {"seq": 1}},
        },
        {
            "_meta": {"1": {"format": "ctmp-emulator-state", "version": 1}},
            "clevertap.accounts": {"1": {"no": "tenant"}},
        },
        {
            "_meta": {"1": {"format": "ctmp-emulator-state", "version": 1}},
            "tenants": {"1": {"kind": "clevertap_account", "id": "X"}},
        },
        {
            "_meta": {"1": {"format": "ctmp-emulator-state", "version": 1}},
            "tenants": {
                "1": {"kind": "connection", "id": "c", "workspace": "nope", "account": "nope"}
            },
        },
    ],
    ids=[
        "array",
        "empty",
        "no-meta",
        "wrong-format",
        "wrong-version",
        "unknown-table",
        "row-not-object",
        "journal-row-without-seq",
        "journal-row-with-only-seq",
        "account-without-tenant",
        "invalid-tenant",
        "dangling-connection",
    ],
)
def test_bad_state_documents_are_400_and_change_nothing(
    emulator: EmulatorHandle, document: Any, ct: CleverTapDriver
) -> None:
    ct.send(EVENT)
    before = emulator.client.state()
    response = emulator.client.http.put("/state", json=document)
    if response.status_code == 200:  # the bug this test looks for: put the state back
        emulator.client.load_state(before)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] in ("invalid_request", "invalid_state")
    after = emulator.client.state()
    assert after["tenants"] == before["tenants"]
    assert after["journal"] == before["journal"]
    assert after["clevertap.accounts"] == before["clevertap.accounts"]
    assert ct.send(EVENT).status_code == 200


def test_put_state_that_is_not_json_is_400(emulator: EmulatorHandle) -> None:
    response = emulator.client.http.put("/state", content=b"{nope", headers=JSON)
    assert_error(response, 400, "malformed_json")


def test_state_of_an_unknown_tenant_is_404(emulator: EmulatorHandle) -> None:
    assert_error(emulator.client.http.get("/state", params={"tenant": "nobody"}), 404, "not_found")


# -- tenants ---------------------------------------------------------------------------------


def test_list_tenants_has_the_defaults(emulator: EmulatorHandle) -> None:
    tenants = {t["id"]: t for t in emulator.client.tenants()}
    assert tenants["EMU-TEST-0001"]["kind"] == "clevertap_account"
    assert tenants["1000"]["kind"] == "mparticle_workspace"
    assert tenants["default"]["kind"] == "connection"
    assert tenants["default"]["workspace"] == "1000"
    assert tenants["default"]["account"] == "EMU-TEST-0001"


def test_add_get_and_use_a_tenant(
    emulator: EmulatorHandle,
    add_tenant: Callable[[dict[str, Any]], dict[str, Any]],
    ct: CleverTapDriver,
    mp: MParticleDriver,
) -> None:
    assert ct.send(EVENT, headers=ct_headers("ACCT-B", "pass-b")).status_code == 401
    assert add_tenant(ACCOUNT_B) == ACCOUNT_B
    response = emulator.client.http.get("/tenants/ACCT-B")
    assert response.status_code == 200
    assert response.json() == ACCOUNT_B
    assert ACCOUNT_B in emulator.client.tenants()
    assert ct.send(EVENT, headers=ct_headers("ACCT-B", "pass-b")).status_code == 200

    add_tenant(WORKSPACE_B)
    assert mp.post(tiny_batch(), auth=("key-b", "secret-b")).status_code == 202
    assert add_tenant(CONNECTION_B) == CONNECTION_B
    assert emulator.client.http.get("/tenants/conn-b").json() == CONNECTION_B


@pytest.mark.parametrize(
    "doc",
    [
        {**ACCOUNT_B, "id": "EMU-TEST-0001"},
        {"kind": "mparticle_workspace", "id": "EMU-TEST-0001", "inputs": []},
        {**CONNECTION_B, "id": "1000", "workspace": "1000", "account": "EMU-TEST-0001"},
    ],
    ids=["same-kind", "other-kind", "connection-named-like-a-workspace"],
)
def test_duplicate_tenant_id_is_409(emulator: EmulatorHandle, doc: dict[str, Any]) -> None:
    before = emulator.client.tenants()
    response = emulator.client.http.post("/tenants", json=doc)
    assert_error(response, 409, "conflict")
    assert emulator.client.tenants() == before


@pytest.mark.parametrize(
    ("doc", "paths"),
    [
        (
            {"kind": "clevertap_account", "id": "bad id!", "region": "xx"},
            {"$", "$.id", "$.region"},
        ),
        ({"kind": "nothing"}, {"$.kind"}),
        ([1, 2], {"$.kind"}),
        (
            {"kind": "mparticle_workspace", "id": "3000", "inputs": [{"kind": "s2s", "key": "k"}]},
            {"$.inputs[0]"},
        ),
        ({**ACCOUNT_B, "extra": True}, {"$"}),
    ],
    ids=["account", "unknown-kind", "not-an-object", "input-without-secret", "extra-key"],
)
def test_invalid_tenant_document_is_400_with_paths(
    emulator: EmulatorHandle, doc: Any, paths: set[str]
) -> None:
    response = emulator.client.http.post("/tenants", json=doc)
    error = assert_error(response, 400, "invalid_request")
    assert {d["path"] for d in error["details"]} == paths


@pytest.mark.parametrize(
    ("doc", "mentions"),
    [
        ({**CONNECTION_B, "workspace": "9999", "account": "EMU-TEST-0001"}, "9999"),
        ({**CONNECTION_B, "workspace": "1000", "account": "NOPE"}, "NOPE"),
        ({**CONNECTION_B, "workspace": "EMU-TEST-0001", "account": "EMU-TEST-0001"}, "workspace"),
        (
            {
                **CONNECTION_B,
                "workspace": "1000",
                "account": "EMU-TEST-0001",
                "feed": {"input_key": "emu-s2s-key"},
            },
            "emu-s2s-key",
        ),
        (
            {
                "kind": "mparticle_workspace",
                "id": "3000",
                "inputs": [{"kind": "s2s", "key": "emu-s2s-key", "secret": "x"}],
            },
            "emu-s2s-key",
        ),
        (
            {
                "kind": "mparticle_workspace",
                "id": "3000",
                "inputs": [
                    {"kind": "s2s", "key": "twice", "secret": "x"},
                    {"kind": "feed", "key": "twice", "secret": "y"},
                ],
            },
            "twice",
        ),
    ],
    ids=[
        "unknown-workspace",
        "unknown-account",
        "workspace-is-an-account",
        "feed-key-not-a-feed",
        "input-key-of-another-workspace",
        "input-key-twice",
    ],
)
def test_tenant_with_bad_references_is_400(
    emulator: EmulatorHandle, doc: Any, mentions: str
) -> None:
    before = emulator.client.tenants()
    response = emulator.client.http.post("/tenants", json=doc)
    error = assert_error(response, 400, "invalid_request")
    assert any(mentions in d["message"] for d in error["details"]), error
    assert emulator.client.tenants() == before


def test_get_unknown_tenant_is_404(emulator: EmulatorHandle) -> None:
    assert_error(emulator.client.http.get("/tenants/nobody"), 404, "not_found")


def test_delete_tenant_removes_it_and_its_data(
    emulator: EmulatorHandle,
    add_tenant: Callable[[dict[str, Any]], dict[str, Any]],
    ct: CleverTapDriver,
    views: ControlViews,
) -> None:
    emulator.client.add_tenant(ACCOUNT_B)
    b_headers = ct_headers("ACCT-B", "pass-b")
    assert ct.send(EVENT, EVENT, headers=b_headers).status_code == 200
    assert ct.send(EVENT).status_code == 200

    response = emulator.client.http.delete("/tenants/ACCT-B")
    assert response.status_code == 200
    assert response.json() == {"deleted": "ACCT-B"}
    assert_error(emulator.client.http.get("/tenants/ACCT-B"), 404, "not_found")
    assert_error(emulator.client.http.delete("/tenants/ACCT-B"), 404, "not_found")
    assert emulator.client.count(tenant="ACCT-B") == 0
    assert ct.send(EVENT, headers=b_headers).status_code == 401
    assert emulator.client.count(tenant="EMU-TEST-0001") == 1

    # Added again, it starts empty.
    add_tenant(ACCOUNT_B)
    assert views.get("/clevertap/ACCT-B/events")["total"] == 0
    assert views.get("/clevertap/EMU-TEST-0001/events")["total"] == 1


def test_a_tenant_in_use_by_a_connection_cannot_be_deleted(
    emulator: EmulatorHandle, add_tenant: Callable[[dict[str, Any]], dict[str, Any]]
) -> None:
    add_tenant(ACCOUNT_B)
    add_tenant(WORKSPACE_B)
    add_tenant(CONNECTION_B)
    for tenant_id in ("ACCT-B", "2000"):
        error = assert_error(emulator.client.http.delete(f"/tenants/{tenant_id}"), 409, "conflict")
        assert "conn-b" in error["message"]
        assert emulator.client.http.get(f"/tenants/{tenant_id}").status_code == 200


# -- the control envelope --------------------------------------------------------------------


def test_wrong_method_on_a_control_path_is_405_with_allow(emulator: EmulatorHandle) -> None:
    response = emulator.client.http.patch("/requests")
    assert_error(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "DELETE, GET"


def test_unknown_control_path_is_404_envelope(emulator: EmulatorHandle) -> None:
    assert_error(emulator.client.http.get("/does-not-exist"), 404, "not_found")


def test_control_body_that_is_not_json_is_400(emulator: EmulatorHandle) -> None:
    assert_error(
        emulator.client.http.post("/tenants", content=b"{oops", headers=JSON), 400, "malformed_json"
    )


def test_health(emulator: EmulatorHandle, ct: CleverTapDriver) -> None:
    ct.send(EVENT)
    health = emulator.client.health()
    assert health["status"] == "ok"
    assert health["mode"] == "strict"
    assert {"clevertap", "mparticle"} <= set(health["platforms"])
    assert health["journal"]["size"] == 1
    assert health["tenants"] >= 3
