"""Per-record validation of `/1/upload` records, with CleverTap's codes and message forms.

Pure functions: a record goes in, an `Accepted` (what the model applies) comes out, or a
`Rejected` carrying the code and the message without its `Skipped record number` suffix. The
codes, their order and the messages are tabled in docs/clevertap-behaviour.md; the messages known
from real recordings (515-520, 525) are verbatim, the others follow the documented phrase.
"""

from __future__ import annotations

import contextlib
import math
import re
from dataclasses import dataclass, field
from typing import Any

ID_KEYS = ("identity", "objectId", "FBID", "GPID")
OBJECT_ID = re.compile(r"[A-Za-z0-9()!:@$_-]{1,64}\Z")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+\Z")
PHONE = re.compile(r"\+[1-9][0-9]{5,14}\Z")
DATE = re.compile(r"\$D_-?[0-9]{1,12}\Z")
MAX_EPOCH_SECONDS = 9_999_999_999  # larger is milliseconds, which CleverTap refuses
MAX_KEY = 120
MAX_VALUE_BYTES = 512
# Strings longer than this many characters may be over MAX_VALUE_BYTES once UTF-8 encoded.
LONG_TEXT = MAX_VALUE_BYTES // 4
TOKEN_TYPES = frozenset({"apns", "gcm", "fcm", "wns", "mpns", "chrome"})
OPERATORS = frozenset({"$add", "$remove", "$incr", "$decr", "$delete"})
MSG_KEYS = frozenset({"MSG-email", "MSG-push", "MSG-sms", "MSG-whatsapp"})
GENDERS = {
    "m": "M",
    "male": "M",
    "f": "F",
    "female": "F",
    "o": "O",
    "other": "O",
    "others": "O",
    "u": "U",
    "unknown": "U",
}
EDUCATION = frozenset({"School", "College", "Graduate"})
YES_NO = frozenset({"Y", "N"})
PROFILE_BAD = "Profile data is incorrect."
EVENT_BAD = "Invalid event structure."
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

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> Limits:
        limits = cls()
        if "max_event_properties" in options:
            limits.max_event_properties = options["max_event_properties"]
        if "max_profile_properties" in options:
            limits.max_profile_properties = options["max_profile_properties"]
        if "restricted_events" in options:
            limits.restricted_events = frozenset(options["restricted_events"])
        if "discarded_events" in options:
            limits.discarded_events = frozenset(options["discarded_events"])
        return limits


_EMPTY: dict[str, Any] = {}


