"""Custom list segments made through the control API (campaigns target them by id or name)."""

from __future__ import annotations

from typing import Any

from emulator.clevertap.models import Account


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
    segment = {
        "id": account.next_segment_id(),
        "name": body["name"],
        "type": body.get("type", "Custom List"),
        "created": now,
        "members": members,
    }
    account.segments.append(segment)
    return segment, unknown
