"""Campaigns (`/1/targets/*.json`, `/1/message/report.json`): validated, resolved to an audience
and captured as outbound messages. Nothing is ever sent."""

from __future__ import annotations

import datetime as dt
from typing import Any

from emulator.clevertap import query as q
from emulator.clevertap.models import Account
from emulator.clevertap.profile import Profile
from emulator.clevertap.records import platform_of
from emulator.core.errors import ApiError

DEVICE_PLATFORMS = {"android": "Android", "ios": "iOS", "windows": "Web", "web": "Web"}


class CampaignError(ApiError):
    """A campaign request CleverTap refuses: a 400 in its fail envelope."""

    def __init__(self, message: str) -> None:
        super().__init__(400, message)


def audience(account: Account, body: dict[str, Any]) -> list[Profile]:
    segment = body.get("segment")
    if segment is not None:
        if segment == "all":
            return list(account.profiles.values())
        for seg in account.segments:
            if segment in (seg.get("id"), seg.get("name")):
                # A member merged into another profile is that profile now.
                members = set(seg.get("members", []))
                return [
                    p for p in account.profiles.values() if any(o in members for o in p.object_ids)
                ]
        raise CampaignError(f"Segment {segment!r} not found")
    return q.profiles(account, q.parse(body["where"], need_event=False))


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
    """Validate, resolve and (unless `estimate_only`) capture one campaign."""
    if ("where" in body) == ("segment" in body):
        raise CampaignError("Exactly one of where and segment is required")
    mode = body.get("target_mode", "push")
    devices = body.get("devices") or ["android", "ios"]
    scheduled = scheduled_time(body.get("when"), now)
    members = audience(account, body)
    found = estimates(members, mode, devices)
    if body.get("estimate_only"):
        return {"status": "success", "estimates": found}
    reached = [p for p in members if reachable(p, mode)]
    account.campaigns.append(
        {
            "id": new_id,
            "name": body["name"],
            "target_mode": mode,
            "scheduled_on": int(scheduled),
            "created": now,
            "stopped": False,
            "estimates": found,
            "audience": [_member(p) for p in reached],
            "request": body,
        }
    )
    return {"status": "success", "id": new_id, "estimates": found}


def _member(profile: Profile) -> dict[str, Any]:
    return {
        "objectId": profile.guid,
        "identity": profile.identities[0] if profile.identities else None,
        "email": profile.data.get("Email"),
        "phone": profile.data.get("Phone"),
    }


def status(campaign: dict[str, Any], now: float) -> str:
    if campaign["stopped"]:
        return "stopped"
    return "completed" if campaign["scheduled_on"] <= now else "scheduled"


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
    if status(campaign, now) != "completed":
        return {"status": "fail", "error": "This target hasn't been completed"}
    return {
        "status": "success",
        "result": {"sent": len(campaign["audience"]), "viewed": 0, "clicked": 0},
    }


def stop(account: Account, body: dict[str, Any], now: float) -> dict[str, Any]:
    campaign = find(account, body)
    if status(campaign, now) != "scheduled":
        raise CampaignError("Only a scheduled target can be stopped")
    campaign["stopped"] = True
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
                "sent": len(c["audience"]) if st == "completed" else 0,
            }
        )
    return {"status": "success", "messages": messages}
