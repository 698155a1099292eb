"""Control operations on the request journal: list, count, wait for, read and clear entries."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from emulator.core.call import ControlCall
from emulator.core.control import not_found
from emulator.core.journal import JournalFilter
from emulator.core.operations import Param, control
from emulator.core.views import MAX_INT, PAGE_PARAMS

if TYPE_CHECKING:
    from emulator.runtime import Emulator

E = "emulator/"
ERR = E + "error"
FILTER_PARAMS = (
    Param(
        "platform",
        "query",
        {"type": "string", "minLength": 1},
        description="clevertap or mparticle",
    ),
    Param("tenant", "query", {"type": "string", "minLength": 1}, description="Tenant id"),
    Param("path", "query", {"type": "string", "minLength": 1}, description="Exact path, or a glob"),
    Param("method", "query", {"type": "string", "pattern": "^[A-Za-z]{1,10}$"}),
    Param("status", "query", {"type": "integer", "minimum": 100, "maximum": 599}),
    Param("valid", "query", {"type": "boolean"}, description="Contract verdict"),
    Param(
        "origin",
        "query",
        {"enum": ["client", "flow"]},
        description="client, or flow: the requests the emulator's own flows made (deliveries)",
    ),
    Param(
        "since",
        "query",
        {"type": "integer", "minimum": 0, "maximum": MAX_INT},
        description="Only entries after this seq",
    ),
)
WAIT_PARAMS = (
    Param(
        "count",
        "query",
        {"type": "integer", "minimum": 1, "maximum": 10000},
        description="How many entries to wait for (default 1)",
    ),
    Param(
        "timeout",
        "query",
        {"type": "number", "minimum": 0, "maximum": 300},
        description="Seconds (default 5)",
    ),
)
TENANT_QUERY = Param("tenant", "query", {"type": "string", "minLength": 1})


def _filter(values: dict[str, Any]) -> JournalFilter:
    return JournalFilter(
        platform=values.get("platform"),
        tenant=values.get("tenant"),
        path=values.get("path"),
        method=values.get("method"),
        status=values.get("status"),
        valid=values.get("valid"),
        since=values.get("since"),
        origin=values.get("origin"),
    )


class JournalControl:
    def __init__(self, emulator: Emulator) -> None:
        self.journal = emulator.journal

    @control(
        "GET",
        "/requests",
        summary="Journal entries matching a filter, paged",
        params=[*FILTER_PARAMS, *PAGE_PARAMS],
        responses={200: E + "requests-page", 400: ERR},
    )
    async def requests(self, call: ControlCall) -> dict[str, Any]:
        q = call.query
        limit, offset = q.get("limit", 100), q.get("offset", 0)
        page, total = self.journal.query(_filter(q), limit, offset)
        return {
            "requests": page,
            "total": total,
            "limit": limit,
            "offset": offset,
            "journal": self.journal.stats(),
        }

    @control(
        "DELETE",
        "/requests",
        summary="Forget journal entries (all or one tenant)",
        params=[TENANT_QUERY],
        responses={200: E + "reset-result", 400: ERR},
    )
    async def clear_requests(self, call: ControlCall) -> dict[str, Any]:
        tenant = call.query.get("tenant")
        removed = self.journal.clear(None if tenant is None else {tenant})
        return {
            "scope": "tenant" if tenant else "all",
            "journal_entries_removed": removed,
            **({"tenant": tenant} if tenant else {}),
        }

    @control(
        "GET",
        "/requests/count",
        summary="How many journal entries match a filter",
        params=FILTER_PARAMS,
        responses={200: E + "requests-count", 400: ERR},
    )
    async def count(self, call: ControlCall) -> dict[str, Any]:
        return {"count": self.journal.count(_filter(call.query))}

    @control(
        "GET",
        "/requests/wait",
        summary="Wait (long-poll) until `count` entries match the filter, or the timeout passes",
        params=[*FILTER_PARAMS, *WAIT_PARAMS],
        responses={200: E + "requests-wait", 400: ERR},
    )
    async def wait(self, call: ControlCall) -> dict[str, Any]:
        wanted, timeout = call.query.get("count", 1), call.query.get("timeout", 5.0)
        started = time.perf_counter()
        satisfied, matched = await self.journal.wait(_filter(call.query), wanted, timeout)
        return {
            "satisfied": satisfied,
            "wanted": wanted,
            "count": len(matched),
            "requests": matched,
            "waited_ms": round((time.perf_counter() - started) * 1000, 3),
        }

    @control(
        "GET",
        "/requests/{seq}",
        summary="One journal entry by sequence number",
        params=[
            Param("seq", "path", {"type": "string", "pattern": "^[0-9]{1,16}$"}, required=True)
        ],
        responses={200: E + "journal-entry", 404: ERR},
    )
    async def entry(self, call: ControlCall) -> Any:
        raw = call.path_param("seq")
        found = self.journal.get(int(raw)) if raw.isascii() and raw.isdigit() else None
        if found is None:
            raise not_found(f"no journal entry {raw!r} (it may have been dropped)")
        return found
