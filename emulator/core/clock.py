"""The one clock every timestamp in the emulator comes from.

Tests freeze, set and advance it through the control API; listeners (audience windows, recurring
exports) are told when it jumps so that time-based logic runs without real waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from emulator.core.errors import ApiError

ClockListener = Callable[[float], None]

# 9999-12-31T23:59:59Z: the last instant every date library can show.
MAX_INSTANT = 253_402_300_799.0


class ClockRangeError(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__(400, message, code="invalid_request")


def _checked(instant: float) -> float:
    if not 0 <= instant <= MAX_INSTANT:
        raise ClockRangeError(
            f"the clock must stay between 1970-01-01 and 9999-12-31 (asked for {instant})"
        )
    return instant


class Clock:
    """Wall time plus an offset, or a frozen instant."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._frozen_at: float | None = None
        self._listeners: list[ClockListener] = []

    def now(self) -> float:
        """Seconds since the epoch, as a float."""
        if self._frozen_at is not None:
            return self._frozen_at
        return time.time() + self._offset

    def now_ms(self) -> int:
        return int(self.now() * 1000)

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None

    def freeze(self, at: float | None = None) -> None:
        self._frozen_at = self.now() if at is None else _checked(float(at))
        self._notify()

    def unfreeze(self) -> None:
        """Let time run again from the current emulated instant."""
        if self._frozen_at is not None:
            self._offset = self._frozen_at - time.time()
            self._frozen_at = None

    def set(self, at: float) -> None:
        at = _checked(float(at))
        if self._frozen_at is not None:
            self._frozen_at = float(at)
        else:
            self._offset = float(at) - time.time()
        self._notify()

    def advance(self, seconds: float) -> None:
        _checked(self.now() + seconds)
        if self._frozen_at is not None:
            self._frozen_at += seconds
        else:
            self._offset += seconds
        self._notify()

    def reset(self) -> None:
        self._offset = 0.0
        self._frozen_at = None

    def on_change(self, listener: ClockListener) -> None:
        self._listeners.append(listener)

    def _notify(self) -> None:
        now = self.now()
        for listener in self._listeners:
            listener(now)

    def snapshot(self) -> dict[str, object]:
        now = self.now()
        return {
            "now": now,
            "iso": datetime.fromtimestamp(now, UTC).isoformat().replace("+00:00", "Z"),
            "frozen": self.frozen,
            "offset": 0.0 if self.frozen else self._offset,
        }

    def restore(self, snap: dict[str, object]) -> None:
        """Put back a `snapshot`; `ClockError` when it would leave the clock's range."""
        if snap.get("frozen"):
            self._frozen_at = _checked(float(snap["now"]))  # type: ignore[arg-type]
            self._offset = 0.0
        else:
            offset = float(snap.get("offset", 0.0))  # type: ignore[arg-type]
            _checked(time.time() + offset)
            self._frozen_at = None
            self._offset = offset
