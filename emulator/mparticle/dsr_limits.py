"""OpenDSR's request limits per workspace: 1,000 requests a minute and 80,000 new requests a day
(https://docs.mparticle.com/developers/apis/dsr-api/v3/, https://docs.mparticle.com/developers/apis/dsr-api/v2/),
counted on the emulator's clock in fixed windows (core/admission.py `Window`). Every
authenticated OpenDSR call counts towards the minute; only accepted submissions towards the
day. Past either, OpenDSR's 429 with `Retry-After`. Plain Python, no HTTP."""

from __future__ import annotations

from collections.abc import Iterable

from emulator.core.admission import Window
from emulator.core.errors import ApiError

MINUTE = 60
DAY = 24 * 3600


class DsrLimits:
    def __init__(self) -> None:
        self._minute = Window(MINUTE)
        self._day = Window(DAY)

    def admit(
        self, workspace: str, now: float, per_minute: int, per_day: int, submit: bool
    ) -> None:
        """Count the call towards the minute, or raise the 429 (nothing counted) when the
        minute's quota, or for a submission the day's, is used up (a limit of 0: off)."""
        if per_minute:
            wait = self._minute.wait(workspace, per_minute, now)
            if wait:
                raise _too_many(f"{per_minute} requests a minute", wait)
        if submit and per_day:
            wait = self._day.wait(workspace, per_day, now)
            if wait:
                raise _too_many(f"{per_day} new requests a day", wait)
        if per_minute:
            self._minute.take(workspace, now)

    def submitted(self, workspace: str, now: float) -> None:
        """Count an accepted submission towards the day."""
        self._day.take(workspace, now)

    def forget(self, workspaces: Iterable[str] | None) -> None:
        keys = None if workspaces is None else list(workspaces)
        self._minute.forget(keys)
        self._day.forget(keys)


def _too_many(limit: str, wait: int) -> ApiError:
    return ApiError(429, f"Rate limit exceeded: {limit}.", code="TooManyRequests", retry_after=wait)
