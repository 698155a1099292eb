"""Reading an account for people: finding profiles, one profile's events, merges, segments and
campaigns, a segment's members and Partner Sync history. Plain functions over an `Account`, no
HTTP: the control API's views (handlers/control.py) and the web inspector both call them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from emulator.clevertap import campaigns as campaign_rules
from emulator.clevertap.models import Account
from emulator.clevertap.partners import SYNC_EVENT
from emulator.clevertap.profile import Profile

LOOKUP_KEYS = ("identity", "email", "objectId")
Row = dict[str, Any]


def matching(account: Account, query: dict[str, Any]) -> set[int] | None:
    """Pids picked by the query's identity/email/objectId, all of those given (None: no such
    filter given)."""
    picked: set[int] | None = None
    for key in LOOKUP_KEYS:
        if key in query:
            ids = {p.pid for p in account.find_all(key, query[key])}
            picked = ids if picked is None else picked & ids
    return picked


def search(account: Account, text: str, by: str = "any") -> list[Profile]:
    """Profiles whose identity, email (any case) or CleverTap ID is `text` (`by`: one of those
    keys, or "any"); the indexes answer identity and CleverTap ID at once."""
    keys = LOOKUP_KEYS if by == "any" else (by,)
    found: dict[int, Profile] = {}
    for key in keys:
        for profile in account.find_all(key, text):
            found.setdefault(profile.pid, profile)
    return list(found.values())


def profiles(account: Account, query: dict[str, Any]) -> list[Profile]:
    picked = matching(account, query)
    if picked is None:
        return list(account.profiles.values())
    return [account.profiles[pid] for pid in sorted(picked) if pid in account.profiles]


def event_rows(account: Account, query: dict[str, Any]) -> list[Row]:
    """The account's events, oldest first, as the control API lists them (`event_name` and the
    lookups select)."""
    picked = matching(account, query)
    name = query.get("event_name")
    return [
        {
            "objectId": profile.guid,
            "identity": profile.identities[0] if profile.identities else None,
            "evtName": evt,
            "ts": ts,
            "evtData": data,
        }
        for profile, evt, ts, data in account.iter_events()
        if (name is None or evt == name) and (picked is None or profile.pid in picked)
    ]


def segments(account: Account, query: dict[str, Any]) -> list[Row]:
    """Segments (`name`, `type` select) with their member count."""
    return [
        {**seg, "count": len(seg["members"])}
        for seg in account.segments
        if query.get("name") in (None, seg["name"]) and query.get("type") in (None, seg["type"])
    ]


def campaigns(account: Account, query: dict[str, Any], now: float) -> list[Row]:
    """Captured campaigns with their status now (`name`, `status` select)."""
    return [
        view
        for c in account.campaigns
        if (view := campaign_rules.view(c, now))
        and query.get("name") in (None, c["name"])
        and query.get("status") in (None, view["status"])
    ]


# -- one profile -------------------------------------------------------------------------------


def pids_of(account: Account, profile: Profile) -> set[int]:
    """The profile's own pid and every pid merged into it (its events keep those)."""
    return {profile.pid} | {a for a in account.alias if account.resolve(a) is profile}


def events_of(account: Account, profile: Profile) -> list[tuple[str, int, dict[str, Any]]]:
    """The profile's events (those of profiles merged into it too), oldest first."""
    return [
        (evt, ts, data) for _, evt, ts, data in account.events.select(pids_of(account, profile))
    ]


def merges_of(account: Account, profile: Profile) -> list[Row]:
    """The merges and demerges that moved any of the profile's CleverTap IDs, oldest first."""
    mine = set(profile.object_ids)
    return [m for m in account.merges if mine.intersection([m["into"], m["from"], *m["objectIds"]])]


def segments_of(account: Account, profile: Profile) -> list[Row]:
    """The segments the profile is a member of (under any of its CleverTap IDs)."""
    mine = set(profile.object_ids)
    return [seg for seg in account.segments if mine.intersection(seg["members"])]


def campaigns_of(account: Account, profile: Profile, now: float) -> list[Row]:
    """The captured campaigns that targeted the profile (under any of its CleverTap IDs)."""
    mine = set(profile.object_ids)
    return [
        campaign_rules.view(c, now)
        for c in account.campaigns
        if any(member["objectId"] in mine for member in c["audience"])
    ]


# -- segments ----------------------------------------------------------------------------------


def find_segment(account: Account, segment_id: int) -> Row | None:
    return next((seg for seg in account.segments if seg["id"] == segment_id), None)


@dataclass(frozen=True, slots=True)
class Member:
    """A CleverTap ID a segment or campaign names, and the live profile it is now (None: the
    profile was deleted)."""

    object_id: str
    profile: Profile | None


def members(account: Account, object_ids: list[str]) -> list[Member]:
    return [Member(o, account.find("objectId", o)) for o in object_ids]


@dataclass(frozen=True, slots=True)
class Sync:
    """One Partner Sync event: a profile added to or removed from a partner segment."""

    profile: Profile
    action: str  # Added | Removed
    ts: int
    source: str
    segment_name: str
    partner_segment_id: Any


def partner_history(account: Account, segment: Row | None = None) -> list[Sync]:
    """The Partner Sync events (of one partner segment, if given), oldest first."""
    wanted = None if segment is None else segment.get("partner_segment_id")
    out = []
    for pid, _, ts, data in account.events.select(name=SYNC_EVENT):
        if segment is not None and data.get("Partner Segment ID") != wanted:
            continue
        profile = account.resolve(pid)
        if profile is None:
            continue
        out.append(
            Sync(
                profile,
                str(data.get("Action", "")),
                ts,
                str(data.get("CT Source", "")),
                str(data.get("Partner Segment Name", "")),
                data.get("Partner Segment ID"),
            )
        )
    return out
