"""Sends to user ids (`/1/send/{push,email,sms,webpush}.json`): the users `to` names, what each
would have received and why a named user would not have been reached. Captured, never sent.

CleverTap's Create Campaign API, "Target User IDs" (https://developer.clevertap.com/docs/create-campaign),
and its official snippets (https://github.com/CleverTap/clevertap-support-snippets,
`getting_started/api/sending_message_by_identity_*`): `to` holds lists of `Identity`, `Email`,
`FBID`, `GPID` and `objectId` values; `tag_group`, `respect_frequency_caps` and
`provider_nick_name` are optional; `content` is the channel's message; the answer is
`{"status": "success", "message": "Added to queue for processing"}`, a failure
`{"status": "fail", "error": ..., "code": ...}`. The documentation gives no failure message, so
the emulator's are its own (docs/clevertap-behaviour.md, "Sends to user ids").
"""

from __future__ import annotations

from typing import Any

from emulator.clevertap.models import Account
from emulator.clevertap.profile import Profile
from emulator.clevertap.targeting import CampaignError, member, unreachable

CHANNELS = ("push", "email", "sms", "webpush")
QUEUED = {"status": "success", "message": "Added to queue for processing"}
NOBODY = "No user found for the ids in to"
# `to` key -> the Account.find key that resolves it.
TO_KEYS = {
    "Identity": "identity",
    "Email": "email",
    "FBID": "FBID",
    "GPID": "GPID",
    "objectId": "objectId",
}


def recipients(
    account: Account, to: dict[str, list[str]]
) -> tuple[list[tuple[Profile, str]], list[dict[str, str]]]:
    """The profiles `to` names, each once (with the first id that named it), and the ids that
    name nobody. An Email names every profile holding it, or the profile with it as identity."""
    found: dict[int, tuple[Profile, str]] = {}
    unknown: list[dict[str, str]] = []
    for key, values in to.items():
        lookup = TO_KEYS[key]
        for value in dict.fromkeys(values):
            profiles = account.find_all(lookup, value)
            if not profiles and lookup == "email":
                profiles = account.find_all("identity", value)
            if not profiles:
                unknown.append({"key": key, "value": value})
            for profile in profiles:
                found.setdefault(profile.pid, (profile, f"{key} {value}"))
    return list(found.values()), unknown


def send(
    account: Account, channel: str, body: dict[str, Any], now: float, send_id: int
) -> dict[str, Any]:
    """Capture one send; 400 (nothing captured) when no id in `to` names a user."""
    named, unknown = recipients(account, body["to"])
    if not named:
        raise CampaignError(NOBODY)
    rows = []
    for profile, named_by in named:
        reason = unreachable(profile, channel)
        rows.append(
            {
                **member(profile),
                "identities": list(profile.identities),
                "named_by": named_by,
                "reached": reason is None,
                "reason": reason,
            }
        )
    account.sends.append(
        {
            "id": send_id,
            "channel": channel,
            "at": now,
            "tag_group": body.get("tag_group"),
            "respect_frequency_caps": body.get("respect_frequency_caps", False),
            "provider_nick_name": body.get("provider_nick_name"),
            "content": body["content"],
            "recipients": rows,
            "unknown": unknown,
        }
    )
    return dict(QUEUED)


def next_id(account: Account) -> int:
    return len(account.sends) + 1


def rows(account: Account, query: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per user a send named, oldest send first: what the user would have received
    (`reached`) or why not (`reason`); filters `channel`, `identity`, `objectId`, `reached`."""
    out = []
    reached = query.get("reached")
    for sent in account.sends:
        if query.get("channel") not in (None, sent["channel"]):
            continue
        for row in sent["recipients"]:
            if query.get("identity") not in (None, *row["identities"]):
                continue
            if query.get("objectId") not in (None, row["objectId"]):
                continue
            if reached is not None and (reached == "true") != row["reached"]:
                continue
            out.append(
                {
                    "send": sent["id"],
                    "channel": sent["channel"],
                    "at": sent["at"],
                    "tag_group": sent["tag_group"],
                    **row,
                    "content": sent["content"],
                }
            )
    return out
