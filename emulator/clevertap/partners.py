"""CleverTap's side of mParticle's audience output: "Partner - mParticle" segments.

mParticle sends Firehose audience messages: an `audience_subscription_request` when an audience
is connected, updated or disconnected, and `audience_membership_change_request`s carrying users
with the audiences they joined or left. CleverTap matches each user to a profile by Partner ID
(`CleverTap_User_ID`, a CleverTap ID), else Customer ID (Identity), else MPID (Identity, only
with an email or phone: an MPID alone is anonymous), merges Email and Phone, updates the segment
and raises a `Partner Sync` event per change. What the emulator chose where that is silent is in
docs/clevertap-behaviour.md, "mParticle audiences".

Plain Python on an `Account`, no HTTP: handlers/partners.py authenticates, validates, answers.
"""

from __future__ import annotations

from typing import Any

import jsonschema_rs

from emulator.clevertap.models import Account
from emulator.clevertap.profile import Profile
from emulator.clevertap.records import Accepted
from emulator.clevertap.values import Rejected
from emulator.core.contracts import ContractError, json_path

PARTNER = "mParticle"
SEGMENT_TYPE = "Partner - mParticle"
PARTNER_ID = "CleverTap_User_ID"
SYNC_EVENT = "Partner Sync"
FIREHOSE_VERSION = "3.2.0"
SUBSCRIPTION = "audience_subscription_request"
MEMBERSHIP = "audience_membership_change_request"
RESPONSES = {
    SUBSCRIPTION: "audience_subscription_response",
    MEMBERSHIP: "audience_membership_change_response",
}
ANONYMOUS = "anonymous: only an MPID"
NO_IDENTITY = "anonymous: no Partner ID (CleverTap_User_ID), Customer ID or MPID"
HASHED = "; hashed identities (md5/sha1/sha256) cannot be matched"
NO_CHANGE = "no add or delete in audiences"
HEALTH_CHECK = "health check: a membership change without user_profiles"
ATTRIBUTE_UPDATE = "attribute_update is not applied: CleverTap keeps no audience attributes"
# Identities whose raw value CleverTap uses; a hashed one counts as absent.
USED_TYPES = {"customer", "email", "mobile_number", PARTNER_ID}
ACTIONS = {"add": "Added", "delete": "Removed"}


def apply_firehose(account: Account, message: dict[str, Any], now: float) -> dict[str, Any]:
    """Apply one contract-valid Firehose audience message; answer the Firehose response with
    the emulator's account of what happened (`outcome`/`segment`, or `processed`, `applied`,
    `skipped` and `ignored`)."""
    kind = message["type"]
    if kind == SUBSCRIPTION:
        extension = subscribe(account, message, now)
    else:
        extension = change_membership(account, message, now)
    return {
        "type": RESPONSES[kind],
        "id": message["id"],
        "timestamp_ms": int(now * 1000),
        "firehose_version": FIREHOSE_VERSION,
        "suspend_subscription": False,
        **extension,
    }


# -- segments --------------------------------------------------------------------------------


def find_segment(account: Account, audience_id: int) -> dict[str, Any] | None:
    for segment in account.segments:
        if segment.get("partner") == PARTNER and segment.get("partner_segment_id") == audience_id:
            return segment
    return None


def _new_segment(account: Account, audience_id: int, name: str, now: float) -> dict[str, Any]:
    segment = {
        "id": account.next_segment_id(),
        "name": name,
        "type": SEGMENT_TYPE,
        "created": now,
        "members": [],
        "partner_segment_id": audience_id,
        "partner": PARTNER,
    }
    account.segments.append(segment)
    return segment


def _summary(segment: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": segment["id"],
        "name": segment["name"],
        "type": segment["type"],
        "partner_segment_id": segment["partner_segment_id"],
        "count": len(segment["members"]),
    }


