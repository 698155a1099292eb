"""The control API's views (`/_emulator/...`) as tests read them: CleverTap's profiles, events,
segments; mParticle's users, batches, audiences and memberships; the flows' deliveries and settle;
the journal, the clock, faults and tenants. Every read checks its HTTP status."""

from __future__ import annotations

import copy
from typing import Any

import httpx

from emulator.testing.client import EmulatorClient
from tests.drivers.defaults import ACCOUNT, CONNECTION, WORKSPACE

ALL = 10000  # the largest page the views give
MEMBERSHIP_KEYS = {"audience_id", "audience_name", "mpid", "action", "time", "reason"}


class ControlViews:
    """Reads and small writes on the control API, through the session's control client
    (`emulator.client`; `http` is its httpx client, base URL `{emulator}/_emulator`)."""

    def __init__(self, client: EmulatorClient) -> None:
        self.client = client
        self.http: httpx.Client = client.http

    # -- any view ------------------------------------------------------------------------------
    def get(self, path: str, /, **params: Any) -> dict[str, Any]:
        """`GET /_emulator{path}`: must be HTTP 200; answers its JSON."""
        response = self.http.get(path, params=params)
        assert response.status_code == 200, f"GET /_emulator{path}: {response.text}"
        body: dict[str, Any] = response.json()
        return body

    def page(self, path: str, key: str, /, **params: Any) -> dict[str, Any]:
        """A page of a rows view: `{key: [...], total, limit, offset}`."""
        page = self.get(path, **params)
        assert {key, "total", "limit", "offset"} <= set(page), page
        return page

    def rows(self, path: str, key: str, /, **params: Any) -> list[dict[str, Any]]:
        """Every row of a view (one page of the largest size, which must hold them all)."""
        page = self.page(path, key, **{"limit": ALL, **params})
        rows: list[dict[str, Any]] = page[key]
        assert len(rows) == max(0, page["total"] - page["offset"]), page
        return rows

    # -- CleverTap -----------------------------------------------------------------------------
    def ct_page(self, view: str, account: str = ACCOUNT, **params: Any) -> dict[str, Any]:
        """A page of `/clevertap/{account}/{view}` (profiles, events, merges, segments, ...)."""
        return self.page(f"/clevertap/{account}/{view}", view, **params)

    def ct_events(self, account: str = ACCOUNT, **params: Any) -> list[dict[str, Any]]:
        """The account's events, oldest first: {objectId, identity, evtName, ts, evtData}."""
        return self.rows(f"/clevertap/{account}/events", "events", **params)

    def ct_profiles(self, account: str = ACCOUNT, **params: Any) -> list[dict[str, Any]]:
        return self.rows(f"/clevertap/{account}/profiles", "profiles", **params)

    def ct_profile(self, guid: str, account: str = ACCOUNT) -> dict[str, Any]:
        """One stored profile by its CleverTap ID."""
        return self.get(f"/clevertap/{account}/profiles/{guid}")

    def ct_segments(self, account: str = ACCOUNT, **params: Any) -> list[dict[str, Any]]:
        return self.rows(f"/clevertap/{account}/segments", "segments", **params)

    def ct_segment(self, name: str, account: str = ACCOUNT, **params: Any) -> dict[str, Any]:
        """The one segment named `name` (among those `params` select: type)."""
        found = self.ct_segments(account, name=name, **params)
        assert len(found) == 1, (name, found)
        assert found[0]["name"] == name, found
        return found[0]

    def ct_campaigns(self, account: str = ACCOUNT, **params: Any) -> list[dict[str, Any]]:
        """Captured campaigns (name, status, audience; a live one's trigger, triggered, missed)."""
        return self.rows(f"/clevertap/{account}/campaigns", "campaigns", **params)

    def ct_triggered(self, account: str = ACCOUNT, **params: Any) -> list[dict[str, Any]]:
        """What live campaigns recorded (`id=`, `identity=`, `missed="true"`), oldest first:
        {campaign, name, objectId, identity, email, phone, event, ts, at (, reason)}."""
        return self.rows(f"/clevertap/{account}/campaigns/triggered", "triggered", **params)

    def ct_sends(self, account: str = ACCOUNT, **params: Any) -> list[dict[str, Any]]:
        """What sends to user ids captured, one row per named user (`channel=`, `identity=`,
        `objectId=`, `reached=`): {send, channel, objectId, identity, reached, reason, content}."""
        return self.rows(f"/clevertap/{account}/sends", "sends", **params)

    def ct_add_segment(self, name: str, account: str = ACCOUNT, **members: Any) -> dict[str, Any]:
        """Make a custom list segment (201) of `identities=[...]`/`objectIds=[...]`; answers it."""
        response = self.http.post(f"/clevertap/{account}/segments", json={"name": name, **members})
        assert response.status_code == 201, response.text
        segment: dict[str, Any] = response.json()
        return segment

    def ct_add_export(self, account: str = ACCOUNT, **body: Any) -> dict[str, Any]:
        """Create an mParticle export (201); answers its view."""
        response = self.http.post(f"/clevertap/{account}/exports", json=body)
        assert response.status_code == 201, response.text
        export: dict[str, Any] = response.json()
        return export

    def ct_add_journey(self, account: str = ACCOUNT, **body: Any) -> dict[str, Any]:
        """Create a journey (201: entry, steps); answers its view."""
        response = self.http.post(f"/clevertap/{account}/journeys", json=body)
        assert response.status_code == 201, response.text
        journey: dict[str, Any] = response.json()
        return journey

    def ct_journeys(self, account: str = ACCOUNT) -> list[dict[str, Any]]:
        """Journeys with their `entered`, `exited` and `missed` counts."""
        return self.rows(f"/clevertap/{account}/journeys", "journeys")

    def ct_journey_entries(self, account: str = ACCOUNT, **params: Any) -> list[dict[str, Any]]:
        """Who entered journeys (`journey=`, `identity=`, `state=`), oldest first: {journey,
        objectId, identity, event, ts, entered, exited, outcome, reason, deliveries}."""
        return self.rows(f"/clevertap/{account}/journeys/entries", "entries", **params)

    # -- mParticle -----------------------------------------------------------------------------
    def mp_page(self, view: str, workspace: str = WORKSPACE, **params: Any) -> dict[str, Any]:
        """A page of `/mparticle/{workspace}/{view}` (users, batches, aliases, ...)."""
        return self.page(f"/mparticle/{workspace}/{view}", view, **params)

    def mp_users(self, workspace: str = WORKSPACE, **params: Any) -> list[dict[str, Any]]:
        return self.rows(f"/mparticle/{workspace}/users", "users", **params)

    def mp_user(self, mpid: str, workspace: str = WORKSPACE) -> dict[str, Any]:
        """One user by MPID (`GET .../users/{mpid}`)."""
        user = self.get(f"/mparticle/{workspace}/users/{mpid}")
        assert user["mpid"] == mpid, user
        return user

    def mpid_of(self, identity: str, workspace: str = WORKSPACE) -> str:
        """The MPID of the one user with this identity value."""
        (user,) = self.mp_users(workspace, identity=identity)
        mpid: str = user["mpid"]
        return mpid

    def mp_batches(self, workspace: str = WORKSPACE, **params: Any) -> list[dict[str, Any]]:
        """The workspace's stored batches, oldest first: {input, batch, resolved, ...}."""
        return self.rows(f"/mparticle/{workspace}/batches", "batches", **params)

    def mp_aliases(self, workspace: str = WORKSPACE) -> list[dict[str, Any]]:
        """The workspace's alias requests (Web SDK and server-to-server), oldest first."""
        return self.rows(f"/mparticle/{workspace}/aliases", "aliases")

    def audiences(self, workspace: str = WORKSPACE) -> list[dict[str, Any]]:
        audiences: list[dict[str, Any]] = self.get(f"/mparticle/{workspace}/audiences")["audiences"]
        return audiences

    def define_audience(
        self, name: str, criteria: dict[str, Any], workspace: str = WORKSPACE, **extra: Any
    ) -> dict[str, Any]:
        """Define an audience (201); answers it, its name, criteria and id checked."""
        response = self.http.post(
            f"/mparticle/{workspace}/audiences", json={"name": name, "criteria": criteria, **extra}
        )
        assert response.status_code == 201, response.text
        audience: dict[str, Any] = response.json()
        assert audience["name"] == name, audience
        assert audience["criteria"] == criteria, audience
        assert isinstance(audience["id"], int) and audience["id"] >= 1, audience
        return audience

    def connect_audience(
        self, audience_id: int, output: str = CONNECTION, workspace: str = WORKSPACE, **extra: Any
    ) -> httpx.Response:
        """The Connect step: connect an audience to a connection's audience output (`extra`:
        user_id); nothing checked."""
        return self.http.post(
            f"/mparticle/{workspace}/audiences/{audience_id}/connections",
            json={"output": output, **extra},
        )

    def memberships(self, workspace: str = WORKSPACE, **filters: Any) -> list[dict[str, Any]]:
        """The audience membership changes, each row's shape checked."""
        body = self.get(f"/mparticle/{workspace}/memberships", **filters)
        assert body["total"] == len(body["memberships"]), body
        rows: list[dict[str, Any]] = body["memberships"]
        for row in rows:
            assert set(row) == MEMBERSHIP_KEYS, row
            assert row["action"] in ("add", "delete"), row
            assert isinstance(row["reason"], str) and row["reason"], row
        return rows

    # -- the flows (bridge) ----------------------------------------------------------------------
    def settle(self, timeout: float = 15.0) -> None:
        """Every flow has delivered what it had."""
        result = self.client.settle(timeout=timeout)
        assert result == {"settled": True, "pending": 0}, result

    def deliveries(self, connection: str = CONNECTION, **filters: Any) -> list[dict[str, Any]]:
        """A connection's deliveries (filters: flow, status), oldest first."""
        return self.client.deliveries(connection, **filters)

    def dsr_callbacks(self, workspace: str = WORKSPACE, **filters: Any) -> list[dict[str, Any]]:
        """A workspace's OpenDSR status callback deliveries (filters: status), oldest first."""
        return self.rows(f"/bridge/{workspace}/dsr-callbacks", "deliveries", **filters)

    def connection(self, connection: str = CONNECTION) -> dict[str, Any]:
        """A copy of the connection's tenant document."""
        found = [t for t in self.client.tenants() if t["id"] == connection]
        assert len(found) == 1, found
        return copy.deepcopy(found[0])

    def configure(self, connection: str = CONNECTION, **changes: Any) -> dict[str, Any]:
        """PUT the connection with `changes`: a dict merges into that section (or adds it),
        anything else replaces the field; answers the document, checked as stored."""
        doc = self.connection(connection)
        for key, value in changes.items():
            if isinstance(value, dict):
                doc[key] = {**doc.get(key, {}), **value}
            else:
                doc[key] = value
        self.client.put_tenant(doc)
        assert self.connection(connection) == doc
        return doc

    def configure_input(self, key: str, workspace: str = WORKSPACE, **changes: Any) -> None:
        """PUT the workspace with `changes` made to its input `key` (e.g. `over_limit`)."""
        (doc,) = [copy.deepcopy(t) for t in self.client.tenants() if t["id"] == workspace]
        (found,) = [item for item in doc["inputs"] if item["key"] == key]
        found.update(changes)
        self.client.put_tenant(doc)

    # -- the journal -----------------------------------------------------------------------------
    def last_verdict(self, **filters: Any) -> dict[str, Any]:
        """The newest journal entry's (matching `filters`) `validation`: contract, valid,
        errors and warnings, each {path, message, kind}."""
        entries = self.client.requests(**filters)
        assert entries, filters
        verdict: dict[str, Any] = entries[-1]["validation"]
        return verdict

    def warnings(self, kind: str | None = None, **filters: Any) -> list[tuple[str, str]]:
        """(path, message) of the newest entry's verdict warnings (of `kind`)."""
        found = self.last_verdict(**filters)["warnings"]
        return [(w["path"], w["message"]) for w in found if kind is None or w["kind"] == kind]

    def journal(self, **params: Any) -> dict[str, Any]:
        """`GET /requests`: a page of the journal."""
        return self.get("/requests", **params)

    def journal_count(self, **params: Any) -> int:
        return int(self.get("/requests/count", **params)["count"])

    # -- the clock, faults, tenants --------------------------------------------------------------
    def freeze(self, at: float) -> float:
        """Freeze the clock at `at`; answers the clock's `now`, which must be `at`."""
        response = self.http.post("/clock/freeze", json={"at": at})
        assert response.status_code == 200, response.text
        now: float = response.json()["now"]
        assert now == at, (now, at)
        return now

    def advance(self, seconds: float) -> float:
        """Move the clock on; answers its `now`."""
        response = self.http.post("/clock/advance", json={"seconds": seconds})
        assert response.status_code == 200, response.text
        now: float = response.json()["now"]
        return now

    def add_fault(self, **rule: Any) -> dict[str, Any]:
        """Add a fault rule (201); answers it."""
        response = self.http.post("/faults", json=rule)
        assert response.status_code == 201, response.text
        fault: dict[str, Any] = response.json()
        return fault

    def faults(self) -> list[dict[str, Any]]:
        faults: list[dict[str, Any]] = self.get("/faults")["faults"]
        return faults

    def add_tenant(self, document: dict[str, Any]) -> dict[str, Any]:
        """Add a tenant (201); answers it."""
        response = self.http.post("/tenants", json=document)
        assert response.status_code == 201, response.text
        tenant: dict[str, Any] = response.json()
        return tenant

    # -- data plans ------------------------------------------------------------------------------
    def plan_violations(self, workspace: str = WORKSPACE, **params: Any) -> list[dict[str, Any]]:
        """The workspace's data plan violations, one row per batch, oldest first."""
        return self.rows(f"/mparticle/{workspace}/plan-violations", "violations", **params)

    def plans(self, workspace: str = WORKSPACE) -> list[dict[str, Any]]:
        return self.rows(f"/mparticle/{workspace}/plans", "plans")
