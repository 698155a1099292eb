"""Per-record validation of `/1/upload` records, with CleverTap's codes and message forms.

Pure functions: a record goes in, an `Accepted` (what the model applies) comes out, or a
`Rejected` carrying the code and the message without its `Skipped record number` suffix. The
codes, their order and the messages are tabled in docs/clevertap-behaviour.md; the messages known
from real recordings (515-520, 525) are verbatim, the others follow the documented phrase.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from typing import Any

from emulator.clevertap.profile_data import NORMALISED, TEXTS, age, check_profile_data
from emulator.clevertap.settings import AccountOptions
from emulator.clevertap.values import (
    EVENT_BAD,
    LONG_TEXT,
    MAX_KEY,
    MAX_VALUE_BYTES,
    PHONE,
    Rejected,
    check_key,
    check_string,
    number_text,
    plain,
)

ID_KEYS = ("identity", "objectId", "FBID", "GPID")
OBJECT_ID = re.compile(r"[A-Za-z0-9()!:@$_-]{1,64}\Z")
MAX_EPOCH_SECONDS = 9_999_999_999  # larger is milliseconds, which CleverTap refuses
TOKEN_TYPES = frozenset({"apns", "gcm", "fcm", "wns", "mpns", "chrome"})
# System events the upload API refuses (513), overridable per account.
RESTRICTED_EVENTS = (
    "App Launched",
    "App Installed",
    "App Uninstalled",
    "Notification Sent",
    "Notification Viewed",
    "Notification Clicked",
    "UTM Visited",
    "Session Concluded",
    "Stayed",
    "Geocluster Entered",
    "Geocluster Exited",
    "Push Impressions",
    "Reply Sent",
)


@dataclass(slots=True)
class Limits:
    """An account's `options` that bear on validation."""

    max_event_properties: int = 100
    max_profile_properties: int = 256
    restricted_events: frozenset[str] = frozenset(RESTRICTED_EVENTS)
    discarded_events: frozenset[str] = frozenset()
    _names: dict[str, bool] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_options(cls, options: AccountOptions) -> Limits:
        restricted = options.restricted_events
        return cls(
            max_event_properties=options.max_event_properties,
            max_profile_properties=options.max_profile_properties,
            restricted_events=frozenset(RESTRICTED_EVENTS if restricted is None else restricted),
            discarded_events=frozenset(options.discarded_events),
        )

    def plain_event_name(self, name: Any) -> bool:
        """`name` is a string event name `simple_event` may take: not blank, short, neither
        discarded nor restricted, not `Charged` (its Items have rules of their own). Judged once
        per name and kept: uploads repeat a few names, and these limits never change (new
        options make new `Limits`)."""
        if type(name) is not str:
            return False
        verdict = self._names.get(name)
        if verdict is None:
            verdict = (
                len(name) <= LONG_TEXT
                and bool(name.strip())
                and name not in self.discarded_events
                and name not in self.restricted_events
                and name != "Charged"
            )
            if len(self._names) < _NAMES_KEPT:
                self._names[name] = verdict
        return verdict


_EMPTY: dict[str, Any] = {}
_NAMES_KEPT = 10_000  # event names whose verdict `Limits` keeps
_NAME, _PHOTO = TEXTS  # the text-only profile properties, tested one by one on the hot path


@dataclass(slots=True)
class Accepted:
    kind: str  # "event" | "profile" | "token"
    ids: list[tuple[str, str]]  # identifiers in priority order, values as strings
    ts: int
    name: str = ""  # the event name; for a token, the CleverTap ID it belongs to
    data: dict[str, Any] = field(default_factory=dict)


def check(record: Any, now: int, limits: Limits) -> Accepted:
    """Validate one record; raise `Rejected` with the first failing rule."""
    if type(record) is not dict:
        raise Rejected(524, "Data is neither event nor profile")
    kind = record.get("type")
    if kind != "event" and kind != "profile" and kind != "token":
        raise Rejected(524, "Data is neither event nor profile")
    identity = lone_identity(record)
    if identity is not None:  # the common record: no other identifier to weigh
        ids = [("identity", identity)]
    else:
        ids = identifiers(record)
        if not ids:
            raise Rejected(523, "Identity is missing")
        if kind == "token":
            object_id = record.get("objectId")
            if not isinstance(object_id, str) or not OBJECT_ID.match(object_id):
                raise Rejected(530, "Invalid objectId")
            ts = _ts(record, now)
            return Accepted("token", ids, ts, object_id, _token(record, object_id))
        object_id = record.get("objectId")
        if object_id is not None and (type(object_id) is not str or not OBJECT_ID.match(object_id)):
            raise Rejected(526, "objectId is invalid")
    if kind == "token":
        raise Rejected(530, "Invalid objectId")
    ts = record.get("ts", now)
    if type(ts) is not int or not 0 < ts <= MAX_EPOCH_SECONDS:
        raise Rejected(525, "Timestamp should be present in the Unix Epoch format")
    if kind == "event":
        return _event(record, ids, ts, limits)
    return Accepted(
        "profile",
        ids,
        ts,
        "",
        check_profile_data(record.get("profileData"), limits.max_profile_properties),
    )


