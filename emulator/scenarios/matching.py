"""Expectations of a scenario: subset matching with a few operators, captures, and the
differences reported at their JSON path.

Only what is written is checked: an object matches when each key it names matches (other keys
are ignored); an array matches element by element and must have as many elements; scalars are
equal (`1` equals `1.0`, `true` never equals `1`). An object whose keys all start with `$` is an
operator:

    $regex: "^mp-"      a string matching the pattern (whole string)
    $gt/$gte/$lt/$lte   a number compared
    $len: 3             an array, object or string of that length (or `$len: {$gte: 1}`)
    $any: true          present, whatever the value
    $absent: true       the key is not there
    $capture: mpid      remember the value as `mpid`: later steps say `${mpid}`
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from emulator.core.contracts import json_path

_MISSING: Any = object()
_COMPARE = {
    "$gt": lambda a, b: a > b,
    "$gte": lambda a, b: a >= b,
    "$lt": lambda a, b: a < b,
    "$lte": lambda a, b: a <= b,
}
OPERATORS = frozenset({"$regex", "$len", "$any", "$absent", "$capture", *_COMPARE})
_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class ExpectationError(ValueError):
    """An expectation that cannot be applied (an unknown operator, a bad pattern, a capture used
    before it was made): the scenario is wrong, not the emulator."""


@dataclass(frozen=True, slots=True)
class Mismatch:
    path: str
    expected: Any
    actual: Any  # `None` with `missing` set when there was no value

    missing: bool = False

    def text(self) -> str:
        got = "nothing (absent)" if self.missing else _show(self.actual)
        return f"{self.path}: expected {_show(self.expected)}, got {got}"


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _is_operator(value: Any) -> bool:
    return isinstance(value, dict) and bool(value) and all(str(k).startswith("$") for k in value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def match(
    expected: Any, actual: Any, captures: dict[str, Any], path: tuple[str | int, ...] = ()
) -> list[Mismatch]:
    """Every difference between `expected` and `actual` (empty: they match); captures made on
    the way are added to `captures`."""
    if _is_operator(expected):
        return _operator(expected, actual, captures, path)
    where = json_path(path)
    if actual is _MISSING:
        return [Mismatch(where, expected, None, missing=True)]
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [Mismatch(where, expected, actual)]
        found: list[Mismatch] = []
        for key, want in expected.items():
            found += match(want, actual.get(key, _MISSING), captures, (*path, key))
        return found
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [Mismatch(where, expected, actual)]
        found = []
        for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
            found += match(want, got, captures, (*path, index))
        return found
    if _is_number(expected) and _is_number(actual):
        return [] if expected == actual else [Mismatch(where, expected, actual)]
    same = type(expected) is type(actual) and expected == actual
    return [] if same else [Mismatch(where, expected, actual)]


def _operator(
    spec: dict[str, Any], actual: Any, captures: dict[str, Any], path: tuple[str | int, ...]
) -> list[Mismatch]:
    unknown = set(spec) - OPERATORS
    if unknown:
        raise ExpectationError(f"{json_path(path)}: unknown operator {sorted(unknown)[0]}")
    where = json_path(path)
    if spec.get("$absent"):
        return [] if actual is _MISSING else [Mismatch(where, spec, actual)]
    if actual is _MISSING:
        return [Mismatch(where, spec, None, missing=True)]
    if "$capture" in spec:
        captures[str(spec["$capture"])] = actual
    failed = any(not _holds(op, arg, actual, path) for op, arg in spec.items())
    return [Mismatch(where, spec, actual)] if failed else []


def _holds(op: str, arg: Any, actual: Any, path: tuple[str | int, ...]) -> bool:
    if op in ("$any", "$capture", "$absent"):
        return True
    if op == "$regex":
        try:
            return isinstance(actual, str) and re.fullmatch(arg, actual) is not None
        except (re.error, TypeError) as exc:
            raise ExpectationError(f"{json_path(path)}: $regex {arg!r}: {exc}") from None
    if op == "$len":
        if not isinstance(actual, list | dict | str):
            return False
        return not match(arg, len(actual), {}, path)
    if not _is_number(arg):
        raise ExpectationError(f"{json_path(path)}: {op} takes a number, not {_show(arg)}")
    return _is_number(actual) and bool(_COMPARE[op](actual, arg))


def substitute(value: Any, captures: dict[str, Any]) -> Any:
    """`value` with `${name}` replaced by what was captured: a string that is only a reference
    takes the captured value as it is (a number stays a number); inside text it is written in."""
    if isinstance(value, dict):
        return {key: substitute(item, captures) for key, item in value.items()}
    if isinstance(value, list):
        return [substitute(item, captures) for item in value]
    if not isinstance(value, str) or "${" not in value:
        return value
    whole = _REFERENCE.fullmatch(value)
    if whole is not None:
        return _captured(whole.group(1), captures)
    return _REFERENCE.sub(lambda m: _text(_captured(m.group(1), captures)), value)


def _captured(name: str, captures: dict[str, Any]) -> Any:
    if name not in captures:
        raise ExpectationError(f"${{{name}}} is used before a step captured it")
    return captures[name]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else _show(value)
