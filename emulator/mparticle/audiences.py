"""Audience criteria: what makes a user a member, evaluated against the user and the clock.

A criterion is one of (contracts/mparticle/audience.json):
- `{"attribute": name, "op": equals|not_equals|contains|exists|gt|gte|lt|lte, "value": v}`
- `{"identity": type}`: the user has that identity (`customer_id`, `email`, ...)
- `{"event": name, "at_least": n, "within_seconds": w}`: done n times (default 1), within the last
  w seconds of the emulator clock when given (so membership can end as the clock moves)
- `{"all": [...]}`, `{"any": [...]}`, `{"not": criterion}`
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from emulator.mparticle.users import User


def matches(criterion: dict[str, Any], user: User, now_ms: int) -> bool:
    if "all" in criterion:
        return all(matches(c, user, now_ms) for c in criterion["all"])
    if "any" in criterion:
        return any(matches(c, user, now_ms) for c in criterion["any"])
    if "not" in criterion:
        return not matches(criterion["not"], user, now_ms)
    if "identity" in criterion:
        return criterion["identity"] in user.identities
    if "event" in criterion:
        times = user.event_times.get(criterion["event"], ())
        window = criterion.get("within_seconds")
        if window is not None:
            since = now_ms - int(window * 1000)
            times = [t for t in times if since <= t <= now_ms]
        return bool(len(times) >= criterion.get("at_least", 1))
    return _attribute(criterion, user.attributes)


def _attribute(criterion: dict[str, Any], attributes: dict[str, Any]) -> bool:
    name: str = criterion["attribute"]
    op: str = criterion.get("op", "equals")
    if op == "exists":
        return name in attributes
    if name not in attributes:
        return op == "not_equals"
    actual: Any = attributes[name]
    expected: Any = criterion.get("value")
    if op == "equals":
        return bool(_text(actual) == _text(expected))
    if op == "not_equals":
        return bool(_text(actual) != _text(expected))
    if op == "contains":
        if isinstance(actual, list):
            return _text(expected) in [_text(a) for a in actual]
        return _text(expected) in _text(actual)
    try:
        a, b = float(actual), float(expected)
    except (TypeError, ValueError):
        return False
    return {"gt": a > b, "gte": a >= b, "lt": a < b, "lte": a <= b}[op]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def describe(criterion: dict[str, Any]) -> str:
    """The criterion in words, for membership reasons."""
    if "all" in criterion:
        return " and ".join(f"({describe(c)})" for c in criterion["all"])
    if "any" in criterion:
        return " or ".join(f"({describe(c)})" for c in criterion["any"])
    if "not" in criterion:
        return f"not ({describe(criterion['not'])})"
    if "identity" in criterion:
        return f"has identity {criterion['identity']}"
    if "event" in criterion:
        text = f"did {criterion['event']!r} at least {criterion.get('at_least', 1)} times"
        if criterion.get("within_seconds") is not None:
            text += f" within {criterion['within_seconds']} s"
        return text
    op = criterion.get("op", "equals")
    if op == "exists":
        return f"attribute {criterion['attribute']!r} exists"
    return f"attribute {criterion['attribute']!r} {op} {criterion.get('value')!r}"


def evidence(criterion: dict[str, Any], user: User, now_ms: int) -> list[str]:
    """What the user's data says for each attribute, identity and event the criterion reads,
    as it is when the membership changes (the inspector shows it as the reason's facts)."""
    if "all" in criterion or "any" in criterion:
        parts = criterion.get("all", criterion.get("any", []))
        return [fact for c in parts for fact in evidence(c, user, now_ms)]
    if "not" in criterion:
        return evidence(criterion["not"], user, now_ms)
    if "identity" in criterion:
        value = user.identities.get(criterion["identity"])
        return [f"{criterion['identity']} is {value!r}" if value else f"no {criterion['identity']}"]
    if "event" in criterion:
        name = criterion["event"]
        times = user.event_times.get(name, [])
        if not times:
            return [f"{name!r} never done"]
        window = criterion.get("within_seconds")
        fact = f"{name!r} done {len(times)} times, last at {_iso(max(times))}"
        if window is not None:
            since = now_ms - int(window * 1000)
            inside = sum(1 for t in times if since <= t <= now_ms)
            fact += f", {inside} within the last {window} s"
        return [fact]
    name = criterion["attribute"]
    if name not in user.attributes:
        return [f"attribute {name!r} not set"]
    return [f"attribute {name!r} is {user.attributes[name]!r}"]


def _iso(ms: int) -> str:
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def windowed(criterion: dict[str, Any]) -> bool:
    """Whether membership can change with the clock alone."""
    if "all" in criterion or "any" in criterion:
        return any(windowed(c) for c in criterion.get("all", criterion.get("any", [])))
    if "not" in criterion:
        return windowed(criterion["not"])
    return "event" in criterion and criterion.get("within_seconds") is not None