class Rejected(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def error(self, number: int) -> str:
        """The full message, ended as CleverTap ends it (525 with a space, the rest without)."""
        sep = ". " if self.code == 525 else "."
        return f"{self.message}{sep}Skipped record number : {number}"


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
    return Accepted("profile", ids, ts, "", _profile(record.get("profileData"), limits))


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
    (tests/test_clevertap_records.py checks that on generated records)."""
    if type(record) is not dict or record.get("type") != "event":
        return None
    identity = lone_identity(record)
    if identity is None:
        return None
    ts = record.get("ts", now)
    if type(ts) is not int or not 0 < ts <= MAX_EPOCH_SECONDS:
        return None
    name = record.get("evtName")
    if (
        type(name) is not str
        or len(name) > LONG_TEXT
        or not name.strip()
        or name in limits.discarded_events
        or name in limits.restricted_events
        or name == "Charged"  # its Items have rules of their own
    ):
        return None
    data = record.get("evtData", _EMPTY)
    if type(data) is not dict or len(data) > limits.max_event_properties or not plain(data):
        return None
    return identity, ts, name, data


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
        or not _NORMALISED.isdisjoint(data)
        or not plain(data)
        or any(type(data.get(k, "")) is not str for k in _TEXTS)
    ):
        return None
    return identity, data


def plain(data: dict[str, Any]) -> bool:
    """Every property fine at a glance: a 1-120 char name and a number, boolean, null or a short
    string that is not a `$` value. False means look closer (which may still accept)."""
    for key, value in data.items():
        if not 0 < len(key) <= MAX_KEY:
            return False
        kind = type(value)
        if kind is str:
            # Only long strings can be over 512 bytes, only `$`-strings can be bad dates.
            if len(value) > LONG_TEXT or value[:1] == "$":
                return False
        elif not (kind is int or kind is float or kind is bool or value is None):
            return False
    return True


def identifiers(record: dict[str, Any]) -> list[tuple[str, str]]:
    """The record's usable identifiers, in priority order; numbers become strings."""
    found: list[tuple[str, str]] = []
    for key in ID_KEYS:
        value = record.get(key)
        if value is None or isinstance(value, bool):
            continue
        if isinstance(value, int | float) and key == "identity":
            value = _number_text(value)
        if isinstance(value, str) and value.strip():
            found.append((key, value))
    return found


def _number_text(value: int | float) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _ts(record: dict[str, Any], now: int) -> int:
    if "ts" not in record:
        return now
    ts = record["ts"]
    if type(ts) is not int or not 0 < ts <= MAX_EPOCH_SECONDS:
        raise Rejected(525, "Timestamp should be present in the Unix Epoch format")
    return ts


def _event(record: dict[str, Any], ids: list[tuple[str, str]], ts: int, limits: Limits) -> Accepted:
    name = record.get("evtName")
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
            _key(key, EVENT_BAD)
        kind = type(value)
        if kind is str:
            if len(value) > LONG_TEXT or value[:1] == "$":
                _string(key, value, EVENT_BAD)
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
            _key(key, EVENT_BAD)
            if isinstance(value, str):
                _string(key, value, EVENT_BAD)
            elif isinstance(value, list | dict):
                raise Rejected(512, f"{EVENT_BAD} Item property {key!r} must be a single value")


def _key(key: str, prefix: str) -> None:
    if not key or len(key) > MAX_KEY:
        raise Rejected(512, f"{prefix} Property name {key[:40]!r} must be 1 to {MAX_KEY} chars")


def _string(key: str, value: str, prefix: str) -> None:
    # Cheap length test first: only long strings can be over 512 bytes.
    if len(value) > LONG_TEXT and len(value.encode()) > MAX_VALUE_BYTES:
        raise Rejected(512, f"{prefix} Value of {key!r} is longer than {MAX_VALUE_BYTES} bytes")
    if value.startswith("$D_") and not DATE.match(value):
        raise Rejected(512, f"{prefix} Value of {key!r} is not a valid $D_ date")


def _profile(data: Any, limits: Limits) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise Rejected(512, f"{PROFILE_BAD} profileData must be an object")
    custom = 0
    out: dict[str, Any] = {}
    special = _SPECIAL
    for key, value in data.items():
        checker = special.get(key)
        if checker is not None:
            # `$delete` removes a special property like any other; its value is not checked.
            if type(value) is dict and value.keys() == {"$delete"} and key not in _IDENTITY_KEYS:
                out[key] = value
            else:
                out[key] = checker(value)
            continue
        custom += 1
        if not 0 < len(key) <= MAX_KEY:
            _key(key, PROFILE_BAD)
        kind = type(value)
        if kind is str:
            if len(value) > LONG_TEXT or value[:1] == "$":
                _string(key, value, PROFILE_BAD)
            out[key] = value
        elif kind is int or kind is float or kind is bool or value is None:
            out[key] = value
        else:
            out[key] = _custom(key, value)
    if custom > limits.max_profile_properties:
        raise Rejected(522, "Event properties limit exceeded")
    return out


def _custom(key: str, value: Any) -> Any:
    if isinstance(value, str):
        _string(key, value, PROFILE_BAD)
        return value
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, list):
        return _multi(key, value)
    # dict: exactly one operator
    if len(value) != 1:
        raise Rejected(512, f"{PROFILE_BAD} Value of {key!r} must hold one $ operator")
    ((op, operand),) = value.items()
    if op not in OPERATORS:
        raise Rejected(512, f"{PROFILE_BAD} Unknown operator {op!r} on {key!r}")
    if op in ("$incr", "$decr"):
        if isinstance(operand, bool) or not isinstance(operand, int | float):
            raise Rejected(512, f"{PROFILE_BAD} {op} on {key!r} needs a number")
    elif op in ("$add", "$remove"):
        operand = _multi(key, operand if isinstance(operand, list) else [operand])
    return {op: operand}


