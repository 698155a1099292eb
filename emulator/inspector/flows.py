"""The flows pages: connections; a connection's deliveries as a timeline (each attempt, its
status, the wait before the next, the answer); one delivery with the request it sent; and a
batch beside the CleverTap records it became (which event made which record, what was skipped
and why).

Read through the bridge's own functions (`Deliverer.select`, `find`, `of_batch`) and the
mParticle views; links go to the mParticle user, the CleverTap profile and the journal entry of
each attempt."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from emulator.bridge.forwarding import rejected_records
from emulator.bridge.settings import ConnectionSettings
from emulator.inspector import mpkit
from emulator.inspector.pages import View, ui_page
from emulator.mparticle.users import event_name

if TYPE_CHECKING:
    from emulator.runtime import Emulator

FLOWS = ("events", "audiences", "feed")
STATUSES = ("pending", "delivered", "failed", "skipped")


class FlowsPages:
    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    def _connection(self, request: Request) -> ConnectionSettings:
        connection_id = request.path_params["connection"]
        found = self.emulator.tenants.settings(connection_id, ConnectionSettings)
        if found is None:
            raise mpkit.not_found(f"No connection {connection_id!r}.")
        return found

    def _view(self, request: Request, template: str, title: str, **context: Any) -> View:
        return mpkit.view(request, f"flows/{template}", title, **context)

    def _profile_of(self, account: str, record: dict[str, Any]) -> str | None:
        """The objectId of the CleverTap profile a record landed on, if it is there now."""
        found = mpkit.clevertap(self.emulator).store.data.get(account)
        if found is None:
            return None
        for key in ("identity", "objectId"):
            value = record.get(key)
            if isinstance(value, str):
                profile = found.find(key, value)
                if profile is not None:
                    return profile.guid
        return None

    # -- pages -----------------------------------------------------------------------------
    @ui_page("/flows", nav="Flows", order=40)
    async def connections(self, request: Request) -> View:
        deliverer = mpkit.bridge(self.emulator).deliverer
        rows = []
        for connection in self.emulator.tenants.settings_of(ConnectionSettings):
            counts = Counter(r["status"] for r in deliverer.select(connection.id))
            rows.append({"settings": connection, "counts": counts, "total": sum(counts.values())})
        return self._view(request, "connections.html", "Flows", connections=rows)

    @ui_page("/flows/{connection}")
    async def deliveries(self, request: Request) -> View:
        connection = self._connection(request)
        flow = request.query_params.get("flow") or None
        status = request.query_params.get("status") or None
        deliverer = mpkit.bridge(self.emulator).deliverer
        rows = list(reversed(deliverer.select(connection.id, flow, status)))
        page = mpkit.page_of(rows, request)
        page["rows"] = [_summary(row) for row in page["rows"]]
        return self._view(
            request,
            "deliveries.html",
            f"Flows of {connection.id}",
            connection=connection,
            deliveries=page,
            flow=flow,
            status=status,
            flows=FLOWS,
            statuses=STATUSES,
        )

    @ui_page("/flows/{connection}/deliveries/{delivery_id}")
    async def delivery(self, request: Request) -> View:
        connection = self._connection(request)
        delivery_id = request.path_params["delivery_id"]
        found = mpkit.bridge(self.emulator).deliverer.find(connection.id, delivery_id)
        if found is None:
            raise mpkit.not_found(f"Connection {connection.id} has no delivery {delivery_id!r}.")
        row = mpkit.plain(found)
        records = self._records(connection, row) if row["flow"] == "events" else []
        return self._view(
            request,
            "delivery.html",
            f"Delivery {delivery_id}",
            connection=connection,
            row=_summary(row),
            attempts=[_attempt(a) for a in row.get("attempts") or []],
            request_json=mpkit.pretty(row["request"]["body"]) if row.get("request") else None,
            response_json=mpkit.pretty(row["response"]["body"]) if row.get("response") else None,
            records=records,
            users=_audience_users(row),
        )

    @ui_page("/flows/{connection}/batches/{number}")
    async def batch(self, request: Request) -> View:
        """A workspace batch beside the CleverTap records the connection made of it."""
        connection = self._connection(request)
        raw = request.path_params["number"]
        rows = mpkit.mparticle(self.emulator).state.batches.rows(connection.workspace)
        n = int(raw) if raw.isascii() and raw.isdigit() else 0
        if not 1 <= n <= len(rows):
            raise mpkit.not_found(f"Workspace {connection.workspace} has no batch {raw!r}.")
        stored = mpkit.plain(rows[n - 1])
        deliveries = [
            mpkit.plain(d) for d in mpkit.bridge(self.emulator).deliverer.of_batch(connection.id, n)
        ]
        records = [r for d in deliveries for r in self._records(connection, d)]
        resolved = stored.get("resolved") or {}
        batch = resolved.get("batch") if isinstance(resolved.get("batch"), dict) else None
        events = _events(batch or stored.get("batch") or {}, deliveries, records)
        skipped = [s for d in deliveries for s in d.get("skipped") or [] if s.get("event") is None]
        return self._view(
            request,
            "batch.html",
            f"Batch {n} on {connection.id}",
            connection=connection,
            number=n,
            stored=stored,
            events=events,
            parts=_batch_parts(records),
            records=records,
            skipped=skipped,
            deliveries=[_summary(d) for d in deliveries],
            batch_json=mpkit.pretty(batch or stored.get("batch")),
        )

    def _records(self, connection: ConnectionSettings, row: dict[str, Any]) -> list[dict[str, Any]]:
        """The `/1/upload` records a delivery sent, each with where it came from (the batch's
        event, its profile data, its device), CleverTap's verdict and the profile it is on."""
        body = (row.get("request") or {}).get("body")
        sent = body.get("d") if isinstance(body, dict) else None
        if not isinstance(sent, list):
            return []
        sources = row.get("mapped_from") or []
        refused = rejected_records((row.get("response") or {}).get("body"))
        out = []
        for index, record in enumerate(sent):
            source = sources[index] if index < len(sources) else None
            rejected = refused.get(index)
            out.append(
                {
                    "delivery": row["id"],
                    "index": index,
                    "source": source,
                    "record": record,
                    "json": mpkit.pretty(record),
                    "rejected": rejected.get("error") if rejected else None,
                    "profile": None if rejected else self._profile_of(connection.account, record),
                }
            )
        return out


