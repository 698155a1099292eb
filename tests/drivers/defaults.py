"""The default tenants' names and credentials, written out as the README gives them (not read from
the emulator's config, so a change there shows in the tests)."""

from __future__ import annotations

import calendar

ACCOUNT = "EMU-TEST-0001"
PASSCODE = "emu-passcode"
WORKSPACE = "1000"
CONNECTION = "default"
S2S: tuple[str, str] = ("emu-s2s-key", "emu-s2s-secret")
FEED: tuple[str, str] = ("emu-feed-key", "emu-feed-secret")
WEB_KEY = "emu-web-key"
WEB: dict[str, str] = {"x-mp-key": WEB_KEY}
ENVIRONMENT = "development"


def epoch(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> int:
    """Seconds since the epoch of a UTC date and time."""
    return calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0))
