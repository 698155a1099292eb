"""CleverTap's query language, the part downloads, counts and campaign `where` share:
`event_name`, `from`/`to` (yyyymmdd, inclusive, UTC days), `event_properties` (older name
`props`) and `common_profile_properties.profile_fields` as `[{name, operator, value}]`.

A profile field named `Segments` (CleverTap's segment filter, which its dashboard offers beside
the profile properties) is the list of the segments the profile belongs to, by name and by id,
unless the profile has a property of that name (docs/clevertap-behaviour.md, "Campaigns")."""

from __future__ import annotations

import time
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import compress
from typing import Any

from emulator.clevertap.eventlog import Events
from emulator.clevertap.models import Account
from emulator.clevertap.profile import Profile
from emulator.core.errors import ApiError


class QueryError(ApiError):
    """A query CleverTap would refuse: answered as a 400 fail envelope."""

    def __init__(self, message: str) -> None:
        super().__init__(400, message)


@dataclass(slots=True)
class Filter:
    name: str
    operator: str
    value: Any

    def matches(self, props: dict[str, Any]) -> bool:
        if self.operator == "exists":
            return self.name in props
        if self.name not in props:
            return self.operator in ("not_equals", "not_contains")
        return bool(_OPERATORS[self.operator](props[self.name], self.value))


def _equals(actual: Any, expected: Any) -> bool:
    options = expected if isinstance(expected, list) else [expected]
    actual_values = actual if isinstance(actual, list) else [actual]
    return any(_same(a, o) for a in actual_values for o in options)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, int | float) and not isinstance(a, bool) and isinstance(b, str):
        try:
            return float(b) == a
        except ValueError:
            return False
    return bool(a == b)


def _compare(op: str) -> Any:
    def check(actual: Any, expected: Any) -> bool:
        try:
            a, b = float(actual), float(expected)
        except (TypeError, ValueError):
            return False
        return {
            "greater_than": a > b,
            "greater_than_equals": a >= b,
            "less_than": a < b,
            "less_than_equals": a <= b,
        }[op]

    return check


def _contains(actual: Any, expected: Any) -> bool:
    if isinstance(actual, list):
        return any(_same(a, expected) for a in actual)
    return str(expected) in str(actual)


_OPERATORS: dict[str, Any] = {
    "equals": _equals,
    "not_equals": lambda a, b: not _equals(a, b),
    "greater_than": _compare("greater_than"),
    "greater_than_equals": _compare("greater_than_equals"),
    "less_than": _compare("less_than"),
    "less_than_equals": _compare("less_than_equals"),
    "contains": _contains,
    "not_contains": lambda a, b: not _contains(a, b),
    "exists": None,
}
OPERATORS = tuple(_OPERATORS)


@dataclass(slots=True)
class Query:
    event_name: str | None = None
    day_from: int | None = None
    day_to: int | None = None
    event_filters: list[Filter] = field(default_factory=list)
    profile_filters: list[Filter] = field(default_factory=list)

    def day_ok(self, ts: int) -> bool:
        if self.day_from is None and self.day_to is None:
            return True
        day = day_of(ts)
        return (self.day_from is None or day >= self.day_from) and (
            self.day_to is None or day <= self.day_to
        )


def parse(body: Any, *, need_event: bool) -> Query:
    if not isinstance(body, dict):
        raise QueryError("The query must be a JSON object")
    query = Query()
    name = body.get("event_name")
    if name is not None:
        if not isinstance(name, str) or not name:
            raise QueryError("event_name must be a non-empty string")
        query.event_name = name
    elif need_event:
        raise QueryError("event_name is mandatory")
    query.day_from = parse_day(body, "from")
    query.day_to = parse_day(body, "to")
    if query.day_from and query.day_to and query.day_from > query.day_to:
        raise QueryError("from must not be after to")
    props = body.get("event_properties", body.get("props"))
    query.event_filters = _filters(props, "event_properties")
    common = body.get("common_profile_properties")
    if common is not None:
        if not isinstance(common, dict):
            raise QueryError("common_profile_properties must be an object")
        query.profile_filters = _filters(common.get("profile_fields"), "profile_fields")
    return query


