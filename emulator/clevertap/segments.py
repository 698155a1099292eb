"""The account's segments (one model for all kinds: custom lists, API segments, partner
segments): making one, and custom list segments made through the control API (campaigns target
them by id or name)."""

from __future__ import annotations

from typing import Any

from emulator.clevertap.models import Account


def new_segment(
    account: Account, name: str, kind: str, now: float, members: list[str], **extra: Any
) -> dict[str, Any]:
    """A segment added to the account with the next free id (`extra`: its kind's own fields)."""
    segment = {
        "id": account.next_segment_id(),
        "name": name,
        "type": kind,
        "created": now,
        "members": members,
        **extra,
    }
    account.segments.append(segment)
    return segment


def add_custom_list(
    account: Account, body: dict[str, Any], now: float
) -> tuple[dict[str, Any], list[str]]:
    """A segment of the profiles the body's identities and CleverTap IDs name (contract
    `clevertap/segment`), and the values that named none."""
    members: list[str] = []
    unknown: list[str] = []
    for key, values in (
        ("identity", body.get("identities", [])),
        ("objectId", body.get("objectIds", [])),
    ):
        for value in values:
            found = account.find(key, value)
            if found is None:
                unknown.append(value)
            elif found.guid not in members:
                members.append(found.guid)
    segment = new_segment(account, body["name"], body.get("type", "Custom List"), now, members)
    return segment, unknown