def lone_identity(record: dict[str, Any]) -> str | None:
    """The record's identity when it is a non-blank string and the only identifier."""
    identity = record.get("identity")
    if (
        type(identity) is not str
        or "objectId" in record
        or "FBID" in record
        or "GPID" in record
        or not identity.strip()
    ):
        return None
    return identity


def simple_event(
    record: Any, now: int, limits: Limits
) -> tuple[str, int, str, dict[str, Any]] | None:
    """The commonest record in one pass: an event identified by a string identity alone, with
    short plain properties. Answers (identity, ts, name, evtData), or None for anything else, which
    `check` then decides. It accepts only records `check` accepts, with the same result
    (tests/clevertap/test_records.py checks that on generated records)."""
    if type(record) is not dict or record.get("type") != "event":
        return None
    # One condition, cheapest tests first; `lone_identity`'s rules, inlined (the hot path).
    identity = record.get("identity")
    ts = record.get("ts", now)
    data = record.get("evtData", _EMPTY)
    name: Any = record.get("evtName")
    if (
        type(identity) is str
        and type(ts) is int
        and 0 < ts <= MAX_EPOCH_SECONDS
        and type(data) is dict
        and len(data) <= limits.max_event_properties
        and limits.plain_event_name(name)
        and "objectId" not in record
        and "FBID" not in record
        and "GPID" not in record
        and identity.strip()
        and plain(data)
    ):
        return identity, ts, name, data
    return None


def simple_profile(record: Any, limits: Limits) -> tuple[str, dict[str, Any]] | None:
    """`simple_event`'s twin for the commonest profile record: a string identity alone, and
    properties that need no normalising (plain custom values, a text Name or Photo). Answers
    (identity, profileData) or None; `check` decides the rest."""
    if type(record) is not dict or record.get("type") != "profile":
        return None
    identity = lone_identity(record)
    if identity is None:
        return None
    if "ts" in record:
        ts = record["ts"]
        if type(ts) is not int or not 0 < ts <= MAX_EPOCH_SECONDS:
            return None
    data = record.get("profileData")
    if (
        type(data) is not dict
        or len(data) > limits.max_profile_properties
        or not NORMALISED.isdisjoint(data)
        or type(data.get(_NAME, "")) is not str
        or type(data.get(_PHOTO, "")) is not str
        or not plain(data)
    ):
        return None
    return identity, data


def identifiers(record: dict[str, Any]) -> list[tuple[str, str]]:
    """The record's usable identifiers, in priority order; numbers become strings."""
    found: list[tuple[str, str]] = []
    for key in ID_KEYS:
        value = record.get(key)
        if value is None or isinstance(value, bool):
            continue
        if isinstance(value, int | float) and key == "identity":
            value = number_text(value)
        if isinstance(value, str) and value.strip():
            found.append((key, value))
    return found


def _ts(record: dict[str, Any], now: int) -> int:
    if "ts" not in record:
        return now
    ts = record["ts"]
    if type(ts) is not int or not 0 < ts <= MAX_EPOCH_SECONDS:
        raise Rejected(525, "Timestamp should be present in the Unix Epoch format")
    return ts