def parse_day(body: dict[str, Any], key: str) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    text = str(value) if isinstance(value, int | str) and not isinstance(value, bool) else ""
    if len(text) != 8 or not (text.isascii() and text.isdigit()):
        raise QueryError(f"{key} must be a date as yyyymmdd")
    month, day = int(text[4:6]), int(text[6:])
    if not (1 <= month <= 12 and 1 <= day <= 31):
        raise QueryError(f"{key} must be a date as yyyymmdd")
    return int(text)


def _filters(raw: Any, where: str) -> list[Filter]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise QueryError(f"{where} must be an array of {{name, operator, value}}")
    out = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise QueryError(f"each {where} entry needs a name")
        operator = item.get("operator", "equals")
        if not isinstance(operator, str) or operator not in _OPERATORS:
            raise QueryError(f"Unknown operator {operator!r}; known: {', '.join(OPERATORS)}")
        if operator != "exists" and "value" not in item:
            raise QueryError(f"{where} entry {item['name']!r} needs a value")
        out.append(Filter(item["name"], operator, item.get("value")))
    return out


def day_of(ts: int | float) -> int:
    t = time.gmtime(ts)
    return t.tm_year * 10000 + t.tm_mon * 100 + t.tm_mday


def packed(ts: int | float) -> int:
    """Downloads carry event times as a yyyyMMddHHmmss number."""
    t = time.gmtime(ts)
    return (
        ((t.tm_year * 100 + t.tm_mon) * 100 + t.tm_mday) * 1_000_000
        + t.tm_hour * 10000
        + t.tm_min * 100
        + t.tm_sec
    )


SEGMENTS = "Segments"


def memberships(account: Account, profile: Profile) -> list[Any]:
    """The names and ids of the segments `profile` is a member of (under any of its IDs)."""
    mine = set(profile.object_ids)
    out: list[Any] = []
    for segment in account.segments:
        if mine.intersection(segment.get("members", ())):
            out += [segment["name"], segment["id"]]
    return out


def profile_check(account: Account, filters: list[Filter]) -> Callable[[Profile], bool]:
    """Whether a profile passes `filters`; a `Segments` filter sees its memberships."""
    if not any(f.name == SEGMENTS for f in filters):
        return lambda p: all(f.matches(p.data) for f in filters)
    seen: dict[int, bool] = {}

    def check(profile: Profile) -> bool:
        found = seen.get(profile.pid)
        if found is None:
            props = profile.data
            if SEGMENTS not in props:
                props = {**props, SEGMENTS: memberships(account, profile)}
            found = seen[profile.pid] = all(f.matches(props) for f in filters)
        return found

    return check


def events(account: Account, query: Query) -> Iterator[tuple[Profile, str, int, dict[str, Any]]]:
    """Events matching the query, oldest stored first, with their properties parsed."""
    found = Found(account, query)
    for pid, name, ts, data in account.events.at(found.positions):
        yield found.owners[pid], name, ts, data


class Found:
    """The events a query matches, as positions in the account's event log (`positions`,
    ascending) and the profile each belongs to (`owners`, by stored pid).

    Worked out column by column: the name column is scanned in C, times and pids are read from
    their arrays, and the properties are decoded only when the query filters on them. A day is
    checked once however many events it holds. Measured at 1M stored events, a day of one
    event's 143k: 0.3 s, against 5 s to decode every event and build every record (bench/
    README.md, `store_scale.py`)."""

    __slots__ = ("events", "owners", "positions")

    def __init__(self, account: Account, query: Query) -> None:
        self.events: Events = account.events
        candidates = self.events.positions(query.event_name)
        if query.day_from is not None or query.day_to is not None:
            candidates = _in_days(self.events, candidates, query)
        if query.event_filters:
            filters = query.event_filters
            candidates = array(
                "q",
                (
                    i
                    for i, (_, _, _, data) in zip(
                        candidates, self.events.at(candidates), strict=True
                    )
                    if all(f.matches(data) for f in filters)
                ),
            )
        profile_ok = profile_check(account, query.profile_filters)
        pids = self.events.pids
        resolved: dict[int, Profile | None] = {}
        self.owners: dict[int, Profile] = {}
        self.positions = array("q")
        keep = self.positions.append
        for i in candidates:
            pid = pids[i]
            if pid in resolved:
                owner = resolved[pid]
            else:
                owner = account.resolve(pid)
                resolved[pid] = owner = owner if owner is not None and profile_ok(owner) else None
                if owner is not None:
                    self.owners[pid] = owner
            if owner is not None:
                keep(i)


