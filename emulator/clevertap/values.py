"""What every `/1/upload` check shares: the rejection with CleverTap's code, the value formats,
and the property name and value limits (records.py checks records, profile_data.py the
profile properties)."""

from __future__ import annotations

import re
from typing import Any

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+\Z")
PHONE = re.compile(r"\+[1-9][0-9]{5,14}\Z")
DATE = re.compile(r"\$D_-?[0-9]{1,12}\Z")
MAX_KEY = 120
MAX_VALUE_BYTES = 512
# "Multi-value property values must be Strings and are limited to 100 items. Excess items will
# be removed on a FIFO (first-in, first-out) basis."
# (https://docs.clevertap.com/docs/platform-considerations)
MAX_MULTI_VALUES = 100
# Strings longer than this many characters may be over MAX_VALUE_BYTES once UTF-8 encoded.
LONG_TEXT = MAX_VALUE_BYTES // 4
PROFILE_BAD = "Profile data is incorrect."
EVENT_BAD = "Invalid event structure."


class Rejected(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def error(self, number: int) -> str:
        """The full message, ended as CleverTap ends it (525 with a space, the rest without)."""
        sep = ". " if self.code == 525 else "."
        return f"{self.message}{sep}Skipped record number : {number}"


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


def number_text(value: int | float) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def check_key(key: str, prefix: str) -> None:
    if not key or len(key) > MAX_KEY:
        raise Rejected(512, f"{prefix} Property name {key[:40]!r} must be 1 to {MAX_KEY} chars")


def check_string(key: str, value: str, prefix: str) -> None:
    # Cheap length test first: only long strings can be over 512 bytes.
    if len(value) > LONG_TEXT and len(value.encode()) > MAX_VALUE_BYTES:
        raise Rejected(512, f"{prefix} Value of {key!r} is longer than {MAX_VALUE_BYTES} bytes")
    if value.startswith("$D_") and not DATE.match(value):
        raise Rejected(512, f"{prefix} Value of {key!r} is not a valid $D_ date")
