"""CleverTap "mParticle Export": export definitions, their status and schedule, and the mParticle
Events API batches a run sends to the workspace's CleverTap feed input.

Pure logic on plain dicts (kept in `Account.exports`, so they travel with state export/import);
the scheduler (scheduler.py) owns the emulator clock and publishing a run's batches.

Mapping (docs/integration-behaviour.md): one batch per profile (split only to keep a batch
under mParticle's 128 KB), `environment` production, user identities `customer_id` (the export's
Customer ID property) and `email`, partner identity `CleverTap_User_ID` = the profile's CleverTap
ID, user attributes `ct_name`, `ct_gender`, `ct_dob`, `ct_photo`, `ct_*_opt_in`; events typed
per CleverTap's tables (EVENT_TYPES).

Statuses: an export is PENDING until its first run starts, RUNNING while it runs (a recurring
export stays RUNNING between runs), DONE when a one-time export's run has finished, STOPPED when
stopped. A run is RUNNING until the bridge reports its deliveries, then DONE (FAILED if any
delivery failed).
"""

from __future__ import annotations

import math
import unicodedata
from typing import Any

from emulator.clevertap import query as q
from emulator.clevertap.models import Account
from emulator.clevertap.partners import PARTNER_ID
from emulator.clevertap.profile import Profile
from emulator.core.errors import ApiError
from emulator.core.jsonresp import dumps

# The system events CleverTap exports, with the mParticle type each becomes:
# name -> (event_type, custom_event_type; None for a non-custom event type).
EVENT_TYPES: dict[str, tuple[str, str | None]] = {
    **{
        name: ("custom_event", "other")
        for name in (
            "App Launched",
            "Notification Sent",
            "App Version Changed",
            "A/B Experiment Stopped",
            "A/B Experiment Rolled Out",
            "A/B Experiment Disqualified",
            "A/B Experiment Rendered",
            "Channel Unsubscribed",
            "State Transitioned",
            "Session Concluded",
            "Custom Control Group",
            "System Control Group",
            "Custom & Journey Control Group (Journeys)",
            "System Control Group (Journeys)",
        )
    },
    **{
        name: ("custom_event", "attribution")
        for name in (
            "App Installed",
            "Notification Viewed",
            "Notification Clicked",
            "Push Impressions",
            "Webhook Delivered",
        )
    },
    "App Uninstalled": ("uninstall", None),
    "UTM Visited": ("custom_event", "navigation"),
    "Notification Replied": ("custom_event", "user_content"),
    "Reply Sent": ("custom_event", "user_content"),
    "GeoCluster Entered": ("custom_event", "location"),
    "GeoCluster Exited": ("custom_event", "location"),
}
# A selected event outside the table (a custom event) is a custom event of type `other`.
CUSTOM_EVENT = ("custom_event", "other")

# mParticle user attribute -> CleverTap profile property.
USER_ATTRIBUTES: dict[str, str] = {
    "ct_name": "Name",
    "ct_gender": "Gender",
    "ct_dob": "DOB",
    "ct_photo": "Photo",
    "ct_email_opt_in": "MSG-email",
    "ct_push_opt_in": "MSG-push",
    "ct_sms_opt_in": "MSG-sms",
    "ct_whatsapp_opt_in": "MSG-whatsapp",
}
IDENTITY_PROPERTIES = ("Identity", "identity")  # "the profile's identity", not a property

STATUSES = ("PENDING", "RUNNING", "DONE", "STOPPED")
RUN_STATUSES = ("RUNNING", "DONE", "FAILED")
FREQUENCIES = ("once", "recurring")
DATA_KINDS = ("events", "profiles")
MAX_DAYS = 60  # a one-time export reaches back at most 60 days
EVENT_HOURS = (4, 24)  # a recurring events export runs every 4 to 24 hours
PROFILE_MIN_HOURS = 24  # user properties at most once a day
MAX_HOURS = 720
DEFAULT_HOURS = 24
# A clock jump makes at most this many scheduled runs of one export; the earlier ones are
# counted in `missed_runs` and the first run made reaches back to cover their windows.
MAX_CATCH_UP = 366
# mParticle refuses a batch over 128 KB (413): a profile's events are split to stay under it.
BATCH_BUDGET = 127 * 1024
DAY = 86400.0
WHERE_KEYS = {"event_name", "from", "to", "event_properties", "common_profile_properties"}
HOUR = 3600.0


