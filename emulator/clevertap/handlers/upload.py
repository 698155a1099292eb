"""`/1/upload` (and `/1/upload_device_tokens`): events, profiles and device tokens."""

from __future__ import annotations

from typing import Any

from emulator.clevertap import uploads
from emulator.clevertap.handlers.access import Access, clevertap_operation
from emulator.core.call import Call
from emulator.core.contracts import ContractError, json_path
from emulator.core.operations import Param

DRY_RUN = Param("dryRun", "query", {"enum": ["0", "1"]}, description="1: validate only")
ANSWER = "clevertap/upload-response"


class Upload:
    def __init__(self, access: Access) -> None:
        self.access = access

    @clevertap_operation(
        "POST",
        "/1/upload",
        summary="Upload events, profiles and device tokens",
        answer=ANSWER,
        request="clevertap/upload",
        params=[DRY_RUN],
    )
    @clevertap_operation(
        "POST",
        "/1/upload_device_tokens",
        summary="Upload device tokens",
        answer=ANSWER,
        request="clevertap/upload",
        params=[DRY_RUN],
    )
    async def upload(self, call: Call) -> dict[str, Any]:
        account = self.access.enter(call)
        body = call.checked("clevertap/upload")
        dry_run = call.query("dryRun") == "1"
        emulator = call.emulator
        limits = self.access.limits(call.tenant or "")
        outcome = uploads.upload(account, body["d"], int(emulator.clock.now()), limits, dry_run)
        if not dry_run and outcome.processed:
            emulator.changes += 1
        if outcome.rejected and call.verdict is not None:
            # The journal's verdict names every rejected record, so `?valid=false` finds them.
            call.verdict.errors.extend(
                ContractError(f"$.d[{index}]", entry["error"], f"clevertap-{entry['code']}")
                for index, entry in outcome.rejected
            )
        if outcome.trimmed and call.verdict is not None:
            # Accepted, but not as sent: each change a limit made is a warning, never silent.
            call.verdict.warnings.extend(
                ContractError(json_path(["d", index, "profileData", key]), change, "limit")
                for index, key, change in outcome.trimmed
            )
        return outcome.answer()
