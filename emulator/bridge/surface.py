"""Connections between a workspace and an account, and the three flows they carry.

- events: each batch the workspace accepts → `/1/upload` records on the account (mapping.py);
- audiences: audiences defined/removed and membership changes → Firehose audience messages to
  the account's `/1/partners/mparticle/audiences` (firehose.py);
- feed: each CleverTap export run → Events API batches to the workspace's feed input.

The platforms publish what happened (`mparticle.batch`, `mparticle.audience`,
`mparticle.membership`, `clevertap.export_run`); this surface turns it into deliveries
(delivery.py) and serves the deliveries and `settle` under `/_emulator/bridge/`.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from emulator.admin.views import page_view
from emulator.bridge import firehose
from emulator.bridge.delivery import Deliverer, Job, Policy
from emulator.bridge.mapping import Settings, map_batch
from emulator.core.jsonresp import JSONResponse, dumps
from emulator.core.surface import Operation, Param, Surface

MAX_UPLOAD_RECORDS = 1000  # CleverTap's limit per /1/upload
MAX_BULK_BATCHES = 100  # mParticle's limit per /v2/bulkevents
MAX_BULK_BYTES = 128 * 1024
MAX_PROFILES_PER_MESSAGE = 1000
SETTLE_TIMEOUT = 10.0


class _Buffer:
    """Membership changes gathered into the message the worker sends next."""

    __slots__ = ("changes", "profiles")

    def __init__(self) -> None:
        self.profiles: dict[int, dict[str, Any]] = {}
        self.changes = 0


class BridgeSurface(Surface):
    name = "bridge"
    tenant_kind = "connection"
    tenant_contract = "bridge/connection"

    def __init__(self, emulator: Any) -> None:
        super().__init__(emulator)
        self.deliverer = Deliverer(emulator)
        self._buffers: dict[str, _Buffer] = {}  # connection -> open audience buffer
        self._messages = 0
        emulator.subscribe("mparticle.batch", self._on_batch)
        emulator.subscribe("mparticle.audience", self._on_audience)
        emulator.subscribe("mparticle.membership", self._on_membership)
        emulator.subscribe("clevertap.export_run", self._on_export_run)

    def check_tenant(self, doc: dict[str, Any]) -> list[str]:
        tenants = self.emulator.tenants
        problems = []
        workspace = tenants.get(doc["workspace"])
        if workspace is None or workspace["kind"] != "mparticle_workspace":
            problems.append(f"no mParticle workspace {doc['workspace']!r}")
        account = tenants.get(doc["account"])
        if account is None or account["kind"] != "clevertap_account":
            problems.append(f"no CleverTap account {doc['account']!r}")
        feed_key = doc.get("feed", {}).get("input_key")
        if feed_key and workspace is not None:
            feeds = [i["key"] for i in workspace.get("inputs", []) if i["kind"] == "feed"]
            if feed_key not in feeds:
                problems.append(f"workspace {doc['workspace']!r} has no feed input {feed_key!r}")
        return problems

    # -- which connections carry a flow ----------------------------------------------------
    def _connections(self, side: str, tenant: str, flow: str) -> list[dict[str, Any]]:
        """Enabled connections of `tenant` (a workspace or an account, per `side`) whose `flow`
        section is enabled (on unless it says otherwise)."""
        return [
            c
            for c in self.emulator.tenants.of_kind("connection")
            if c[side] == tenant and c.get("enabled", True) and c.get(flow, {}).get("enabled", True)
        ]

    def _clevertap_headers(self, connection: dict[str, Any]) -> dict[str, str]:
        account = self.emulator.tenants.get(connection["account"]) or {}
        return {
            "X-CleverTap-Account-Id": account.get("id", ""),
            "X-CleverTap-Passcode": account.get("passcode", ""),
        }

    def _job(
        self,
        connection: dict[str, Any],
        section: str,
        row: dict[str, Any],
        path: str,
        headers: dict[str, str],
        build: Callable[[], Any],
        done: Callable[[dict[str, Any]], None] | None = None,
        **merging: Any,
    ) -> None:
        job = Job(
            row,
            "POST",
            path,
            headers,
            build,
            base_url=connection.get(section, {}).get("base_url"),
            policy=Policy.of(connection),
            done=done,
            **merging,
        )
        self.deliverer.submit(connection["id"], job)

    # -- events: mParticle → CleverTap -----------------------------------------------------
    def _on_batch(
        self,
        workspace: str,
        source: dict[str, Any],
        batch: dict[str, Any],
        mpid: int,
        received_ms: int,
        historical: bool,
    ) -> None:
        for connection in self._connections("workspace", workspace, "event_output"):
            settings = connection.get("event_output", {})
            origin = {"workspace": workspace, "input": source["key"], "mpid": str(mpid)}
            record = self.deliverer.record
            reason = None
            if historical:
                reason = "historical data is not forwarded to event outputs"
            elif source["kind"] == "web" and not settings.get("forward_web_server_side", True):
                reason = "web data with Forward Web Requests Server Side off: the kit sends it"
            elif source["key"] == (self._feed_input(connection) or {}).get("key"):
                reason = "data from this connection's CleverTap feed is not sent back to CleverTap"
            if reason is not None:
                skipped = [{"event": None, "event_type": None, "reason": reason}]
                record(connection["id"], "events", status="skipped", source=origin, skipped=skipped)
                continue
            wanted = Settings(
                settings.get("user_id", "customerId"), settings.get("screen_view", "name")
            )
            mapped = map_batch(batch, mpid, wanted, received_ms)
            if not mapped.records:
                record(
                    connection["id"],
                    "events",
                    status="skipped",
                    source=origin,
                    skipped=mapped.skipped,
                )
                continue
            headers = self._clevertap_headers(connection)
            for start in range(0, len(mapped.records), MAX_UPLOAD_RECORDS):
                chunk = mapped.records[start : start + MAX_UPLOAD_RECORDS]
                row = record(
                    connection["id"],
                    "events",
                    source=origin,
                    skipped=mapped.skipped if start == 0 else [],
                )
                self._job(
                    connection,
                    "event_output",
                    row,
                    "/1/upload",
                    headers,
                    lambda c=chunk: {"d": c},
                    merge_key=("upload", connection["account"]),
                    size=len(chunk),
                    limit=MAX_UPLOAD_RECORDS,
                    combine=_combine_uploads,
                    share=_upload_share,
                )

    # -- audiences: mParticle → CleverTap segments -----------------------------------------
    def _workspace_account_id(self, workspace: str) -> int:
        doc = self.emulator.tenants.get(workspace) or {}
        value = str(doc.get("account_id", "0"))
        return int(value) if value.isdigit() else 0

    def _message_id(self) -> str:
        # A counter, not the seeded generator: messages must not shift the platforms' ids.
        self._messages += 1
        return f"00000000-0000-4000-8000-{self._messages:012d}"

    def _on_audience(self, workspace: str, action: str, audience: dict[str, Any]) -> None:
        for connection in self._connections("workspace", workspace, "audience_output"):
            # Later changes go in a new message, after this one.
            self._buffers.pop(connection["id"], None)
            row = self.deliverer.record(
                connection["id"],
                "audiences",
                source={"workspace": workspace, "audience_id": audience["id"], "action": action},
            )
            snapshot = {"id": audience["id"], "name": audience["name"]}
            self._job(
                connection,
                "audience_output",
                row,
                AUDIENCE_PATH,
                self._clevertap_headers(connection),
                lambda a=action, s=snapshot: firehose.subscription(
                    self._message_id(),
                    int(self.emulator.clock.now() * 1000),
                    self._workspace_account_id(workspace),
                    a,
                    s,
                ),
            )

    def _on_membership(
        self, workspace: str, change: dict[str, Any], user: Any, audience: dict[str, Any]
    ) -> None:
        if audience.get("export") == "one_time" and not change["reason"].startswith(
            "audience defined"
        ):
            return  # a one-time export sent its members when it was defined
        for connection in self._connections("workspace", workspace, "audience_output"):
            cid = connection["id"]
            buffer = self._buffers.get(cid)
            if buffer is None or len(buffer.profiles) >= MAX_PROFILES_PER_MESSAGE:
                buffer = self._buffers[cid] = _Buffer()
                row = self.deliverer.record(cid, "audiences", source={"workspace": workspace})
                self._job(
                    connection,
                    "audience_output",
                    row,
                    AUDIENCE_PATH,
                    self._clevertap_headers(connection),
                    lambda c=cid, b=buffer, r=row, w=workspace: self._flush(c, b, r, w),
                )
            profile = buffer.profiles.get(user.mpid)
            if profile is None:
                # The user as they are now: later changes to them do not rewrite this message.
                profile = buffer.profiles[user.mpid] = firehose.user_profile(
                    user.mpid, dict(user.identities), dict(user.partner_identities)
                )
            profile["audiences"].append(
                {
                    "audience_id": change["audience_id"],
                    "audience_name": change["audience_name"],
                    "action": change["action"],
                }
            )
            buffer.changes += 1

    def _flush(self, cid: str, buffer: _Buffer, row: dict[str, Any], workspace: str) -> Any:
        if self._buffers.get(cid) is buffer:
            del self._buffers[cid]  # closed: changes from now on open the next message
        row["source"].update({"users": len(buffer.profiles), "changes": buffer.changes})
        return firehose.membership(
            self._message_id(),
            int(self.emulator.clock.now() * 1000),
            self._workspace_account_id(workspace),
            list(buffer.profiles.values()),
        )

    # -- feed: CleverTap exports → mParticle -----------------------------------------------
    def _feed_input(self, connection: dict[str, Any]) -> dict[str, Any] | None:
        workspace = self.emulator.tenants.get(connection["workspace"]) or {}
        wanted = connection.get("feed", {}).get("input_key")
        feeds = [i for i in workspace.get("inputs", []) if i["kind"] == "feed"]
        return next((i for i in feeds if wanted in (None, i["key"])), None)

    def _on_export_run(
        self,
        account: str,
        export: dict[str, Any],
        run: dict[str, Any],
        batches: list[dict[str, Any]],
        finished: Callable[[dict[str, Any]], None],
    ) -> None:
        origin = {"account": account, "export": export.get("id"), "run": run.get("id")}
        targets = []
        for connection in self._connections("account", account, "feed"):
            feed = self._feed_input(connection)
            if feed is None:
                self.deliverer.record(
                    connection["id"],
                    "feed",
                    status="skipped",
                    source=origin,
                    skipped=[{"reason": f"workspace {connection['workspace']!r} has no feed"}],
                )
            else:
                targets.append((connection, feed))
        if not targets:
            reason = f"no connection carries CleverTap account {account!r}'s exports to a feed"
            finished({"delivered": 0, "failed": 0, "skipped": reason, "deliveries": []})
            return
        chunks = list(_bulk_chunks(batches))
        summary: dict[str, Any] = {"delivered": 0, "failed": 0, "skipped": None, "deliveries": []}
        outstanding = len(targets) * len(chunks)
        if outstanding == 0:
            finished(summary)
            return

        def done(row: dict[str, Any]) -> None:
            nonlocal outstanding
            summary["delivered" if row["status"] == "delivered" else "failed"] += 1
            outstanding -= 1
            if outstanding == 0:
                finished(summary)

        for connection, feed in targets:
            token = base64.b64encode(f"{feed['key']}:{feed.get('secret', '')}".encode()).decode()
            headers = {"Authorization": f"Basic {token}"}
            for chunk in chunks:
                row = self.deliverer.record(connection["id"], "feed", source=origin)
                summary["deliveries"].append(row["id"])
                self._job(connection, "feed", row, FEED_PATH, headers, lambda c=chunk: c, done=done)

    # -- control API -----------------------------------------------------------------------
    def control_operations(self) -> list[Operation]:
        text = {"type": "string"}
        return [
            page_view(
                "/bridge/{tenant}/deliveries",
                "deliveries",
                self._deliveries,
                self.owns,
                "A connection's deliveries, oldest first: what each flow sent, every attempt "
                "and answer, and what was skipped and why",
                [
                    Param("flow", "query", {"enum": ["events", "audiences", "feed"]}),
                    Param("status", "query", text),
                ],
            ),
            Operation(
                "POST",
                "/bridge/settle",
                self._settle,
                "Wait until every flow has delivered what it has (nothing queued or in flight)",
                params=[
                    Param(
                        "timeout",
                        "query",
                        {"type": "number", "minimum": 0, "maximum": 300},
                        description=f"Seconds to wait at most (default {SETTLE_TIMEOUT:g})",
                    )
                ],
                responses={200: "bridge/settled", 400: "emulator/error"},
            ),
        ]

    def _deliveries(self, tenant: str, q: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            row
            for row in self.deliverer.rows.get(tenant, [])
            if q.get("flow") in (None, row["flow"]) and q.get("status") in (None, row["status"])
        ]

    async def _settle(self, request: Request, q: dict[str, Any], body: Any) -> Response:
        timeout = q.get("timeout", SETTLE_TIMEOUT)
        settled = await self.deliverer.settle(timeout)
        return JSONResponse({"settled": settled, "pending": self.deliverer.pending()})

    # -- state -----------------------------------------------------------------------------
    def export_state(self, tenants: set[str] | None) -> dict[str, list[dict[str, Any]]]:
        names = self._affected(tenants)
        return {
            "deliveries": [
                {"tenant": cid, **row}
                for cid, rows in self.deliverer.rows.items()
                if names is None or cid in names
                for row in rows
            ]
        }

    def import_state(self, tables: dict[str, list[dict[str, Any]]]) -> None:
        self.deliverer.reset(None)
        for row in tables.get("deliveries", []):
            row = dict(row)
            self.deliverer.keep_row(row.pop("tenant"), row)
        numbers = [int(r["id"].rsplit("-", 1)[-1]) for r in tables.get("deliveries", [])]
        self.deliverer.restore_sequence(max(numbers, default=0))

    def reset(self, tenants: Iterable[str] | None) -> None:
        names = self._affected(tenants)
        self.deliverer.reset(names)
        if names is None:
            self._buffers.clear()
            self._messages = 0
        else:
            for name in names:
                self._buffers.pop(name, None)

    def _affected(self, tenants: Iterable[str] | None) -> set[str] | None:
        """The connections a reset or export of `tenants` covers: those named, and those of a
        named workspace or account."""
        if tenants is None:
            return None
        wanted = set(tenants)
        return {
            c["id"]
            for c in self.emulator.tenants.of_kind("connection")
            if wanted & {c["id"], c["workspace"], c["account"]}
        } | wanted

    async def shutdown(self) -> None:
        await self.deliverer.close()


AUDIENCE_PATH = "/1/partners/mparticle/audiences"
FEED_PATH = "/s2s/v2/bulkevents"


def _bulk_chunks(batches: list[dict[str, Any]]) -> Iterable[list[dict[str, Any]]]:
    """Bulk requests of at most 100 batches and 128 KB, as mParticle takes them."""
    chunk: list[dict[str, Any]] = []
    size = 2
    for batch in batches:
        length = len(dumps(batch)) + 1
        if chunk and (len(chunk) >= MAX_BULK_BATCHES or size + length > MAX_BULK_BYTES):
            yield chunk
            chunk, size = [], 2
        chunk.append(batch)
        size += length
    if chunk:
        yield chunk


def _combine_uploads(bodies: list[dict[str, Any]]) -> dict[str, Any]:
    return {"d": [record for body in bodies for record in body["d"]]}


def _upload_share(answer: Any, offset: int, size: int) -> Any:
    """One batch's part of a shared /1/upload answer: its own records' outcomes. CleverTap names
    a rejected record only by number in its message (`Skipped record number : K`, as sent);
    each entry gains `index`, the record's place in this batch's own records."""
    if not isinstance(answer, dict) or not isinstance(answer.get("unprocessed"), list):
        return answer
    mine = []
    for entry in answer["unprocessed"]:
        found = _RECORD_NUMBER.search(str(entry.get("error", ""))) if type(entry) is dict else None
        if found is not None and offset < int(found.group(1)) <= offset + size:
            mine.append({**entry, "index": int(found.group(1)) - 1 - offset})
    status = "success" if not mine else "fail" if len(mine) == size else "partial"
    return {"status": status, "processed": size - len(mine), "unprocessed": mine}


_RECORD_NUMBER = re.compile(r"record number : (\d+)\s*$")