class ExportError(ApiError):
    """Answered by the control API as `status` with the error `code`."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(status, message, code=code)


# -- definitions ------------------------------------------------------------------------------
def create(body: dict[str, Any], export_id: str, now: float) -> dict[str, Any]:
    """A new export from a control API body (contract `clevertap/export`), PENDING; the rules
    the contract states are checked again here for callers that skip it."""
    data = body.get("data")
    if data not in DATA_KINDS:
        raise ExportError(400, "invalid_request", "data must be events or profiles")
    frequency = body.get("frequency", "once")
    if frequency not in FREQUENCIES:
        raise ExportError(400, "invalid_request", "frequency must be once or recurring")
    events = _events(body, data)
    every_hours, days = _timing(body, data, frequency)
    segment = _segment(body.get("segment"))
    start = float(body.get("start", now))
    return {
        "id": export_id,
        "name": body.get("name") or f"mParticle export {export_id.rsplit('-', 1)[-1]}",
        "data": data,
        "events": events,
        "frequency": frequency,
        "every_hours": every_hours,
        "days": days,
        "segment": segment,
        "customer_id_property": body.get("customer_id_property", "Identity"),
        "created": now,
        "start": start,
        "status": "PENDING",
        "next_run": start,
        "last_until": None,
        "stopped": None,
        "missed_runs": 0,
        "runs": [],
    }


def _invalid(message: str) -> ExportError:
    return ExportError(400, "invalid_request", message)


def _events(body: dict[str, Any], data: str) -> Any:
    """The events an events export sends: "all" or the names, each once."""
    if data != "events":
        if "events" in body:
            raise _invalid("events applies to an events export only")
        return None
    events = body.get("events", "all")
    if events != "all" and not (
        isinstance(events, list) and events and all(isinstance(e, str) and e for e in events)
    ):
        raise _invalid('events must be "all" or a list of names')
    if isinstance(events, list):
        events = list(dict.fromkeys(events))
    return events


def _timing(body: dict[str, Any], data: str, frequency: str) -> tuple[Any, Any]:
    """(every_hours, days): a recurring export's period, or a one-time export's reach back."""
    if frequency == "recurring":
        if "days" in body:
            raise _invalid("days applies to a one-time export only")
        every_hours = body.get("every_hours", DEFAULT_HOURS)
        low, high = EVENT_HOURS if data == "events" else (PROFILE_MIN_HOURS, MAX_HOURS)
        if type(every_hours) is not int or not low <= every_hours <= high:
            raise _invalid(f"every_hours must be {low} to {high} for a {data} export")
        return every_hours, None
    if "every_hours" in body:
        raise _invalid("every_hours applies to a recurring export only")
    days = body.get("days", MAX_DAYS)
    # An integral float (57.0) is refused here though the contract takes it: kept as it is.
    if type(days) is not int or not 1 <= days <= MAX_DAYS:
        raise _invalid(f"days must be 1 to {MAX_DAYS}")
    return None, days


def _segment(segment: Any) -> dict[str, Any] | None:
    if segment is None:
        return None
    if segment.get("type") not in ("past", "live"):
        raise _invalid("segment type must be past or live")
    unknown = set(segment.get("where") or {}) - WHERE_KEYS
    if unknown:
        raise _invalid(f"segment where: unknown {sorted(unknown)}")
    try:
        q.parse(segment.get("where") or {}, need_event=False)
    except q.QueryError as exc:
        raise _invalid(f"segment where: {exc}") from None
    return {"type": segment["type"], "where": segment.get("where") or {}}


def view(export: dict[str, Any]) -> dict[str, Any]:
    """The control API's answer for an export (contract `clevertap/export-view`)."""
    out = {k: v for k, v in export.items() if k not in ("runs", "last_until")}
    out["segment"] = None if export["segment"] is None else dict(export["segment"])
    out["runs"] = [run_view(run) for run in export["runs"]]
    return out


def run_view(run: dict[str, Any]) -> dict[str, Any]:
    out = dict(run)
    out["window"] = dict(run["window"])
    if run["deliveries"] is not None:
        out["deliveries"] = dict(run["deliveries"])
    return out


def next_id(account: Account) -> str:
    return f"export-{len(account.exports) + 1}"


def find(account: Account, export_id: str) -> dict[str, Any] | None:
    return next((e for e in account.exports if e["id"] == export_id), None)


# -- schedule ---------------------------------------------------------------------------------
def period(export: dict[str, Any]) -> float:
    return float(export["every_hours"]) * HOUR


