"""Counts, top values, trends and real-time numbers (`/1/counts/*.json`, `/1/now.json`): POST a
query for the report; with `report_polls` set it answers `partial` + `req_id`, polled with GET or
POST `?req_id=` until the result is ready."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from emulator.clevertap import reports
from emulator.clevertap.handlers.access import Access, clevertap_operation
from emulator.clevertap.models import Account
from emulator.clevertap.polling import PendingReports
from emulator.core.call import Call
from emulator.core.operations import Param, PlatformMethod

REQ_ID = Param("req_id", "query", {"type": "string"}, description="A partial answer's id")
COUNT = "clevertap/count-response"
REPORT = "clevertap/report-response"
NOW = "clevertap/now-response"
POLL = ": poll a partial answer (?req_id=)"


def report(
    path: str, summary: str, answer: str, contract: str
) -> Callable[[PlatformMethod], PlatformMethod]:
    """POST (the query, or `?req_id=`) and GET (`?req_id=`) at `path`."""
    post = clevertap_operation(
        "POST",
        path,
        summary=summary,
        answer=answer,
        request=contract,
        request_required=contract != "clevertap/now",
        params=[REQ_ID],
    )
    get = clevertap_operation("GET", path, summary=summary + POLL, answer=answer, params=[REQ_ID])

    def declare(method: PlatformMethod) -> PlatformMethod:
        return post(get(method))

    return declare


class Reports:
    def __init__(self, access: Access, pending: PendingReports) -> None:
        self.access = access
        self.pending = pending

    @report("/1/counts/events.json", "Count events", COUNT, "clevertap/query")
    async def count_events(self, call: Call) -> Any:
        return self._report(call, "clevertap/query", reports.count_events)

    @report("/1/counts/profiles.json", "Count profiles", COUNT, "clevertap/query")
    async def count_profiles(self, call: Call) -> Any:
        return self._report(call, "clevertap/query", reports.count_profiles)

    @report("/1/counts/top.json", "Top property values", REPORT, "clevertap/top")
    async def top(self, call: Call) -> Any:
        return self._report(call, "clevertap/top", reports.top)

    @report("/1/counts/trends.json", "Trends by day, week or month", REPORT, "clevertap/trends")
    async def trends(self, call: Call) -> Any:
        return self._report(call, "clevertap/trends", reports.trends)

    @report("/1/now.json", "Real-time counts", NOW, "clevertap/now")
    async def now(self, call: Call) -> Any:
        clock = call.emulator.clock
        return self._report(
            call, "clevertap/now", lambda account, body: reports.now(account, body, clock.now())
        )

    def _report(self, call: Call, contract: str, compute: Callable[[Account, Any], Any]) -> Any:
        account = self.access.enter(call)
        tenant = call.tenant or ""
        req_id = call.query("req_id")
        if req_id is not None:
            return self.pending.poll(tenant, call.path, req_id)
        body = call.checked(contract, optional=contract == "clevertap/now")
        result = compute(account, body)
        polls = self.access.settings(tenant).options.report_polls
        return self.pending.hold(tenant, call.path, result, polls)