def _summary(row: dict[str, Any]) -> dict[str, Any]:
    """A delivery as the timeline shows it."""
    attempts = row.get("attempts") or []
    source = row.get("source") or {}
    return {
        **row,
        "source": source,
        "tries": [a.get("status") or "error" for a in attempts],
        "waits": [a["retry_in"] for a in attempts if "retry_in" in a],
        "skipped": row.get("skipped") or [],
        "path": (row.get("request") or {}).get("path"),
        "final": (row.get("response") or {}).get("status"),
    }


def _attempt(attempt: dict[str, Any]) -> dict[str, Any]:
    answer = attempt.get("answer")
    return {**attempt, "answer_json": mpkit.pretty(answer) if answer is not None else None}


def _audience_users(row: dict[str, Any]) -> list[str]:
    """The MPIDs a Firehose audience message carried."""
    body = (row.get("request") or {}).get("body")
    if row["flow"] != "audiences" or not isinstance(body, dict):
        return []
    profiles = body.get("user_profiles")
    return [str(p.get("mpid")) for p in profiles or [] if isinstance(p, dict)]


def _events(
    batch: dict[str, Any], deliveries: list[dict[str, Any]], records: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Each event of the batch with what it became: records, a skip and its reason, or a part
    of the profile record."""
    reasons = {
        s["event"]: s["reason"]
        for d in deliveries
        for s in d.get("skipped") or []
        if s.get("event") is not None
    }
    folded = {i for d in deliveries for i in d.get("folded") or []}
    out = []
    raw_events = batch.get("events")
    if not isinstance(raw_events, list):
        raw_events = []
    for index, event in enumerate(raw_events):
        kind = event.get("event_type") if isinstance(event, dict) else None
        data = event.get("data") if isinstance(event, dict) else None
        name = event_name(kind, data) if isinstance(data, dict) else None
        if kind == "user_attribute_change" and isinstance(data, dict):
            name = str(data.get("user_attribute_name"))  # which attribute it changed
        out.append(
            {
                "index": index,
                "type": kind,
                "name": name,
                "records": [r for r in records if r["source"] == index],
                "skipped": reasons.get(index),
                "folded": index in folded,
                "json": mpkit.pretty(event),
            }
        )
    return out


def _batch_parts(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records made from the batch as a whole: its profile data and its device."""
    labels = {
        "profile": "User attributes and identities (with attribute and identity change events)",
        "device": "The device joining the user's profile (its CleverTap ID)",
    }
    return [
        {"label": label, "records": [r for r in records if r["source"] == part]}
        for part, label in labels.items()
        if any(r["source"] == part for r in records)
    ]
