"""Journeys with an mParticle export node: who enters (a trigger event, optionally filtered by
its properties and a segment; or a segment's members), and the mParticle batches the export
step sends for each user who reaches it.

CleverTap's mParticle integration: "These Exports are also available as a node in Journeys for
more live use cases where only selective data needs to be passed based on Users actions"
(https://docs.clevertap.com/docs/mparticle). Journeys have no public API, so the definition is
the emulator's (control API, contract `clevertap/journey`; docs/integration-behaviour.md,
"Journeys export node"): the step builds its batches as the export flow does (exports.py:
`profile_batch`, `event_entry`), and the scheduler hands them to the feed like an export run.

Plain dicts in `Account.journeys`, so they travel with state export/import. A user enters a
journey once; a trigger event outside the live window (live.py) does not enter, and is kept in
`missed` with the reason. A user exits once the export step's deliveries have their answers.
"""

from __future__ import annotations

from typing import Any

from emulator.clevertap import exports, live
from emulator.clevertap import query as q
from emulator.clevertap.models import Account
from emulator.clevertap.profile import Profile
from emulator.clevertap.targeting import CampaignError, find_segment, in_segment, member

STEP = "mparticle_export"


def create(account: Account, body: dict[str, Any], journey_id: str, now: float) -> dict[str, Any]:
    """A running journey from a control API body (contract `clevertap/journey`); 400 for an
    entry without an event or a segment, a filter the query language refuses, or a segment
    the account does not have."""
    entry = body["entry"]
    if "event_name" not in entry and "segment" not in entry:
        raise CampaignError("A journey's entry needs an event_name or a segment")
    try:
        q.parse({"event_properties": entry.get("event_properties", [])}, need_event=False)
    except q.QueryError as exc:
        raise CampaignError(f"entry: {exc}") from None
    if "segment" in entry:
        find_segment(account, entry["segment"])
    (step,) = body["steps"]
    return {
        "id": journey_id,
        "name": body.get("name") or journey_id,
        "entry": dict(entry),
        "step": {
            "type": STEP,
            "data": step.get("data", "events"),
            "customer_id_property": step.get("customer_id_property", "Identity"),
            "connection": step.get("connection"),
        },
        "created": now,
        "status": "running",
        "entries": [],
        "missed": [],
    }


def next_id(account: Account) -> str:
    return f"journey-{len(account.journeys) + 1}"


def _entered(journey: dict[str, Any], profile: Profile) -> bool:
    ids = set(profile.object_ids)
    return any(row["objectId"] in ids for row in journey["entries"])


def _in_segment(account: Account, journey: dict[str, Any], profile: Profile) -> bool:
    key = journey["entry"].get("segment")
    if key is None:
        return True
    try:
        return in_segment(find_segment(account, key), profile)
    except CampaignError:  # the segment was removed since: nobody enters
        return False


def _enter(
    journey: dict[str, Any], profile: Profile, event: str | None, ts: int | None, now: float
) -> dict[str, Any]:
    row = {
        **member(profile),
        "event": event,
        "ts": ts,
        "entered": now,
        "step": STEP,
        "exited": None,
        "outcome": None,
        "reason": None,
        "deliveries": [],
    }
    journey["entries"].append(row)
    return row


Entered = list[tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]]


def on_event(
    account: Account, profile: Profile, name: str, ts: int, data: dict[str, Any]
) -> Entered:
    """A stored event: the running journeys it lets the user enter, each as (journey, entry,
    the export step's batches)."""
    now = account.clock()
    out: Entered = []
    for journey in account.journeys:
        entry = journey["entry"]
        if journey["status"] != "running" or entry.get("event_name") != name:
            continue
        filters = q.parse({"event_properties": entry.get("event_properties", [])}, need_event=False)
        if not all(f.matches(data) for f in filters.event_filters):
            continue
        if _entered(journey, profile) or not _in_segment(account, journey, profile):
            continue
        if not now - live.PAST <= ts <= now + live.FUTURE:
            row = {**member(profile), "event": name, "ts": ts, "at": now, "reason": live.OUTSIDE}
            journey["missed"].append(row)
            continue
        row = _enter(journey, profile, name, ts, now)
        out.append((journey, row, batches(account, journey, profile, (name, ts, data))))
    return out


def segment_entries(account: Account, journey: dict[str, Any]) -> Entered:
    """A journey entered by a segment alone: its members enter when it is made."""
    if "event_name" in journey["entry"]:
        return []
    now = account.clock()
    out: Entered = []
    for profile in list(account.profiles.values()):
        if _in_segment(account, journey, profile) and not _entered(journey, profile):
            row = _enter(journey, profile, None, None, now)
            out.append((journey, row, batches(account, journey, profile, None)))
    return out


def batches(
    account: Account,
    journey: dict[str, Any],
    profile: Profile,
    event: tuple[str, int, dict[str, Any]] | None,
) -> list[dict[str, Any]]:
    """The export step's batch for a user: the profile (identities, `ct_*` attributes) as the
    export flow builds it, with the triggering event when the step sends events."""
    step = journey["step"]
    batch = exports.profile_batch(profile, step)
    if step["data"] != "events" or event is None:
        return [batch]
    name, ts, data = event
    kind = exports.EVENT_TYPES.get(name, exports.CUSTOM_EVENT)
    # The same `source_message_id` an export sends for this event: numbered within its second.
    seq = sum(1 for p, _, t, _ in account.iter_events() if p is profile and t == ts)
    return [{**batch, "events": [exports.event_entry(profile, name, ts, data, seq, kind)]}]


def exit_entry(entry: dict[str, Any], summary: dict[str, Any], now: float) -> bool:
    """The feed's report on a user's export: the user exits the journey; False (nothing
    changes) when already out."""
    if entry["exited"] is not None:
        return False
    entry["exited"] = now
    entry["deliveries"] = list(summary.get("deliveries") or [])
    if summary.get("error") or summary.get("failed"):
        entry["outcome"] = "failed"
        entry["reason"] = summary.get("error") or f"{summary['failed']} deliveries failed"
    elif summary.get("skipped"):
        entry["outcome"] = "skipped"
        entry["reason"] = summary["skipped"]
    else:
        entry["outcome"] = "exported"
    return True


def view(journey: dict[str, Any]) -> dict[str, Any]:
    """A journey as the control API lists it: its definition and how many entered and exited."""
    out = {k: v for k, v in journey.items() if k not in ("entries", "missed")}
    out["entered"] = len(journey["entries"])
    out["exited"] = sum(1 for e in journey["entries"] if e["exited"] is not None)
    out["missed"] = len(journey["missed"])
    return out


def entry_rows(account: Account, query: dict[str, Any]) -> list[dict[str, Any]]:
    """Who entered each journey (and whether they exited), oldest first; filters `journey`,
    `identity`, `state` (entered: still in, exited: out)."""
    state = query.get("state")
    return [
        {"journey": j["id"], "name": j["name"], **row}
        for j in account.journeys
        if query.get("journey") in (None, j["id"])
        for row in j["entries"]
        if query.get("identity") in (None, row["identity"])
        and (state is None or (state == "exited") == (row["exited"] is not None))
    ]
