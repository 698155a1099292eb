"""Everything mParticle keeps per workspace: accepted batches, users and audiences, and the
Profile API's bearer tokens; how an accepted batch is stored and told to the event outputs.

Plain Python state, no HTTP: the handlers check a request, then call `accept` with its batches.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from emulator.core.call import link
from emulator.core.clock import Clock
from emulator.core.events import EventBus
from emulator.core.ids import IdGenerator
from emulator.core.jsonresp import Fragment, fragment, tight
from emulator.core.reaper import dispose
from emulator.core.rows import TenantRows
from emulator.mparticle import profiles
from emulator.mparticle.events import BatchAccepted
from emulator.mparticle.models import Workspace
from emulator.mparticle.planning import Report
from emulator.mparticle.plans import DataPlans
from emulator.mparticle.settings import Input
from emulator.mparticle.subject_requests import SubjectRequests
from emulator.mparticle.users import User, parse_mpid

FEED_ATTRIBUTE = "mParticle Source Feed"
HISTORICAL_MIN_AGE_MS = 72 * 3600 * 1000

# A batch as parsed, with its JSON (for the size limit and the stored copy).
RawBatch = tuple[dict[str, Any], bytes]
# What became of one batch: {"outcome": "accepted" | "skipped" | "duplicate", ...}.
Outcome = dict[str, Any]


class MParticleState:
    def __init__(self, clock: Clock, ids: IdGenerator, events: EventBus) -> None:
        self.clock = clock
        self.ids = ids
        self.events = events
        # Accepted batches: as received, and what they resolved to.
        self.batches = TenantRows()
        # When each (input key, source_request_id) was first accepted, per workspace: a resend
        # within the window is a duplicate. Rebuilt from the batches when a state loads.
        self.source_requests: dict[str, dict[tuple[str, str], float]] = {}
        self.workspaces: dict[str, Workspace] = {}
        # Profile API bearer tokens (transient: a reset forgets them, as a restart would).
        self.tokens: dict[str, profiles.Token] = {}
        # Data plans and the violations batches had (the Data Planning API).
        self.plans = DataPlans(clock)
        # Moving the clock can end (or start) windowed audience memberships.
        clock.on_change(lambda now: self.refresh_all("clock moved"))
        # Data subject requests move on the clock too.
        self.dsr = SubjectRequests(self)
        clock.on_change(self.dsr.tick)

    def workspace(self, workspace_id: str) -> Workspace:
        found = self.workspaces.get(workspace_id)
        if found is None:
            found = self.workspaces[workspace_id] = Workspace(
                workspace_id, self.ids.mpid, self.clock.now, self.events.publish
            )
        return found

    def refresh_all(self, trigger: str) -> None:
        for workspace in self.workspaces.values():
            workspace.refresh(trigger)

    # -- batches ---------------------------------------------------------------------------
    def accept(
        self,
        workspace_id: str,
        source: Input,
        batches: list[RawBatch],
        historical: bool,
        window: float = 0,
        receipt: dict[str, int] | None = None,
    ) -> list[Outcome]:
        """Store each batch, apply it to the user it resolves to, and tell the event outputs
        (the bridge's forwarding to CleverTap); historical batches too young are kept only.
        A batch whose `source_request_id` this input sent less than `window` seconds before
        is kept as a duplicate and goes no further. `receipt` (the request's journal seq, once
        journaled) is kept with each row. Answers each batch's outcome."""
        received = self.clock.now()
        received_ms = int(received * 1000)
        outcomes: list[Outcome] = []
        workspace = self.workspace(workspace_id)
        publish = self.events.publish
        for batch, raw in batches:
            request_id = _request_id(batch)
            first = (
                None
                if request_id is None
                else self._first_sent(workspace_id, source, request_id, received, window)
            )
            if first is not None:
                reason = f"duplicate of source_request_id {request_id!r} accepted at {first}"
                resolved = fragment({"skipped": reason, "duplicate_of": request_id})
                self._keep(workspace_id, source, received, raw, historical, resolved, None, receipt)
                outcomes.append({"outcome": "duplicate", "source_request_id": request_id})
                continue
            skipped = historical_skip(batch, received_ms) if historical else None
            if skipped is not None:
                # Accepted (202) but not processed, as mParticle's historical endpoint does.
                resolved = fragment({"skipped": skipped})
                self._keep(workspace_id, source, received, raw, True, resolved, request_id, receipt)
                outcomes.append({"outcome": "skipped", "reason": skipped})
                continue
            if source.kind == "feed":
                stamp_feed(batch, source.label, historical)
            # A batch naming a data plan is validated, and loses what the plan blocks, before
            # it reaches the user or the outputs; one naming none costs a look-up.
            plan = self.plans.enforce(workspace_id, batch) if batch.get("context") else None
            resolved, user = self._apply(workspace, batch, received_ms, plan)
            mpid = user.mpid
            number = self._keep(
                workspace_id, source, received, raw, historical, resolved, request_id, receipt, mpid
            )
            if plan is not None and (plan.results or plan.blocked):
                row = {"received": received, "batch": number, "mpid": str(mpid), **plan.as_dict()}
                # `receipt` is filled with the journal seq after this returns: keep the same dict.
                self.plans.record(
                    workspace_id, {**row, "journal": receipt} if receipt is not None else row
                )
            known = dict(user.identities)
            publish(
                BatchAccepted(
                    workspace_id, source, batch, mpid, received_ms, historical, known, number
                )
            )
            link("mparticle-user", workspace_id, mpid)
            outcomes.append(
                {"outcome": "accepted"}
                if plan is None
                else {"outcome": "accepted", "data_plan": plan}
            )
        return outcomes

    def _apply(
        self, workspace: Workspace, batch: dict[str, Any], received_ms: int, plan: Report | None
    ) -> tuple[Fragment, User]:
        """The stored row's `resolved` (serialised: one object, nothing for the collector to
        walk) for a batch applied to its user, and the user."""
        resolution = workspace.resolve_batch(batch, parse_mpid(batch.get("mpid")))
        stamped = workspace.apply_batch(resolution.user, batch, received_ms)
        workspace.settle("batch")
        mpid = resolution.user.mpid
        # The batch as processed (its MPID, every timestamp, a feed's stamp) and what it
        # resolved to.
        resolved = {
            "mpid": str(mpid),
            "user_created": resolution.created,
            "matched_identities": resolution.matched,
            "events": len(batch.get("events") or ()),
            "timestamps_stamped": stamped,
            "batch": {**batch, "mpid": mpid},
        }
        if plan is not None:
            resolved["data_plan"] = plan.as_dict()
        return fragment(resolved), resolution.user

    def _first_sent(
        self, workspace_id: str, source: Input, request_id: str | None, now: float, window: float
    ) -> float | None:
        """When this input's batch with `request_id` was accepted, if within the window."""
        if request_id is None or window <= 0:
            return None
        first = self.source_requests.get(workspace_id, {}).get((source.key, request_id))
        return first if first is not None and now - first < window else None

    def _keep(
        self,
        workspace_id: str,
        source: Input,
        received: float,
        raw: bytes,
        historical: bool,
        resolved: Fragment,
        request_id: str | None,
        receipt: dict[str, int] | None,
        mpid: int | None = None,
    ) -> int:
        """Store the batch's row and answer its number (1 the workspace's first); `request_id`:
        a `source_request_id` it is the first of; `receipt`: the request's journal entry;
        `mpid`: the user it was applied to."""
        row: dict[str, Any] = {
            "received": received,
            "input": source.key,
            "historical": historical,
            # The batch as received, serialised.
            "batch": Fragment(tight(raw)),
            "resolved": resolved,
        }
        if receipt is not None:
            row["journal"] = receipt  # {"seq": ...} once the request is journaled
        if mpid is not None:
            row["mpid"] = str(mpid)  # plain, so a user's batches are found without parsing
        if request_id is not None:
            row["source_request_id"] = request_id
            self._remember(workspace_id, source.key, request_id, received)
        self.batches.add(workspace_id, row)
        return len(self.batches.rows(workspace_id))

    def _remember(self, workspace_id: str, key: str, request_id: str, received: float) -> None:
        self.source_requests.setdefault(workspace_id, {})[(key, request_id)] = received

    # -- state -----------------------------------------------------------------------------
    def export(self, tenants: set[str] | None) -> dict[str, list[dict[str, Any]]]:
        tables = {
            **self.plans.export(tenants),
            "batches": self.batches.export(tenants),
            "users": [
                {"tenant": tenant, **workspace.export()}
                for tenant, workspace in self.workspaces.items()
                if (tenants is None or tenant in tenants) and not workspace.empty()
            ],
        }
        requests = self.dsr.export(tenants)
        if requests:  # no table until there is a request: documents made before stay the same
            tables["dsr_requests"] = requests
        return tables

    def load(self, tables: dict[str, list[dict[str, Any]]]) -> None:
        self.batches.load(tables.get("batches", []))
        # The de-duplication window survives a save and load: rows carry what it needs.
        self.source_requests = {}
        for row in tables.get("batches", []):
            if isinstance(row.get("source_request_id"), str):
                self._remember(
                    row["tenant"], row["input"], row["source_request_id"], row["received"]
                )
        old, self.workspaces = self.workspaces, {}
        dispose(old)
        for row in tables.get("users", []):
            self.workspace(row["tenant"]).load(row)
        self.plans.load(tables)
        self.dsr.load(tables.get("dsr_requests", []))

    def reset(self, tenants: Iterable[str] | None) -> None:
        self.batches.reset(tenants)
        self.plans.reset(tenants)
        self.dsr.reset(tenants)
        if tenants is None:
            self.tokens.clear()
            self.source_requests = {}
            old, self.workspaces = self.workspaces, {}
            dispose(old)
        else:
            for tenant in tenants:
                dispose(self.workspaces.pop(tenant, None))
                self.source_requests.pop(tenant, None)


def _request_id(batch: dict[str, Any]) -> str | None:
    """The batch's `source_request_id`, which de-duplicates inbound requests
    (https://docs.mparticle.com/developers/apis/json-reference/); none when empty."""
    value = batch.get("source_request_id")
    return value if isinstance(value, str) and value else None


def historical_skip(batch: dict[str, Any], received_ms: int) -> str | None:
    """Why the historical endpoint would not process a batch, or None: every event needs its
    own timestamp, at least 72 hours old
    (https://docs.mparticle.com/developers/apis/http/)."""
    events = batch.get("events") or []
    if not events:
        return "a historical batch needs events"
    for index, event in enumerate(events):
        ts = (event.get("data") or {}).get("timestamp_unixtime_ms")
        if not isinstance(ts, int):
            return f"event {index} has no timestamp_unixtime_ms"
        if ts > received_ms - HISTORICAL_MIN_AGE_MS:
            return f"event {index} is less than 72 hours old"
    return None


def stamp_feed(batch: dict[str, Any], feed: str, historical: bool = False) -> None:
    """A feed's batch carries where it came from, as mParticle sets it: `source_info` (channel
    `partner`, the feed's name) and each event the `mParticle Source Feed` attribute
    (https://docs.mparticle.com/developers/apis/json-reference/, source_info)."""
    batch["source_info"] = {"channel": "partner", "partner": feed, "is_historical": historical}
    for event in batch.get("events") or ():
        data = event.get("data")
        if not isinstance(data, dict):
            data = event["data"] = {}
        attributes = data.get("custom_attributes")
        if not isinstance(attributes, dict):
            attributes = data["custom_attributes"] = {}
        attributes[FEED_ATTRIBUTE] = feed
