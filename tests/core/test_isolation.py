"""Acceptance: tenants are isolated from each other.

Two CleverTap accounts and two mParticle workspaces (the defaults plus a second pair added at run
time) get traffic; no tenant's data may show up in another tenant's journal view, state export
or reset, and no tenant's credentials open another tenant.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from emulator.testing.plugin import EmulatorHandle
from tests.drivers import CleverTapDriver, MParticleDriver


@dataclass(frozen=True)
class Account:
    id: str
    passcode: str
    marker: str

    @property
    def headers(self) -> dict[str, str]:
        return {"X-CleverTap-Account-Id": self.id, "X-CleverTap-Passcode": self.passcode}


@dataclass(frozen=True)
class Workspace:
    id: str
    key: str
    secret: str
    marker: str

    @property
    def auth(self) -> tuple[str, str]:
        return (self.key, self.secret)


ACCOUNT_A = Account("EMU-TEST-0001", "emu-passcode", "marker-account-a")
ACCOUNT_B = Account("ACME-2", "acme-passcode", "marker-account-b")
WORKSPACE_A = Workspace("1000", "emu-s2s-key", "emu-s2s-secret", "marker-workspace-a")
WORKSPACE_B = Workspace("2000", "acme-s2s-key", "acme-s2s-secret", "marker-workspace-b")
MARKERS = {
    ACCOUNT_A.id: ACCOUNT_A.marker,
    ACCOUNT_B.id: ACCOUNT_B.marker,
    WORKSPACE_A.id: WORKSPACE_A.marker,
    WORKSPACE_B.id: WORKSPACE_B.marker,
}
SECOND_PAIR = [
    {
        "kind": "clevertap_account",
        "id": ACCOUNT_B.id,
        "name": "Acme",
        "passcode": ACCOUNT_B.passcode,
        "region": "eu1",
    },
    {
        "kind": "mparticle_workspace",
        "id": WORKSPACE_B.id,
        "inputs": [
            {"kind": "s2s", "key": WORKSPACE_B.key, "secret": WORKSPACE_B.secret},
            {"kind": "feed", "key": "acme-feed-key", "secret": "acme-feed-secret"},
        ],
    },
    {
        "kind": "connection",
        "id": "acme",
        "workspace": WORKSPACE_B.id,
        "account": ACCOUNT_B.id,
        "feed": {"enabled": True, "input_key": "acme-feed-key"},
        # Forwarding would put each workspace's events in its account, by design; these tests
        # are about tenants, so the flows stay off (tests/bridge/ covers them).
        "event_output": {"enabled": False},
        "audience_output": {"enabled": False},
    },
]
# What `traffic` sends per tenant: journal entries, stored rows (CleverTap: events).
JOURNALED = {ACCOUNT_A.id: 2, ACCOUNT_B.id: 3, WORKSPACE_A.id: 1, WORKSPACE_B.id: 2}
STORED = {ACCOUNT_A.id: 3, ACCOUNT_B.id: 2, WORKSPACE_A.id: 1, WORKSPACE_B.id: 3}


def upload(ct: CleverTapDriver, account: Account, count: int) -> httpx.Response:
    records = [
        {"type": "event", "identity": f"{account.marker}-{i}", "evtName": account.marker}
        for i in range(count)
    ]
    return ct.send(*records, headers=account.headers)


def batch(workspace: Workspace, i: int = 0) -> dict[str, Any]:
    return {
        "events": [
            {
                "event_type": "custom_event",
                "data": {"event_name": workspace.marker, "custom_event_type": "other"},
            }
        ],
        "user_identities": {"customer_id": f"{workspace.marker}-{i}"},
    }


def send(
    mp: MParticleDriver, workspace: Workspace, body: Any, path: str = "/v2/events", auth: Any = None
) -> httpx.Response:
    return mp.post(body, path=path, auth=auth or workspace.auth)


def view(emulator: EmulatorHandle, tenant: str) -> dict[str, Any]:
    path = (
        f"/clevertap/{tenant}/events"
        if tenant.startswith(("EMU", "ACME"))
        else f"/mparticle/{tenant}/batches"
    )
    response = emulator.client.http.get(path)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def foreign_markers(tenant: str) -> list[str]:
    return [marker for other, marker in MARKERS.items() if other != tenant]


@pytest.fixture
def two_pairs(emulator: EmulatorHandle) -> Iterator[EmulatorHandle]:
    default = emulator.client.http.get("/tenants/default").json()
    flows_off = {"event_output": {"enabled": False}, "audience_output": {"enabled": False}}
    emulator.client.put_tenant({**default, **flows_off})
    for doc in SECOND_PAIR:
        response = emulator.client.http.post("/tenants", json=doc)
        assert response.status_code == 201, response.text
    try:
        yield emulator
    finally:
        for doc in reversed(SECOND_PAIR):
            emulator.client.http.delete(f"/tenants/{doc['id']}")


@pytest.fixture
def traffic(
    two_pairs: EmulatorHandle, ct: CleverTapDriver, mp: MParticleDriver, http: httpx.Client
) -> EmulatorHandle:
    emulator = two_pairs
    assert upload(ct, ACCOUNT_A, 2).status_code == 200
    assert upload(ct, ACCOUNT_A, 1).status_code == 200
    assert upload(ct, ACCOUNT_B, 2).status_code == 200
    # A rejected request is still the tenant's own entry.
    bad = http.post(
        "/1/upload",
        headers=ACCOUNT_B.headers,
        json={"d": [{"type": "nope", "evtName": ACCOUNT_B.marker}]},
    )
    assert bad.status_code == 200
    assert bad.json()["status"] == "fail"
    assert [u["code"] for u in bad.json()["unprocessed"]] == [524]
    assert upload(ct, ACCOUNT_B, 0).status_code == 400
    assert send(mp, WORKSPACE_A, batch(WORKSPACE_A)).status_code == 202
    bulk = [batch(WORKSPACE_B, i) for i in range(2)]
    assert send(mp, WORKSPACE_B, bulk, "/v2/bulkevents").status_code == 202
    # The B pair's feed input belongs to workspace B too.
    feed = ("acme-feed-key", "acme-feed-secret")
    response = send(mp, WORKSPACE_B, batch(WORKSPACE_B, 2), "/s2s/v2/events", feed)
    assert response.status_code == 202
    return emulator


TENANTS = [ACCOUNT_A.id, ACCOUNT_B.id, WORKSPACE_A.id, WORKSPACE_B.id]


@pytest.mark.parametrize("tenant", TENANTS)
def test_journal_view_of_a_tenant_shows_only_its_requests(
    traffic: EmulatorHandle, tenant: str
) -> None:
    entries = traffic.client.requests(tenant=tenant)
    assert len(entries) == JOURNALED[tenant]
    assert {e["tenant"] for e in entries} == {tenant}
    text = json.dumps(entries)
    assert MARKERS[tenant] in text
    for marker in foreign_markers(tenant):
        assert marker not in text
    assert traffic.client.count(tenant=tenant) == JOURNALED[tenant]


@pytest.mark.parametrize("tenant", TENANTS)
def test_data_view_of_a_tenant_shows_only_its_rows(traffic: EmulatorHandle, tenant: str) -> None:
    page = view(traffic, tenant)
    assert page["total"] == STORED[tenant]
    text = json.dumps(page)
    assert MARKERS[tenant] in text
    for marker in foreign_markers(tenant):
        assert marker not in text


@pytest.mark.parametrize("tenant", TENANTS)
def test_state_export_of_a_tenant_holds_only_its_rows(traffic: EmulatorHandle, tenant: str) -> None:
    # Another tenant's fault rule must not travel with this tenant's export.
    other = next(t for t in TENANTS if t != tenant)
    traffic.client.add_fault(tenant=other, path="/never", status=500)
    doc = traffic.client.state(tenant)
    meta = doc["_meta"]["1"]
    assert meta["scope"] == tenant
    assert meta["faults"] == []

    # The tenant alone: a connection names another tenant, so it stays out (GET /tenants has it).
    tenants = list(doc["tenants"].values())
    assert {t["id"] for t in tenants} == {tenant}
    for name, table in doc.items():
        if name in ("_meta", "tenants"):
            continue
        for row in table.values():
            assert row["tenant"] == tenant, (name, row)
    assert len(doc["journal"]) == JOURNALED[tenant]
    if tenant in (ACCOUNT_A.id, ACCOUNT_B.id):
        [account] = doc["clevertap.accounts"].values()
        assert len(account["events"]) == STORED[tenant]
    else:
        assert len(doc["mparticle.batches"]) == STORED[tenant]

    text = json.dumps(doc)
    assert MARKERS[tenant] in text
    for marker in foreign_markers(tenant):
        assert marker not in text
    # No other tenant's credentials either.
    secrets = {
        ACCOUNT_A.id: ACCOUNT_A.passcode,
        ACCOUNT_B.id: ACCOUNT_B.passcode,
        WORKSPACE_A.id: WORKSPACE_A.secret,
        WORKSPACE_B.id: WORKSPACE_B.secret,
    }
    for owner, secret in secrets.items():
        if owner != tenant:
            assert secret not in text


@pytest.mark.parametrize("tenant", TENANTS)
def test_reset_of_a_tenant_leaves_the_others_intact(traffic: EmulatorHandle, tenant: str) -> None:
    others = [t for t in TENANTS if t != tenant]
    for other in others:
        traffic.client.add_fault(tenant=other, path="/never", status=500)
    traffic.client.add_fault(tenant=tenant, path="/never", status=500)
    journals = {t: traffic.client.requests(tenant=t) for t in others}
    views = {t: view(traffic, t) for t in others}

    traffic.client.reset(tenant)

    assert traffic.client.count(tenant=tenant) == 0
    assert view(traffic, tenant)["total"] == 0
    for other in others:
        assert traffic.client.requests(tenant=other) == journals[other]
        assert view(traffic, other) == views[other]
    faults = traffic.client.http.get("/faults").json()["faults"]
    assert sorted(f["tenant"] for f in faults) == sorted(others)


@pytest.mark.parametrize("tenant", TENANTS)
def test_clearing_the_journal_of_a_tenant_leaves_the_others(
    traffic: EmulatorHandle, tenant: str
) -> None:
    others = [t for t in TENANTS if t != tenant]
    journals = {t: traffic.client.requests(tenant=t) for t in others}
    response = traffic.client.http.delete("/requests", params={"tenant": tenant})
    assert response.json()["journal_entries_removed"] == JOURNALED[tenant]
    assert traffic.client.count(tenant=tenant) == 0
    for other in others:
        assert traffic.client.requests(tenant=other) == journals[other]
    # The data stays: only the journal was cleared.
    assert view(traffic, tenant)["total"] == STORED[tenant]


@pytest.mark.parametrize(
    ("account", "passcode_of"), [(ACCOUNT_A, ACCOUNT_B), (ACCOUNT_B, ACCOUNT_A)]
)
def test_a_passcode_never_opens_another_account(
    two_pairs: EmulatorHandle, account: Account, passcode_of: Account, http: httpx.Client
) -> None:
    headers = {"X-CleverTap-Account-Id": account.id, "X-CleverTap-Passcode": passcode_of.passcode}
    response = http.post(
        "/1/upload",
        headers=headers,
        json={"d": [{"type": "event", "evtName": "x"}]},
    )
    assert response.status_code == 401
    assert response.json() == {"status": "fail", "error": "Invalid Credentials", "code": 401}
    assert view(two_pairs, account.id)["total"] == 0
    assert view(two_pairs, passcode_of.id)["total"] == 0


@pytest.mark.parametrize(
    ("key_of", "secret_of"), [(WORKSPACE_A, WORKSPACE_B), (WORKSPACE_B, WORKSPACE_A)]
)
def test_a_key_never_opens_with_another_workspaces_secret(
    two_pairs: EmulatorHandle, key_of: Workspace, secret_of: Workspace, http: httpx.Client
) -> None:
    response = http.post(
        "/v2/events",
        auth=(key_of.key, secret_of.secret),
        json=batch(key_of),
    )
    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "FORBIDDEN"
    assert view(two_pairs, key_of.id)["total"] == 0
    assert view(two_pairs, secret_of.id)["total"] == 0


def test_each_pair_lands_in_its_own_tenant(traffic: EmulatorHandle) -> None:
    entries = traffic.client.requests()
    by_tenant: dict[str, int] = {}
    for entry in entries:
        by_tenant[entry["tenant"]] = by_tenant.get(entry["tenant"], 0) + 1
    assert by_tenant == JOURNALED


def test_a_tenant_scoped_fault_spares_other_tenants(
    two_pairs: EmulatorHandle, ct: CleverTapDriver, mp: MParticleDriver
) -> None:
    two_pairs.client.add_fault(tenant=ACCOUNT_B.id, status=503)
    assert upload(ct, ACCOUNT_B, 1).status_code == 503
    assert upload(ct, ACCOUNT_A, 1).status_code == 200
    assert send(mp, WORKSPACE_B, batch(WORKSPACE_B)).status_code == 202


def test_waiting_on_a_tenant_ignores_other_tenants(
    two_pairs: EmulatorHandle, ct: CleverTapDriver
) -> None:
    upload(ct, ACCOUNT_A, 1)
    response = two_pairs.client.http.get(
        "/requests/wait", params={"tenant": ACCOUNT_B.id, "timeout": 0.2}
    )
    assert response.json()["satisfied"] is False
    assert response.json()["count"] == 0
