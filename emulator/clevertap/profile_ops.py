"""How profile properties are applied within CleverTap's profile limits
(https://docs.clevertap.com/docs/platform-considerations): the `$` operators, multi-value
properties (at most 100 items, the oldest removed first), and the custom property cap. Each change
a limit makes is answered as (property, what was done), for the upload's journal verdict."""

from __future__ import annotations

from typing import Any

from emulator.clevertap.profile_data import SPECIAL
from emulator.clevertap.values import MAX_MULTI_VALUES, number_text

# What applying a record had to change to keep within a limit: (property, what was done).
Trimmed = list[tuple[str, str]]


def room(
    props: dict[str, Any], data: dict[str, Any], limit: int, trimmed: Trimmed | None
) -> dict[str, Any]:
    """`data` without the new custom properties a profile has no room for: "A User Profile can
    have a maximum number of 256 custom attribute keys"
    (https://docs.clevertap.com/docs/platform-considerations); what happens past it is not
    documented, so the profile keeps what it has and the new keys are left out (and named)."""
    room = limit - sum(1 for key in props if key not in SPECIAL)
    kept: dict[str, Any] = {}
    for key, value in data.items():
        new = key not in props and key not in SPECIAL
        if new and not (type(value) is dict and "$delete" in value):
            if room <= 0:
                if trimmed is not None:
                    trimmed.append(
                        (
                            key,
                            f"the profile already has {limit} custom properties, the limit: "
                            "this one not added",
                        )
                    )
                continue
            room -= 1
        kept[key] = value
    return kept


def first_out(key: str, values: list[Any], trimmed: Trimmed | None) -> list[Any]:
    """A multi-value property within its 100 items, the oldest removed first ("Excess items
    will be removed on a FIFO (first-in, first-out) basis",
    https://docs.clevertap.com/docs/platform-considerations)."""
    excess = len(values) - MAX_MULTI_VALUES
    if trimmed is not None:
        shown = ", ".join(repr(v) for v in values[: min(excess, 3)])
        more = ", ..." if excess > 3 else ""
        trimmed.append(
            (
                key,
                f"multi-value property of {len(values)} items, over the limit of "
                f"{MAX_MULTI_VALUES}: the first {excess} removed (FIFO: {shown}{more})",
            )
        )
    return values[excess:]


def _as_text(value: Any) -> Any:
    """A scalar promoted into a multi-value property becomes a string ("The current property
    value is then converted to a string", https://docs.clevertap.com/docs/platform-considerations)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return number_text(value)
    return value


def operate(props: dict[str, Any], key: str, op: str, operand: Any) -> None:
    current = props.get(key)
    if op == "$delete":
        props.pop(key, None)
    elif op in ("$incr", "$decr"):
        base = current if isinstance(current, int | float) and not isinstance(current, bool) else 0
        props[key] = base + operand if op == "$incr" else base - operand
    else:
        values = (
            []
            if current is None
            else list(current)
            if isinstance(current, list)
            else [_as_text(current)]
        )
        if op == "$add":
            values.extend(v for v in operand if v not in values)
        else:
            values = [v for v in values if v not in operand]
        props[key] = values