def _event(record: dict[str, Any], ids: list[tuple[str, str]], ts: int, limits: Limits) -> Accepted:
    name: Any = record.get("evtName")
    if type(name) is not str or not name.strip():
        raise Rejected(509, "Event name is mandatory")
    if len(name) > LONG_TEXT and len(name.encode()) > MAX_VALUE_BYTES:
        raise Rejected(512, f"{EVENT_BAD} Event name is longer than {MAX_VALUE_BYTES} bytes")
    if name in limits.discarded_events:
        raise Rejected(528, f"Discarded event is raised : {name}")
    if name in limits.restricted_events:
        raise Rejected(513, f"Raised a restricted system event : {name}")
    data = record.get("evtData", _EMPTY)
    if type(data) is not dict:
        raise Rejected(512, f"{EVENT_BAD} evtData must be an object")
    if len(data) > limits.max_event_properties:
        raise Rejected(522, "Event properties limit exceeded")
    if name == "Charged" and "Items" in data and not isinstance(data["Items"], list):
        raise Rejected(512, f"{EVENT_BAD} Items must be an array of objects")
    if plain(data):
        return Accepted("event", ids, ts, name, data)
    for key, value in data.items():
        if not 0 < len(key) <= MAX_KEY:
            check_key(key, EVENT_BAD)
        kind = type(value)
        if kind is str:
            if len(value) > LONG_TEXT or value[:1] == "$":
                check_string(key, value, EVENT_BAD)
        elif kind is int or kind is float or kind is bool or value is None:
            continue
        elif isinstance(value, list):
            if name != "Charged" or key != "Items":
                raise Rejected(512, f"{EVENT_BAD} Property {key!r} cannot be an array")
            _items(value)
        elif isinstance(value, dict):
            raise Rejected(512, f"{EVENT_BAD} Property {key!r} cannot be an object")
    return Accepted("event", ids, ts, name, data)


def _items(items: list[Any]) -> None:
    for item in items:
        if not isinstance(item, dict):
            raise Rejected(512, f"{EVENT_BAD} Items must be an array of objects")
        for key, value in item.items():
            check_key(key, EVENT_BAD)
            if isinstance(value, str):
                check_string(key, value, EVENT_BAD)
            elif isinstance(value, list | dict):
                raise Rejected(512, f"{EVENT_BAD} Item property {key!r} must be a single value")


def _token(record: dict[str, Any], object_id: str) -> dict[str, Any]:
    data = record.get("tokenData")
    if not isinstance(data, dict):
        raise Rejected(531, "Invalid token data")
    token_id = data.get("id")
    if token_id is None or token_id == "":
        raise Rejected(532, "Token id is not present")
    if not isinstance(token_id, str):
        raise Rejected(531, "Invalid token data")
    kind = data.get("type")
    if kind is None or kind == "":
        raise Rejected(533, "Token type is not present")
    if not isinstance(kind, str) or kind not in TOKEN_TYPES:
        raise Rejected(535, "Invalid token data")
    if kind == "chrome":
        keys = data.get("keys")
        if not isinstance(keys, dict) or not all(
            isinstance(keys.get(k), str) and keys.get(k) for k in ("p256dh", "auth")
        ):
            raise Rejected(535, "Invalid token data")
    if (kind == "apns" and platform_of(object_id) != "iOS") or (
        kind in ("fcm", "gcm") and platform_of(object_id) != "Android"
    ):
        raise Rejected(534, "Token type is not valid for objectId")
    token: dict[str, Any] = {"type": kind, "id": token_id}
    if kind == "chrome":
        token["keys"] = {"p256dh": data["keys"]["p256dh"], "auth": data["keys"]["auth"]}
    return token


def platform_of(object_id: str) -> str:
    """The SDKs' CleverTap ID prefixes: `__` Android, `-` iOS; anything else is Web."""
    if object_id.startswith("__"):
        return "Android"
    if object_id.startswith("-"):
        return "iOS"
    return "Web"


def echo(record: Any, ts: int | None) -> Any:
    """The normalised copy CleverTap echoes in `unprocessed`: identities as strings, Phone as the
    number without `+` (as in the real recording), `ts` filled in when it was defaulted."""
    if not isinstance(record, dict):
        return record
    out = dict(record)
    ident = out.get("identity")
    if isinstance(ident, int | float) and not isinstance(ident, bool):
        out["identity"] = number_text(ident)
    if "ts" not in out and ts is not None:
        out["ts"] = ts
    data = out.get("profileData")
    if isinstance(data, dict):
        data = dict(data)
        for key in ("identity", "Identity"):
            value = data.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool):
                data[key] = number_text(value)
        phone = data.get("Phone")
        if isinstance(phone, str) and PHONE.match(phone):
            data["Phone"] = int(phone[1:])
        if isinstance(data.get("Age"), str):
            with contextlib.suppress(Rejected):  # a bad Age is echoed as sent
                data["Age"] = age(data["Age"])
        out["profileData"] = data
    return out