def _in_days(events: Events, candidates: array[int], query: Query) -> array[int]:
    """The candidates stored on a day in the query's range, sifted in C: the range is a span of
    times, its ends found by bisecting UTC days (`ts // 86400`) with `day_of` itself."""
    low = _first_day(query.day_from, bisect_left) if query.day_from is not None else _DAYS.start
    high = _first_day(query.day_to, bisect_right) if query.day_to is not None else _DAYS.stop
    span = range(
        low * 86400 if low > _DAYS.start else -(1 << 63),
        high * 86400 if high < _DAYS.stop else 1 << 63,
    )
    inside = map(span.__contains__, map(events.times.__getitem__, candidates))
    return array("q", compress(candidates, inside))


# The UTC days `time.gmtime` takes everywhere: 0001-01-01 to 9999-12-31.
_DAYS = range(-719_162, 2_932_897)


def _first_day(yyyymmdd: int, bisect: Callable[..., int]) -> int:
    """The first day (days since 1970-01-01) whose date is on or after `yyyymmdd`
    (`bisect_left`), or after it (`bisect_right`)."""
    return _DAYS.start + bisect(_DAYS, yyyymmdd, key=lambda day: day_of(day * 86400))


class EventRecords:
    """An events download's records, built a page at a time when the page is read (a cursor
    holds the matching positions, not a record per event). A page shows the profile as it is
    when the page is read; the events are the ones stored when the cursor was made."""

    __slots__ = ("_found", "_kept")

    def __init__(self, found: Found) -> None:
        self._found = found
        self._kept: dict[int, list[dict[str, Any]]] = {}  # the last chunk a page decoded

    def __len__(self) -> int:
        return len(self._found.positions)

    def page(self, offset: int, size: int) -> list[dict[str, Any]]:
        """Records `offset` to `offset + size`, built in comprehensions: a profile's part once a
        page, a minute's packed time (yyyyMMddHHmm00) once a page."""
        found = self._found
        events = found.events
        positions = found.positions[offset : offset + size]
        pids = at_positions(events.pids, positions)
        times = at_positions(events.times, positions)
        people = {pid: download_person(found.owners[pid]) for pid in set(pids)}
        minutes = {minute: packed(minute * 60) for minute in {ts // 60 for ts in times}}
        stamps = [minutes[ts // 60] + ts % 60 for ts in times]
        none: dict[str, Any] = {}  # every record's `session_props`: one object, never changed
        return [
            {"profile": person, "ts": stamp, "event_props": props, "session_props": none}
            for person, stamp, props in zip(
                map(people.__getitem__, pids),
                stamps,
                events.data_at(positions, self._kept),
                strict=True,
            )
        ]


def at_positions(column: array[int], positions: array[int]) -> Sequence[int]:
    """`column`'s values at `positions` (ascending): a slice when they are consecutive."""
    if positions and positions[-1] - positions[0] == len(positions) - 1:
        return column[positions[0] : positions[-1] + 1]
    return list(map(column.__getitem__, positions))


def event_records(account: Account, query: Query) -> EventRecords:
    return EventRecords(Found(account, query))


def profiles(account: Account, query: Query) -> list[Profile]:
    """Profiles that did the query's event (if any) in range, with matching properties."""
    no_days = query.day_from is None and query.day_to is None
    if query.event_name is None and not query.event_filters and no_days:
        profile_ok = profile_check(account, query.profile_filters)
        return [p for p in account.profiles.values() if profile_ok(p)]
    seen: dict[int, Profile] = {}
    for profile, _, _, _ in events(account, query):
        seen.setdefault(profile.pid, profile)
    return list(seen.values())


def download_record(profile: Profile, ts: int, props: dict[str, Any]) -> dict[str, Any]:
    """An event as `/1/events.json` pages carry it: the profile, the packed time, properties."""
    return {
        "profile": download_person(profile),
        "ts": packed(ts),
        "event_props": props,
        "session_props": {},
    }


def download_person(profile: Profile) -> dict[str, Any]:
    """The `profile` of a download's event record."""
    person: dict[str, Any] = {
        "objectId": profile.guid,
        "platform": profile.platform_info()[0]["platform"],
    }
    if profile.identities:
        person["identity"] = profile.identities[0]
    if "Email" in profile.data:
        person["email"] = profile.data["Email"]
    person["profileData"] = dict(profile.data)
    return person
