"""Reading profiles and events: `/1/profile.json` (one profile) and the downloads
`/1/events.json` and `/1/profiles.json` (a query makes a cursor; cursors read pages)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from emulator.clevertap import query as q
from emulator.clevertap.cursors import Cursors, Records
from emulator.clevertap.handlers.access import Access, clevertap_operation
from emulator.core.call import Call
from emulator.core.errors import ApiError
from emulator.core.operations import Param

DEFAULT_BATCH = 10
MAX_BATCH = 5000
TEXT = {"type": "string"}
LOOKUPS = [Param(key, "query", TEXT) for key in ("email", "identity", "objectId")]
CURSOR = Param("cursor", "query", TEXT, description="A page's cursor")
BATCH = Param("batch_size", "query", TEXT, description="1 to 5000")
QUERY = Param("query", "query", TEXT, description="JSON query")
PAGE = "clevertap/page-response"
GET_SUMMARY = "Download {}: create a cursor (?query=&batch_size=) or read a page (?cursor=)"
POST_SUMMARY = "Download {}: create a cursor from a JSON query, or read a page (?cursor=)"


class Reads:
    def __init__(self, access: Access, cursors: Cursors) -> None:
        self.access = access
        self.cursors = cursors

    @clevertap_operation(
        "GET",
        "/1/profile.json",
        summary="A profile by email, identity or objectId",
        answer="clevertap/profile-response",
        params=LOOKUPS,
    )
    async def profile(self, call: Call) -> dict[str, Any]:
        account = self.access.enter(call)
        params = call.request.query_params
        # The npm client sends values unencoded: a `+` means itself there, while a standard
        # query parser turns it into a space. Try the value as parsed, then with `+` kept.
        raw = call.request.scope.get("query_string", b"").decode("latin-1")
        plus_kept = dict(parse_qsl(raw.replace("+", "%2B"), keep_blank_values=True))
        for key in ("email", "identity", "objectId"):
            value = params.get(key)
            if value is None:
                continue
            found = account.find_first(key, [value, plus_kept.get(key, value)])
            if found is None:
                return {"status": "fail", "error": "Profile not found", "code": 404}
            return {"status": "success", "record": found.record()}
        raise ApiError(400, "One of email, identity or objectId is required")

    @clevertap_operation(
        "GET",
        "/1/events.json",
        summary=GET_SUMMARY.format("events"),
        answer=PAGE,
        params=[QUERY, BATCH, CURSOR],
    )
    @clevertap_operation(
        "POST",
        "/1/events.json",
        summary=POST_SUMMARY.format("events"),
        answer=PAGE,
        request="clevertap/query",
        request_required=False,
        params=[BATCH, CURSOR],
    )
    async def events(self, call: Call) -> dict[str, Any]:
        account = self.access.enter(call)
        page = self._page(call)
        if page is not None:
            return page
        body, size = _query_body(call), _batch_size(call.query("batch_size"))
        query = q.parse(body, need_event=True)
        return self._open(call, q.event_records(account, query), size)

    @clevertap_operation(
        "GET",
        "/1/profiles.json",
        summary=GET_SUMMARY.format("profiles"),
        answer=PAGE,
        params=[QUERY, BATCH, CURSOR],
    )
    @clevertap_operation(
        "POST",
        "/1/profiles.json",
        summary=POST_SUMMARY.format("profiles"),
        answer=PAGE,
        request="clevertap/query",
        request_required=False,
        params=[BATCH, CURSOR],
    )
    async def profiles(self, call: Call) -> dict[str, Any]:
        account = self.access.enter(call)
        page = self._page(call)
        if page is not None:
            return page
        body, size = _query_body(call), _batch_size(call.query("batch_size"))
        query = q.parse(body, need_event=False)
        with_events = (call.query("events") or "true").lower() != "false"
        found = [p.record(events=with_events) for p in q.profiles(account, query)]
        return self._open(call, found, size)

    def _page(self, call: Call) -> dict[str, Any] | None:
        """The page `?cursor=` names; None without one."""
        cursor = call.query("cursor")
        if cursor is None:
            return None
        tenant = call.tenant or ""
        omit = self.access.settings(tenant).options.omit_empty_records
        return self.cursors.read(tenant, cursor, self._polls(tenant), omit)

    def _open(self, call: Call, records: Records, size: int) -> dict[str, Any]:
        tenant = call.tenant or ""
        cursor = self.cursors.open(tenant, records, 0, size, self._polls(tenant))
        return {"status": "success", "cursor": cursor}

    def _polls(self, tenant: str) -> int:
        return self.access.settings(tenant).options.cursor_not_ready_polls


def _query_body(call: Call) -> Any:
    """The query: `?query=` (JSON) on a GET, the body on a POST."""
    if call.request.method != "GET":
        return call.checked("clevertap/query")
    raw = call.query("query")
    if raw is None:
        raise ApiError(400, "query or cursor is required")
    body = call.parse(raw)
    verdict = call.validate("clevertap/query", body)
    if not verdict.valid:
        first = verdict.errors[0]
        raise ApiError(400, f"query {first.path}: {first.message}")
    return body


def _batch_size(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_BATCH
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_BATCH:
        raise ApiError(400, f"batch_size must be 1 to {MAX_BATCH}")
    return int(raw)
