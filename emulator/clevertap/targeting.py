"""Who a campaign can target: its segment, the channel's reach, a member's captured record
(shared by one-off campaigns, `campaigns.py`, and live ones, `live.py`)."""

from __future__ import annotations

from typing import Any

from emulator.clevertap.models import Account
from emulator.clevertap.profile import Profile
from emulator.core.errors import ApiError


class CampaignError(ApiError):
    """A campaign request CleverTap refuses: a 400 in its fail envelope."""

    def __init__(self, message: str) -> None:
        super().__init__(400, message)


def find_segment(account: Account, key: Any) -> dict[str, Any] | None:
    """The segment `segment` names by id or name (the first of that name); None for "all"."""
    if key == "all":
        return None
    for seg in account.segments:
        if key in (seg.get("id"), seg.get("name")):
            return seg
    raise CampaignError(f"Segment {key!r} not found")


def in_segment(segment: dict[str, Any] | None, profile: Profile) -> bool:
    # A member merged into another profile is that profile now.
    return segment is None or any(o in segment.get("members", ()) for o in profile.object_ids)


def reachable(profile: Profile, mode: str) -> bool:
    data = profile.data
    if mode == "push":
        return bool(profile.tokens)
    if mode == "webpush":
        return any(t["type"] == "chrome" for t in profile.tokens.values())
    if mode == "email":
        return "Email" in data and data.get("MSG-email") is not False
    if mode in ("sms", "whatsapp"):
        flag = "MSG-sms" if mode == "sms" else "MSG-whatsapp"
        return "Phone" in data and data.get(flag) is not False
    return True


def member(profile: Profile) -> dict[str, Any]:
    return {
        "objectId": profile.guid,
        "identity": profile.identities[0] if profile.identities else None,
        "email": profile.data.get("Email"),
        "phone": profile.data.get("Phone"),
    }