def subscribe(account: Account, message: dict[str, Any], now: float) -> dict[str, Any]:
    """`add`/`update`: make the audience's segment, or rename it; `remove`: delete it."""
    audience_id, name = message["audience_id"], message["audience_name"]
    segment = find_segment(account, audience_id)
    if message["action"] == "remove":
        if segment is None:
            return {"outcome": "absent", "segment": None}
        account.segments.remove(segment)
        return {"outcome": "removed", "segment": _summary(segment)}
    if segment is None:
        return {
            "outcome": "created",
            "segment": _summary(_new_segment(account, audience_id, name, now)),
        }
    outcome = "unchanged"
    if segment["name"] != name:
        segment["name"] = name
        outcome = "renamed"
    return {"outcome": outcome, "segment": _summary(segment)}


# -- membership changes ----------------------------------------------------------------------


class Skip(Exception):
    """A user left out; the message is the reason the response gives."""


def _raw(entries: Any, wanted: str) -> str | None:
    """The first raw, non-empty value of an identity of type `wanted`."""
    for entry in entries or ():
        if entry["type"] == wanted and entry["encoding"] == "raw" and entry["value"]:
            return str(entry["value"])
    return None


def _hashed(user: dict[str, Any]) -> bool:
    """Whether the user carries an identity CleverTap would use, but only hashed."""
    return any(
        entry["type"] in USED_TYPES and entry["encoding"] != "raw"
        for key in ("user_identities", "partner_identities")
        for entry in user.get(key) or ()
    )


def _plan(user: dict[str, Any], mpid: str | None) -> tuple[str, str]:
    """How the user is matched: (`CleverTap_User_ID` | `customer` | `mpid`, value); raises Skip."""
    partner = _raw(user.get("partner_identities"), PARTNER_ID)
    if partner is not None:
        return PARTNER_ID, partner
    customer = _raw(user.get("user_identities"), "customer")
    if customer is not None:
        return "customer", customer
    hashed = HASHED if _hashed(user) else ""
    if mpid is None:
        raise Skip(NO_IDENTITY + hashed)
    if not _contact(user):
        raise Skip(ANONYMOUS + hashed)
    return "mpid", mpid


def _contact(user: dict[str, Any]) -> dict[str, str]:
    """The raw email and phone, as the profile properties they become."""
    identities = user.get("user_identities")
    out = {}
    email = _raw(identities, "email")
    if email is not None:
        out["Email"] = email
    phone = _raw(identities, "mobile_number")
    if phone is not None:
        out["Phone"] = phone
    return out


def _mpid(user: dict[str, Any]) -> str | None:
    mpid = user.get("mpid")
    return None if mpid is None or mpid == "" else str(mpid)


def _match(
    account: Account, user: dict[str, Any], how: str, value: str, now: int
) -> tuple[Profile, bool]:
    """The user's profile (made for an unknown Identity), with Email and Phone merged into it;
    and whether it was made."""
    contact = _contact(user)
    if how == PARTNER_ID:
        profile = account.find("objectId", value)
        if profile is None:
            raise Skip(f"no profile has the CleverTap ID {value!r} ({PARTNER_ID})")
        if contact:
            account.apply(Accepted("profile", [("objectId", profile.guid)], now, data=contact), now)
        return profile, False
    created = account.find("identity", value) is None
    account.apply(Accepted("profile", [("identity", value)], now, data=contact), now)
    found = account.find("identity", value)
    assert found is not None
    return found, created


