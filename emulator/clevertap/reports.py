"""Counts, top values, trends and real-time numbers (`/1/counts/*.json`, `/1/now.json`)."""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from typing import Any

from emulator.clevertap import query as q
from emulator.clevertap.models import Account
from emulator.clevertap.records import platform_of

TREND_TYPES = ("daily", "weekly", "monthly")
# `/1/now.json` counts users active in this window before now.
NOW_WINDOW_SECONDS = 300
# top.json groups NUMBER values into at most this many equal ranges, as the documented sample
# does ("0-100" ... "900-1000": https://developer.clevertap.com/docs/top-property-counts-api).
MAX_RANGES = 10


def count_events(account: Account, body: Any) -> dict[str, Any]:
    query = q.parse(body, need_event=True)
    return {"status": "success", "count": sum(1 for _ in q.events(account, query))}


def count_profiles(account: Account, body: Any) -> dict[str, Any]:
    query = q.parse(body, need_event=False)
    return {"status": "success", "count": len(q.profiles(account, query))}


def top(account: Account, body: Any) -> dict[str, Any]:
    query = q.parse(body, need_event=True)
    groups = _groups(body)
    tallies: dict[str, Counter[str]] = {label: Counter() for label in groups}
    numbers: dict[str, list[float]] = {label: [] for label in groups}
    for profile, _, _, props in q.events(account, query):
        for label, group in groups.items():
            kind = group.get("property_type", "event_properties")
            source = props if kind == "event_properties" else profile.data
            if kind not in ("event_properties", "profile_fields"):
                continue  # no session, device or geo data arrives through the server API
            name = group.get("name")
            if name not in source:
                continue
            value = source[name]
            values = value if isinstance(value, list) else [value]
            for v in values:
                if isinstance(v, int | float) and not isinstance(v, bool):
                    numbers[label].append(v)
                else:
                    tallies[label][_text(v)] += 1
    out: dict[str, Any] = {"status": "success"}
    for label, group in groups.items():
        top_n = group.get("top_n", 10)
        reverse = str(group.get("order", "desc")).lower() != "asc"
        found: dict[str, dict[str, int]] = {}
        if numbers[label]:
            found["NUMBER"] = number_ranges(numbers[label])
        if tallies[label]:
            ranked = sorted(tallies[label].items(), key=lambda kv: (kv[1], kv[0]), reverse=reverse)
            found["STR"] = dict(ranked[:top_n])
        out[label] = found
    return out


def number_ranges(values: list[float]) -> dict[str, int]:
    """Counts per range `"lo-hi"` (lo <= v < hi), in range order, only ranges holding a value:
    equal ranges from 0 (from below the smallest value when one is negative), the narrowest
    width of 1, 2 or 5 times a power of ten (at least 1) that needs at most MAX_RANGES."""
    low, high = min(0, min(values)), max(values)
    width = 1
    while True:
        for step in (width, 2 * width, 5 * width):
            start = math.floor(low / step) * step
            if math.floor((high - start) / step) + 1 <= MAX_RANGES:
                counts: Counter[int] = Counter(math.floor((v - start) / step) for v in values)
                return {
                    f"{start + i * step}-{start + (i + 1) * step}": counts[i]
                    for i in sorted(counts)
                }
        width *= 10


def check_known_event(account: Account, name: str) -> None:
    """trends.json refuses an event the account never recorded, as CleverTap does (a fail
    with code 400; the wording is the one a client's test fixture shows)."""
    if name not in account.event_names:
        raise q.QueryError(f'["Invalid event : {name}"]')


def trends(account: Account, body: Any) -> dict[str, Any]:
    query = q.parse(body, need_event=True)
    groups = _groups(body)
    for label, group in groups.items():
        if group.get("trend_type") not in TREND_TYPES:
            raise q.QueryError(f"groups.{label}.trend_type must be one of {', '.join(TREND_TYPES)}")
    check_known_event(account, str(query.event_name))
    unique = bool(body.get("unique", False))
    sum_prop = body.get("sum_event_prop")
    if sum_prop is not None and not isinstance(sum_prop, str):
        raise q.QueryError("sum_event_prop must be a property name")
    totals: dict[str, dict[str, float]] = {label: {} for label in groups}
    seen: dict[str, dict[str, set[int]]] = {label: {} for label in groups}
    for profile, _, ts, props in q.events(account, query):
        for label, group in groups.items():
            key = _bucket(ts, group["trend_type"])
            if unique:
                seen[label].setdefault(key, set()).add(profile.pid)
            elif sum_prop is not None:
                value = props.get(sum_prop)
                if isinstance(value, int | float) and not isinstance(value, bool):
                    totals[label][key] = totals[label].get(key, 0) + value
            else:
                totals[label][key] = totals[label].get(key, 0) + 1
    out: dict[str, Any] = {"status": "success"}
    for label in groups:
        found = {k: len(v) for k, v in seen[label].items()} if unique else totals[label]
        out[label] = {k: found[k] for k in sorted(found)}
    return out


def now(account: Account, body: Any, now_ts: float) -> dict[str, Any]:
    if body is not None and not isinstance(body, dict):
        raise q.QueryError("The query must be a JSON object")
    flags = body or {}
    since = now_ts - NOW_WINDOW_SECONDS
    active = {}
    for profile, _, ts, _ in account.iter_events():
        if since <= ts <= now_ts:
            active[profile.pid] = profile
    new = sum(1 for p in active.values() if p.created >= since)
    out: dict[str, Any] = {
        "status": "success",
        "count": len(active),
        "last_processed_ts": int(now_ts),
    }
    if flags.get("user_type"):
        out["user_type"] = {"New": new, "Returning": len(active) - new}
    if flags.get("new"):
        out["new"] = new
    if flags.get("os"):
        oses: Counter[str] = Counter()
        for profile in active.values():
            for platform in {platform_of(o) for o in profile.object_ids}:
                oses[platform] += 1
        out["os"] = dict(oses)
    for flag in ("session_source", "browser", "device"):
        if flags.get(flag):
            out[flag] = {}  # not carried by the server API: nothing to break down
    return out


def _groups(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    groups = body.get("groups")
    if not isinstance(groups, dict) or not groups:
        raise q.QueryError("groups must be an object of named groups")
    for label, group in groups.items():
        if not isinstance(group, dict):
            raise q.QueryError(f"groups.{label} must be an object")
    return groups


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _bucket(ts: int, trend_type: str) -> str:
    day = dt.datetime.fromtimestamp(ts, dt.UTC)
    if trend_type == "daily":
        return day.strftime("%Y%m%d")
    if trend_type == "monthly":
        return day.strftime("%Y%m")
    year, week, _ = day.isocalendar()
    return f"{year}{week:02d}"
