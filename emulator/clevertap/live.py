"""Live (triggered) campaigns: a campaign made with `"live": true` waits for its trigger event
and records, as each matching event arrives, the user it would have been sent to.

CleverTap's dashboard offers "Live Behavior" next to "Past Behavior / Custom List" as a
campaign's qualification criteria: "deliver notifications to users as soon as they perform ...
an activity" (https://docs.clevertap.com/docs/create-message_mparticle). The Create Campaign API
page (https://developer.clevertap.com/docs/create-campaign-api) documents no field for it, so
the request shape is the emulator's (docs/clevertap-behaviour.md, "Live campaigns"):
`where.event_name` is the trigger, `where.event_properties` filter the triggering event, and
`segment` plus `where.common_profile_properties.profile_fields` say who qualifies when it
arrives. Only events inside the window CleverTap gives for events used by live campaigns, "2
hours in the past and 2 minutes in the future" (https://developer.clevertap.com/docs/events-object),
trigger.
"""

from __future__ import annotations

from typing import Any

from emulator.clevertap import query as q
from emulator.clevertap.models import Account
from emulator.clevertap.profile import Profile
from emulator.clevertap.targeting import (
    CampaignError,
    find_segment,
    in_segment,
    member,
    reachable,
)

PAST = 2 * 3600
FUTURE = 2 * 60
OUTSIDE = "outside the live window: the event is more than 2 hours before or 2 minutes after now"


def trigger_of(body: dict[str, Any]) -> dict[str, Any] | None:
    """A live campaign's trigger (`event_name`, `event_properties`), None for another one;
    raises CampaignError for a live campaign without a trigger event or with days."""
    if not body.get("live"):
        return None
    where = body.get("where")
    query = q.parse(where, need_event=False) if where is not None else None
    if query is None or query.event_name is None:
        raise CampaignError("A live campaign needs where.event_name, the event that triggers it")
    if query.day_from is not None or query.day_to is not None:
        raise CampaignError("A live campaign takes no from/to: its trigger is each new event")
    return {
        "event_name": query.event_name,
        "event_properties": [
            {"name": f.name, "operator": f.operator, "value": f.value} for f in query.event_filters
        ],
    }


def _audience_check(account: Account, body: dict[str, Any]) -> Any:
    """Whether a profile qualifies now: in the segment and through the profile filters."""
    segment = find_segment(account, body["segment"]) if "segment" in body else None
    where = body.get("where") or {}
    profile_ok = q.profile_check(account, q.parse(where, need_event=False).profile_filters)
    return lambda p: in_segment(segment, p) and profile_ok(p)


def qualifying(account: Account, body: dict[str, Any]) -> list[Profile]:
    """The profiles a live campaign's audience holds now (its estimates)."""
    check = _audience_check(account, body)
    return [p for p in account.profiles.values() if check(p)]


def on_event(account: Account, profile: Profile, name: str, ts: int, data: dict[str, Any]) -> None:
    """A stored event: every running live campaign it triggers records the user (`triggered`),
    or why it would not have been sent (`missed`: outside the window, not reachable)."""
    now = account.clock()
    for campaign in list(account.live):
        trigger = campaign["trigger"]
        if trigger["event_name"] != name or campaign["scheduled_on"] > now:
            continue
        body = campaign["request"]
        filters = q.parse({"event_properties": trigger["event_properties"]}, need_event=False)
        if not all(f.matches(data) for f in filters.event_filters):
            continue
        try:
            qualifies = _audience_check(account, body)(profile)
        except CampaignError:  # its segment was removed since: nobody qualifies
            continue
        if not qualifies:
            continue
        row = {**member(profile), "event": name, "ts": ts, "at": int(now)}
        if not now - PAST <= ts <= now + FUTURE:
            campaign["missed"].append({**row, "reason": OUTSIDE})
        elif not reachable(profile, campaign["target_mode"]):
            reason = f"not reachable by {campaign['target_mode']}"
            campaign["missed"].append({**row, "reason": reason})
        else:
            campaign["triggered"].append(row)
