"""Turning what the emulator answered into an expectation that stays true on the next run.

Shared by `replay --update` (update.py), which rewrites the expectations of a scenario file, and
by recording (recording.py), which writes a scenario from the journal. A value the server
generates or stamps (ids, tokens, cursors, times, durations, sequence numbers) changes from run
to run, or with the seed, so it is written as an operator instead of as itself:

- a string is written `{$regex: ...}` of its shape (digits, an ISO 8601 instant, a UUID, or its
  literal prefix such as `delivery-` followed by anything);
- a number is written `{$any: true}`;
- either is written `${name}` when it equals a value captured earlier (the same mpid again).

A value is volatile by its key (`mpid`, `time`, `seq`, `*_at`, `*_ms`, `*token`, ... below) or
by its look wherever it is (an MPID-sized integer or digit string, a CleverTap ID `__` + 32 hex,
an ISO 8601 instant, a UUID). Everything else is written as it is.

`refresh` updates an existing expectation in place of a value: what still matches is kept as
written (its operators, captures and references too); an object keeps the keys it had (a key
the answer no longer has is dropped), an array takes the answer's length (new elements shaped
like the last written one); anything else is replaced by `expectation(actual)`.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from emulator.scenarios.matching import ExpectationError, match, substitute

_VOLATILE_KEYS = frozenset(
    {
        "mpid",
        "mpids",
        "previous_mpid",
        "request_id",
        "requestid",
        "token",
        "cursor",
        "next_cursor",
        "guid",
        "objectid",
        "object_id",
        "clevertap_id",
        "seq",
        "last_seq",
        "time",
        "ts",
        "timestamp",
        "now",
        "iso",
        "created",
        "updated",
        "started",
        "finished",
        "received",
        "duration_ms",
        "waited_ms",
    }
)
_VOLATILE_SUFFIXES = ("_mpid", "_at", "_ms", "_time", "_ts", "token", "_seq", "cursor")
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_CLEVERTAP_ID = re.compile(r"__[0-9a-f]{32}")
_DIGITS = re.compile(r"-?[0-9]+")
_PREFIX = re.compile(r"[A-Za-z_]*[A-Za-z][-_:.]|__")
ISO_PATTERN = r"[0-9]{4}-[0-9]{2}-[0-9]{2}T.*"
# MPIDs are random signed 64-bit integers: larger than any count or amount a test writes.
_BIG = 10**15


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def volatile(key: str, value: Any) -> bool:
    """Whether `value` (under `key`) is one the server makes anew on each run."""
    if value is None or isinstance(value, bool | dict | list):
        return False
    name = key.lower().replace("-", "_")
    if name in _VOLATILE_KEYS or name.endswith(_VOLATILE_SUFFIXES):
        return True
    if _is_number(value):
        return bool(abs(value) >= _BIG)
    if isinstance(value, str):
        digits = value.lstrip("-")
        return (
            (digits.isdigit() and len(digits) >= 15)
            or _CLEVERTAP_ID.fullmatch(value) is not None
            or _ISO.fullmatch(value) is not None
            or _UUID.fullmatch(value) is not None
        )
    return False


def is_instant(value: Any) -> bool:
    return isinstance(value, str) and _ISO.fullmatch(value) is not None


def shape(value: str) -> str:
    """A pattern every value made the same way matches: `-?[0-9]+`, an ISO instant, a UUID,
    or the value's literal prefix (`delivery-`, `__`) followed by anything."""
    if _DIGITS.fullmatch(value):
        return _DIGITS.pattern
    if _ISO.fullmatch(value):
        return ISO_PATTERN
    if _UUID.fullmatch(value):
        return "[0-9a-fA-F-]{36}"
    prefix = _PREFIX.match(value)  # letters, `_` and one of `-_:.`: only `.` is special
    return prefix.group(0).replace(".", r"\.") + ".+" if prefix else ".*"


def _reference(value: Any, captures: dict[str, Any]) -> str | None:
    for name, captured in captures.items():
        if type(captured) is type(value) and captured == value:
            return "${" + name + "}"
    return None


def stable(value: Any, key: str = "") -> Any:
    """The operator standing for a volatile `value` (no captures considered)."""
    if isinstance(value, str):
        return {"$regex": shape(value)}
    return {"$any": True}


def expectation(actual: Any, captures: dict[str, Any] | None = None, key: str = "") -> Any:
    """All of `actual`, with each volatile value written as an operator or a `${reference}`
    to an earlier capture of the same value."""
    if isinstance(actual, dict):
        return {k: expectation(v, captures, str(k)) for k, v in actual.items()}
    if isinstance(actual, list):
        return [expectation(item, captures, key) for item in actual]
    if volatile(key, actual):
        found = _reference(actual, captures or {})
        return found if found is not None else stable(actual, key)
    return actual


def plain(value: Any) -> Any:
    """`value` as built-in types (a YAML round-trip tree holds str, int and float subclasses,
    which exact matching would tell apart from the answer's)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    return value


def holds(written: Any, actual: Any, captures: dict[str, Any]) -> bool:
    """Whether the written expectation (references unresolved) matches `actual` with the
    captures made before its step; `captures` is left as it was."""
    try:
        return not match(substitute(plain(written), captures), actual, dict(captures))
    except ExpectationError:
        return False


def _is_operator(value: Any) -> bool:
    return isinstance(value, dict) and bool(value) and all(str(k).startswith("$") for k in value)


def refresh(written: Any, actual: Any, captures: dict[str, Any], key: str = "") -> tuple[Any, bool]:
    """`written` updated to match `actual` (the same object, changed in place where it is a
    mapping or a sequence, so a YAML tree keeps its comments), and whether anything changed."""
    if holds(written, actual, captures):
        return written, False
    if _is_operator(written):
        fresh = expectation(actual, captures, key)
        name = written.get("$capture")
        if name is not None:  # a capture stays: later steps refer to it
            fresh = {**fresh, "$capture": name} if _is_operator(fresh) else {"$capture": name}
        return fresh, True
    if isinstance(written, dict) and isinstance(actual, dict):
        for name in list(written):
            if str(name) in actual:
                written[name], _ = refresh(written[name], actual[str(name)], captures, str(name))
            else:
                del written[name]
        return written, True
    if isinstance(written, list) and isinstance(actual, list) and written:
        last = plain(written[-1])
        for index, item in enumerate(actual):
            if index < len(written):
                written[index], _ = refresh(written[index], item, captures, key)
            elif isinstance(last, dict) and isinstance(item, dict) and not _is_operator(last):
                written.append(refresh(copy.deepcopy(last), item, captures, key)[0])
            else:
                written.append(expectation(item, captures, key))
        del written[len(actual) :]
        return written, True
    return expectation(actual, captures, key), True
