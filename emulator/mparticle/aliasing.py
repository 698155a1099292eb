"""Aliasing one MPID's data onto another (https://docs.mparticle.com/guides/idsync/aliasing/):
a request names a source and a destination MPID and a time window; mParticle copies the
source's events in that window, and its first-seen date, to the destination. Identities, user
attributes and consent are not copied. Plain Python, no HTTP.

What the emulator does, precisely:
- It refuses (400) what the alias request itself gets wrong: the same MPID twice, an end before
  the start, a window that starts more than 90 days before the emulator's clock (mParticle
  keeps 90 days of events to copy), a zero or malformed MPID.
- It accepts (202) and records, but applies nothing, a request mParticle drops silently: the
  source was already an alias destination, the destination was already an alias source, or the
  window overlaps an earlier applied alias of the same source. The record says `rejected` and
  why.
- Otherwise it applies the alias at once (mParticle processes aliases asynchronously; the
  emulator does not wait): every event the source did within [start, end] is added to the
  destination's events (counts, first/last times, the times audiences count), the
  destination's `created` becomes the earlier of the two, an `alias` entry is added to the
  destination's history, and the audiences are re-evaluated for the destination. The source
  keeps its data. An unknown destination MPID is created; an unknown source copies nothing.
"""

from __future__ import annotations

from typing import Any

from emulator.core.errors import ApiError
from emulator.mparticle.models import Workspace
from emulator.mparticle.users import User, parse_mpid

MAX_AGE_MS = 90 * 24 * 3600 * 1000


def alias(workspace: Workspace, body: dict[str, Any], now: float, via: str) -> dict[str, Any]:
    """Apply an alias request (contract `mparticle/s2s-alias`) and answer its record."""
    source, destination = parse_mpid(body["source_mpid"]), parse_mpid(body["destination_mpid"])
    if source is None or destination is None:
        raise ApiError(400, "source_mpid and destination_mpid must be non-zero 64-bit MPIDs.")
    if source == destination:
        raise ApiError(400, "source_mpid and destination_mpid must be different MPIDs.")
    start, end = int(body["start_unixtime_ms"]), int(body["end_unixtime_ms"])
    if end < start:
        raise ApiError(400, "end_unixtime_ms must not be before start_unixtime_ms.")
    if start < int(now * 1000) - MAX_AGE_MS:
        raise ApiError(400, "start_unixtime_ms must be within the last 90 days.")
    record: dict[str, Any] = {
        "time": now,
        "via": via,
        "source_mpid": str(source),
        "destination_mpid": str(destination),
        "start_unixtime_ms": start,
        "end_unixtime_ms": end,
        "environment": body.get("environment"),
        "request_id": body.get("request_id"),
    }
    reason = _dropped(workspace.aliases, record)
    if reason is not None:
        workspace.aliases.append({**record, "status": "rejected", "reason": reason})
        return workspace.aliases[-1]
    target, _ = workspace.ensure(destination, "alias destination")
    copied = _copy(workspace.user(source), target, start, end, now)
    workspace.touch(target)
    workspace.settle("alias")
    workspace.aliases.append({**record, "status": "applied", "copied_events": copied})
    return workspace.aliases[-1]


def _dropped(earlier: list[dict[str, Any]], new: dict[str, Any]) -> str | None:
    """Why mParticle would drop the request silently (None: it would not)."""
    applied = [a for a in earlier if a.get("status") == "applied"]
    for old in applied:
        if old["destination_mpid"] == new["source_mpid"]:
            return "the source MPID was already an alias destination"
        if old["source_mpid"] == new["destination_mpid"]:
            return "the destination MPID was already an alias source"
        if old["source_mpid"] == new["source_mpid"] and not (
            new["end_unixtime_ms"] < old["start_unixtime_ms"]
            or old["end_unixtime_ms"] < new["start_unixtime_ms"]
        ):
            return "the window overlaps an earlier alias of the same source"
    return None


def _copy(source: User | None, target: User, start: int, end: int, now: float) -> int:
    if source is None:
        return 0
    copied = 0
    for name, times in source.event_times.items():
        inside = [t for t in times if start <= t <= end]
        if not inside:
            continue
        target.event_times.setdefault(name, []).extend(inside)
        summary = target.events.setdefault(name, [0, min(inside), max(inside)])
        summary[0] += len(inside)
        summary[1] = min(summary[1], *inside)
        summary[2] = max(summary[2], *inside)
        copied += len(inside)
    target.created = min(target.created, source.created)
    target.updated = now
    target.history.append(
        {
            "time": now,
            "change": "alias",
            "source_mpid": str(source.mpid),
            "window_ms": [start, end],
            "copied_events": copied,
        }
    )
    return copied
