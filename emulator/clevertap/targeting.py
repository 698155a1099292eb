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


def unreachable(profile: Profile, mode: str) -> str | None:
    """Why a channel cannot reach the profile (None: it can). A `MSG-*` subscription flag set to
    false opts the user out of that channel (https://developer.clevertap.com/docs/upload-user-profiles-api);
    email needs an `Email`, sms a `Phone`, push a device token, webpush a browser token."""
    data = profile.data
    if mode == "push":
        if data.get("MSG-push") is False:
            return "unsubscribed: MSG-push is false"
        return None if profile.tokens else "no push token"
    if mode == "webpush":
        if any(t["type"] == "chrome" for t in profile.tokens.values()):
            return None
        return "no web push (chrome) token"
    if mode == "email":
        if "Email" not in data:
            return "no Email"
        return "unsubscribed: MSG-email is false" if data.get("MSG-email") is False else None
    if mode in ("sms", "whatsapp"):
        flag = "MSG-sms" if mode == "sms" else "MSG-whatsapp"
        if "Phone" not in data:
            return "no Phone"
        return f"unsubscribed: {flag} is false" if data.get(flag) is False else None
    return None


def reachable(profile: Profile, mode: str) -> bool:
    return unreachable(profile, mode) is None


def member(profile: Profile) -> dict[str, Any]:
    return {
        "objectId": profile.guid,
        "identity": profile.identities[0] if profile.identities else None,
        "email": profile.data.get("Email"),
        "phone": profile.data.get("Phone"),
    }
