"""The checks of a profile record's `profileData`: CleverTap's special keys (Email, Phone,
Gender, ... each with its code), custom properties and their `$` operators."""

from __future__ import annotations

import math
import re
from typing import Any

from emulator.clevertap.values import (
    DATE,
    EMAIL,
    LONG_TEXT,
    MAX_KEY,
    PHONE,
    PROFILE_BAD,
    Rejected,
    check_key,
    check_string,
    number_text,
)

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


def check_profile_data(data: Any, max_properties: int) -> dict[str, Any]:
    """The profile data as applied (special keys normalised); raises `Rejected`."""
    if not isinstance(data, dict):
        raise Rejected(512, f"{PROFILE_BAD} profileData must be an object")
    custom = 0
    out: dict[str, Any] = {}
    special = SPECIAL
    for key, value in data.items():
        checker = special.get(key)
        if checker is not None:
            # `$delete` removes a special property like any other; its value is not checked.
            if type(value) is dict and value.keys() == {"$delete"} and key not in IDENTITY_KEYS:
                out[key] = value
            else:
                out[key] = checker(value)
            continue
        custom += 1
        if not 0 < len(key) <= MAX_KEY:
            check_key(key, PROFILE_BAD)
        kind = type(value)
        if kind is str:
            if len(value) > LONG_TEXT or value[:1] == "$":
                check_string(key, value, PROFILE_BAD)
            out[key] = value
        elif kind is int or kind is float or kind is bool or value is None:
            out[key] = value
        else:
            out[key] = _custom(key, value)
    if custom > max_properties:
        raise Rejected(522, "Event properties limit exceeded")
    return out


def _custom(key: str, value: Any) -> Any:
    if isinstance(value, str):
        check_string(key, value, PROFILE_BAD)
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
            check_string(key, item, PROFILE_BAD)
        elif isinstance(item, bool) or not isinstance(item, int | float):
            raise Rejected(512, f"{PROFILE_BAD} Values of {key!r} must be strings or numbers")
    return values


def _identity(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return number_text(value)
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


def age(value: Any) -> int | float:
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
            check_string("Name", value, PROFILE_BAD)
        return value
    raise Rejected(512, f"{PROFILE_BAD} Name and Photo must be strings")


SPECIAL: dict[str, Any] = {
    "identity": _identity,
    "Identity": _identity,
    "Email": _matching(EMAIL, 515, "Email is not valid"),
    "Phone": _matching(PHONE, 516, "Phone number is not valid"),
    "Gender": _gender,
    "Employed": _yes_no(517, "Employed"),
    "Married": _yes_no(519, "Married"),
    "Education": _education,
    "Age": age,
    "DOB": _matching(DATE, 512, "DOB must be a $D_<epoch seconds> date"),
    "Name": _text,
    "Photo": _text,
    **dict.fromkeys(MSG_KEYS, _flag),
}


IDENTITY_KEYS = frozenset({"identity", "Identity"})
# Special profile keys `records.simple_profile` leaves to the full check: all but the two plain
# text ones.
TEXTS = ("Name", "Photo")
NORMALISED = frozenset(SPECIAL) - set(TEXTS)
