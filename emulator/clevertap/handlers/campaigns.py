"""Campaigns (`/1/targets/*.json`) and the message report: validated, resolved to an audience
and captured, never sent (the rules are in the domain module `campaigns`)."""

from __future__ import annotations

from typing import Any

from emulator.clevertap import campaigns
from emulator.clevertap.handlers.access import Access, clevertap_operation
from emulator.core.call import Call


class Campaigns:
    def __init__(self, access: Access) -> None:
        self.access = access

    @clevertap_operation(
        "POST",
        "/1/targets/create.json",
        summary="Create (capture) or estimate a campaign",
        answer="clevertap/target-create-response",
        request="clevertap/target-create",
    )
    async def create(self, call: Call) -> dict[str, Any]:
        account = self.access.enter(call)
        body = call.checked("clevertap/target-create")
        now = call.emulator.clock.now()
        new_id = max([int(now), *(c["id"] + 1 for c in account.campaigns)])
        answer = campaigns.create(account, body, now, new_id)
        call.emulator.changes += 1
        return answer

    @clevertap_operation(
        "POST",
        "/1/targets/list.json",
        summary="List campaigns",
        answer="clevertap/target-list-response",
        request="clevertap/target-list",
    )
    async def listing(self, call: Call) -> dict[str, Any]:
        account = self.access.enter(call)
        body = call.checked("clevertap/target-list")
        return campaigns.listing(account, body, call.emulator.clock.now())

    @clevertap_operation(
        "POST",
        "/1/targets/result.json",
        summary="A campaign's result",
        answer="clevertap/target-result-response",
        request="clevertap/target-id",
    )
    async def result(self, call: Call) -> dict[str, Any]:
        account = self.access.enter(call)
        body = call.checked("clevertap/target-id")
        return campaigns.result(account, body, call.emulator.clock.now())

    @clevertap_operation(
        "POST",
        "/1/targets/stop.json",
        summary="Stop a scheduled campaign",
        answer="clevertap/status-response",
        request="clevertap/target-id",
    )
    async def stop(self, call: Call) -> dict[str, Any]:
        account = self.access.enter(call)
        body = call.checked("clevertap/target-id")
        call.emulator.changes += 1
        return campaigns.stop(account, body, call.emulator.clock.now())

    @clevertap_operation(
        "POST",
        "/1/message/report.json",
        summary="Message report",
        answer="clevertap/message-report-response",
        request="clevertap/message-report",
    )
    async def message_report(self, call: Call) -> dict[str, Any]:
        account = self.access.enter(call)
        body = call.checked("clevertap/message-report")
        return campaigns.report(account, body, call.emulator.clock.now())