def due(export: dict[str, Any], now: float) -> tuple[list[float], int]:
    """The scheduled times of the runs due at `now` (oldest first) and how many earlier ones
    are passed over (more than MAX_CATCH_UP are due)."""
    nxt = export["next_run"]
    if export["status"] in ("DONE", "STOPPED") or nxt is None or nxt > now:
        return [], 0
    if export["frequency"] == "once":
        return [nxt], 0
    every = period(export)
    count = math.floor((now - nxt) / every) + 1
    skipped = max(0, count - MAX_CATCH_UP)
    return [nxt + (skipped + i) * every for i in range(count - skipped)], skipped


def window(export: dict[str, Any], until: float) -> tuple[float, float]:
    """[from, until) of a run ending at `until`: one-time, the last `days` days; recurring, from
    where the previous run ended (the first run: the last `every_hours` hours, counted from the
    first scheduled time, so runs passed over are still covered)."""
    if export["frequency"] == "once":
        return until - export["days"] * DAY, until
    since = export["last_until"]
    if since is None:
        since = min(export["start"], until) - period(export)
    return since, max(since, until)


def check_runnable(export: dict[str, Any]) -> None:
    """Raises 409 unless "run now" may start a run of this export."""
    status = export["status"]
    if status in ("DONE", "STOPPED"):
        raise ExportError(409, "conflict", f"{export['id']} is {status}")
    if export["frequency"] == "once" and status != "PENDING":
        raise ExportError(409, "conflict", f"{export['id']} is a one-time export that already ran")


