"""Connections between a workspace and an account, and the three flows they carry.

- events: each batch the workspace accepts → `/1/upload` records on the account (forwarding.py);
- audiences: audiences defined/removed and membership changes → Firehose audience messages to
  the account's `/1/partners/mparticle/audiences` (audiences.py);
- feed: each CleverTap export run → Events API batches to the workspace's feed input (feed.py);
- data subject requests: OpenDSR status callbacks, and erasures forwarded as CleverTap profile
  deletes where the connection says so (dsr.py).

The platforms publish what happened (`BatchAccepted`, `AudienceChanged`, `AudienceConnected`,
`MembershipChanged`, `ExportRunStarted`); the flows turn it into deliveries (delivery.py),
served with `settle` under `/_emulator/bridge/` (control.py). This module only assembles them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from emulator.bridge.audiences import AudiencesFlow
from emulator.bridge.connections import Connections
from emulator.bridge.control import BridgeControl
from emulator.bridge.delivery import Deliverer
from emulator.bridge.dsr import DsrCallbacksControl, DsrFlow
from emulator.bridge.feed import FeedFlow
from emulator.bridge.forwarding import EventsFlow
from emulator.bridge.settings import ConnectionSettings
from emulator.clevertap.events import ExportRunStarted
from emulator.clevertap.settings import AccountSettings
from emulator.core.security import delivery_problem
from emulator.core.surface import Surface
from emulator.mparticle.events import (
    AudienceChanged,
    AudienceConnected,
    BatchAccepted,
    DsrStatusChanged,
    MembershipChanged,
    UserErased,
)
from emulator.mparticle.settings import WorkspaceSettings

if TYPE_CHECKING:
    from emulator.runtime import Emulator


FLOWS = ("event_output", "audience_output", "feed")


class BridgeSurface(Surface):
    name = "bridge"
    settings = ConnectionSettings

    def __init__(self, emulator: Emulator) -> None:
        super().__init__(emulator)
        self.deliverer = Deliverer(emulator)
        self.connections = Connections(emulator.tenants, self.deliverer)
        self.audiences = AudiencesFlow(self.connections, emulator.clock)
        events = emulator.events
        events.subscribe(BatchAccepted, EventsFlow(self.connections).on_batch)
        events.subscribe(AudienceChanged, self.audiences.on_audience)
        events.subscribe(MembershipChanged, self.audiences.on_membership)
        events.subscribe(AudienceConnected, self.audiences.on_connected)
        events.subscribe(ExportRunStarted, FeedFlow(self.connections, events).on_export_run)
        dsr = DsrFlow(self.connections)
        events.subscribe(DsrStatusChanged, dsr.on_status)
        events.subscribe(UserErased, dsr.on_erased)
        self._control = BridgeControl(self.deliverer, self.owns)
        self._dsr_control = DsrCallbacksControl(self.connections)

    def handlers(self) -> Sequence[object]:
        return (self._control, self._dsr_control)

    def check_tenant(self, doc: dict[str, Any]) -> list[str]:
        tenants = self.emulator.tenants
        problems = []
        workspace = tenants.settings(doc["workspace"], WorkspaceSettings)
        if workspace is None:
            problems.append(f"no mParticle workspace {doc['workspace']!r}")
        if tenants.settings(doc["account"], AccountSettings) is None:
            problems.append(f"no CleverTap account {doc['account']!r}")
        feed_key = doc.get("feed", {}).get("input_key")
        known = [i.key for i in workspace.feeds()] if workspace is not None else []
        if feed_key and workspace is not None and feed_key not in known:
            problems.append(f"workspace {doc['workspace']!r} has no feed input {feed_key!r}")
        allowed = self.emulator.config.allowed_delivery_hosts
        for flow in FLOWS:
            url = doc.get(flow, {}).get("base_url")
            problem = delivery_problem(url, allowed) if isinstance(url, str) else None
            if problem is not None:
                problems.append(f"{flow}: {problem}")
        return problems

    # -- state -----------------------------------------------------------------------------
    def export_state(self, tenants: set[str] | None) -> dict[str, list[dict[str, Any]]]:
        names = self.connections.affected(tenants)
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
        names = self.connections.affected(None if tenants is None else set(tenants))
        self.deliverer.reset(names)
        self.audiences.reset(names)

    async def shutdown(self) -> None:
        await self.deliverer.close()