def change_membership(account: Account, message: dict[str, Any], now: float) -> dict[str, Any]:
    """Match each user, then apply its audience adds and deletes, a Partner Sync for each."""
    ts = int(now)
    applied: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    ignored: list[dict[str, Any]] = []
    # mParticle's periodic health check has no user_profiles: answered normally, with nothing
    # applied (https://docs.mparticle.com/developers/partners/firehose/).
    for index, user in enumerate(message.get("user_profiles") or ()):
        mpid = _mpid(user)
        audiences = user.get("audiences") or []
        for number, audience in enumerate(audiences):
            if audience["action"] == "attribute_update":
                ignored.append(
                    {
                        "index": index,
                        "audience_index": number,
                        "mpid": mpid,
                        "audience_id": audience["audience_id"],
                        "action": audience["action"],
                        "reason": ATTRIBUTE_UPDATE,
                    }
                )
        changes = [a for a in audiences if a["action"] in ACTIONS]
        try:
            how, value = _plan(user, mpid)
            if not changes:
                raise Skip(NO_CHANGE)
            try:
                account.check_event_name(SYNC_EVENT)
            except Rejected as rejected:
                raise Skip(f"{SYNC_EVENT} cannot be recorded: {rejected.message}") from None
            profile, created = _match(account, user, how, value, ts)
        except Skip as skip:
            skipped.append({"index": index, "mpid": mpid, "reason": str(skip)})
            continue
        outcome: dict[str, Any] = {
            "index": index,
            "mpid": mpid,
            "objectId": profile.guid,
            "identity": profile.identities[0] if profile.identities else None,
            "matched_by": how,
            "created": created,
            "added": [],
            "removed": [],
        }
        for audience in changes:
            _change(account, profile, audience, now)
            key = "added" if audience["action"] == "add" else "removed"
            outcome[key].append(audience["audience_id"])
        applied.append(outcome)
    return {"processed": len(applied), "applied": applied, "skipped": skipped, "ignored": ignored}


def _change(account: Account, profile: Profile, audience: dict[str, Any], now: float) -> None:
    """One add or delete: the segment's members (the segment made if unknown), then the
    Partner Sync event, raised whether or not the membership changed."""
    audience_id, name, action = (
        audience["audience_id"],
        audience["audience_name"],
        audience["action"],
    )
    segment = find_segment(account, audience_id) or _new_segment(account, audience_id, name, now)
    members: list[str] = segment["members"]
    mine = set(profile.object_ids)  # a member merged since is this profile under another ID
    if action == "add":
        if not mine.intersection(members):
            members.append(profile.guid)
    else:
        members[:] = [m for m in members if m not in mine]
    data = {
        "Partner Segment Name": name,
        "Action": ACTIONS[action],
        "Partner Segment ID": audience_id,
        "CT Source": PARTNER,
        "Partner Name": PARTNER,
    }
    ts = int(now)
    account.apply(Accepted("event", [("objectId", profile.guid)], ts, SYNC_EVENT, data), ts)


# -- reporting -------------------------------------------------------------------------------


def notes(message: dict[str, Any], answer: dict[str, Any]) -> list[str]:
    """One journal note per user skipped and per audience entry ignored; a health check (a
    membership change without users) says so."""
    out = (
        [HEALTH_CHECK] if message["type"] == MEMBERSHIP and not message.get("user_profiles") else []
    )
    out += [
        f"user_profiles[{s['index']}] skipped: {s['reason']}" for s in answer.get("skipped", ())
    ]
    out += [
        f"user_profiles[{i['index']}].audiences[{i['audience_index']}] ignored: {i['reason']}"
        for i in answer.get("ignored", ())
    ]
    return out


def explain(schema: dict[str, Any], message: Any, *, lenient: bool) -> list[ContractError]:
    """What is wrong with an invalid message, field by field, for the message kind its `type`
    names (the contract's `oneOf` alone says only that neither kind matches, quoting the whole
    body). In lenient mode undeclared properties are not errors."""
    kinds = f"{SUBSCRIPTION} or {MEMBERSHIP}"
    if not isinstance(message, dict):
        return [ContractError("$", f"must be an object: an {kinds}", "Type")]
    kind = message.get("type")
    if not isinstance(kind, str) or kind not in RESPONSES:
        return [ContractError("$.type", f"must be {kinds}", "Enum")]
    branch = {**schema, "$ref": f"#/$defs/{kind}"}
    branch.pop("oneOf", None)
    validator = jsonschema_rs.validator_for(branch)
    return [
        ContractError(json_path(err.instance_path, message), err.message, type(err.kind).__name__)
        for err in validator.iter_errors(message)
        if not (lenient and type(err.kind).__name__ == "AdditionalProperties")
    ]