def begin_run(
    account: Account, export: dict[str, Any], until: float, now: float, trigger: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Record a run ending its window at `until` (its scheduled time, or now for "run now") and
    build its batches. A run with nothing to send is DONE at once."""
    since, until = window(export, until)
    built = batches(account, export, since, until)
    number = len(export["runs"]) + 1
    run: dict[str, Any] = {
        "id": f"{export['id']}-run-{number}",
        "trigger": trigger,
        "scheduled": until,
        "started": now,
        "finished": None,
        "window": {"from": since, "until": until},
        "batches": len(built),
        "events": sum(len(b.get("events") or ()) for b in built),
        "profiles": len({b["partner_identities"][PARTNER_ID] for b in built}),
        "status": "RUNNING",
        "deliveries": None,
    }
    export["runs"].append(run)
    export["status"] = "RUNNING"
    if export["frequency"] == "once":
        export["next_run"] = None
    else:
        export["last_until"] = max(export["last_until"] or until, until)
        if trigger == "schedule":
            export["next_run"] = until + period(export)
    if not built:
        finish_run(
            export,
            run,
            {"delivered": 0, "failed": 0, "skipped": "nothing to export", "deliveries": []},
            now,
        )
    return run, built


def finish_run(
    export: dict[str, Any], run: dict[str, Any], summary: dict[str, Any], now: float
) -> bool:
    """The bridge's report on a run's deliveries: the run is DONE, or FAILED if any failed; a
    one-time export is then DONE. False (nothing changes) for a run already finished."""
    if run["status"] != "RUNNING":
        return False
    failed = summary.get("failed") or 0
    run["deliveries"] = {
        "delivered": summary.get("delivered") or 0,
        "failed": failed,
        "skipped": summary.get("skipped"),
        "deliveries": list(summary.get("deliveries") or []),
    }
    if "error" in summary:
        run["deliveries"]["error"] = summary["error"]
    run["status"] = "FAILED" if failed or "error" in summary else "DONE"
    run["finished"] = now
    if export["frequency"] == "once" and export["status"] == "RUNNING":
        export["status"] = "DONE"
    return True


def stop(export: dict[str, Any], now: float) -> None:
    """STOPPED: no run starts again (a run in flight still finishes). Stopping a stopped export
    changes nothing; a finished one-time export cannot be stopped (409)."""
    if export["status"] == "STOPPED":
        return
    if export["status"] == "DONE":
        raise ExportError(409, "conflict", f"{export['id']} is DONE")
    export["status"] = "STOPPED"
    export["stopped"] = now
    export["next_run"] = None


# -- batches ----------------------------------------------------------------------------------
def sanitize(value: Any) -> Any:
    """CleverTap's export cleaning of values: whitespace, tab, slash and NUL become `-`, other
    control characters `?`. Lists and objects are cleaned inside; other types pass unchanged."""
    if isinstance(value, str):
        if value.isprintable() and " " not in value and "/" not in value:
            return value
        return "".join(_clean(ch) for ch in value)
    if isinstance(value, list):
        return [sanitize(v) for v in value]
    if isinstance(value, dict):
        return {k: sanitize(v) for k, v in value.items()}
    return value


def _clean(ch: str) -> str:
    if ch in "/\0" or ch.isspace():
        return "-"
    if unicodedata.category(ch) == "Cc":
        return "?"
    return ch


def customer_id(profile: Profile, prop: str) -> str | None:
    """The Customer ID Mapping: the profile's (first) identity, or a profile property."""
    if prop in IDENTITY_PROPERTIES:
        return profile.identities[0] if profile.identities else None
    value = profile.data.get(prop)
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        value = str(value)
    return value if isinstance(value, str) and value else None


def profile_batch(profile: Profile, export: dict[str, Any]) -> dict[str, Any]:
    """A batch for one profile without events: identities exact, attributes cleaned."""
    batch: dict[str, Any] = {"environment": "production"}
    identities: dict[str, str] = {}
    found = customer_id(profile, export["customer_id_property"])
    if found is not None:
        identities["customer_id"] = found
    email = profile.data.get("Email")
    if isinstance(email, str) and email:
        identities["email"] = email
    if identities:
        batch["user_identities"] = identities
    batch["partner_identities"] = {PARTNER_ID: profile.guid}
    attributes = {
        attr: sanitize(profile.data[prop])
        for attr, prop in USER_ATTRIBUTES.items()
        if profile.data.get(prop) is not None
    }
    if attributes:
        batch["user_attributes"] = attributes
    return batch


def event_entry(
    profile: Profile, name: str, ts: int, data: dict[str, Any], seq: int, kind: tuple[str, Any]
) -> dict[str, Any]:
    """One CleverTap event as an mParticle event; `seq` numbers the profile's events raised in
    the same second, so `source_message_id` is the same whichever export sends the event."""
    event_type, custom_type = kind
    body: dict[str, Any] = {}
    if event_type == "custom_event":
        body["event_name"] = name
        body["custom_event_type"] = custom_type
    body["timestamp_unixtime_ms"] = int(ts) * 1000
    body["source_message_id"] = f"ct-{profile.guid}-{ts}-{seq}"
    body["custom_attributes"] = sanitize(dict(data))
    return {"event_type": event_type, "data": body}


def selected(export: dict[str, Any]) -> dict[str, tuple[str, Any]]:
    """Event name -> mParticle type, for the events this export sends."""
    if export["events"] == "all":
        return EVENT_TYPES
    return {name: EVENT_TYPES.get(name, CUSTOM_EVENT) for name in export["events"]}


def audience(
    account: Account, export: dict[str, Any], since: float, until: float
) -> set[int] | None:
    """The pids of the export's segment at run time (None: no segment, everyone). Past
    behaviour: the profiles `where` matches over the stored history. Live: the profiles that
    raised a matching event (any event, when `where` names none) within the run's window."""
    segment = export["segment"]
    if segment is None:
        return None
    query = q.parse(segment["where"], need_event=False)
    if segment["type"] == "past":
        return {p.pid for p in q.profiles(account, query)}
    return {p.pid for p, _, ts, _ in q.events(account, query) if since <= ts < until}


def batches(
    account: Account, export: dict[str, Any], since: float, until: float
) -> list[dict[str, Any]]:
    """The mParticle batches a run of `export` covering [since, until) sends."""
    members = audience(account, export, since, until)
    if export["data"] == "profiles":
        return [
            profile_batch(p, export)
            for p in account.profiles.values()
            if members is None or p.pid in members
        ]
    kinds = selected(export)
    same_second: dict[tuple[int, int], int] = {}
    per_profile: dict[int, tuple[Profile, list[dict[str, Any]]]] = {}
    for profile, name, ts, data in account.iter_events():
        if not since <= ts < until:
            continue
        key = (profile.pid, ts)
        seq = same_second[key] = same_second.get(key, 0) + 1
        kind = kinds.get(name)
        if kind is None or (members is not None and profile.pid not in members):
            continue
        entry = per_profile.get(profile.pid)
        if entry is None:
            entry = per_profile[profile.pid] = (profile, [])
        entry[1].append(event_entry(profile, name, ts, data, seq, kind))
    out: list[dict[str, Any]] = []
    for profile, events in per_profile.values():
        out.extend(_split(profile_batch(profile, export), events))
    return out


def _split(base: dict[str, Any], events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`base` with `events`, as one batch or (over BATCH_BUDGET bytes) several, each with the
    same identities and attributes. An event too large on its own travels alone."""
    room = BATCH_BUDGET - len(dumps({**base, "events": []}))
    out: list[dict[str, Any]] = []
    chunk: list[dict[str, Any]] = []
    used = 0
    for event in events:
        size = len(dumps(event)) + 1
        if chunk and used + size > room:
            out.append({**base, "events": chunk})
            chunk, used = [], 0
        chunk.append(event)
        used += size
    out.append({**base, "events": chunk})
    return out
