"""Campaigns (`/1/targets/*.json`, `/1/message/report.json`): validated, resolved to an audience
and captured as outbound messages. Nothing is ever sent."""

from __future__ import annotations

import datetime as dt
from typing import Any

from emulator.clevertap import live
from emulator.clevertap import query as q
from emulator.clevertap.models import Account
from emulator.clevertap.profile import Profile
from emulator.clevertap.records import platform_of
from emulator.clevertap.targeting import (
    CampaignError,
    find_segment,
    in_segment,
    member,
    reachable,
)

DEVICE_PLATFORMS = {"android": "Android", "ios": "iOS", "windows": "Web", "web": "Web"}


def audience(account: Account, body: dict[str, Any]) -> list[Profile]:
    """The profiles a campaign targets: the `segment`'s members (everyone without one or with
    "all") that `where` also matches (everyone without one)."""
    segment = find_segment(account, body["segment"]) if "segment" in body else None
    if "where" in body:
        candidates = q.profiles(account, q.parse(body["where"], need_event=False))
    else:
        candidates = list(account.profiles.values())
    return [p for p in candidates if in_segment(segment, p)]


def estimates(profiles: list[Profile], mode: str, devices: list[str]) -> dict[str, int]:
    out = {}
    for device in devices:
        platform = DEVICE_PLATFORMS.get(device)
        out[device] = sum(
            1
            for p in profiles
            if reachable(p, mode) and any(platform_of(o) == platform for o in p.object_ids)
        )
    return out


def scheduled_time(when: Any, now: float) -> float:
    if when in (None, "now"):
        return now
    try:
        moment = dt.datetime.strptime(str(when), "%Y%m%d %H:%M").replace(tzinfo=dt.UTC)
    except ValueError as exc:
        raise CampaignError('when must be "now" or "yyyyMMdd HH:mm"') from exc
    return moment.timestamp()


def create(account: Account, body: dict[str, Any], now: float, new_id: int) -> dict[str, Any]:
    """Validate, resolve and (unless `estimate_only`) capture one campaign. A live one
    (`live.py`) is resolved when its trigger event arrives; its estimates are the profiles
    that qualify now."""
    mode = body.get("target_mode", "push")
    devices = body.get("devices") or ["android", "ios"]
    scheduled = scheduled_time(body.get("when"), now)
    trigger = live.trigger_of(body)
    members = live.qualifying(account, body) if trigger else audience(account, body)
    found = estimates(members, mode, devices)
    if body.get("estimate_only"):
        return {"status": "success", "estimates": found}
    reached = [] if trigger else [p for p in members if reachable(p, mode)]
    campaign = {
        "id": new_id,
        "name": body["name"],
        "target_mode": mode,
        "scheduled_on": int(scheduled),
        "created": now,
        "stopped": False,
        "estimates": found,
        "audience": [member(p) for p in reached],
        "request": body,
    }
    if trigger:
        campaign |= {"live": True, "trigger": trigger, "triggered": [], "missed": []}
        account.live.append(campaign)
    account.campaigns.append(campaign)
    return {"status": "success", "id": new_id, "estimates": found}


def status(campaign: dict[str, Any], now: float) -> str:
    if campaign["stopped"]:
        return "stopped"
    if campaign["scheduled_on"] > now:
        return "scheduled"
    return "running" if campaign.get("live") else "completed"


def sent(campaign: dict[str, Any]) -> int:
    """Messages the campaign would have sent: its audience, or a live one's triggers."""
    return len(campaign["triggered"] if campaign.get("live") else campaign["audience"])


def view(campaign: dict[str, Any], now: float) -> dict[str, Any]:
    return {**campaign, "status": status(campaign, now)}


def find(account: Account, body: dict[str, Any]) -> dict[str, Any]:
    for campaign in account.campaigns:
        if campaign["id"] == body["id"]:
            return campaign
    raise CampaignError(f"No target with id {body['id']}")


def listing(account: Account, body: dict[str, Any], now: float) -> dict[str, Any]:
    query = q.Query(day_from=q.parse_day(body, "from"), day_to=q.parse_day(body, "to"))
    return {
        "status": "success",
        "targets": [
            {
                "id": c["id"],
                "name": c["name"],
                "scheduled_on": c["scheduled_on"],
                "status": status(c, now),
            }
            for c in account.campaigns
            if query.day_ok(c["scheduled_on"])
        ],
    }


def result(account: Account, body: dict[str, Any], now: float) -> dict[str, Any]:
    campaign = find(account, body)
    if status(campaign, now) not in ("completed", "running"):
        return {"status": "fail", "error": "This target hasn't been completed"}
    return {"status": "success", "result": {"sent": sent(campaign), "viewed": 0, "clicked": 0}}


def stop(account: Account, body: dict[str, Any], now: float) -> dict[str, Any]:
    campaign = find(account, body)
    if status(campaign, now) not in ("scheduled", "running"):
        raise CampaignError("Only a scheduled or running target can be stopped")
    campaign["stopped"] = True
    if campaign in account.live:
        account.live.remove(campaign)
    return {"status": "success"}


def report(account: Account, body: dict[str, Any], now: float) -> dict[str, Any]:
    query = q.Query(day_from=q.parse_day(body, "from"), day_to=q.parse_day(body, "to"))
    channel = body.get("channel")
    wanted = body.get("status")
    messages = []
    for c in account.campaigns:
        st = status(c, now)
        if not query.day_ok(c["scheduled_on"]) or (channel and c["target_mode"] != channel):
            continue
        if wanted and st != wanted:
            continue
        messages.append(
            {
                "message id": c["id"],
                "message name": c["name"],
                "channel": c["target_mode"],
                "status": st,
                "scheduled on": c["scheduled_on"],
                "sent": sent(c) if st in ("completed", "running") else 0,
            }
        )
    return {"status": "success", "messages": messages}
