"""`/1/subscribe` and `/1/disassociate`: per-item changes to the profiles holding an email or
phone, answered as uploads are (each item processed or in `unprocessed` with its code)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from emulator.clevertap.models import Account
from emulator.clevertap.values import Rejected

SUBSCRIBE_TYPES = {"phone": "MSG-sms", "email": "MSG-email", "whatsapp": "MSG-whatsapp"}
SUBSCRIBE_STATUS = {"Unsubscribe": False, "Resubscribe": True}
Item = dict[str, Any]


def subscribe(account: Account, item: Item) -> None:
    """Set the item's subscription flag on every profile holding its email or phone."""
    kind = item.get("type")
    flag = SUBSCRIBE_TYPES.get(kind) if isinstance(kind, str) else None
    if flag is None:
        raise Rejected(400, "type must be phone, email or whatsapp")
    status = item.get("status")
    if not isinstance(status, str) or status not in SUBSCRIBE_STATUS:
        raise Rejected(400, "status must be Unsubscribe or Resubscribe")
    value = item.get("value")
    if not isinstance(value, str) or not value:
        raise Rejected(400, "value is mandatory")
    contact = "email" if kind == "email" else "phone"
    for profile in account.with_contact(contact, value):
        profile.data[flag] = SUBSCRIBE_STATUS[status]


def disassociate(account: Account, item: Item) -> None:
    """Detach the item's phone from the profiles holding it (404 when none does)."""
    if item.get("type") != "phone":
        raise Rejected(400, "type must be phone")
    value = item.get("value")
    if not isinstance(value, str) or not value:
        raise Rejected(400, "value is mandatory")
    if account.disassociate_phone(value) == 0:
        raise Rejected(404, f"No profile has the phone {value}")


def apply_items(
    account: Account, items: list[Any], apply: Callable[[Account, Item], None]
) -> dict[str, Any]:
    processed = 0
    unprocessed = []
    for number, item in enumerate(items, 1):
        try:
            if not isinstance(item, dict):
                raise Rejected(400, "Each entry must be an object")
            apply(account, item)
        except Rejected as rejected:
            unprocessed.append(
                {
                    "status": "fail",
                    "code": rejected.code,
                    "error": rejected.error(number),
                    "record": item,
                }
            )
            continue
        processed += 1
    status = "success" if not unprocessed else "partial" if processed else "fail"
    return {"status": status, "processed": processed, "unprocessed": unprocessed}