def _multi(key: str, values: list[Any]) -> list[Any]:
    for item in values:
        if isinstance(item, str):
            _string(key, item, PROFILE_BAD)
        elif isinstance(item, bool) or not isinstance(item, int | float):
            raise Rejected(512, f"{PROFILE_BAD} Values of {key!r} must be strings or numbers")
    return values


def _identity(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _number_text(value)
    if isinstance(value, str) and value.strip():
        return value
    raise Rejected(512, f"{PROFILE_BAD} identity must be a string or a number")


def _gender(value: Any) -> str:
    if isinstance(value, str) and value.lower() in GENDERS:
        return GENDERS[value.lower()]
    raise Rejected(514, f"{PROFILE_BAD} Gender is not valid")


def _yes_no(code: int, name: str) -> Any:
    def check(value: Any) -> str:
        if isinstance(value, str | bool) and value in YES_NO:
            return str(value)
        raise Rejected(code, f"{PROFILE_BAD} {name} needs to be Y/N")

    return check


def _education(value: Any) -> str:
    if isinstance(value, str) and value in EDUCATION:
        return str(value)
    raise Rejected(518, f"{PROFILE_BAD} Education needs to be School/College/Graduate.")


def _age(value: Any) -> int | float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        if math.isfinite(value):
            return value
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            pass
        else:
            if math.isfinite(number):
                return int(number) if number.is_integer() else number
    raise Rejected(520, f"{PROFILE_BAD} Age is invalid")


def _matching(pattern: re.Pattern[str], code: int, problem: str) -> Any:
    """A check for a string special key that must match `pattern` (Email, Phone, DOB)."""

    def check(value: Any) -> str:
        if isinstance(value, str) and pattern.match(value):
            return value
        raise Rejected(code, f"{PROFILE_BAD} {problem}")

    return check


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise Rejected(512, f"{PROFILE_BAD} Subscription flags (MSG-*) must be true or false")


def _text(value: Any) -> str:
    if type(value) is str:
        if len(value) > LONG_TEXT or value[:1] == "$":
            _string("Name", value, PROFILE_BAD)
        return value
    raise Rejected(512, f"{PROFILE_BAD} Name and Photo must be strings")


_SPECIAL: dict[str, Any] = {
    "identity": _identity,
    "Identity": _identity,
    "Email": _matching(EMAIL, 515, "Email is not valid"),
    "Phone": _matching(PHONE, 516, "Phone number is not valid"),
    "Gender": _gender,
    "Employed": _yes_no(517, "Employed"),
    "Married": _yes_no(519, "Married"),
    "Education": _education,
    "Age": _age,
    "DOB": _matching(DATE, 512, "DOB must be a $D_<epoch seconds> date"),
    "Name": _text,
    "Photo": _text,
    **dict.fromkeys(MSG_KEYS, _flag),
}


_IDENTITY_KEYS = frozenset({"identity", "Identity"})
# Special profile keys `simple_profile` leaves to `check`: all but the two plain text ones.
_TEXTS = ("Name", "Photo")
_NORMALISED = frozenset(_SPECIAL) - set(_TEXTS)


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
    if kind not in TOKEN_TYPES:
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
    token = {"type": kind, "id": token_id}
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
        out["identity"] = _number_text(ident)
    if "ts" not in out and ts is not None:
        out["ts"] = ts
    data = out.get("profileData")
    if isinstance(data, dict):
        data = dict(data)
        for key in ("identity", "Identity"):
            value = data.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool):
                data[key] = _number_text(value)
        phone = data.get("Phone")
        if isinstance(phone, str) and PHONE.match(phone):
            data["Phone"] = int(phone[1:])
        if isinstance(data.get("Age"), str):
            with contextlib.suppress(Rejected):  # a bad Age is echoed as sent
                data["Age"] = _age(data["Age"])
        out["profileData"] = data
    return out
