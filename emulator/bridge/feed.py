"""The feed flow: each CleverTap export run's batches go to the connected workspace's CleverTap
feed input as `/s2s/v2/bulkevents` requests (at most 100 batches and 128 KB each, as mParticle
takes them); when every request has its final answer the run is told so (`ExportRunFinished`)."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from emulator.bridge.connections import Connections
from emulator.bridge.settings import ConnectionSettings
from emulator.clevertap.events import ExportRunFinished, ExportRunStarted
from emulator.core.events import EventBus
from emulator.core.jsonresp import dumps
from emulator.mparticle.settings import Input

FEED_PATH = "/s2s/v2/bulkevents"
MAX_BULK_BATCHES = 100  # mParticle's limit per /v2/bulkevents
MAX_BULK_BYTES = 128 * 1024


class FeedFlow:
    def __init__(self, connections: Connections, events: EventBus) -> None:
        self.connections = connections
        self.deliverer = connections.deliverer
        self.events = events

    def on_export_run(self, event: ExportRunStarted) -> None:
        origin = {
            "account": event.account,
            "export": event.export.get("id"),
            "run": event.run.get("id"),
        }
        targets = self._targets(event.account, origin, event.connection)
        finished = _Tally(self.events, event, 0)
        if not targets:
            reason = (
                f"no connection carries CleverTap account {event.account!r}'s exports to a feed"
            )
            if event.connection is not None:
                reason = f"connection {event.connection!r} does not carry {event.account!r}'s feed"
            finished.skip(reason)
            return
        chunks = list(bulk_chunks(event.batches))
        finished.outstanding = len(targets) * len(chunks)
        if finished.outstanding == 0:
            finished.publish()
            return
        for connection, feed in targets:
            headers = self.connections.feed_headers(feed)
            for chunk in chunks:
                row = self.deliverer.record(connection.id, "feed", source=origin)
                finished.deliveries.append(row["id"])
                self.connections.deliver(
                    connection,
                    "feed",
                    row,
                    FEED_PATH,
                    headers,
                    functools.partial(_body, chunk),
                    done=finished.done,
                )

    def _targets(
        self, account: str, origin: dict[str, Any], only: str | None
    ) -> list[tuple[ConnectionSettings, Input]]:
        targets = []
        for connection in self.connections.carrying("account", account, "feed"):
            if only is not None and connection.id != only:
                continue
            feed = self.connections.feed_input(connection)
            if feed is None:
                reason = f"workspace {connection.workspace!r} has no feed"
                self.deliverer.record(
                    connection.id,
                    "feed",
                    status="skipped",
                    source=origin,
                    skipped=[{"reason": reason}],
                )
            else:
                targets.append((connection, feed))
        return targets


class _Tally:
    """Counts a run's deliveries as they finish and reports the run when the last one does."""

    def __init__(self, events: EventBus, run: ExportRunStarted, outstanding: int) -> None:
        self.events = events
        self.run = run
        self.outstanding = outstanding
        self.delivered = 0
        self.failed = 0
        self.deliveries: list[str] = []

    def done(self, row: dict[str, Any]) -> None:
        if row["status"] == "delivered":
            self.delivered += 1
        else:
            self.failed += 1
        self.outstanding -= 1
        if self.outstanding == 0:
            self.publish()

    def skip(self, reason: str) -> None:
        self.publish(skipped=reason)

    def publish(self, skipped: str | None = None) -> None:
        self.events.publish(
            ExportRunFinished(
                account=self.run.account,
                export_id=str(self.run.export.get("id")),
                run_id=str(self.run.run.get("id")),
                delivered=self.delivered,
                failed=self.failed,
                skipped=skipped,
                deliveries=tuple(self.deliveries),
            )
        )


def _body(chunk: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return chunk


def bulk_chunks(batches: list[dict[str, Any]]) -> Iterable[list[dict[str, Any]]]:
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
