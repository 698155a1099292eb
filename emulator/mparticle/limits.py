"""mParticle's limits on what an incoming batch carries, applied before it is stored
(https://docs.mparticle.com/guides/default-service-limits/, "Incoming Event Batches").

For server-to-server data the page states two outcomes: an event name over 256 characters is
truncated, and so is an event attribute name over 256. Those two are always truncated. For the
other limits it describes only what the SDKs do on the device, so what the server does is the
input's `over_limit` setting (contract `mparticle/workspace`):

- `truncate` (default): a string is cut to its limit, a list to its first entries, and past a
  count the first attributes (in the batch's order) are kept;
- `drop`: the attribute that breaks a limit is removed (past a count, the ones after the limit);
- `refuse`: the batch is refused with the Events API's 400 naming the limit.

Nothing is silent: every change is a `Note` (where, what) that the handler puts in the
journal entry's verdict as a warning. Plain Python, no HTTP.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

import jsonschema_rs

OverLimit = Literal["truncate", "drop", "refuse"]
OVER_LIMIT: tuple[OverLimit, ...] = ("truncate", "drop", "refuse")

MAX_EVENT_NAME = 256
MAX_EVENT_ATTRIBUTES = 100
MAX_ATTRIBUTE_NAME = 256
MAX_ATTRIBUTE_VALUE = 4096
MAX_USER_ATTRIBUTES = 100
MAX_USER_ATTRIBUTE_NAME = 256
MAX_USER_ATTRIBUTE_VALUE = 4096
MAX_LIST_ENTRIES = 1000
MAX_LIST_ENTRY = 512
# The event data fields that carry an event's name (custom events, screen views).
NAME_FIELDS = ("event_name", "screen_name")


@dataclass(frozen=True, slots=True)
class Note:
    """One limit a batch went past: where (a JSON path under the batch) and what was done."""

    path: str
    message: str


class OverLimitError(Exception):
    """A limit a batch goes past under `refuse`: the first note."""

    def __init__(self, note: Note) -> None:
        super().__init__(note.message)
        self.note = note


def enforce(batch: dict[str, Any], policy: OverLimit) -> list[Note]:
    """Bring `batch` (changed in place) within the limits; answers what was changed. Under
    `refuse` a limit whose server-side outcome the docs leave open raises `OverLimitError`
    (the documented truncations still apply)."""
    if within(batch):
        return []  # the common batch: nothing to change, nothing built
    return enforce_all(batch, policy)


def enforce_all(batch: dict[str, Any], policy: OverLimit) -> list[Note]:
    """`enforce` without the `within` short cut: every field walked."""
    fixer = _Fixer(policy)
    events = batch.get("events")
    for index, event in enumerate(events if isinstance(events, list) else ()):
        data = event.get("data") if isinstance(event, dict) else None
        if isinstance(data, dict):
            fixer.event(data, f"$.events[{index}].data")
    attributes = batch.get("user_attributes")
    if isinstance(attributes, dict) and attributes:
        batch["user_attributes"] = fixer.user_attributes(attributes, "$.user_attributes")
    return fixer.notes


def _limits_schema() -> dict[str, Any]:
    """`within_walk` as a JSON Schema, so the check runs compiled (jsonschema-rs) over the
    batch (or a bulk request's whole array) without a Python step per field. Each keyword
    applies only to its own type (`maxLength` to strings, `maxItems` to arrays, `properties`
    to objects), as the walk skips what is not the type it reads."""
    value: dict[str, Any] = {"maxLength": MAX_USER_ATTRIBUTE_VALUE, "maxItems": MAX_LIST_ENTRIES}
    value["items"] = {"maxLength": MAX_LIST_ENTRY}
    attributes = {
        "maxProperties": MAX_EVENT_ATTRIBUTES,
        "propertyNames": {"maxLength": MAX_ATTRIBUTE_NAME},
        "additionalProperties": {"maxLength": MAX_ATTRIBUTE_VALUE},
    }
    change = {
        "if": {
            "required": ["user_attribute_name"],
            "properties": {"user_attribute_name": {"type": "string"}},
        },
        "then": {
            "required": ["new"],  # the walk writes `new: null` in
            "properties": {
                "user_attribute_name": {"maxLength": MAX_USER_ATTRIBUTE_NAME},
                "new": value,
            },
        },
    }
    data = {
        "properties": {
            **{name: {"maxLength": MAX_EVENT_NAME} for name in NAME_FIELDS},
            "custom_attributes": attributes,
        },
        **change,
    }
    return {
        "properties": {
            "events": {"items": {"properties": {"data": data}}},
            "user_attributes": {
                "maxProperties": MAX_USER_ATTRIBUTES,
                "propertyNames": {"maxLength": MAX_USER_ATTRIBUTE_NAME},
                "additionalProperties": value,
            },
        }
    }


_WITHIN = jsonschema_rs.validator_for(_limits_schema())
_ALL_WITHIN = jsonschema_rs.validator_for({"items": _limits_schema()})


def within(batch: dict[str, Any]) -> bool:
    """Whether `enforce` would leave `batch` as it is (`within_walk`, compiled)."""
    try:
        return bool(_WITHIN.is_valid(batch))
    except (ValueError, TypeError):  # a value jsonschema-rs cannot read: the walk decides
        return within_walk(batch) if isinstance(batch, dict) else True


def all_within(batches: list[Any]) -> bool:
    """Whether `within` holds for every batch of a bulk request: one compiled pass over the
    array (a batch that is not an object is within: the walk reads nothing of it)."""
    try:
        return bool(_ALL_WITHIN.is_valid(batches))
    except (ValueError, TypeError):
        return all(within_walk(b) for b in batches if isinstance(b, dict))


def within_walk(batch: dict[str, Any]) -> bool:
    """Whether `enforce` would leave `batch` as it is: every check `_Fixer` makes, without
    building a path or a copy (tests/mparticle/test_limits.py holds this, the compiled
    `within` and the full walk to the same answer on generated batches)."""
    events = batch.get("events")
    for event in events if isinstance(events, list) else ():
        data = event.get("data") if isinstance(event, dict) else None
        if not isinstance(data, dict):
            continue
        for field in NAME_FIELDS:
            name = data.get(field)
            if isinstance(name, str) and len(name) > MAX_EVENT_NAME:
                return False
        attributes = data.get("custom_attributes")
        if isinstance(attributes, dict) and attributes:
            if len(attributes) > MAX_EVENT_ATTRIBUTES:
                return False
            for name, value in attributes.items():
                if len(name) > MAX_ATTRIBUTE_NAME or (
                    isinstance(value, str) and len(value) > MAX_ATTRIBUTE_VALUE
                ):
                    return False
        name = data.get("user_attribute_name")
        if isinstance(name, str) and (
            len(name) > MAX_USER_ATTRIBUTE_NAME
            or "new" not in data  # the walk writes `new: null` in
            or not _value_within(data["new"])
        ):
            return False
    attributes = batch.get("user_attributes")
    if isinstance(attributes, dict) and attributes:
        if len(attributes) > MAX_USER_ATTRIBUTES:
            return False
        for name, value in attributes.items():
            if len(name) > MAX_USER_ATTRIBUTE_NAME or not _value_within(value):
                return False
    return True


def _value_within(value: Any) -> bool:
    """A user attribute value (or a change's `new`) within its limits, as `_Fixer` reads it."""
    if isinstance(value, list):
        return len(value) <= MAX_LIST_ENTRIES and not any(
            isinstance(v, str) and len(v) > MAX_LIST_ENTRY for v in value
        )
    return not isinstance(value, str) or len(value) <= MAX_USER_ATTRIBUTE_VALUE


class _Fixer:
    def __init__(self, policy: OverLimit) -> None:
        self.policy = policy
        self.notes: list[Note] = []

    def over(self, path: str, subject: str, limit: int, done: str) -> None:
        """`subject` is over `limit`: record `done`; under `refuse`, refuse instead."""
        over = f"{subject}, over the limit of {limit}"
        if self.policy == "refuse":
            raise OverLimitError(Note(path, over))
        self.notes.append(Note(path, f"{over}: {done}"))

    def event(self, data: dict[str, Any], at: str) -> None:
        for field in NAME_FIELDS:
            name = data.get(field)
            if isinstance(name, str) and len(name) > MAX_EVENT_NAME:
                # Documented: "For S2S data, names exceeding the limit will be truncated."
                data[field] = name[:MAX_EVENT_NAME]
                self.notes.append(
                    Note(f"{at}.{field}", f"{field} truncated to {MAX_EVENT_NAME} characters")
                )
        attributes = data.get("custom_attributes")
        if isinstance(attributes, dict) and attributes:
            data["custom_attributes"] = self.event_attributes(attributes, f"{at}.custom_attributes")
        if isinstance(data.get("user_attribute_name"), str):
            self.attribute_change(data, at)

    def attribute_change(self, data: dict[str, Any], at: str) -> None:
        """A `user_attribute_change` event sets a user attribute: the same limits apply to its
        `user_attribute_name` and `new` value; dropped, the event changes no attribute."""
        name: str = data["user_attribute_name"]
        if len(name) > MAX_USER_ATTRIBUTE_NAME:
            subject = f"user attribute name of {len(name)} characters"
            where = f"{at}.user_attribute_name"
            if self.policy == "drop":
                self.over(where, subject, MAX_USER_ATTRIBUTE_NAME, "the change removed")
                del data["user_attribute_name"]
                return
            self.over(where, subject, MAX_USER_ATTRIBUTE_NAME, TRUNCATED)
            data["user_attribute_name"] = name[:MAX_USER_ATTRIBUTE_NAME]
        new = data.get("new")
        where = f"{at}.new"
        if isinstance(new, list):
            new = self._list(new, where)
        else:
            new = self._text(new, MAX_USER_ATTRIBUTE_VALUE, where, "user attribute value")
        if new is _DROPPED:
            del data["user_attribute_name"]
        else:
            data["new"] = new

    def event_attributes(self, attributes: dict[str, Any], at: str) -> dict[str, Any]:
        kept = self._first(attributes, MAX_EVENT_ATTRIBUTES, at, "event attributes")
        out: dict[str, Any] = {}
        for name, value in kept.items():
            if len(name) > MAX_ATTRIBUTE_NAME:
                # Documented: "S2S will truncate the attribute name."
                short = name[:MAX_ATTRIBUTE_NAME]
                self.notes.append(
                    Note(
                        _key(at, name),
                        f"attribute name truncated to {MAX_ATTRIBUTE_NAME} characters",
                    )
                )
                name = short
            value = self._text(value, MAX_ATTRIBUTE_VALUE, _key(at, name), "attribute value")
            if value is not _DROPPED:
                out[name] = value
        return out

    def user_attributes(self, attributes: dict[str, Any], at: str) -> dict[str, Any]:
        kept = self._first(attributes, MAX_USER_ATTRIBUTES, at, "user attributes")
        out: dict[str, Any] = {}
        for name, value in kept.items():
            where = _key(at, name)
            if len(name) > MAX_USER_ATTRIBUTE_NAME:
                subject = f"user attribute name of {len(name)} characters"
                if self.policy == "drop":
                    self.over(where, subject, MAX_USER_ATTRIBUTE_NAME, DROPPED)
                    continue
                self.over(where, subject, MAX_USER_ATTRIBUTE_NAME, TRUNCATED)
                name = name[:MAX_USER_ATTRIBUTE_NAME]
                where = _key(at, name)
            if isinstance(value, list):
                value = self._list(value, where)
            else:
                value = self._text(value, MAX_USER_ATTRIBUTE_VALUE, where, "user attribute value")
            if value is not _DROPPED:
                out[name] = value
        return out

    def _first(self, attributes: dict[str, Any], limit: int, at: str, what: str) -> dict[str, Any]:
        if len(attributes) <= limit:
            return attributes
        extra = list(attributes)[limit:]
        shown = ", ".join(repr(k[:40]) for k in extra[:5]) + (", ..." if len(extra) > 5 else "")
        self.over(at, f"{len(attributes)} {what}", limit, f"removed {shown}")
        return dict(list(attributes.items())[:limit])

    def _text(self, value: Any, limit: int, where: str, what: str) -> Any:
        if not isinstance(value, str) or len(value) <= limit:
            return value
        subject = f"{what} of {len(value)} characters"
        if self.policy == "drop":
            self.over(where, subject, limit, DROPPED)
            return _DROPPED
        self.over(where, subject, limit, TRUNCATED)
        return value[:limit]

    def _list(self, values: list[Any], where: str) -> Any:
        if len(values) > MAX_LIST_ENTRIES:
            subject = f"user attribute list of {len(values)} entries"
            if self.policy == "drop":
                self.over(where, subject, MAX_LIST_ENTRIES, DROPPED)
                return _DROPPED
            self.over(where, subject, MAX_LIST_ENTRIES, f"the first {MAX_LIST_ENTRIES} kept")
            values = values[:MAX_LIST_ENTRIES]
        long = [i for i, v in enumerate(values) if isinstance(v, str) and len(v) > MAX_LIST_ENTRY]
        if not long:
            return values
        subject = (
            f"{len(long)} user attribute list entr{'y' if len(long) == 1 else 'ies'} longer "
            f"than {MAX_LIST_ENTRY} characters (the first at [{long[0]}])"
        )
        if self.policy == "drop":
            self.over(where, subject, MAX_LIST_ENTRY, DROPPED)
            return _DROPPED
        self.over(where, subject, MAX_LIST_ENTRY, TRUNCATED)
        return [v[:MAX_LIST_ENTRY] if isinstance(v, str) else v for v in values]


TRUNCATED = "truncated"
DROPPED = "attribute removed"  # for a user_attribute_change: the change removed
_DROPPED: Any = object()


def _key(at: str, name: str) -> str:
    """`$.user_attributes.name`, or `$.user_attributes["odd name"]` (as contract paths)."""
    return f"{at}.{name}" if name.isidentifier() else f"{at}[{json.dumps(name[:80])}]"
