"""The events flow: each batch a workspace accepts becomes `/1/upload` records on the connected
CleverTap account (the mapping is `mapping.py`), delivered per connection.

What a connection does not forward is recorded as a skipped delivery with the reason: historical
data, web data when Forward Web Requests Server Side is off (the kit sends it), data from the
connection's own CleverTap feed, kit-only event types, and data from a platform the CleverTap
Event integration does not support.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from emulator.bridge.connections import Connections
from emulator.bridge.mapping import Settings, map_batch
from emulator.bridge.settings import ConnectionSettings
from emulator.core.jsonresp import fragment
from emulator.mparticle.events import BatchAccepted

UPLOAD_PATH = "/1/upload"
MAX_UPLOAD_RECORDS = 1000  # CleverTap's limit per /1/upload
# The batch `device_info.platform` values of the integration's "Supported Platforms" (Android,
# Data Feeds, iOS, tvOS, SmartTV, Web: https://docs.mparticle.com/integrations/clevertap/event/).
# Feeds are "Data Feeds" whatever they name; a batch naming no platform (server-to-server) is
# forwarded; Roku, Alexa, Fire TV, Xbox and out-of-band data are not.
SUPPORTED_PLATFORMS = frozenset({"android", "ios", "tvos", "smart_tv", "web"})


class EventsFlow:
    def __init__(self, connections: Connections) -> None:
        self.connections = connections
        self.deliverer = connections.deliverer

    def on_batch(self, event: BatchAccepted) -> None:
        for connection in self.connections.carrying("workspace", event.workspace, "event_output"):
            self._forward(connection, event)

    def _skip_reason(self, connection: ConnectionSettings, event: BatchAccepted) -> str | None:
        if event.historical:
            return "historical data is not forwarded to event outputs"
        if event.source.kind == "web" and not connection.event_output.forward_web_server_side:
            return "web data with Forward Web Requests Server Side off: the kit sends it"
        feed = self.connections.feed_input(connection)
        if feed is not None and event.source.key == feed.key:
            return "data from this connection's CleverTap feed is not sent back to CleverTap"
        platform = unsupported_platform(event)
        if platform is not None:
            return f"platform {platform!r} is not supported by the CleverTap Event integration"
        return None

    def _forward(self, connection: ConnectionSettings, event: BatchAccepted) -> None:
        origin = {"workspace": event.workspace, "input": event.source.key, "mpid": str(event.mpid)}
        # The workspace's batch number: its page shows the batch beside these deliveries.
        record = functools.partial(self.deliverer.record, batch=event.number)
        reason = self._skip_reason(connection, event)
        if reason is not None:
            skipped = [{"event": None, "event_type": None, "reason": reason}]
            record(connection.id, "events", status="skipped", source=origin, skipped=skipped)
            return
        output = connection.event_output
        wanted = Settings(output.user_id, output.screen_view, output.device_only_user)
        mapped = map_batch(
            event.batch, event.mpid, wanted, event.received_ms, event.profile_identities
        )
        if not mapped.records:
            record(
                connection.id,
                "events",
                status="skipped",
                source=origin,
                skipped=mapped.skipped,
                folded=mapped.folded,
            )
            return
        headers = self.connections.clevertap_headers(connection, "event_output")
        chunked = len(mapped.records) > MAX_UPLOAD_RECORDS  # the usual batch is one: no copies
        for start in range(0, len(mapped.records), MAX_UPLOAD_RECORDS):
            chunk, sources = mapped.records, mapped.sources
            if chunked:
                chunk = chunk[start : start + MAX_UPLOAD_RECORDS]
                sources = sources[start : start + MAX_UPLOAD_RECORDS]
            row = record(
                connection.id,
                "events",
                source=origin,
                skipped=mapped.skipped if start == 0 else [],
                # Where each record came from (kept serialised, as the request body is).
                mapped_from=fragment(sources),
                folded=mapped.folded if start == 0 else [],
            )
            self.connections.deliver(
                connection,
                "event_output",
                row,
                UPLOAD_PATH,
                headers,
                functools.partial(upload_body, chunk),
                merge_key=("upload", connection.account),
                size=len(chunk),
                limit=MAX_UPLOAD_RECORDS,
                combine=combine_uploads,
                combine_raw=combine_upload_json,
                share=upload_share,
            )


def unsupported_platform(event: BatchAccepted) -> str | None:
    """The batch's platform when the integration does not support it (feeds never)."""
    if event.source.kind == "feed":
        return None
    device = event.batch.get("device_info")
    platform = device.get("platform") if isinstance(device, dict) else None
    if not isinstance(platform, str) or platform.lower() in SUPPORTED_PLATFORMS:
        return None
    return platform


def upload_body(records: list[dict[str, Any]]) -> dict[str, Any]:
    return {"d": records}


def combine_uploads(bodies: list[dict[str, Any]]) -> dict[str, Any]:
    return {"d": [record for body in bodies for record in body["d"]]}


_HEAD, _TAIL = b'{"d":[', b"]}"


def combine_upload_json(bodies: list[bytes]) -> bytes | None:
    """`combine_uploads` over bodies serialised as `dumps` writes them (compact, so the shared
    body is the records' JSON joined), without serialising a record again; None for a body not
    of that shape (the caller then serialises `combine_uploads`'s answer)."""
    records = []
    for body in bodies:
        if not (body.startswith(_HEAD) and body.endswith(_TAIL)):
            return None
        inner = body[len(_HEAD) : -len(_TAIL)]
        if inner:
            records.append(inner)
    return _HEAD + b",".join(records) + _TAIL


def upload_share(answer: Any, offset: int, size: int) -> Any:
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


def rejected_records(answer: Any) -> dict[int, dict[str, Any]]:
    """A delivery's `/1/upload` answer read per record: the index of each record CleverTap
    refused (among the delivery's own records) -> its `unprocessed` entry."""
    if not isinstance(answer, dict) or not isinstance(answer.get("unprocessed"), list):
        return {}
    found: dict[int, dict[str, Any]] = {}
    for entry in answer["unprocessed"]:
        if type(entry) is not dict:
            continue
        index = entry.get("index")  # set when the request was shared (upload_share)
        if type(index) is not int:
            number = _RECORD_NUMBER.search(str(entry.get("error", "")))
            if number is None:
                continue
            index = int(number.group(1)) - 1
        found[index] = entry
    return found
