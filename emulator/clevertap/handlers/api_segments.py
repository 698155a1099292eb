"""API Segments (https://docs.clevertap.com/docs/api-segments): `POST /api/createSegment` makes
segments, `POST /api/updateSegment` adds users to them and removes users from them (the rules
are in the domain module `api_segments`)."""

from __future__ import annotations

from typing import Any

from emulator.clevertap import api_segments
from emulator.clevertap.handlers.access import Access, clevertap_operation
from emulator.core.call import Call

CREATE = "clevertap/segment-create"
UPDATE = "clevertap/segment-update"


class ApiSegments:
    def __init__(self, access: Access) -> None:
        self.access = access

    @clevertap_operation(
        "POST",
        "/api/createSegment",
        summary="Create Segment API: make API segments (segment_name, customer_segment_id)",
        answer="clevertap/segment-create-response",
        request=CREATE,
    )
    async def create(self, call: Call) -> dict[str, Any]:
        account = self.access.enter(call)
        body = call.checked(CREATE)
        answer = api_segments.create(account, body, call.emulator.clock.now())
        call.emulator.changes += 1
        return answer

    @clevertap_operation(
        "POST",
        "/api/updateSegment",
        summary="Update Segment API: add user profiles to API segments or remove them "
        "(partial processing: skipped entries in `unprocessed`)",
        answer="clevertap/segment-update-response",
        request=UPDATE,
    )
    async def update(self, call: Call) -> dict[str, Any]:
        account = self.access.enter(call)
        body = call.checked(UPDATE)
        outcome = api_segments.update(account, body)
        if call.verdict is not None:
            call.verdict.warnings += outcome.warnings
        call.notes.extend(f"{w.path} skipped: {w.message}" for w in outcome.warnings)
        if outcome.processed:
            call.emulator.changes += 1
        return outcome.answer()
