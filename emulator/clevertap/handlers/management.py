"""Profile management: delete, demerge, subscription flags and phone disassociation."""

from __future__ import annotations

from typing import Any

from emulator.clevertap import contacts
from emulator.clevertap.handlers.access import Access, clevertap_operation
from emulator.core.call import Call

STATUS = "clevertap/status-response"
ITEMS = "clevertap/upload-response"


class Management:
    def __init__(self, access: Access) -> None:
        self.access = access

    @clevertap_operation(
        "POST",
        "/1/delete/profiles.json",
        summary="Delete profiles",
        answer=STATUS,
        request="clevertap/delete",
    )
    async def delete(self, call: Call) -> dict[str, Any]:
        account = self.access.enter(call)
        body = call.checked("clevertap/delete")
        key, values = next(iter(body.items()))
        lookup = "identity" if key == "identity" else "objectId"
        for value in values if isinstance(values, list) else [values]:
            found = account.find_first(lookup, [str(value)])
            if found is not None:
                account.delete(found)
        call.emulator.changes += 1
        return {"status": "success"}

    @clevertap_operation(
        "POST",
        "/1/demerge/profiles.json",
        summary="Demerge profiles",
        answer=STATUS,
        request="clevertap/demerge",
    )
    async def demerge(self, call: Call) -> dict[str, Any]:
        account = self.access.enter(call)
        body = call.checked("clevertap/demerge")
        for identity in body["identities"]:
            account.demerge(str(identity))
        call.emulator.changes += 1
        return {"status": "success"}

    @clevertap_operation(
        "POST",
        "/1/subscribe",
        summary="Unsubscribe or resubscribe",
        answer=ITEMS,
        request="clevertap/subscribe",
    )
    async def subscribe(self, call: Call) -> dict[str, Any]:
        account = self.access.enter(call)
        body = call.checked("clevertap/subscribe")
        answer = contacts.apply_items(account, body["d"], contacts.subscribe)
        call.emulator.changes += 1
        return answer

    @clevertap_operation(
        "POST",
        "/1/disassociate",
        summary="Disassociate a phone",
        answer=ITEMS,
        request="clevertap/disassociate",
    )
    async def disassociate(self, call: Call) -> dict[str, Any]:
        account = self.access.enter(call)
        body = call.checked("clevertap/disassociate")
        answer = contacts.apply_items(account, body["d"], contacts.disassociate)
        call.emulator.changes += 1
        return answer
